//! The manifest payload as it is written (version 1): typed serde structs, unknown fields refused,
//! numbers kept as their JSON digits ([`Value`], no float). The first stage of loading: these are
//! read once, then checked and compiled into the engine's model by `crate::manifest` (which is
//! where every rule of docs/manifest.md that is not a JSON shape is enforced).
//!
//! A tagged object (`codes`, `audience`, `activation`, `expiry`, `reward`, a target) is one struct
//! with the fields of every kind as [`Field`]s: its `type` decides which it takes, and the compiler
//! refuses the others, even `null` ones.

use crate::de::{present, Field};
use crate::input::Entries;
use crate::rules::{Rule, Value};
use crate::zone::{OffsetEntry, ScheduleDoc};
use serde::Deserialize;

/// The whole payload; `C` is how its coupons are read (`IgnoredAny` to look at the rest first).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Doc<C = Vec<CouponDoc>> {
    #[serde(default, deserialize_with = "present")]
    pub version: Field<Value>,
    pub id: String,
    pub issued_at: String,
    pub expires_at: String,
    pub currency: String,
    #[serde(default)]
    pub settings: Option<Settings>,
    #[serde(default)]
    pub segments: Option<Entries<Rule>>,
    #[serde(default)]
    pub time_zones: Option<Entries<Vec<OffsetEntry>>>,
    /// Limits shared by the coupons that name them in `limits.group`.
    #[serde(default)]
    pub limit_groups: Option<Entries<LimitsDoc>>,
    pub coupons: C,
}

/// `settings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Settings {
    #[serde(default)]
    pub max_codes_per_cart: Option<Value>,
    #[serde(default)]
    pub stacking: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// One coupon.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct CouponDoc {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub status: String,
    pub codes: CodesDoc,
    #[serde(default)]
    pub audience: Option<AudienceDoc>,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub activation: Option<ActivationDoc>,
    #[serde(default)]
    pub distribution: Option<Vec<TriggerDoc>>,
    #[serde(default)]
    pub expiry: Option<ExpiryDoc>,
    #[serde(default)]
    pub window: Option<WindowDoc>,
    #[serde(default)]
    pub conditions: Option<Rule>,
    pub reward: RewardDoc,
    #[serde(default)]
    pub limits: Option<LimitsDoc>,
    #[serde(default)]
    pub priority: Option<Value>,
    #[serde(default)]
    pub stacking: Option<StackingDoc>,
    #[serde(default)]
    pub schedule: Option<ScheduleDoc>,
}

/// `codes`: `static`, `bulk`, `automatic`, or `multi` (several `static` and `bulk` `sources`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct CodesDoc {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "present")]
    pub code: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub code_hash: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub prefix: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub length: Field<Value>,
    #[serde(default, deserialize_with = "present")]
    pub check: Field<bool>,
    #[serde(default, deserialize_with = "present")]
    pub sources: Field<Vec<CodesDoc>>,
}

impl CodesDoc {
    pub fn keys(&self) -> [(&'static str, bool); 6] {
        [
            ("code", self.code.is_some()),
            ("code_hash", self.code_hash.is_some()),
            ("prefix", self.prefix.is_some()),
            ("length", self.length.is_some()),
            ("check", self.check.is_some()),
            ("sources", self.sources.is_some()),
        ]
    }
}

/// `audience`: `all`, `segment` or `assigned`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct AudienceDoc {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "present")]
    pub segment: Field<String>,
}

/// `activation`: `time` or `event`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct ActivationDoc {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "present")]
    pub at: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub event: Field<String>,
    #[serde(default, rename = "where", deserialize_with = "present")]
    pub filter: Field<Rule>,
    #[serde(default, deserialize_with = "present")]
    pub delay: Field<String>,
}

impl ActivationDoc {
    pub fn keys(&self) -> [(&'static str, bool); 4] {
        [
            ("at", self.at.is_some()),
            ("event", self.event.is_some()),
            ("where", self.filter.is_some()),
            ("delay", self.delay.is_some()),
        ]
    }
}

/// An event trigger of `distribution`: `{ event, where?, delay? }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct TriggerDoc {
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default, rename = "where")]
    pub filter: Option<Rule>,
    #[serde(default)]
    pub delay: Option<String>,
}

/// `expiry`: `fixed` or `relative`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct ExpiryDoc {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "present")]
    pub at: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub duration: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub from: Field<String>,
}

impl ExpiryDoc {
    pub fn keys(&self) -> [(&'static str, bool); 3] {
        [
            ("at", self.at.is_some()),
            ("duration", self.duration.is_some()),
            ("from", self.from.is_some()),
        ]
    }
}

/// `window`: `{ start?, end? }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct WindowDoc {
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
}

/// `reward`: `percentage`, `fixed_amount`, `cashback`, `buy_x_get_y`, `tiered` or `fixed_price`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct RewardDoc {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "present")]
    pub percent: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub amount: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub points: Field<Value>,
    #[serde(default, deserialize_with = "present")]
    pub target: Field<TargetDoc>,
    #[serde(default, deserialize_with = "present")]
    pub max_discount: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub allocation: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub points_per_unit: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub max_points: Field<Value>,
    #[serde(default, deserialize_with = "present")]
    pub buy: Field<SideDoc>,
    #[serde(default, deserialize_with = "present")]
    pub get: Field<SideDoc>,
    #[serde(default, deserialize_with = "present")]
    pub max_applications: Field<Value>,
    #[serde(default, deserialize_with = "present")]
    pub basis: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub tiers: Field<Vec<TierDoc>>,
    #[serde(default, deserialize_with = "present")]
    pub price: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub quantity: Field<Value>,
}

impl RewardDoc {
    pub fn keys(&self) -> [(&'static str, bool); 15] {
        [
            ("percent", self.percent.is_some()),
            ("amount", self.amount.is_some()),
            ("points", self.points.is_some()),
            ("target", self.target.is_some()),
            ("max_discount", self.max_discount.is_some()),
            ("allocation", self.allocation.is_some()),
            ("points_per_unit", self.points_per_unit.is_some()),
            ("max_points", self.max_points.is_some()),
            ("buy", self.buy.is_some()),
            ("get", self.get.is_some()),
            ("max_applications", self.max_applications.is_some()),
            ("basis", self.basis.is_some()),
            ("tiers", self.tiers.is_some()),
            ("price", self.price.is_some()),
            ("quantity", self.quantity.is_some()),
        ]
    }
}

/// A reward's `target`: `order`, `products`, `shipping` or `fee`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct TargetDoc {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, rename = "match", deserialize_with = "present")]
    pub rule: Field<Rule>,
    #[serde(default, deserialize_with = "present")]
    pub select: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub max_quantity: Field<Value>,
    #[serde(default, deserialize_with = "present")]
    pub fee: Field<String>,
    #[serde(default, deserialize_with = "present")]
    pub max_quantity_per_line: Field<Value>,
}

impl TargetDoc {
    pub fn keys(&self) -> [(&'static str, bool); 5] {
        [
            ("match", self.rule.is_some()),
            ("select", self.select.is_some()),
            ("max_quantity", self.max_quantity.is_some()),
            ("fee", self.fee.is_some()),
            (
                "max_quantity_per_line",
                self.max_quantity_per_line.is_some(),
            ),
        ]
    }
}

/// `buy` or `get` of a buy-X-get-Y reward: `{ match, quantity }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct SideDoc {
    #[serde(default, rename = "match")]
    pub rule: Option<Rule>,
    #[serde(default)]
    pub quantity: Option<Value>,
}

/// A tier: `{ min, percent | amount }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct TierDoc {
    #[serde(default)]
    pub min: Option<Value>,
    #[serde(default)]
    pub percent: Option<String>,
    #[serde(default)]
    pub amount: Option<String>,
}

/// `limits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct LimitsDoc {
    #[serde(default)]
    pub per_user: Option<Value>,
    #[serde(default)]
    pub global: Option<Value>,
    #[serde(default)]
    pub budget: Option<String>,
    #[serde(default)]
    pub per_day: Option<Value>,
    #[serde(default)]
    pub per_week: Option<Value>,
    #[serde(default)]
    pub per_month: Option<Value>,
    #[serde(default)]
    pub per_user_per_day: Option<Value>,
    #[serde(default)]
    pub per_user_per_week: Option<Value>,
    #[serde(default)]
    pub per_user_per_month: Option<Value>,
    /// `cap` (default) or `refuse`: what a discount past what is left of `budget` does.
    #[serde(default)]
    pub on_budget: Option<String>,
    /// A limit group of `limit_groups` whose limits this coupon shares.
    #[serde(default)]
    pub group: Option<String>,
}

impl LimitsDoc {
    /// The periodic limits, in `manifest::PERIOD_LIMITS` order.
    pub fn periods(&self) -> [&Option<Value>; 6] {
        [
            &self.per_day,
            &self.per_week,
            &self.per_month,
            &self.per_user_per_day,
            &self.per_user_per_week,
            &self.per_user_per_month,
        ]
    }
}

/// `stacking`: `{ class?, combines_with?, exclusive? }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct StackingDoc {
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub combines_with: Option<Vec<String>>,
    #[serde(default)]
    pub exclusive: Option<bool>,
}

crate::de::objects!(
    Doc,
    Doc<serde::de::IgnoredAny>,
    Settings,
    CouponDoc,
    CodesDoc,
    AudienceDoc,
    ActivationDoc,
    TriggerDoc,
    ExpiryDoc,
    WindowDoc,
    RewardDoc,
    TargetDoc,
    SideDoc,
    TierDoc,
    LimitsDoc,
    StackingDoc,
);
