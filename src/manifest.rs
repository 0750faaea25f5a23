//! The manifest payload (version 1): what coupons exist and how each behaves. The wire form
//! (`Raw*`, strict: unknown fields are refused) is validated into the model the engine evaluates.
//! docs/manifest.md and docs/manifest.schema.json describe the same shape for people and tools.

use crate::codes::{self, MAX_CODE_LEN};
use crate::error::{join_path, Error, Result};
use crate::json;
use crate::money::{self, Currency};
use crate::rules::{Predicate, RawPredicate, Scope, Value};
use crate::time::{parse_duration, parse_instant, Instant};
use chrono::Duration;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// The manifest versions this engine reads.
pub const SUPPORTED_VERSION: u64 = 1;

/// Engine limits: inputs beyond them are refused with `LIMIT_EXCEEDED` before any work is done.
/// The defaults suit a checkout; a deployment can lower or raise them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
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

/// Checks `actual` against a limit.
pub fn within(what: &'static str, actual: usize, limit: u64) -> Result<()> {
    let actual = actual as u64;
    if actual > limit {
        return Err(Error::LimitExceeded {
            what,
            limit,
            actual,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The wire form.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    version: u64,
    id: String,
    issued_at: String,
    expires_at: String,
    currency: String,
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    segments: BTreeMap<String, RawPredicate>,
    coupons: Vec<RawCoupon>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    #[serde(default)]
    max_codes_per_cart: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCoupon {
    id: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    status: Status,
    codes: RawCodes,
    #[serde(default)]
    audience: RawAudience,
    #[serde(default)]
    visibility: Visibility,
    #[serde(default)]
    activation: Option<RawActivation>,
    #[serde(default)]
    expiry: Option<RawExpiry>,
    #[serde(default)]
    window: Option<RawWindow>,
    #[serde(default)]
    conditions: Option<RawPredicate>,
    reward: RawReward,
    #[serde(default)]
    limits: RawCouponLimits,
    #[serde(default)]
    priority: i32,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum RawCodes {
    Static {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        code_hash: Option<String>,
    },
    Bulk {
        prefix: String,
        length: u64,
    },
    Automatic,
}

#[derive(Debug, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum RawAudience {
    #[default]
    All,
    Segment {
        segment: String,
    },
    Assigned,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum RawActivation {
    Time {
        at: String,
    },
    Event {
        event: String,
        #[serde(default)]
        delay: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum RawExpiry {
    Fixed { at: String },
    Relative { duration: String, from: ExpiryFrom },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum RawReward {
    Percentage {
        percent: String,
        target: RawTarget,
        #[serde(default)]
        max_discount: Option<String>,
    },
    FixedAmount {
        amount: String,
        target: RawTarget,
    },
    Cashback {
        #[serde(default)]
        percent: Option<String>,
        #[serde(default)]
        amount: Option<String>,
        #[serde(default)]
        points: Option<u64>,
        #[serde(default)]
        target: Option<RawTarget>,
        #[serde(default)]
        points_per_unit: Option<String>,
        #[serde(default)]
        max_points: Option<u64>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum RawTarget {
    Order,
    Products {
        #[serde(rename = "match")]
        match_: RawPredicate,
    },
    Shipping,
    Fee {
        fee: String,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCouponLimits {
    #[serde(default)]
    per_user: Option<u64>,
    #[serde(default)]
    global: Option<u64>,
    #[serde(default)]
    budget: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The model.

/// A coupon's lifecycle status (CleverTap's six).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Scheduled,
    Active,
    Paused,
    Ended,
    Archived,
}

impl Status {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    Visible,
    Hidden,
}

/// How a coupon is redeemed.
#[derive(Debug, Clone, PartialEq)]
pub enum Codes {
    /// One code for everyone. `code` is the normalised code when visible; a hidden coupon carries
    /// only `hash` (see [`codes::hash_code`]).
    Static { code: Option<String>, hash: String },
    /// Bulk unique codes: `prefix` then characters up to `length` in all. The list never ships in
    /// the manifest; the browser checks the format only, the Worker checks the code itself.
    Bulk { prefix: String, length: usize },
    /// Applied without a code whenever it qualifies.
    Automatic,
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
    /// When the user's first event of this name happened, plus a delay.
    Event { event: String, delay: Duration },
}

/// What a relative expiry counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    Products(Predicate),
    Shipping,
    /// A named order fee, such as `platform_fee`.
    Fee(String),
}

impl Target {
    /// The wire name of the target kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Order => "order",
            Target::Products(_) => "products",
            Target::Shipping => "shipping",
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
}

/// Usage limits, checked against the usage snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CouponLimits {
    pub per_user: Option<u64>,
    pub global: Option<u64>,
    /// Total discount the coupon may give, in the manifest currency.
    pub budget: Option<Decimal>,
}

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
    pub expiry: Option<Expiry>,
    pub window_start: Option<Instant>,
    pub window_end: Option<Instant>,
    pub conditions: Option<Predicate>,
    pub reward: Reward,
    pub limits: CouponLimits,
    pub priority: i32,
}

/// A validated manifest, with its code indexes.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub id: String,
    pub issued_at: Instant,
    pub expires_at: Instant,
    pub currency: Currency,
    pub max_codes_per_cart: u64,
    pub coupons: Vec<Coupon>,
    /// Visible static codes: normalised code to coupon index.
    pub(crate) plain_codes: HashMap<String, usize>,
    /// Every static code's hash to coupon index.
    pub(crate) hashed_codes: HashMap<String, usize>,
    /// Bulk prefixes to coupon index.
    pub(crate) bulk_prefixes: Vec<(String, usize)>,
}

/// The default for `settings.max_codes_per_cart`.
pub const DEFAULT_MAX_CODES_PER_CART: u64 = 5;

fn invalid(path: &str, message: impl Into<String>) -> Error {
    Error::ManifestInvalid {
        path: path.to_string(),
        message: message.into(),
    }
}

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

fn check_text(s: &str, path: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() || s.chars().count() > max {
        return Err(invalid(path, format!("must be 1 to {max} characters")));
    }
    Ok(())
}

/// A manifest payload parsed into a tree but not yet validated: `version`, `issued_at` and
/// `expires_at` are read first, so that an expired manifest is refused before the rest is parsed.
#[derive(Debug)]
pub(crate) struct Payload(Value);

impl Payload {
    pub(crate) fn parse(payload: &[u8]) -> Result<Payload> {
        let tree = json::parse_value(payload)
            .map_err(|e| invalid(&e.path(), format!("the payload is not JSON: {e}")))?;
        let Value::Map(map) = &tree else {
            return Err(invalid("", "the payload is not a JSON object"));
        };
        match map.get("version") {
            Some(Value::Num(n)) if *n == Decimal::from(SUPPORTED_VERSION) => {}
            Some(other) => {
                return Err(Error::ManifestVersionUnsupported {
                    version: other.show(),
                })
            }
            None => return Err(invalid("version", "missing field `version`")),
        }
        Ok(Payload(tree))
    }

    /// `issued_at` and `expires_at`.
    pub(crate) fn validity(&self) -> Result<(Instant, Instant)> {
        let time = |name: &str| -> Result<Instant> {
            match &self.0 {
                Value::Map(m) => match m.get(name) {
                    Some(Value::Str(s)) => {
                        parse_instant(s, name).map_err(|e| invalid(name, e.to_string()))
                    }
                    _ => Err(invalid(
                        name,
                        format!("`{name}` must be an RFC 3339 date-time"),
                    )),
                },
                _ => Err(invalid("", "the payload is not a JSON object")),
            }
        };
        Ok((time("issued_at")?, time("expires_at")?))
    }

    /// Validates the whole payload into a manifest.
    pub(crate) fn into_manifest(self, limits: &Limits) -> Result<Manifest> {
        let raw: RawManifest =
            json::from_value(&self.0).map_err(|e| invalid(&e.path(), e.message))?;
        raw.validate(limits)
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

impl RawManifest {
    fn validate(self, limits: &Limits) -> Result<Manifest> {
        if self.version != SUPPORTED_VERSION {
            return Err(Error::ManifestVersionUnsupported {
                version: self.version.to_string(),
            });
        }
        check_id(&self.id, "id", 128)?;
        let issued_at = parse_instant(&self.issued_at, "issued_at")?;
        let expires_at = parse_instant(&self.expires_at, "expires_at")?;
        if expires_at <= issued_at {
            return Err(invalid("expires_at", "must be after issued_at"));
        }
        let currency = Currency::parse(&self.currency, "currency")?;
        within("coupons", self.coupons.len(), limits.max_coupons)?;
        let max_codes_per_cart = self
            .settings
            .max_codes_per_cart
            .unwrap_or(DEFAULT_MAX_CODES_PER_CART);
        if max_codes_per_cart == 0 {
            return Err(invalid("settings.max_codes_per_cart", "must be at least 1"));
        }
        let mut segments = BTreeMap::new();
        for (name, raw) in &self.segments {
            let path = format!("segments.{name}");
            check_id(name, &path, 64)?;
            segments.insert(name.clone(), raw.parse(Scope::User, &path)?);
        }
        let ctx = Ctx {
            manifest_id: &self.id,
            currency,
            segments: &segments,
        };
        let mut coupons = Vec::with_capacity(self.coupons.len());
        for (i, raw) in self.coupons.into_iter().enumerate() {
            let path = format!("coupons[{i}]");
            coupons.push(raw.validate(&ctx).map_err(|e| prefix_manifest(e, &path))?);
        }
        let mut manifest = Manifest {
            id: self.id,
            issued_at,
            expires_at,
            currency,
            max_codes_per_cart,
            coupons,
            plain_codes: HashMap::new(),
            hashed_codes: HashMap::new(),
            bulk_prefixes: Vec::new(),
        };
        manifest.index()?;
        Ok(manifest)
    }
}

/// Errors inside a coupon get the coupon's path in front; money and time errors become
/// `MANIFEST_INVALID` too, since the manifest is what is wrong.
fn prefix_manifest(e: Error, path: &str) -> Error {
    match e {
        Error::ManifestInvalid { .. } => e.under(path),
        other => {
            let inner = other.path().unwrap_or("").to_string();
            let message = match &other {
                Error::InvalidAmount { message, .. } | Error::InvalidTime { message, .. } => {
                    message.clone()
                }
                _ => other.to_string(),
            };
            invalid(&join_path(path, &inner), message)
        }
    }
}

struct Ctx<'a> {
    manifest_id: &'a str,
    currency: Currency,
    segments: &'a BTreeMap<String, Predicate>,
}

impl RawCoupon {
    fn validate(self, ctx: &Ctx) -> Result<Coupon> {
        check_id(&self.id, "id", 64)?;
        check_text(&self.name, "name", 200)?;
        if let Some(d) = &self.description {
            check_text(d, "description", 2000)?;
        }
        let codes = match self.codes {
            RawCodes::Static {
                code: Some(_),
                code_hash: Some(_),
            } => {
                return Err(invalid("codes", "give `code` or `code_hash`, not both"));
            }
            RawCodes::Static {
                code: Some(code),
                code_hash: None,
            } => {
                if self.visibility == Visibility::Hidden {
                    return Err(invalid(
                        "codes.code",
                        "a hidden coupon must carry `code_hash`, not its code, so that a browser cannot list it",
                    ));
                }
                let code = codes::normalize(&code, "codes.code")
                    .map_err(|e| invalid("codes.code", e.to_string()))?;
                Codes::Static {
                    hash: codes::hash_code(ctx.manifest_id, &code),
                    code: Some(code),
                }
            }
            RawCodes::Static {
                code: None,
                code_hash: Some(hash),
            } => {
                if hash.len() != 43
                    || !hash
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(invalid(
                        "codes.code_hash",
                        "must be 43 characters of base64url (SHA-256, see docs)",
                    ));
                }
                Codes::Static { code: None, hash }
            }
            RawCodes::Static {
                code: None,
                code_hash: None,
            } => {
                return Err(invalid(
                    "codes",
                    "a static code needs `code` or `code_hash`",
                ));
            }
            RawCodes::Bulk { prefix, length } => {
                let prefix = codes::normalize(&prefix, "codes.prefix")
                    .map_err(|e| invalid("codes.prefix", e.to_string()))?;
                let length = usize::try_from(length).unwrap_or(usize::MAX);
                if prefix.len() > 16 || length < prefix.len() + 6 || length > MAX_CODE_LEN {
                    return Err(invalid(
                        "codes",
                        format!("a bulk prefix has at most 16 characters and codes at least 6 more, {MAX_CODE_LEN} in all"),
                    ));
                }
                Codes::Bulk { prefix, length }
            }
            RawCodes::Automatic => Codes::Automatic,
        };
        let audience = match self.audience {
            RawAudience::All => Audience::All,
            RawAudience::Assigned => Audience::Assigned,
            RawAudience::Segment { segment } => {
                let rule = ctx
                    .segments
                    .get(&segment)
                    .ok_or_else(|| {
                        invalid(
                            "audience.segment",
                            format!("no segment `{segment}` in `segments`"),
                        )
                    })?
                    .clone();
                Audience::Segment {
                    name: segment,
                    rule,
                }
            }
        };
        let activation = match self.activation {
            None => None,
            Some(RawActivation::Time { at }) => {
                Some(Activation::Time(parse_instant(&at, "activation.at")?))
            }
            Some(RawActivation::Event { event, delay }) => {
                check_id(&event, "activation.event", 64)?;
                let delay = match delay {
                    Some(d) => parse_duration(&d, "activation.delay")?,
                    None => Duration::zero(),
                };
                Some(Activation::Event { event, delay })
            }
        };
        if self.status == Status::Scheduled && !matches!(activation, Some(Activation::Time(_))) {
            return Err(invalid(
                "status",
                "a scheduled coupon needs a time activation (`activation.type: time`)",
            ));
        }
        let expiry = match self.expiry {
            None => None,
            Some(RawExpiry::Fixed { at }) => Some(Expiry::Fixed(parse_instant(&at, "expiry.at")?)),
            Some(RawExpiry::Relative { duration, from }) => {
                let duration = parse_duration(&duration, "expiry.duration")?;
                match from {
                    ExpiryFrom::Activation if activation.is_none() => {
                        return Err(invalid(
                            "expiry.from",
                            "counting from activation needs an `activation`",
                        ));
                    }
                    ExpiryFrom::Assignment if audience != Audience::Assigned => {
                        return Err(invalid(
                            "expiry.from",
                            "counting from assignment needs `audience.type: assigned`",
                        ));
                    }
                    _ => {}
                }
                Some(Expiry::Relative { duration, from })
            }
        };
        let (window_start, window_end) = match self.window {
            None => (None, None),
            Some(w) => {
                let start = w
                    .start
                    .map(|s| parse_instant(&s, "window.start"))
                    .transpose()?;
                let end = w.end.map(|s| parse_instant(&s, "window.end")).transpose()?;
                if let (Some(s), Some(e)) = (start, end) {
                    if e <= s {
                        return Err(invalid("window.end", "must be after window.start"));
                    }
                }
                (start, end)
            }
        };
        let conditions = self
            .conditions
            .map(|c| c.parse(Scope::Cart, "conditions"))
            .transpose()?;
        let reward = self.reward.validate(ctx.currency)?;
        let limits = self.limits.validate(ctx.currency)?;
        if limits.budget.is_some() && matches!(reward.payout, Payout::Cashback { .. }) {
            return Err(invalid(
                "limits.budget",
                "a money budget limits discounts; cap cashback with `reward.max_points`",
            ));
        }
        Ok(Coupon {
            id: self.id,
            name: self.name,
            description: self.description,
            status: self.status,
            codes,
            audience,
            visibility: self.visibility,
            activation,
            expiry,
            window_start,
            window_end,
            conditions,
            reward,
            limits,
            priority: self.priority,
        })
    }
}

fn percent(s: &str, path: &str) -> Result<Decimal> {
    let p = money::parse_decimal(s, 4, path)?;
    if p.is_zero() || p > Decimal::ONE_HUNDRED {
        return Err(invalid(path, "a percentage is more than 0 and at most 100"));
    }
    Ok(p)
}

fn positive_amount(s: &str, currency: Currency, path: &str) -> Result<Decimal> {
    let a = money::parse_amount(s, currency, path)?;
    if a.is_zero() {
        return Err(invalid(path, "must be more than zero"));
    }
    Ok(a)
}

impl RawTarget {
    fn validate(self) -> Result<Target> {
        Ok(match self {
            RawTarget::Order => Target::Order,
            RawTarget::Shipping => Target::Shipping,
            RawTarget::Products { match_ } => {
                Target::Products(match_.parse(Scope::Line, "target.match")?)
            }
            RawTarget::Fee { fee } => {
                check_id(&fee, "target.fee", 64)?;
                Target::Fee(fee)
            }
        })
    }
}

impl RawReward {
    fn validate(self, currency: Currency) -> Result<Reward> {
        let under = |e: Error| prefix_manifest(e, "reward");
        match self {
            RawReward::Percentage {
                percent: p,
                target,
                max_discount,
            } => Ok(Reward {
                kind: "percentage",
                amount: Amount::Percent(percent(&p, "percent").map_err(under)?),
                target: target.validate().map_err(under)?,
                max_discount: max_discount
                    .map(|m| positive_amount(&m, currency, "max_discount"))
                    .transpose()
                    .map_err(under)?,
                payout: Payout::Discount,
            }),
            RawReward::FixedAmount { amount, target } => Ok(Reward {
                kind: "fixed_amount",
                amount: Amount::Fixed(positive_amount(&amount, currency, "amount").map_err(under)?),
                target: target.validate().map_err(under)?,
                max_discount: None,
                payout: Payout::Discount,
            }),
            RawReward::Cashback {
                percent: p,
                amount,
                points,
                target,
                points_per_unit,
                max_points,
            } => {
                let amount = match (p, amount, points) {
                    (Some(p), None, None) => Amount::Percent(percent(&p, "percent").map_err(under)?),
                    (None, Some(a), None) => Amount::Fixed(positive_amount(&a, currency, "amount").map_err(under)?),
                    (None, None, Some(n)) if n > 0 => Amount::Points(n),
                    _ => {
                        return Err(invalid(
                            "reward",
                            "cashback takes exactly one of `percent`, `amount` or `points` (more than 0)",
                        ))
                    }
                };
                let target = match target {
                    Some(t) => t.validate().map_err(under)?,
                    None => Target::Order,
                };
                let points_per_unit = match points_per_unit {
                    Some(r) => money::parse_decimal(&r, 4, "points_per_unit").map_err(under)?,
                    None => Decimal::ONE,
                };
                if points_per_unit.is_zero() {
                    return Err(invalid("reward.points_per_unit", "must be more than zero"));
                }
                Ok(Reward {
                    kind: "cashback",
                    amount,
                    target,
                    max_discount: None,
                    payout: Payout::Cashback {
                        points_per_unit,
                        max_points,
                    },
                })
            }
        }
    }
}

impl RawCouponLimits {
    fn validate(self, currency: Currency) -> Result<CouponLimits> {
        for (n, name) in [
            (self.per_user, "limits.per_user"),
            (self.global, "limits.global"),
        ] {
            if n == Some(0) {
                return Err(invalid(
                    name,
                    "must be at least 1 (leave it out for no limit)",
                ));
            }
        }
        Ok(CouponLimits {
            per_user: self.per_user,
            global: self.global,
            budget: self
                .budget
                .map(|b| positive_amount(&b, currency, "limits.budget"))
                .transpose()?,
        })
    }
}

impl Manifest {
    /// Builds the code indexes and refuses duplicates and ambiguous prefixes.
    fn index(&mut self) -> Result<()> {
        let mut seen_ids = HashMap::new();
        for (i, c) in self.coupons.iter().enumerate() {
            if let Some(first) = seen_ids.insert(c.id.as_str(), i) {
                return Err(invalid(
                    &format!("coupons[{i}].id"),
                    format!("`{}` is also the id of coupons[{first}]", c.id),
                ));
            }
            match &c.codes {
                Codes::Static { code, hash } => {
                    if let Some(code) = code {
                        self.plain_codes.insert(code.clone(), i);
                    }
                    if let Some(first) = self.hashed_codes.insert(hash.clone(), i) {
                        return Err(invalid(
                            &format!("coupons[{i}].codes"),
                            format!("the same code as coupons[{first}]"),
                        ));
                    }
                }
                Codes::Bulk { prefix, .. } => {
                    if let Some((other, j)) = self.bulk_prefixes.iter().find(|(p, _)| {
                        p.starts_with(prefix.as_str()) || prefix.starts_with(p.as_str())
                    }) {
                        return Err(invalid(
                            &format!("coupons[{i}].codes.prefix"),
                            format!("`{prefix}` overlaps the prefix `{other}` of coupons[{j}]"),
                        ));
                    }
                    self.bulk_prefixes.push((prefix.clone(), i));
                }
                Codes::Automatic => {}
            }
        }
        for (code, &i) in &self.plain_codes {
            if let Some((prefix, j)) = self
                .bulk_prefixes
                .iter()
                .find(|(p, _)| code.starts_with(p.as_str()))
            {
                return Err(invalid(
                    &format!("coupons[{i}].codes.code"),
                    format!("starts with `{prefix}`, the bulk prefix of coupons[{j}]"),
                ));
            }
        }
        Ok(())
    }
}
