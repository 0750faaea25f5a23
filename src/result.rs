//! What a caller gets back: the last stage of the pipeline (input -> plan -> evaluation ->
//! result). Every type here serialises to the JSON (and, through `crate::handoff`, the JS
//! objects) that docs/manifest.md describes: `evaluate`'s [`Evaluation`] (with an order edit's
//! [`Edit`]), `tray`'s [`TrayEntry`], `checkCode`'s [`CodeCheck`] and `distribute`'s
//! [`Distribution`].

use crate::money::Figure;
use crate::reason::{Detail, Reason};
use crate::reward::Allocation;
use crate::time::{format_instant, Instant};
use crate::zone::Periods;
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde::Serialize;

/// The result of `evaluate`: every amount, every applied coupon, every rejected code.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation<'a> {
    pub manifest_id: String,
    pub currency: &'static str,
    pub now: String,
    pub lines: Vec<LineResult<'a>>,
    pub shipping: Option<Charge>,
    /// Each shipping line, when the cart has `shipping_lines` (`shipping` is then their sum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_lines: Option<Vec<FeeResult>>,
    pub fees: Vec<FeeResult>,
    pub totals: Totals,
    pub cashback_points: u64,
    pub applied: Vec<AppliedCoupon<'a>>,
    pub rejected: Vec<Rejected>,
    /// The calendar periods of `now` in the manifest's zone: what a redemption counts under.
    pub periods: Periods,
    /// Only for an order edit (`previous` in the request): what changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit: Option<Edit>,
}

/// One cart line after discounts.
#[derive(Debug, Clone, Serialize)]
pub struct LineResult<'a> {
    /// The line's id, borrowed from the request: the caller has the rest of the line.
    pub id: &'a str,
    pub original: Figure,
    pub discount: Figure,
    #[serde(rename = "final")]
    pub final_: Figure,
}

/// Shipping after discounts.
#[derive(Debug, Clone, Serialize)]
pub struct Charge {
    pub original: Figure,
    pub discount: Figure,
    #[serde(rename = "final")]
    pub final_: Figure,
}

/// One fee after discounts.
#[derive(Debug, Clone, Serialize)]
pub struct FeeResult {
    pub id: String,
    pub original: Figure,
    pub discount: Figure,
    #[serde(rename = "final")]
    pub final_: Figure,
}

/// Order totals. `total = subtotal + shipping + fees - discount`.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    /// The lines before discounts.
    pub subtotal: String,
    /// Shipping before discounts.
    pub shipping: String,
    /// Fees before discounts.
    pub fees: String,
    /// Every discount: lines, shipping and fees.
    pub discount: String,
    /// What the customer pays.
    pub total: String,
}

/// A coupon that applied (`'a`: the request, whose line ids it lists).
#[derive(Debug, Clone)]
pub struct AppliedCoupon<'a> {
    pub coupon_id: String,
    pub name: String,
    /// The code as normalised, or null for an automatic coupon.
    pub code: Option<String>,
    pub automatic: bool,
    pub reward: &'static str,
    pub target: &'static str,
    pub summary: String,
    pub discount: String,
    pub cashback_points: u64,
    /// What the discount was spread over (docs/manifest.md, "The Evaluation").
    pub touched: Touched<'a>,
    /// Each part's share, only when the request asks (`"allocations": true`).
    pub allocations: Option<Vec<Allocation>>,
    /// Present when the discount was cut to what is left of the coupon's money budget.
    pub budget_capped: bool,
    /// `format_only` for bulk codes checked here by format alone: the Worker checks the code itself.
    pub verification: &'static str,
    /// A tiered reward below its top tier: what the next tier needs (`missing`) and gives.
    pub next_tier: Option<(Detail, String)>,
}

/// The parts of the order an applied coupon's discount was spread over, compactly: what a
/// checkout shows beside each line, without a share per line.
#[derive(Debug, Clone, Default)]
pub struct Touched<'a> {
    /// `None`: no line. `Some(None)`: every line of the cart. `Some(Some(ids))`: these lines, in
    /// line-id order.
    pub lines: Option<Option<Vec<&'a str>>>,
    pub shipping: bool,
    /// The shipping lines, by id, when the cart has `shipping_lines`.
    pub shipping_lines: Vec<&'a str>,
    pub fees: Vec<String>,
}

/// A submitted code that did not apply.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub code: String,
    /// The coupon the code belongs to, when it belongs to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon_id: Option<String>,
    pub reason: Reason,
}

/// A coupon as listed in the user's tray.
#[derive(Debug, Clone, Serialize)]
pub struct TrayEntry {
    pub coupon_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The code to apply it with: the coupon's code, or the code assigned to this user; null for
    /// an automatic coupon.
    pub code: Option<String>,
    pub automatic: bool,
    pub reward: &'static str,
    pub target: &'static str,
    pub summary: String,
    /// Whether it has qualifying rules on the cart, so it may not apply to every cart.
    pub has_conditions: bool,
    /// When it can first be redeemed, if that is still ahead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redeemable_from: Option<String>,
    /// When it stops, if it does.
    pub expires_at: Option<String>,
    pub priority: i32,
}

/// The answer of `check_code`.
#[derive(Debug, Clone, Serialize)]
pub struct CodeCheck {
    /// The code as normalised.
    pub code: String,
    /// The code is usable by this user now (cart rules aside).
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The coupon has rules on the cart, so whether it applies depends on the cart.
    pub has_conditions: bool,
    /// `full`, or `format_only` for a bulk code checked by format alone.
    pub verification: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

impl AppliedCoupon<'_> {
    /// How many fields it is written with (ten, and those of the rest that are there).
    fn fields(&self) -> usize {
        let t = &self.touched;
        10 + usize::from(t.lines.is_some())
            + usize::from(t.shipping)
            + usize::from(!t.shipping_lines.is_empty())
            + usize::from(!t.fees.is_empty())
            + usize::from(self.allocations.is_some())
            + usize::from(self.budget_capped)
            + usize::from(self.next_tier.is_some())
    }
}

impl Serialize for AppliedCoupon<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        // A struct, not a map, though some fields are left out: its keys are then names known at
        // compile time (the handoff to JS names a repeated one by number without comparing it).
        let mut m = s.serialize_struct("AppliedCoupon", self.fields())?;
        m.serialize_field("coupon_id", &self.coupon_id)?;
        m.serialize_field("name", &self.name)?;
        m.serialize_field("code", &self.code)?;
        m.serialize_field("automatic", &self.automatic)?;
        m.serialize_field("reward", self.reward)?;
        m.serialize_field("target", self.target)?;
        m.serialize_field("summary", &self.summary)?;
        m.serialize_field("discount", &self.discount)?;
        m.serialize_field("cashback_points", &self.cashback_points)?;
        match &self.touched.lines {
            Some(Some(ids)) => m.serialize_field("lines", ids)?,
            Some(None) => m.serialize_field("lines", "all")?,
            None => {}
        }
        if self.touched.shipping {
            m.serialize_field("shipping", &true)?;
        }
        if !self.touched.shipping_lines.is_empty() {
            m.serialize_field("shipping_lines", &self.touched.shipping_lines)?;
        }
        if !self.touched.fees.is_empty() {
            m.serialize_field("fees", &self.touched.fees)?;
        }
        if let Some(a) = &self.allocations {
            m.serialize_field("allocations", a)?;
        }
        if self.budget_capped {
            m.serialize_field("budget_capped", &true)?;
        }
        if let Some((missing, summary)) = &self.next_tier {
            m.serialize_field("next_tier", &Tier { missing, summary })?;
        }
        m.serialize_field("verification", self.verification)?;
        m.end()
    }
}

#[derive(Serialize)]
struct Tier<'a> {
    missing: &'a Detail,
    summary: &'a String,
}

// --- distribute ----------------------------------------------------------------------------

/// What an event does: coupons assigned, coupons activated, and coupons the event names but
/// did not assign, with why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Distribution {
    pub assigned: Vec<Given>,
    pub activated: Vec<Given>,
    pub skipped: Vec<Skipped>,
}

/// A coupon the event assigns (from `at`) or activates (at `at`).
#[derive(Debug, Clone)]
pub struct Given {
    pub coupon_id: String,
    pub at: Instant,
    /// An assignment of a coupon with bulk codes: the caller gives the user one from its pool.
    /// `None` for an activation.
    pub bulk: Option<bool>,
}

/// A coupon whose distribution names the event, and why it was not assigned.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub coupon_id: String,
    pub reason: Reason,
}

impl Serialize for Given {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let at = format_instant(self.at);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("coupon_id", &self.coupon_id)?;
        match self.bulk {
            Some(bulk) => {
                m.serialize_entry("assigned_at", &at)?;
                m.serialize_entry("bulk", &bulk)?;
            }
            None => m.serialize_entry("at", &at)?,
        }
        m.end()
    }
}

// --- order edits ---------------------------------------------------------------------------

/// What an edit changed, in the result as `edit`.
#[derive(Debug, Clone, Serialize)]
pub struct Edit {
    /// Coupons of the order before that still apply, with their discount before and now.
    pub kept: Vec<Kept>,
    /// Coupons of the order before that no longer apply, with why.
    pub dropped: Vec<Dropped>,
    /// Coupons that apply now and did not before.
    pub added: Vec<Added>,
    /// Each line's discount before and now, in line-id order (only when `previous.lines` is sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LineChange>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    pub coupon_id: String,
    pub code: Option<String>,
    pub previous_discount: String,
    pub discount: String,
    /// `discount - previous_discount`, with a sign when it went down (`"-2.50"`).
    pub change: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    pub coupon_id: String,
    pub code: Option<String>,
    pub previous_discount: String,
    pub reason: Reason,
}

#[derive(Debug, Clone, Serialize)]
pub struct Added {
    pub coupon_id: String,
    pub code: Option<String>,
    pub discount: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LineChange {
    pub id: String,
    pub previous_discount: String,
    pub discount: String,
    pub change: String,
    /// A line that is new in the edit.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub added: bool,
    /// A line of the order before that the edit took out.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_applied_coupon_says_how_many_fields_it_writes() {
        for mask in 0..256u32 {
            let on = |bit: u32| mask & (1 << bit) != 0;
            let a = AppliedCoupon {
                coupon_id: "c".into(),
                name: "n".into(),
                code: None,
                automatic: true,
                reward: "percentage",
                target: "order",
                summary: "s".into(),
                discount: "1.00".into(),
                cashback_points: 0,
                touched: Touched {
                    lines: on(0).then_some(on(1).then(|| vec!["l1"])),
                    shipping: on(2),
                    shipping_lines: if on(3) { vec!["s1"] } else { vec![] },
                    fees: if on(4) { vec!["f1".into()] } else { vec![] },
                },
                allocations: on(5).then(Vec::new),
                budget_capped: on(6),
                next_tier: on(7).then(|| (Detail::Count(1), "next".into())),
                verification: "full",
            };
            let written = serde_json::to_value(&a).unwrap();
            assert_eq!(written.as_object().unwrap().len(), a.fields(), "{mask:b}");
        }
    }
}
