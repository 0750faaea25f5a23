//! The manifest payload (version 1): what coupons exist and how each behaves. The payload is read
//! strictly (unknown fields are refused) and validated into the model the engine evaluates.
//! docs/manifest.md and docs/manifest.schema.json describe the same shape for people and tools.

use crate::codes::{self, MAX_CODE_LEN};
use crate::de::{Field, Text, MAX_SAFE_INTEGER};
use crate::error::{invalid, join_path, Error, Result};
use crate::money::{self, Currency};
use crate::payload::{
    ActivationDoc, AudienceDoc, CodesDoc, CouponDoc, Doc, ExpiryDoc, LimitsDoc, RewardDoc,
    StackingDoc, TargetDoc,
};
use crate::rules::{LineRule, Predicate, Rule, Scope, Value};
use crate::sort::Index;
use crate::text::{char_count, join};
use crate::time::{parse_duration, parse_instant, Duration, Instant};
use crate::zone::{Schedule, Zone, Zones};
use rust_decimal::Decimal;
use serde::Deserialize;

/// The manifest versions this engine reads.
pub const SUPPORTED_VERSION: u64 = 1;

/// Engine limits: inputs beyond them are refused with `LIMIT_EXCEEDED` before any work is done.
/// The defaults suit a checkout; a deployment can lower or raise them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the signed manifest (default 4 MiB).
    pub max_manifest_bytes: u64,
    /// Coupons in one manifest (default 5,000).
    pub max_coupons: u64,
    /// Lines in one cart (default 1,000).
    pub max_cart_lines: u64,
    /// Units on one line (default 1,000,000).
    pub max_line_quantity: u64,
    /// Codes submitted in one request (default 20).
    pub max_codes: u64,
    /// Order fees in one cart (default 20).
    pub max_fees: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: 4 * 1024 * 1024,
            max_coupons: 5_000,
            max_cart_lines: 1_000,
            max_line_quantity: 1_000_000,
            max_codes: 20,
            max_fees: 20,
        }
    }
}

/// Limits as options write them (`{ "max_cart_lines": 200 }`): whole numbers from 0 to 2^53 - 1,
/// read from their digits and checked where they stand (a refusal names its field); fields left
/// out or `null` keep their default.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
struct LimitsOptions {
    #[serde(default, deserialize_with = "limit")]
    max_manifest_bytes: Option<u64>,
    #[serde(default, deserialize_with = "limit")]
    max_coupons: Option<u64>,
    #[serde(default, deserialize_with = "limit")]
    max_cart_lines: Option<u64>,
    #[serde(default, deserialize_with = "limit")]
    max_line_quantity: Option<u64>,
    #[serde(default, deserialize_with = "limit")]
    max_codes: Option<u64>,
    #[serde(default, deserialize_with = "limit")]
    max_fees: Option<u64>,
}

crate::de::objects!(LimitsOptions);

/// One of [`LimitsOptions`].
fn limit<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => whole(&v).map(Some).map_err(|e| match *e {
            Error::ManifestInvalid { message, .. } => serde::de::Error::custom(message),
            other => serde::de::Error::custom(other),
        }),
    }
}

impl<'de> Deserialize<'de> for Limits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Limits, D::Error> {
        let o = <LimitsOptions as Deserialize>::deserialize(d)?;
        let default = Limits::default();
        Ok(Limits {
            max_manifest_bytes: o.max_manifest_bytes.unwrap_or(default.max_manifest_bytes),
            max_coupons: o.max_coupons.unwrap_or(default.max_coupons),
            max_cart_lines: o.max_cart_lines.unwrap_or(default.max_cart_lines),
            max_line_quantity: o.max_line_quantity.unwrap_or(default.max_line_quantity),
            max_codes: o.max_codes.unwrap_or(default.max_codes),
            max_fees: o.max_fees.unwrap_or(default.max_fees),
        })
    }
}

/// Checks `actual` against a limit.
pub fn within(what: &'static str, actual: usize, limit: u64) -> Result<()> {
    let actual = actual as u64;
    if actual > limit {
        return Err(Box::new(Error::LimitExceeded {
            what,
            limit,
            actual,
        }));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The model.

/// A coupon's lifecycle status (CleverTap's six).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Scheduled,
    Active,
    Paused,
    Ended,
    Archived,
}

impl Status {
    const ALL: [Status; 6] = [
        Status::Draft,
        Status::Scheduled,
        Status::Active,
        Status::Paused,
        Status::Ended,
        Status::Archived,
    ];

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Scheduled => "scheduled",
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Ended => "ended",
            Status::Archived => "archived",
        }
    }
}

/// Whether the coupon is listed in the tray. Hidden coupons apply only when their code is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Visible,
    Hidden,
}

/// How a coupon is redeemed.
#[derive(Debug, Clone, PartialEq)]
pub enum Codes {
    /// One code for everyone. `code` is the normalised code when visible; a hidden coupon carries
    /// only `hash` (see [`codes::hash_code`]). One of the two, never both.
    Static {
        code: Option<String>,
        hash: Option<String>,
    },
    /// Bulk unique codes: `prefix` then characters up to `length` in all. The list never ships in
    /// the manifest; the browser checks the format only, the Worker checks the code itself.
    /// `check`: the characters after the prefix are of [`codes::DEFAULT_ALPHABET`] and the last
    /// is their check character ([`codes::check_ok`]), as `couponctl codes generate` makes them.
    Bulk {
        prefix: String,
        length: usize,
        check: bool,
    },
    /// Applied without a code whenever it qualifies.
    Automatic,
    /// Several sources (`static` and `bulk`), each redeeming the same coupon against its limits.
    Multi(Vec<Codes>),
}

impl Codes {
    /// The sources: itself, or each of a `multi`.
    pub fn sources(&self) -> &[Codes] {
        match self {
            Codes::Multi(list) => list,
            one => std::slice::from_ref(one),
        }
    }

    /// Whether a source is bulk codes (the Worker verifies those, events give them from a pool).
    pub fn has_bulk(&self) -> bool {
        self.sources()
            .iter()
            .any(|s| matches!(s, Codes::Bulk { .. }))
    }

    /// The code in clear of a visible static source.
    pub fn visible_code(&self) -> Option<&String> {
        self.sources().iter().find_map(|s| match s {
            Codes::Static { code, .. } => code.as_ref(),
            _ => None,
        })
    }

    /// Whether `code` (normalised) is one of the bulk sources' codes, checked by format only.
    pub fn is_bulk_code(&self, code: &str) -> bool {
        self.sources().iter().any(|s| match s {
            Codes::Bulk { prefix, length, .. } => {
                code.len() == *length && code.starts_with(prefix.as_str())
            }
            _ => false,
        })
    }
}

/// Who may use a coupon.
#[derive(Debug, Clone, PartialEq)]
pub enum Audience {
    All,
    /// Users matching a named segment rule of the manifest.
    Segment {
        name: String,
        rule: Predicate,
    },
    /// Users with an assignment for this coupon in their context (campaign distribution).
    Assigned,
}

/// When a coupon becomes usable.
#[derive(Debug, Clone, PartialEq)]
pub enum Activation {
    /// At a fixed time.
    Time(Instant),
    /// When the user's first event matching the trigger happened, plus its delay.
    Event(Trigger),
}

/// An event that does something to a coupon (activates it, assigns it): its name, a filter on
/// the event and the user, and a delay from the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub event: String,
    pub filter: Option<Predicate>,
    pub delay: Duration,
}

impl Trigger {
    /// Checks `{ event, where?, delay? }` (an event activation or a distribution trigger).
    fn compile(event: Option<&str>, filter: Option<&Rule>, delay: Option<&str>) -> Result<Trigger> {
        let event = event.ok_or_else(|| invalid("", "missing field `event`"))?;
        check_id(event, "event", 64)?;
        Ok(Trigger {
            event: event.to_owned(),
            filter: filter
                .map(|w| Predicate::compile(w, Scope::Event))
                .transpose()
                .map_err(|e| e.under("where"))?,
            delay: delay
                .map(|d| duration(d, "delay"))
                .transpose()?
                .unwrap_or(Duration::ZERO),
        })
    }
}

/// What a relative expiry counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryFrom {
    Activation,
    Assignment,
}

/// When a coupon stops being usable.
#[derive(Debug, Clone, PartialEq)]
pub enum Expiry {
    Fixed(Instant),
    Relative {
        duration: Duration,
        from: ExpiryFrom,
    },
}

/// What part of the order a reward applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Every line (not shipping or fees).
    Order,
    /// Lines matching a line rule.
    Products(LineRule),
    /// Every shipping charge, or those matching a shipping rule.
    Shipping(Option<Predicate>),
    /// A named order fee, such as `platform_fee`.
    Fee(String),
}

impl Target {
    /// The wire name of the target kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Order => "order",
            Target::Products(_) => "products",
            Target::Shipping(_) => "shipping",
            Target::Fee(_) => "fee",
        }
    }
}

/// How much a reward is worth.
#[derive(Debug, Clone, PartialEq)]
pub enum Amount {
    /// Percent of the target's value (0 < p <= 100).
    Percent(Decimal),
    /// A fixed amount in the manifest currency, at most the target's value.
    Fixed(Decimal),
    /// A fixed number of cashback points.
    Points(u64),
}

/// Whether the reward lowers the price or credits points.
#[derive(Debug, Clone, PartialEq)]
pub enum Payout {
    Discount,
    /// Points credited after the order: the value in money times `points_per_unit`, rounded down,
    /// at most `max_points`. The price is unchanged.
    Cashback {
        points_per_unit: Decimal,
        max_points: Option<u64>,
    },
}

/// A coupon's reward.
#[derive(Debug, Clone, PartialEq)]
pub struct Reward {
    pub kind: &'static str,
    pub amount: Amount,
    pub target: Target,
    pub max_discount: Option<Decimal>,
    pub payout: Payout,
    /// How the reward picks what it discounts.
    pub units: Units,
}

impl Reward {
    /// Gives the rules on lines (the products target's, a buy X get Y reward's two sides) their
    /// places among the manifest's.
    fn share_line_rules<'r>(&'r mut self, sharing: &mut crate::rules::Sharing<'r>) {
        if let Target::Products(rule) = &mut self.target {
            sharing.place(rule);
        }
        if let Units::BuyGet { buy, get, .. } = &mut self.units {
            sharing.place(&mut buy.0);
            sharing.place(&mut get.0);
        }
    }
}

/// How a reward picks what it discounts: the whole target, or units of it (docs/manifest.md,
/// "Buy X get Y, tiers, fixed prices and unit selection").
// One per coupon, read once: the size of the largest variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Units {
    /// The whole target's value.
    All,
    /// Units of the target: the cheapest (or most expensive) first, at most `max`; with `each`, a
    /// fixed amount comes off every unit instead of once.
    Select {
        cheapest: bool,
        max: Option<u64>,
        each: bool,
        /// At most this many units of each line (`max_quantity_per_line`).
        per_line: Option<u64>,
    },
    /// Buy `buy.1` units matching `buy.0`, get `get.1` other units matching `get.0` at the reward's
    /// amount off each.
    BuyGet {
        buy: (LineRule, u64),
        get: (LineRule, u64),
        max: Option<u64>,
    },
    /// Sets of `quantity` units for `price` together.
    FixedPrice {
        price: Decimal,
        quantity: u64,
        max: Option<u64>,
    },
    /// The highest tier whose `min` the basis reaches gives its amount.
    Tiers {
        by_quantity: bool,
        tiers: Vec<(Decimal, Amount)>,
    },
}

/// Usage limits, checked against the usage snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CouponLimits {
    pub per_user: Option<u64>,
    pub global: Option<u64>,
    /// Total discount the coupon may give, in the manifest currency.
    pub budget: Option<Decimal>,
    /// Calendar caps, in [`PERIOD_LIMITS`] order: all users per day, week, month, then this user.
    pub periods: [Option<u64>; 6],
    /// `on_budget: refuse`: a discount past what is left of `budget` refuses the coupon
    /// (`BUDGET_EXHAUSTED`) instead of being cut to it.
    pub refuse_over_budget: bool,
    /// The limit group it shares (`limits.group`): its name and limits.
    pub group: Option<Box<(String, CouponLimits)>>,
}

impl CouponLimits {
    /// Whether a limit counts per customer.
    pub fn per_user_any(&self) -> bool {
        self.per_user.is_some()
            || self.periods.iter().skip(3).any(Option::is_some)
            || self.group.as_ref().is_some_and(|g| g.1.per_user_any())
    }
}

/// The periodic limits' names, in the order of [`CouponLimits::periods`].
pub const PERIOD_LIMITS: [&str; 6] = [
    "per_day",
    "per_week",
    "per_month",
    "per_user_per_day",
    "per_user_per_week",
    "per_user_per_month",
];

/// One coupon, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Coupon {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: Status,
    pub codes: Codes,
    pub audience: Audience,
    pub visibility: Visibility,
    pub activation: Option<Activation>,
    /// Events that assign the coupon to the user (campaign coupons only).
    pub distribution: Vec<Trigger>,
    pub expiry: Option<Expiry>,
    pub window_start: Option<Instant>,
    pub window_end: Option<Instant>,
    pub conditions: Option<Predicate>,
    pub reward: Reward,
    pub limits: CouponLimits,
    pub priority: i32,
    pub stacking: Stacking,
    pub schedule: Option<Schedule>,
}

/// A validated manifest, with its code indexes.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub id: String,
    pub issued_at: Instant,
    pub expires_at: Instant,
    pub currency: Currency,
    pub max_codes_per_cart: u64,
    pub stacking: Mode,
    /// UTC first, then each zone of `time_zones`.
    pub zones: Vec<Zone>,
    /// The zone of `settings.time_zone`, whose calendar periodic limits count in.
    pub time_zone: usize,
    pub coupons: Vec<Coupon>,
    /// Visible static codes: normalised code to coupon index.
    pub(crate) plain_codes: Index,
    /// Every static code's hash to coupon index.
    pub(crate) hashed_codes: Index,
    /// Bulk prefixes to coupon index.
    pub(crate) bulk_prefixes: Vec<(String, usize)>,
    /// `limit_groups`, by name.
    pub limit_groups: Vec<(String, CouponLimits)>,
    /// How many distinct line rules the coupons have ([`LineRule::id`]).
    pub line_rules: usize,
}

/// The default for `settings.max_codes_per_cart`.
pub const DEFAULT_MAX_CODES_PER_CART: u64 = 5;

#[inline(never)]
fn check_id(s: &str, path: &str, max: usize) -> Result<()> {
    if s.is_empty()
        || s.len() > max
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(invalid(
            path,
            format!("ids are 1 to {max} characters of A-Z, a-z, 0-9, `_` and `-`"),
        ));
    }
    Ok(())
}

#[inline(never)]
fn check_text(s: &str, path: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() || char_count(s) > max {
        return Err(invalid(path, format!("must be 1 to {max} characters")));
    }
    Ok(())
}

/// A manifest payload read but not yet checked: `version`, `issued_at` and `expires_at` are
/// looked at first, so that an expired manifest is refused before the rest is validated.
///
/// The payload is read once, typed and untracked ([`Doc`]). Only a payload that serde refuses is
/// read again: as a plain JSON tree (is it JSON at all, with no key twice? which version? which
/// times?), then, after the times, for the field path of the refusal ([`crate::de::located`]). A
/// valid manifest never pays for either.
#[derive(Debug)]
pub(crate) enum Payload<'a> {
    /// Its strings borrowed from the payload's text where they have no escape ([`Text`]).
    Read(Box<Doc<'a>>),
    /// The tree and the text, kept to find the refusal's path once the times have been checked.
    Refused(Value, &'a str),
}

/// The payload's `version`: `MANIFEST_VERSION_UNSUPPORTED` unless it is 1.
fn check_version(version: Option<&Option<Value>>) -> Result<()> {
    match version {
        Some(Some(Value::Num(n))) if *n == Decimal::from(SUPPORTED_VERSION) => Ok(()),
        Some(other) => Err(Box::new(Error::ManifestVersionUnsupported {
            version: other.as_ref().unwrap_or(&Value::Null).show(),
        })),
        None => Err(invalid("version", "missing field `version`")),
    }
}

impl<'a> Payload<'a> {
    pub(crate) fn parse(payload: &'a [u8]) -> Result<Payload<'a>> {
        // UTF-8 checked once for the whole text (a word at a time), then read as text: serde_json
        // does not check every string again, and the Wasm carries one copy of each reader (the
        // requests are text too).
        let text = std::str::from_utf8(payload).map_err(|e| {
            invalid(
                "",
                format!("not valid JSON: not UTF-8 at byte {}", e.valid_up_to()),
            )
        })?;
        let mut de = serde_json::Deserializer::from_str(text);
        if let Ok(doc) = <Doc as Deserialize>::deserialize(&mut de) {
            if de.end().is_ok() {
                check_version(doc.version.as_ref())?;
                return Ok(Payload::Read(Box::new(doc)));
            }
        }
        let tree: Value =
            serde_json::from_str(text).map_err(|e| invalid("", format!("not valid JSON: {e}")))?;
        let Value::Map(map) = &tree else {
            return Err(invalid("", "the payload is not a JSON object"));
        };
        check_version(
            map.get("version")
                .map(|v| Some(v.clone()).filter(|v| *v != Value::Null))
                .as_ref(),
        )?;
        Ok(Payload::Refused(tree, text))
    }

    /// `issued_at` and `expires_at`.
    pub(crate) fn validity(&self) -> Result<(Instant, Instant)> {
        let time = |name: &str| -> Result<Instant> {
            let text = match self {
                Payload::Read(doc) => Some(match name {
                    "issued_at" => doc.issued_at.as_str(),
                    _ => doc.expires_at.as_str(),
                }),
                Payload::Refused(Value::Map(m), _) => match m.get(name) {
                    Some(Value::Str(s)) => Some(s.as_str()),
                    _ => None,
                },
                Payload::Refused(..) => None,
            };
            match text {
                Some(s) => parse_instant(s, "").map_err(|e| invalid(name, e.to_string())),
                None => Err(invalid(
                    name,
                    format!("`{name}` must be an RFC 3339 date-time"),
                )),
            }
        };
        Ok((time("issued_at")?, time("expires_at")?))
    }

    /// Validates the whole payload into a manifest.
    pub(crate) fn into_manifest(self, limits: &Limits) -> Result<Manifest> {
        match self {
            Payload::Read(doc) => compile(*doc, limits),
            Payload::Refused(tree, text) => {
                // As for a valid payload: what is not a coupon first, then how many coupons
                // there are, then each of them.
                compile_head(&tracked::<Doc<serde::de::IgnoredAny>>(text)?)?;
                if let Value::Map(m) = &tree {
                    if let Some(Value::List(coupons)) = m.get("coupons") {
                        within("coupons", coupons.len(), limits.max_coupons)?;
                    }
                }
                compile(tracked::<Doc>(text)?, limits)
            }
        }
    }
}

impl Manifest {
    /// Parses and validates a manifest payload (already verified).
    pub fn parse(payload: &[u8], limits: &Limits) -> Result<Manifest> {
        Payload::parse(payload)?.into_manifest(limits)
    }

    /// The coupon with this id.
    pub fn coupon(&self, id: &str) -> Option<&Coupon> {
        self.coupons.iter().find(|c| c.id == id)
    }
}

/// What the payload says besides its coupons, checked.
struct Head<'d> {
    issued_at: Instant,
    expires_at: Instant,
    currency: Currency,
    zones: Zones,
    max_codes_per_cart: u64,
    stacking: Mode,
    segments: Vec<(&'d str, Predicate)>,
}

/// Checks everything but the coupons, in the order a reader meets the fields' meaning.
fn compile_head<'d, C>(doc: &'d Doc<'_, C>) -> Result<Head<'d>> {
    check_id(&doc.id, "id", 128)?;
    let issued_at = instant(&doc.issued_at, "issued_at")?;
    let expires_at = instant(&doc.expires_at, "expires_at")?;
    if expires_at <= issued_at {
        return Err(invalid("expires_at", "must be after issued_at"));
    }
    let currency = Currency::from_code(&doc.currency)
        .ok_or_else(|| invalid("currency", "not an ISO 4217 currency this engine knows"))?;
    let mut zones = match &doc.time_zones {
        Some(tables) => Zones::compile(&tables.0, issued_at).map_err(|e| e.under("time_zones"))?,
        None => Zones::compile(&[], issued_at)?,
    };
    let mut max_codes_per_cart = DEFAULT_MAX_CODES_PER_CART;
    let mut stacking = Mode::Priority;
    if let Some(settings) = &doc.settings {
        let at = |e: Box<Error>| e.under("settings");
        if let Some(z) = &settings.time_zone {
            zones.default = zones
                .resolve(Some(z))
                .map_err(|e| at(e.under("time_zone")))?;
        }
        if let Some(n) = &settings.max_codes_per_cart {
            max_codes_per_cart = whole(n).map_err(|e| at(e.under("max_codes_per_cart")))?;
            if max_codes_per_cart == 0 {
                return Err(at(invalid("max_codes_per_cart", "must be at least 1")));
            }
        }
        if let Some(mode) = &settings.stacking {
            stacking = match mode.as_str() {
                "priority" => Mode::Priority,
                "best_deal" => Mode::BestDeal,
                _ => return Err(at(invalid("stacking", "stacking is priority or best_deal"))),
            };
        }
    }
    let mut segments: Vec<(&str, Predicate)> = Vec::new();
    if let Some(entries) = &doc.segments {
        let mut order: Vec<&(String, Rule)> = entries.0.iter().collect();
        order.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, rule) in order {
            let at = |e: Box<Error>| e.under(name).under("segments");
            check_id(name, "", 64).map_err(at)?;
            segments.push((name, Predicate::compile(rule, Scope::User).map_err(at)?));
        }
    }
    Ok(Head {
        issued_at,
        expires_at,
        currency,
        zones,
        max_codes_per_cart,
        stacking,
        segments,
    })
}

/// Checks a read payload and compiles it into the model. It is taken, so that what the model
/// keeps as it was written (ids, names) is moved into it rather than copied.
fn compile(mut doc: Doc, limits: &Limits) -> Result<Manifest> {
    let items = std::mem::take(&mut doc.coupons);
    let Head {
        issued_at,
        expires_at,
        currency,
        mut zones,
        max_codes_per_cart,
        stacking,
        segments,
    } = compile_head(&doc)?;
    within("coupons", items.len(), limits.max_coupons)?;
    let mut limit_groups = Vec::new();
    for (name, l) in doc.limit_groups.iter().flat_map(|g| g.0.iter()) {
        let at = |e: Box<Error>| e.under(name).under("limit_groups");
        check_id(name, "", 64).map_err(at)?;
        if l.group.is_some() {
            return Err(at(invalid(
                "group",
                "a limit group is not in another group",
            )));
        }
        // A group's budget caps the discount; refusing past it is a coupon's own choice.
        if l.on_budget.is_some() {
            return Err(at(invalid(
                "on_budget",
                "on_budget is a coupon's choice; a limit group's budget caps",
            )));
        }
        limit_groups.push((name.clone(), compile_limits(l, currency, &[]).map_err(at)?));
    }
    let ctx = Ctx {
        currency,
        segments: &segments,
        limit_groups: &limit_groups,
    };
    let mut coupons = Vec::with_capacity(items.len());
    for (i, c) in items.into_iter().enumerate() {
        coupons.push(compile_coupon(c, &ctx, &mut zones).map_err(|e| e.item(i).under("coupons"))?);
    }
    let time_zone = zones.default;
    let mut sharing = crate::rules::Sharing::default();
    for c in &mut coupons {
        c.reward.share_line_rules(&mut sharing);
    }
    let line_rules = sharing.places;
    let mut manifest = Manifest {
        id: doc.id.to_string(),
        issued_at,
        expires_at,
        currency,
        max_codes_per_cart,
        stacking,
        zones: zones.finish()?,
        time_zone,
        coupons,
        plain_codes: Index::default(),
        hashed_codes: Index::default(),
        bulk_prefixes: Vec::new(),
        limit_groups,
        line_rules,
    };
    manifest.index()?;
    Ok(manifest)
}

/// Reads the payload again to name the field serde refuses: where serde_json stopped (its line
/// and column) is turned into a path by [`crate::de::located`].
/// Named as the manifest always named them: an unknown field at the object that has it, a `null`
/// where a field is required as that field missing from its object.
#[inline(never)]
fn tracked<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T> {
    let bytes = text.as_bytes();
    serde_json::from_str(text).map_err(|e| {
        let mut message = crate::de::message_of(&e);
        let (mut path, last) = crate::de::located(bytes, &e);
        match last {
            _ if message.starts_with("unknown field") || message.starts_with("missing field") => {}
            // Not for the entries of `segments` and `time_zones`, whose keys are names.
            Some((key, true))
                if message.starts_with("invalid type: null")
                    && !(path == "segments" || path == "time_zones") =>
            {
                message = format!("missing field `{key}`");
            }
            Some((segment, _)) => path = join_path(&path, &segment),
            None => {}
        }
        invalid(&path, message)
    })
}

struct Ctx<'a> {
    currency: Currency,
    segments: &'a [(&'a str, Predicate)],
    limit_groups: &'a [(String, CouponLimits)],
}

/// A time in the manifest; a bad one is `MANIFEST_INVALID` at `path`.
#[inline(never)]
fn instant(s: &str, path: &str) -> Result<Instant> {
    parse_instant(s, "").map_err(|e| invalid(path, e.to_string()))
}

#[inline(never)]
fn duration(s: &str, path: &str) -> Result<Duration> {
    parse_duration(s, "").map_err(|e| invalid(path, e.to_string()))
}

#[inline(never)]
fn amount(s: &str, currency: Currency, path: &str) -> Result<Decimal> {
    let a = money::parse_amount(s, currency, "").map_err(|e| invalid(path, e.to_string()))?;
    if a.is_zero() {
        return Err(invalid(path, "must be more than zero"));
    }
    Ok(a)
}

#[inline(never)]
fn percent(s: &str, path: &str) -> Result<Decimal> {
    let p = money::parse_decimal(s, 4, "").map_err(|e| invalid(path, e.to_string()))?;
    if p.is_zero() || p > Decimal::ONE_HUNDRED {
        return Err(invalid(path, "a percentage is more than 0 and at most 100"));
    }
    Ok(p)
}

/// A whole number from 0 to 2^53 - 1 (what JSON numbers hold exactly everywhere); an error has
/// no path, the caller knows the field.
#[inline(never)]
fn whole(v: &Value) -> Result<u64> {
    match v {
        Value::Num(n) => money::whole(*n)
            .filter(|&u| u <= MAX_SAFE_INTEGER)
            .ok_or_else(|| {
                invalid(
                    "",
                    format!(
                        "{} is not a whole number from 0 to {MAX_SAFE_INTEGER}",
                        money::plain(*n)
                    ),
                )
            }),
        _ => Err(invalid(
            "",
            format!("expected a whole number, found {}", v.kind()),
        )),
    }
}

/// An integer of at least 1.
#[inline(never)]
fn count(v: &Value) -> Result<u64> {
    match whole(v)? {
        0 => Err(invalid("", "must be at least 1")),
        n => Ok(n),
    }
}

/// A field of a tagged object, when it is there and not `null`.
fn given<T>(field: &Field<T>) -> Option<&T> {
    field.as_ref().and_then(Option::as_ref)
}

/// A tagged object's `type`, checked against the kinds it may be, and its fields against the ones
/// that kind takes (`keys`: every field but `type`, and whether it was given, even as `null`).
#[inline(never)]
fn tagged<'k>(
    kind: &'k str,
    keys: &[(&'static str, bool)],
    fields: &dyn Fn(&str) -> Option<&'static [&'static str]>,
) -> Result<&'k str> {
    let allowed = fields(kind).ok_or_else(|| invalid("type", format!("unknown type `{kind}`")))?;
    match keys
        .iter()
        .find(|(k, there)| *there && !allowed.contains(k))
    {
        None => Ok(kind),
        Some((k, _)) => Err(invalid(
            "",
            format!(
                "unknown field `{k}`; expected one of: {}",
                join(allowed.iter().copied(), ", ")
            ),
        )),
    }
}

/// A required field of a tagged object.
fn required<'f, T>(field: &'f Field<T>, key: &str) -> Result<&'f T> {
    given(field).ok_or_else(|| invalid("", format!("missing field `{key}`")))
}

fn compile_coupon(c: CouponDoc, ctx: &Ctx, zones: &mut Zones) -> Result<Coupon> {
    check_id(&c.id, "id", 64)?;
    check_text(&c.name, "name", 200)?;
    if let Some(d) = &c.description {
        check_text(d, "description", 2000)?;
    }
    let status = Status::ALL
        .into_iter()
        .find(|s| s.name() == c.status)
        .ok_or_else(|| {
            invalid(
                "status",
                "status is draft, scheduled, active, paused, ended or archived",
            )
        })?;
    let visibility = match c.visibility.as_deref() {
        None | Some("visible") => Visibility::Visible,
        Some("hidden") => Visibility::Hidden,
        Some(_) => return Err(invalid("visibility", "visibility is visible or hidden")),
    };
    let codes = compile_codes(&c.codes, visibility).map_err(|e| e.under("codes"))?;
    let audience = match &c.audience {
        None => Audience::All,
        Some(a) => compile_audience(a, ctx).map_err(|e| e.under("audience"))?,
    };
    let activation = match &c.activation {
        None => None,
        Some(a) => Some(compile_activation(a).map_err(|e| e.under("activation"))?),
    };
    let mut distribution = Vec::new();
    if let Some(items) = &c.distribution {
        if audience != Audience::Assigned {
            return Err(invalid(
                "distribution",
                "`distribution` assigns the coupon: it needs `audience.type: assigned`",
            ));
        }
        within("distribution", items.len(), 8)?;
        for (i, item) in items.iter().enumerate() {
            distribution.push(
                Trigger::compile(
                    item.event.as_deref(),
                    item.filter.as_ref(),
                    item.delay.as_deref(),
                )
                .map_err(|e| e.item(i).under("distribution"))?,
            );
        }
    }
    if status == Status::Scheduled && !matches!(activation, Some(Activation::Time(_))) {
        return Err(invalid(
            "status",
            "a scheduled coupon needs a time activation (`activation.type: time`)",
        ));
    }
    let expiry = match &c.expiry {
        None => None,
        Some(e) => Some(
            compile_expiry(e, activation.is_some(), audience == Audience::Assigned)
                .map_err(|e| e.under("expiry"))?,
        ),
    };
    let (window_start, window_end) = match &c.window {
        None => (None, None),
        Some(w) => {
            let at = |e: Box<Error>| e.under("window");
            let start = w
                .start
                .as_deref()
                .map(|s| instant(s, "start"))
                .transpose()
                .map_err(at)?;
            let end = w
                .end
                .as_deref()
                .map(|s| instant(s, "end"))
                .transpose()
                .map_err(at)?;
            if let (Some(s), Some(e)) = (start, end) {
                if e <= s {
                    return Err(invalid("window", "`end` must be after `start`"));
                }
            }
            (start, end)
        }
    };
    let conditions = c
        .conditions
        .as_ref()
        .map(|p| Predicate::compile(p, Scope::Cart))
        .transpose()
        .map_err(|e| e.under("conditions"))?;
    let reward = compile_reward(&c.reward, ctx.currency).map_err(|e| e.under("reward"))?;
    let limits = match &c.limits {
        None => CouponLimits::default(),
        Some(l) => {
            compile_limits(l, ctx.currency, ctx.limit_groups).map_err(|e| e.under("limits"))?
        }
    };
    let group_budget = limits.group.as_ref().is_some_and(|g| g.1.budget.is_some());
    if (limits.budget.is_some() || group_budget) && matches!(reward.payout, Payout::Cashback { .. })
    {
        return Err(invalid(
            "",
            "a money budget limits discounts; cap cashback with `reward.max_points`",
        ));
    }
    let priority = match &c.priority {
        None => 0,
        Some(p) => whole_i32(p).map_err(|e| e.under("priority"))?,
    };
    let stacking = match &c.stacking {
        None => Stacking::new(
            default_class(&reward.target),
            &[Class::Product, Class::Order, Class::Shipping],
            false,
        ),
        Some(st) => compile_stacking(st, &reward.target).map_err(|e| e.under("stacking"))?,
    };
    let schedule = c
        .schedule
        .as_ref()
        .map(|s| Schedule::compile(s, &mut |n| zones.resolve(n)))
        .transpose()
        .map_err(|e| e.under("schedule"))?;
    Ok(Coupon {
        id: c.id.into_string(),
        name: c.name.into_string(),
        description: c.description.map(Text::into_string),
        status,
        codes,
        audience,
        visibility,
        activation,
        distribution,
        expiry,
        window_start,
        window_end,
        conditions,
        reward,
        limits,
        priority,
        stacking,
        schedule,
    })
}

/// A 32-bit integer (a priority).
fn whole_i32(v: &Value) -> Result<i32> {
    match v {
        Value::Num(n) if money::is_whole(*n) => {
            let abs = money::whole(n.abs()).and_then(|a| i32::try_from(a).ok());
            abs.map(|a| if n.is_sign_negative() { -a } else { a })
                .ok_or_else(|| invalid("", format!("{} is out of range", money::plain(*n))))
        }
        _ => Err(invalid(
            "",
            format!("expected a whole number, found {}", v.kind()),
        )),
    }
}

fn compile_audience(a: &AudienceDoc, ctx: &Ctx) -> Result<Audience> {
    let keys = [("segment", a.segment.is_some())];
    match tagged(&a.kind, &keys, &|t| match t {
        "all" | "assigned" => Some(&[]),
        "segment" => Some(&["segment"]),
        _ => None,
    })? {
        "all" => Ok(Audience::All),
        "assigned" => Ok(Audience::Assigned),
        _ => {
            let name = required(&a.segment, "segment")?;
            let rule = ctx
                .segments
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, r)| r)
                .ok_or_else(|| invalid("segment", format!("no segment `{name}` in `segments`")))?;
            Ok(Audience::Segment {
                name: name.to_string(),
                rule: rule.clone(),
            })
        }
    }
}

fn compile_activation(a: &ActivationDoc) -> Result<Activation> {
    match tagged(&a.kind, &a.keys(), &|t| match t {
        "time" => Some(&["at"]),
        "event" => Some(&["event", "where", "delay"]),
        _ => None,
    })? {
        "time" => Ok(Activation::Time(instant(required(&a.at, "at")?, "at")?)),
        _ => Ok(Activation::Event(Trigger::compile(
            given(&a.event).map(Text::as_str),
            given(&a.filter),
            given(&a.delay).map(Text::as_str),
        )?)),
    }
}

fn compile_expiry(e: &ExpiryDoc, activation: bool, assigned: bool) -> Result<Expiry> {
    match tagged(&e.kind, &e.keys(), &|t| match t {
        "fixed" => Some(&["at"]),
        "relative" => Some(&["duration", "from"]),
        _ => None,
    })? {
        "fixed" => Ok(Expiry::Fixed(instant(required(&e.at, "at")?, "at")?)),
        _ => {
            let from = match required(&e.from, "from")?.as_str() {
                "activation" if activation => ExpiryFrom::Activation,
                "assignment" if assigned => ExpiryFrom::Assignment,
                "activation" => {
                    return Err(invalid(
                        "from",
                        "counting from activation needs an `activation`",
                    ))
                }
                "assignment" => {
                    return Err(invalid(
                        "from",
                        "counting from assignment needs `audience.type: assigned`",
                    ))
                }
                _ => return Err(invalid("from", "`from` is activation or assignment")),
            };
            Ok(Expiry::Relative {
                duration: duration(required(&e.duration, "duration")?, "duration")?,
                from,
            })
        }
    }
}

/// The class a coupon stacks as when the manifest does not say: by what it discounts.
fn default_class(target: &Target) -> Class {
    match target {
        Target::Products(_) => Class::Product,
        Target::Order => Class::Order,
        Target::Shipping(_) | Target::Fee(_) => Class::Shipping,
    }
}

#[inline(never)]
fn compile_stacking(st: &StackingDoc, target: &Target) -> Result<Stacking> {
    let class_of = |s: &str| {
        Class::parse(s).ok_or_else(|| invalid("", "a class is product, order or shipping"))
    };
    let class = match &st.class {
        Some(c) => class_of(c).map_err(|e| e.under("class"))?,
        None => default_class(target),
    };
    let combines = match &st.combines_with {
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            for (i, c) in list.iter().enumerate() {
                out.push(class_of(c).map_err(|e| e.item(i).under("combines_with"))?);
            }
            out
        }
        None => vec![Class::Product, Class::Order, Class::Shipping],
    };
    Ok(Stacking::new(
        class,
        &combines,
        st.exclusive.unwrap_or(false),
    ))
}

#[inline(never)]
fn compile_codes(c: &CodesDoc, visibility: Visibility) -> Result<Codes> {
    let t = tagged(&c.kind, &c.keys(), &|t| match t {
        "static" => Some(&["code", "code_hash"]),
        "bulk" => Some(&["prefix", "length", "check"]),
        "automatic" => Some(&[]),
        "multi" => Some(&["sources"]),
        _ => None,
    })?;
    let normalized =
        |s: &str, key: &str| codes::normalize(s, "").map_err(|e| invalid(key, e.to_string()));
    match t {
        "static" => match (given(&c.code), given(&c.code_hash)) {
            (Some(code), None) => {
                if visibility == Visibility::Hidden {
                    return Err(invalid(
                        "code",
                        "a hidden coupon must carry `code_hash`, not its code, so that a browser cannot list it",
                    ));
                }
                Ok(Codes::Static {
                    code: Some(normalized(code, "code")?),
                    hash: None,
                })
            }
            (None, Some(hash)) => {
                if visibility == Visibility::Visible {
                    return Err(invalid(
                        "code_hash",
                        "a visible coupon shows its code in the tray: give `code`, or make the coupon hidden",
                    ));
                }
                if hash.len() != 43
                    || !hash
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(invalid(
                        "code_hash",
                        "must be 43 characters of base64url (SHA-512/256, see docs)",
                    ));
                }
                Ok(Codes::Static {
                    code: None,
                    hash: Some(hash.to_string()),
                })
            }
            _ => Err(invalid(
                "",
                "a static code has `code` or `code_hash`, one of them",
            )),
        },
        "bulk" => {
            let prefix = normalized(required(&c.prefix, "prefix")?, "prefix")?;
            let length = whole(required(&c.length, "length")?).map_err(|e| e.under("length"))?;
            let length = usize::try_from(length).unwrap_or(usize::MAX);
            if prefix.len() > 16 || length < prefix.len().saturating_add(6) || length > MAX_CODE_LEN
            {
                return Err(invalid(
                    "",
                    format!(
                        "a bulk prefix has at most 16 characters and codes at least 6 more, {MAX_CODE_LEN} in all"
                    ),
                ));
            }
            Ok(Codes::Bulk {
                prefix,
                length,
                check: given(&c.check).copied().unwrap_or(false),
            })
        }
        "multi" => {
            let list = required(&c.sources, "sources")?;
            if list.is_empty() || list.len() > 16 {
                return Err(invalid("sources", "give 1 to 16 sources"));
            }
            let mut sources = Vec::with_capacity(list.len());
            for (i, source) in list.iter().enumerate() {
                let at = |e: Box<Error>| e.item(i).under("sources");
                if !matches!(source.kind.as_str(), "static" | "bulk") {
                    return Err(at(invalid("type", "a source is static or bulk")));
                }
                sources.push(compile_codes(source, visibility).map_err(at)?);
            }
            Ok(Codes::Multi(sources))
        }
        _ => Ok(Codes::Automatic),
    }
}

/// A target, and its unit selection (`select`, `max_quantity`, `max_quantity_per_line`) when it
/// has one.
type Selection = Option<(bool, Option<u64>, Option<u64>)>;

#[inline(never)]
fn compile_target(t: &TargetDoc) -> Result<(Target, Selection)> {
    let kind = tagged(&t.kind, &t.keys(), &|t| match t {
        "order" => Some(&[]),
        "shipping" => Some(&["match"]),
        "products" => Some(&["match", "select", "max_quantity", "max_quantity_per_line"]),
        "fee" => Some(&["fee"]),
        _ => None,
    })?;
    Ok(match kind {
        "order" => (Target::Order, None),
        "shipping" => (
            Target::Shipping(
                given(&t.rule)
                    .map(|r| Predicate::compile(r, Scope::Shipping))
                    .transpose()
                    .map_err(|e| e.under("match"))?,
            ),
            None,
        ),
        "products" => {
            let select = match given(&t.select).map(Text::as_str) {
                None => None,
                Some("cheapest") => Some(true),
                Some("most_expensive") => Some(false),
                Some(_) => return Err(invalid("select", "select is cheapest or most_expensive")),
            };
            let max = given(&t.max_quantity)
                .map(count)
                .transpose()
                .map_err(|e| e.under("max_quantity"))?;
            if select.is_none() && max.is_some() {
                return Err(invalid("", "`max_quantity` goes with `select`"));
            }
            let per_line = given(&t.max_quantity_per_line)
                .map(count)
                .transpose()
                .map_err(|e| e.under("max_quantity_per_line"))?;
            // A cap per line alone selects units too; without `max_quantity` their order is moot.
            let select = select.or(per_line.map(|_| true));
            let rule = required(&t.rule, "match")?;
            (
                Target::Products(LineRule::new(
                    Predicate::compile(rule, Scope::Line).map_err(|e| e.under("match"))?,
                )),
                select.map(|c| (c, max, per_line)),
            )
        }
        _ => {
            let id = required(&t.fee, "fee")?;
            check_id(id, "fee", 64)?;
            (Target::Fee(id.to_string()), None)
        }
    })
}

/// Exactly one of `percent` or `amount`: what a tier or a get unit gives.
fn percent_or_amount(
    percent_given: Option<&str>,
    amount_given: Option<&str>,
    currency: Currency,
) -> Result<Amount> {
    match (percent_given, amount_given) {
        (Some(p), None) => Ok(Amount::Percent(percent(p, "percent")?)),
        (None, Some(a)) => Ok(Amount::Fixed(amount(a, currency, "amount")?)),
        _ => Err(invalid("", "give exactly one of `percent` or `amount`")),
    }
}

#[inline(never)]
fn compile_reward(r: &RewardDoc, currency: Currency) -> Result<Reward> {
    let t = tagged(&r.kind, &r.keys(), &|t| match t {
        "percentage" => Some(&["percent", "target", "max_discount"]),
        "fixed_amount" => Some(&["amount", "target", "allocation"]),
        "cashback" => Some(&[
            "percent",
            "amount",
            "points",
            "target",
            "points_per_unit",
            "max_points",
        ]),
        "buy_x_get_y" => Some(&["buy", "get", "percent", "amount", "max_applications"]),
        "tiered" => Some(&["basis", "tiers", "target", "max_discount"]),
        "fixed_price" => Some(&["price", "quantity", "target", "max_applications"]),
        _ => None,
    })?;
    let target = || -> Result<(Target, Selection)> {
        match given(&r.target) {
            Some(t) => compile_target(t).map_err(|e| e.under("target")),
            None if t == "cashback" => Ok((Target::Order, None)),
            None => Err(invalid("", "missing field `target`")),
        }
    };
    // The target of a reward that does not select units.
    let whole_target = || -> Result<Target> {
        match target()? {
            (target, None) => Ok(target),
            _ => Err(invalid(
                "",
                "`select` works on percentage and fixed_amount rewards",
            )),
        }
    };
    let products = |what: &str| -> Result<Target> {
        match whole_target()? {
            t @ Target::Products(_) => Ok(t),
            _ => Err(invalid("", format!("{what} needs a `products` target"))),
        }
    };
    let max_discount = || {
        given(&r.max_discount)
            .map(|m| amount(m, currency, "max_discount"))
            .transpose()
    };
    let applications = || {
        given(&r.max_applications)
            .map(count)
            .transpose()
            .map_err(|e| e.under("max_applications"))
    };
    let reward = |kind, amount, target, max_discount, units| Reward {
        kind,
        amount,
        target,
        max_discount,
        payout: Payout::Discount,
        units,
    };
    let select = |(target, selection): (Target, Selection), each: bool| {
        let units = match selection {
            Some((cheapest, max, per_line)) => Units::Select {
                cheapest,
                max,
                each,
                per_line,
            },
            None if each => Units::Select {
                cheapest: true,
                max: None,
                each,
                per_line: None,
            },
            None => Units::All,
        };
        (target, units)
    };
    match t {
        "percentage" => {
            let (target, units) = select(target()?, false);
            Ok(reward(
                "percentage",
                Amount::Percent(percent(required(&r.percent, "percent")?, "percent")?),
                target,
                max_discount()?,
                units,
            ))
        }
        "fixed_amount" => {
            let each = match given(&r.allocation).map(Text::as_str) {
                None | Some("across") => false,
                Some("each") => true,
                Some(_) => return Err(invalid("allocation", "allocation is across or each")),
            };
            let (target, units) = select(target()?, each);
            if each && !matches!(target, Target::Products(_) | Target::Shipping(_)) {
                return Err(invalid(
                    "",
                    "`allocation: each` needs a `products` or `shipping` target",
                ));
            }
            Ok(reward(
                "fixed_amount",
                Amount::Fixed(amount(required(&r.amount, "amount")?, currency, "amount")?),
                target,
                None,
                units,
            ))
        }
        "buy_x_get_y" => {
            // `{ match, quantity }`; `get` may leave out `match` (the same items as `buy`) and
            // `quantity` (1).
            let side = |key: &str, required: bool| -> Result<(Option<LineRule>, u64)> {
                let Some(s) = given(if key == "buy" { &r.buy } else { &r.get }) else {
                    return match required {
                        true => Err(invalid("", format!("missing field `{key}`"))),
                        false => Ok((None, 1)),
                    };
                };
                let at = |e: Box<Error>| e.under(key);
                let quantity = match &s.quantity {
                    Some(q) => count(q).map_err(|e| at(e.under("quantity")))?,
                    None if required => return Err(at(invalid("", "missing field `quantity`"))),
                    None => 1,
                };
                let rule = match &s.rule {
                    Some(m) => {
                        let rule =
                            Predicate::compile(m, Scope::Line).map_err(|e| at(e.under("match")))?;
                        Some(LineRule::new(rule))
                    }
                    None if required => return Err(at(invalid("", "missing field `match`"))),
                    None => None,
                };
                Ok((rule, quantity))
            };
            let (Some(buy_rule), buy_quantity) = side("buy", true)? else {
                return Err(invalid("", "missing field `buy`"));
            };
            let (get_rule, get_quantity) = side("get", false)?;
            let get = (get_rule.unwrap_or_else(|| buy_rule.clone()), get_quantity);
            let buy = (buy_rule, buy_quantity);
            Ok(reward(
                "buy_x_get_y",
                percent_or_amount(
                    given(&r.percent).map(Text::as_str),
                    given(&r.amount).map(Text::as_str),
                    currency,
                )?,
                Target::Products(get.0.clone()),
                None,
                Units::BuyGet {
                    buy,
                    get,
                    max: applications()?,
                },
            ))
        }
        "tiered" => {
            let by_quantity = match required(&r.basis, "basis")?.as_str() {
                "amount" => false,
                "quantity" => true,
                _ => return Err(invalid("basis", "basis is amount or quantity")),
            };
            let items = required(&r.tiers, "tiers")?;
            if items.is_empty() || items.len() > 20 {
                return Err(invalid("tiers", "give 1 to 20 tiers"));
            }
            let mut tiers: Vec<(Decimal, Amount)> = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let at = |e: Box<Error>| e.item(i).under("tiers");
                let m = item
                    .min
                    .as_ref()
                    .ok_or_else(|| at(invalid("", "missing field `min`")))?;
                let min = if by_quantity {
                    Decimal::from(count(m).map_err(|e| at(e.under("min")))?)
                } else {
                    match m {
                        Value::Str(s) => amount(s, currency, "min").map_err(at)?,
                        other => {
                            return Err(at(invalid(
                                "min",
                                format!("expected a string, found {}", other.kind()),
                            )))
                        }
                    }
                };
                if tiers.last().is_some_and(|(last, _)| min <= *last) {
                    return Err(at(invalid("min", "tiers go up strictly by `min`")));
                }
                tiers.push((
                    min,
                    percent_or_amount(item.percent.as_deref(), item.amount.as_deref(), currency)
                        .map_err(at)?,
                ));
            }
            let target = whole_target()?;
            let first = tiers.first().map_or(Amount::Points(0), |(_, a)| a.clone());
            Ok(reward(
                "tiered",
                first,
                target,
                max_discount()?,
                Units::Tiers { by_quantity, tiers },
            ))
        }
        "fixed_price" => {
            let price = amount(required(&r.price, "price")?, currency, "price")?;
            Ok(reward(
                "fixed_price",
                Amount::Fixed(price),
                products("a fixed price")?,
                None,
                Units::FixedPrice {
                    price,
                    quantity: count(required(&r.quantity, "quantity")?)
                        .map_err(|e| e.under("quantity"))?,
                    max: applications()?,
                },
            ))
        }
        _ => {
            let points = given(&r.points)
                .map(|n| whole(n).map_err(|e| e.under("points")))
                .transpose()?;
            let value = match (given(&r.percent), given(&r.amount), points) {
                (Some(p), None, None) => Amount::Percent(percent(p, "percent")?),
                (None, Some(a), None) => Amount::Fixed(amount(a, currency, "amount")?),
                (None, None, Some(n)) if n > 0 => Amount::Points(n),
                _ => return Err(invalid(
                    "",
                    "cashback takes exactly one of `percent`, `amount` or `points` (more than 0)",
                )),
            };
            let points_per_unit = match given(&r.points_per_unit) {
                Some(s) => {
                    let rate = money::parse_decimal(s, 4, "")
                        .map_err(|e| invalid("points_per_unit", e.to_string()))?;
                    if rate.is_zero() {
                        return Err(invalid("points_per_unit", "must be more than zero"));
                    }
                    rate
                }
                None => Decimal::ONE,
            };
            let max_points = match given(&r.max_points) {
                Some(m) => match whole(m).map_err(|e| e.under("max_points"))? {
                    0 => {
                        return Err(invalid(
                            "max_points",
                            "must be at least 1 (leave it out for no cap)",
                        ))
                    }
                    n => Some(n),
                },
                None => None,
            };
            Ok(Reward {
                kind: "cashback",
                amount: value,
                target: whole_target()?,
                max_discount: None,
                payout: Payout::Cashback {
                    points_per_unit,
                    max_points,
                },
                units: Units::All,
            })
        }
    }
}

#[inline(never)]
fn compile_limits(
    l: &LimitsDoc,
    currency: Currency,
    groups: &[(String, CouponLimits)],
) -> Result<CouponLimits> {
    let limit = |v: &Option<Value>, key: &str| -> Result<Option<u64>> {
        match v {
            None => Ok(None),
            Some(n) => match whole(n).map_err(|e| e.under(key))? {
                0 => Err(invalid(
                    key,
                    "must be at least 1 (leave it out for no limit)",
                )),
                v => Ok(Some(v)),
            },
        }
    };
    Ok(CouponLimits {
        per_user: limit(&l.per_user, "per_user")?,
        global: limit(&l.global, "global")?,
        budget: l
            .budget
            .as_deref()
            .map(|b| amount(b, currency, "budget"))
            .transpose()?,
        periods: {
            let mut p = [None; 6];
            for ((slot, key), v) in p.iter_mut().zip(PERIOD_LIMITS).zip(l.periods()) {
                *slot = limit(v, key)?;
            }
            p
        },
        refuse_over_budget: match l.on_budget.as_deref() {
            None | Some("cap") => false,
            Some("refuse") if l.budget.is_some() => true,
            Some("refuse") => return Err(invalid("on_budget", "`on_budget` goes with `budget`")),
            Some(_) => return Err(invalid("on_budget", "on_budget is cap or refuse")),
        },
        group: match &l.group {
            None => None,
            Some(name) => Some(Box::new(
                groups
                    .iter()
                    .find(|(n, _)| n == name)
                    .cloned()
                    .ok_or_else(|| {
                        invalid("group", format!("no group `{name}` in `limit_groups`"))
                    })?,
            )),
        },
    })
}

impl Manifest {
    /// Indexes every static code by its hash, visible or not, so that the hashes catch every
    /// repeat (a visible code given again as a hidden coupon's hash too), then the visible codes.
    #[inline(never)]
    fn index_hashes(&mut self) -> Result<()> {
        let (mut plain, mut hashed) = (Vec::new(), Vec::new());
        for (i, c) in self.coupons.iter().enumerate() {
            for source in c.codes.sources() {
                if let Codes::Static { code, hash } = source {
                    if let Some(code) = code {
                        plain.push((code.clone(), i));
                        hashed.push((codes::hash_code(&self.id, code), i));
                    }
                    if let Some(hash) = hash {
                        hashed.push((hash.clone(), i));
                    }
                }
            }
        }
        self.hashed_codes = Index::build(hashed).map_err(|(_, first, i)| {
            invalid(
                &format!("coupons[{i}].codes"),
                format!("the same code as coupons[{first}]"),
            )
        })?;
        self.plain_codes = Index::build(plain).map_err(|(_, first, i)| {
            invalid(
                &format!("coupons[{i}].codes"),
                format!("the same code as coupons[{first}]"),
            )
        })?;
        Ok(())
    }

    /// Builds the code indexes and refuses duplicates and ambiguous prefixes.
    fn index(&mut self) -> Result<()> {
        // Repeated ids, found as `Index::build` finds them (by id, then position) without
        // copying every id into an index that nothing keeps.
        let id = |i: usize| self.coupons.get(i).map(|c| c.id.as_str());
        let by_id = crate::sort::indices(self.coupons.len(), &|a, b| id(a).cmp(&id(b)));
        for w in by_id.windows(2) {
            if let [first, i] = *w {
                if let Some(repeated) = id(i).filter(|&x| Some(x) == id(first)) {
                    return Err(invalid(
                        &format!("coupons[{i}].id"),
                        format!("`{repeated}` is also the id of coupons[{first}]"),
                    ));
                }
            }
        }
        let (mut plain, mut hashed) = (Vec::new(), Vec::new());
        for (i, c) in self.coupons.iter().enumerate() {
            let multi = matches!(c.codes, Codes::Multi(_));
            for (k, source) in c.codes.sources().iter().enumerate() {
                match source {
                    Codes::Static { code, hash } => {
                        if let Some(code) = code {
                            plain.push((code.clone(), i));
                        }
                        if let Some(hash) = hash {
                            hashed.push((hash.clone(), i));
                        }
                    }
                    Codes::Bulk { prefix, .. } => {
                        if let Some((other, j)) = self.bulk_prefixes.iter().find(|(p, _)| {
                            p.starts_with(prefix.as_str()) || prefix.starts_with(p.as_str())
                        }) {
                            let at = match multi {
                                true => format!("coupons[{i}].codes.sources[{k}].prefix"),
                                false => format!("coupons[{i}].codes.prefix"),
                            };
                            return Err(invalid(
                                &at,
                                format!("`{prefix}` overlaps the prefix `{other}` of coupons[{j}]"),
                            ));
                        }
                        self.bulk_prefixes.push((prefix.clone(), i));
                    }
                    Codes::Automatic | Codes::Multi(_) => {}
                }
            }
        }
        // A visible code's hash (SHA-512/256, a few thousand Wasm instructions each) is only
        // needed to find the code among hidden ones: with no hidden code and no repeat among the
        // visible ones, there is nothing to compare it with.
        let visible = if hashed.is_empty() {
            Index::build(plain).ok()
        } else {
            None
        };
        match visible {
            Some(plain) => self.plain_codes = plain,
            None => self.index_hashes()?,
        }
        for (code, i) in self.plain_codes.iter() {
            if let Some((prefix, j)) = self
                .bulk_prefixes
                .iter()
                .find(|(p, _)| code.starts_with(p.as_str()))
            {
                // Within several sources, the static source that has it.
                let source = match self.coupons.get(*i).map(|c| &c.codes) {
                    Some(Codes::Multi(sources)) => sources.iter().position(
                        |s| matches!(s, Codes::Static { code: Some(c), .. } if c == code),
                    ),
                    _ => None,
                };
                let at = match source {
                    Some(k) => format!("coupons[{i}].codes.sources[{k}].code"),
                    None => format!("coupons[{i}].codes.code"),
                };
                return Err(invalid(
                    &at,
                    format!("starts with `{prefix}`, the bulk prefix of coupons[{j}]"),
                ));
            }
        }
        Ok(())
    }
}

// How coupons combine: the plan's data; `crate::stacking` chooses sets with it.

/// A coupon's combination class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Product,
    Order,
    Shipping,
}

impl Class {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Class::Product => "product",
            Class::Order => "order",
            Class::Shipping => "shipping",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Class> {
        [Class::Product, Class::Order, Class::Shipping]
            .into_iter()
            .find(|c| c.name() == s)
    }

    pub(crate) fn bit(self) -> u8 {
        match self {
            Class::Product => 1,
            Class::Order => 2,
            Class::Shipping => 4,
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Class::Product => 0,
            Class::Order => 1,
            Class::Shipping => 2,
        }
    }
}

/// A coupon's stacking rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stacking {
    pub class: Class,
    /// The classes it combines with, as bits.
    pub(crate) combines: u8,
    pub exclusive: bool,
}

impl Stacking {
    pub(crate) fn new(class: Class, combines_with: &[Class], exclusive: bool) -> Stacking {
        Stacking {
            class,
            combines: combines_with.iter().fold(0, |bits, c| bits | c.bit()),
            exclusive,
        }
    }

    /// Whether it combines with coupons of `class`.
    pub fn combines_with(&self, class: Class) -> bool {
        self.combines & class.bit() != 0
    }
}

/// How the set of coupons is chosen (`settings.stacking`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Priority,
    BestDeal,
}

impl Stacking {
    /// Whether coupons with these two stacking rules apply together.
    pub fn goes_with(self, y: Stacking) -> bool {
        !self.exclusive
            && !y.exclusive
            && self.combines_with(y.class)
            && y.combines_with(self.class)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HEAD: &str = r#""version":1,"id":"m","issued_at":"2026-01-01T00:00:00Z","expires_at":"2026-02-01T00:00:00Z","currency":"USD""#;

    fn load(coupon: &str) -> Result<Manifest> {
        let text = format!(r#"{{{HEAD},"coupons":[{coupon}]}}"#);
        Manifest::parse(text.as_bytes(), &Limits::default())
    }

    const OK: &str = r#"{"id":"a","name":"A","status":"active","codes":{"type":"automatic"},"reward":{"type":"percentage","percent":"10","target":{"type":"order"}}}"#;

    #[test]
    fn limits_are_whole_numbers_refused_at_their_field() {
        let read = |text: &str| crate::input::from_json::<Limits>(text);
        let limits = read(r#"{"max_cart_lines": 200, "max_codes": null}"#).unwrap();
        assert_eq!(limits.max_cart_lines, 200);
        assert_eq!(limits.max_codes, Limits::default().max_codes);
        for (text, message) in [
            (
                r#"{"max_coupons": 1, "max_cart_lines": -1}"#,
                "-1 is not a whole number",
            ),
            (r#"{"max_cart_lines": 2.5}"#, "2.5 is not a whole number"),
            (
                r#"{"max_cart_lines": "9"}"#,
                "expected a whole number, found a string",
            ),
        ] {
            let e = read(text).unwrap_err();
            assert_eq!(
                (e.code(), e.path()),
                ("INVALID_REQUEST", Some("max_cart_lines")),
                "{text}"
            );
            assert!(
                e.to_string()
                    .starts_with(&format!("max_cart_lines: {message}")),
                "{e}"
            );
        }
    }

    #[test]
    fn refuses_what_the_hand_reader_refused_with_its_paths() {
        assert!(load(OK).is_ok());
        for (bad, path) in [
            // A key twice, anywhere.
            (OK.replacen(r#""id":"a","#, r#""id":"a","id":"a","#, 1), ""),
            // A list where an object goes (derived structs would read it as fields in order).
            (
                OK.replacen("}}}", r#"}},"limits":[1]}"#, 1),
                "coupons[0].limits",
            ),
            // A field of another kind of a tagged object, even null.
            (
                OK.replacen(
                    r#""type":"automatic""#,
                    r#""type":"automatic","prefix":null"#,
                    1,
                ),
                "coupons[0].codes",
            ),
            // An unknown field is named at its object; a required field null is missing.
            (
                OK.replacen(r#""name":"A","#, r#""name":"A","nme":1,"#, 1),
                "coupons[0]",
            ),
            (
                OK.replacen(r#""name":"A""#, r#""name":null"#, 1),
                "coupons[0]",
            ),
            (
                OK.replacen(r#""percent":"10""#, r#""percent":"110""#, 1),
                "coupons[0].reward.percent",
            ),
            (
                OK.replacen(r#""percent":"10""#, r#""percent":10"#, 1),
                "coupons[0].reward.percent",
            ),
        ] {
            let e = load(&bad).unwrap_err();
            assert_eq!(
                (e.code(), e.path()),
                ("MANIFEST_INVALID", Some(path)),
                "{bad}: {e}"
            );
        }
        let e = Manifest::parse(br#"{"version":2,"coupons":{}}"#, &Limits::default()).unwrap_err();
        assert_eq!(e.code(), "MANIFEST_VERSION_UNSUPPORTED");
    }

    #[test]
    fn a_repeated_id_is_named_at_its_second_coupon() {
        let with_id = |id: &str| OK.replacen(r#""id":"a""#, &format!(r#""id":"{id}""#), 1);
        for (ids, path, first) in [
            (
                ["b", "a", "c", "a"],
                "coupons[3].id",
                "`a` is also the id of coupons[1]",
            ),
            (
                ["b", "a", "b", "a"],
                "coupons[3].id",
                "`a` is also the id of coupons[1]",
            ),
            (
                ["c", "b", "c", "b"],
                "coupons[3].id",
                "`b` is also the id of coupons[1]",
            ),
        ] {
            let list: Vec<String> = ids.iter().map(|id| with_id(id)).collect();
            let e = load(&list.join(",")).unwrap_err();
            assert_eq!(e.path(), Some(path), "{ids:?}");
            assert!(e.to_string().contains(first), "{ids:?}: {e}");
        }
        assert!(load(&[with_id("a"), with_id("b")].join(",")).is_ok());
    }

    #[test]
    fn a_code_repeated_visible_or_hidden_is_refused() {
        let coupon = |id: &str, codes: &str, visibility: &str| {
            OK.replacen(r#""id":"a""#, &format!(r#""id":"{id}""#), 1)
                .replacen(r#"{"type":"automatic"}"#, codes, 1)
                .replacen(
                    r#""status":"active""#,
                    &format!(r#""status":"active","visibility":"{visibility}""#),
                    1,
                )
        };
        let visible = |id, code: &str| {
            coupon(
                id,
                &format!(r#"{{"type":"static","code":"{code}"}}"#),
                "visible",
            )
        };
        let hidden = |id, code: &str| {
            let hash = codes::hash_code("m", code);
            coupon(
                id,
                &format!(r#"{{"type":"static","code_hash":"{hash}"}}"#),
                "hidden",
            )
        };
        let m = load(&[visible("a", "save-10"), hidden("b", "VIP20")].join(",")).unwrap();
        assert_eq!(m.plain_codes.get("SAVE10"), Some(0));
        assert_eq!(m.hashed_codes.get(&codes::hash_code("m", "VIP20")), Some(1));
        assert_eq!(
            m.hashed_codes.get(&codes::hash_code("m", "SAVE10")),
            Some(0)
        );
        let m = load(&[visible("a", "save-10"), visible("b", "VIP20")].join(",")).unwrap();
        assert_eq!(m.plain_codes.get("VIP20"), Some(1));
        for list in [
            [visible("a", "save-10"), visible("b", "SAVE10")],
            [visible("a", "save-10"), hidden("b", "SAVE10")],
            [hidden("a", "SAVE10"), visible("b", "Save 10")],
            [hidden("a", "SAVE10"), hidden("b", "SAVE10")],
        ] {
            let e = load(&list.join(",")).unwrap_err();
            assert_eq!(e.path(), Some("coupons[1].codes"), "{list:?}");
            assert!(e.to_string().contains("the same code as coupons[0]"), "{e}");
        }
    }

    #[test]
    fn a_static_source_under_a_bulk_prefix_is_named_at_its_source() {
        let coupon = |id: &str, codes: &str| {
            OK.replacen(r#""id":"a""#, &format!(r#""id":"{id}""#), 1)
                .replacen(r#"{"type":"automatic"}"#, codes, 1)
        };
        let multi = coupon(
            "a",
            r#"{"type":"multi","sources":[{"type":"bulk","prefix":"STAFF","length":12},{"type":"static","code":"NEWS2026"}]}"#,
        );
        let bulk = coupon("b", r#"{"type":"bulk","prefix":"NEWS","length":10}"#);
        let e = load(&[multi, bulk].join(",")).unwrap_err();
        assert_eq!(e.path(), Some("coupons[0].codes.sources[1].code"), "{e}");
    }
}
