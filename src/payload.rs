//! The manifest payload as it is written (version 1): typed serde structs, unknown fields refused,
//! numbers kept as their JSON digits ([`Value`], no float). The first stage of loading: these are
//! read once, then checked and compiled into the engine's model by `crate::manifest` (which is
//! where every rule of docs/manifest.md that is not a JSON shape is enforced).
//!
//! A tagged object (`codes`, `audience`, `activation`, `expiry`, `reward`, a target) is one struct
//! with the fields of every kind as [`Field`]s: its `type` decides which it takes, and the compiler
//! refuses the others, even `null` ones.

use crate::de::{present, Field, Text};
use crate::input::Entries;
use crate::rules::{Rule, Value};
use crate::zone::{OffsetEntry, ScheduleDoc};
use serde::Deserialize;

/// The whole payload; `C` is how its coupons are read (`IgnoredAny` to look at the rest first).
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    remote = "Self",
    bound(deserialize = "'de: 'a, C: Deserialize<'de>")
)]
pub struct Doc<'a, C = Vec<CouponDoc<'a>>> {
    #[serde(default, deserialize_with = "present")]
    pub version: Field<Value>,
    pub id: Text<'a>,
    pub issued_at: Text<'a>,
    pub expires_at: Text<'a>,
    pub currency: Text<'a>,
    #[serde(default)]
    pub settings: Option<Settings<'a>>,
    #[serde(default)]
    pub segments: Option<Entries<Rule>>,
    #[serde(default)]
    pub time_zones: Option<Entries<Vec<OffsetEntry>>>,
    /// Limits shared by the coupons that name them in `limits.group`.
    #[serde(default)]
    pub limit_groups: Option<Entries<LimitsDoc<'a>>>,
    pub coupons: C,
}

/// `settings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct Settings<'a> {
    #[serde(default)]
    pub max_codes_per_cart: Option<Value>,
    #[serde(default)]
    pub stacking: Option<Text<'a>>,
    #[serde(default)]
    pub time_zone: Option<Text<'a>>,
}

/// One coupon.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct CouponDoc<'a> {
    pub id: Text<'a>,
    pub name: Text<'a>,
    #[serde(default)]
    pub description: Option<Text<'a>>,
    pub status: Text<'a>,
    pub codes: CodesDoc<'a>,
    #[serde(default)]
    pub audience: Option<AudienceDoc<'a>>,
    #[serde(default)]
    pub visibility: Option<Text<'a>>,
    #[serde(default)]
    pub activation: Option<ActivationDoc<'a>>,
    #[serde(default)]
    pub distribution: Option<Vec<TriggerDoc<'a>>>,
    #[serde(default)]
    pub expiry: Option<ExpiryDoc<'a>>,
    #[serde(default)]
    pub window: Option<WindowDoc<'a>>,
    #[serde(default)]
    pub conditions: Option<Rule>,
    pub reward: RewardDoc<'a>,
    #[serde(default)]
    pub limits: Option<LimitsDoc<'a>>,
    #[serde(default)]
    pub priority: Option<Value>,
    #[serde(default)]
    pub stacking: Option<StackingDoc<'a>>,
    #[serde(default)]
    pub schedule: Option<ScheduleDoc>,
}

/// `codes`: `static`, `bulk`, `automatic`, or `multi` (several `static` and `bulk` `sources`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct CodesDoc<'a> {
    #[serde(rename = "type")]
    pub kind: Text<'a>,
    #[serde(default, deserialize_with = "present")]
    pub code: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub code_hash: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub prefix: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub length: Field<Value>,
    #[serde(default, deserialize_with = "present")]
    pub check: Field<bool>,
    #[serde(default, deserialize_with = "present")]
    pub sources: Field<Vec<CodesDoc<'a>>>,
}

impl CodesDoc<'_> {
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
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct AudienceDoc<'a> {
    #[serde(rename = "type")]
    pub kind: Text<'a>,
    #[serde(default, deserialize_with = "present")]
    pub segment: Field<Text<'a>>,
}

/// `activation`: `time` or `event`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct ActivationDoc<'a> {
    #[serde(rename = "type")]
    pub kind: Text<'a>,
    #[serde(default, deserialize_with = "present")]
    pub at: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub event: Field<Text<'a>>,
    #[serde(default, rename = "where", deserialize_with = "present")]
    pub filter: Field<Rule>,
    #[serde(default, deserialize_with = "present")]
    pub delay: Field<Text<'a>>,
}

impl ActivationDoc<'_> {
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
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct TriggerDoc<'a> {
    #[serde(default)]
    pub event: Option<Text<'a>>,
    #[serde(default, rename = "where")]
    pub filter: Option<Rule>,
    #[serde(default)]
    pub delay: Option<Text<'a>>,
}

/// `expiry`: `fixed` or `relative`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct ExpiryDoc<'a> {
    #[serde(rename = "type")]
    pub kind: Text<'a>,
    #[serde(default, deserialize_with = "present")]
    pub at: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub duration: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub from: Field<Text<'a>>,
}

impl ExpiryDoc<'_> {
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
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct WindowDoc<'a> {
    #[serde(default)]
    pub start: Option<Text<'a>>,
    #[serde(default)]
    pub end: Option<Text<'a>>,
}

/// `reward`: `percentage`, `fixed_amount`, `cashback`, `buy_x_get_y`, `tiered` or `fixed_price`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct RewardDoc<'a> {
    #[serde(rename = "type")]
    pub kind: Text<'a>,
    #[serde(default, deserialize_with = "present")]
    pub percent: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub amount: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub points: Field<Value>,
    #[serde(default, deserialize_with = "present")]
    pub target: Field<TargetDoc<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub max_discount: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub allocation: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub points_per_unit: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub max_points: Field<Value>,
    #[serde(default, deserialize_with = "present")]
    pub buy: Field<SideDoc>,
    #[serde(default, deserialize_with = "present")]
    pub get: Field<SideDoc>,
    #[serde(default, deserialize_with = "present")]
    pub max_applications: Field<Value>,
    #[serde(default, deserialize_with = "present")]
    pub basis: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub tiers: Field<Vec<TierDoc<'a>>>,
    #[serde(default, deserialize_with = "present")]
    pub price: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub quantity: Field<Value>,
}

impl RewardDoc<'_> {
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
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct TargetDoc<'a> {
    #[serde(rename = "type")]
    pub kind: Text<'a>,
    #[serde(default, rename = "match", deserialize_with = "present")]
    pub rule: Field<Rule>,
    #[serde(default, deserialize_with = "present")]
    pub select: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub max_quantity: Field<Value>,
    #[serde(default, deserialize_with = "present")]
    pub fee: Field<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub max_quantity_per_line: Field<Value>,
}

impl TargetDoc<'_> {
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
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct TierDoc<'a> {
    #[serde(default)]
    pub min: Option<Value>,
    #[serde(default)]
    pub percent: Option<Text<'a>>,
    #[serde(default)]
    pub amount: Option<Text<'a>>,
}

/// `limits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct LimitsDoc<'a> {
    #[serde(default)]
    pub per_user: Option<Value>,
    #[serde(default)]
    pub global: Option<Value>,
    #[serde(default)]
    pub budget: Option<Text<'a>>,
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
    pub on_budget: Option<Text<'a>>,
    /// A limit group of `limit_groups` whose limits this coupon shares.
    #[serde(default)]
    pub group: Option<Text<'a>>,
}

impl LimitsDoc<'_> {
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
#[serde(deny_unknown_fields, remote = "Self", bound(deserialize = "'de: 'a"))]
pub struct StackingDoc<'a> {
    #[serde(default)]
    pub class: Option<Text<'a>>,
    #[serde(default)]
    pub combines_with: Option<Vec<Text<'a>>>,
    #[serde(default)]
    pub exclusive: Option<bool>,
}

crate::de::objects!(
    <'a>
    Doc<'a>,
    Doc<'a, serde::de::IgnoredAny>,
    Settings<'a>,
    CouponDoc<'a>,
    CodesDoc<'a>,
    AudienceDoc<'a>,
    ActivationDoc<'a>,
    TriggerDoc<'a>,
    ExpiryDoc<'a>,
    WindowDoc<'a>,
    RewardDoc<'a>,
    TargetDoc<'a>,
    TierDoc<'a>,
    LimitsDoc<'a>,
    StackingDoc<'a>,
);

crate::de::objects!(SideDoc);
