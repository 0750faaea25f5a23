//! The manifest payload (version 1): what coupons exist and how each behaves. The payload is read
//! strictly (unknown fields are refused) and validated into the model the engine evaluates.
//! docs/manifest.md and docs/manifest.schema.json describe the same shape for people and tools.

use crate::codes::{self, MAX_CODE_LEN};
use crate::error::{join_path, Error, Result};
use crate::json::{self, Node, Obj, Source};
use crate::money::{self, Currency};
use crate::rules::{Predicate, Scope, Value};
use crate::sort::Index;
use crate::stacking::{Class, Mode, Stacking};
use crate::time::{parse_duration, parse_instant, Instant};
use chrono::Duration;
use rust_decimal::Decimal;

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

impl Limits {
    /// Reads limits from options (`{ "max_cart_lines": 200 }`); fields left out keep their default.
    pub fn read(node: &Node) -> Result<Limits> {
        let fields = [
            "max_manifest_bytes",
            "max_coupons",
            "max_cart_lines",
            "max_line_quantity",
            "max_codes",
            "max_fees",
        ];
        let obj = node.obj(&fields)?;
        let mut limits = Limits::default();
        let slots = [
            &mut limits.max_manifest_bytes,
            &mut limits.max_coupons,
            &mut limits.max_cart_lines,
            &mut limits.max_line_quantity,
            &mut limits.max_codes,
            &mut limits.max_fees,
        ];
        for (name, slot) in fields.iter().zip(slots) {
            if let Some(n) = obj.get(name) {
                *slot = n.u64()?;
            }
        }
        Ok(limits)
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
    /// only `hash` (see [`codes::hash_code`]).
    Static { code: Option<String>, hash: String },
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
    pub stacking: Stacking,
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
    pub coupons: Vec<Coupon>,
    /// Visible static codes: normalised code to coupon index.
    pub(crate) plain_codes: Index,
    /// Every static code's hash to coupon index.
    pub(crate) hashed_codes: Index,
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
        let tree = json::parse(payload, Source::Manifest)?;
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
        read_manifest(&Node::root(&self.0, Source::Manifest), limits)
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

fn read_manifest(root: &Node, limits: &Limits) -> Result<Manifest> {
    let m = root.obj(&[
        "version",
        "id",
        "issued_at",
        "expires_at",
        "currency",
        "settings",
        "segments",
        "coupons",
    ])?;
    let id = m.req("id")?.string()?;
    check_id(&id, "id", 128)?;
    let issued_at = instant(&m.req("issued_at")?)?;
    let expires_at = instant(&m.req("expires_at")?)?;
    if expires_at <= issued_at {
        return Err(invalid("expires_at", "must be after issued_at"));
    }
    let currency_node = m.req("currency")?;
    let currency = Currency::from_code(currency_node.str()?)
        .ok_or_else(|| currency_node.error("not an ISO 4217 currency this engine knows"))?;
    let mut max_codes_per_cart = DEFAULT_MAX_CODES_PER_CART;
    let mut stacking = Mode::Priority;
    if let Some(settings) = m.get("settings") {
        let settings = settings.obj(&["max_codes_per_cart", "stacking"])?;
        if let Some(n) = settings.get("max_codes_per_cart") {
            max_codes_per_cart = n.u64()?;
            if max_codes_per_cart == 0 {
                return Err(n.error("must be at least 1"));
            }
        }
        if let Some(mode) = settings.get("stacking") {
            stacking = match mode.str()? {
                "priority" => Mode::Priority,
                "best_deal" => Mode::BestDeal,
                _ => return Err(mode.error("stacking is priority or best_deal")),
            };
        }
    }
    let mut segments = Vec::new();
    if let Some(node) = m.get("segments") {
        for (name, rule) in node.entries()? {
            check_id(name, &rule.path, 64)?;
            segments.push((name.to_string(), Predicate::read(&rule, Scope::User)?));
        }
    }
    let coupon_nodes = m.req("coupons")?.items()?;
    within("coupons", coupon_nodes.len(), limits.max_coupons)?;
    let ctx = Ctx {
        manifest_id: &id,
        currency,
        segments: &segments,
    };
    let coupons = coupon_nodes
        .iter()
        .map(|c| read_coupon(c, &ctx))
        .collect::<Result<Vec<_>>>()?;
    let mut manifest = Manifest {
        id,
        issued_at,
        expires_at,
        currency,
        max_codes_per_cart,
        stacking,
        coupons,
        plain_codes: Index::default(),
        hashed_codes: Index::default(),
        bulk_prefixes: Vec::new(),
    };
    manifest.index()?;
    Ok(manifest)
}

struct Ctx<'a> {
    manifest_id: &'a str,
    currency: Currency,
    segments: &'a [(String, Predicate)],
}

/// A time in the manifest; a bad one is `MANIFEST_INVALID` at its path.
#[inline(never)]
fn instant(node: &Node) -> Result<Instant> {
    parse_instant(node.str()?, &node.path).map_err(|e| node.error(e.to_string()))
}

#[inline(never)]
fn duration(node: &Node) -> Result<Duration> {
    parse_duration(node.str()?, &node.path).map_err(|e| node.error(e.to_string()))
}

#[inline(never)]
fn amount(node: &Node, currency: Currency) -> Result<Decimal> {
    let a = money::parse_amount(node.str()?, currency, &node.path)
        .map_err(|e| node.error(e.to_string()))?;
    if a.is_zero() {
        return Err(node.error("must be more than zero"));
    }
    Ok(a)
}

#[inline(never)]
fn percent(node: &Node) -> Result<Decimal> {
    let p =
        money::parse_decimal(node.str()?, 4, &node.path).map_err(|e| node.error(e.to_string()))?;
    if p.is_zero() || p > Decimal::ONE_HUNDRED {
        return Err(node.error("a percentage is more than 0 and at most 100"));
    }
    Ok(p)
}

/// Reads a tagged union's `type` and checks the fields allowed for that type.
#[inline(never)]
fn tagged<'a>(
    node: &Node<'a>,
    fields: &dyn Fn(&str) -> Option<&'static [&'static str]>,
) -> Result<(&'a str, Obj<'a>)> {
    let obj = node.any_obj()?;
    let type_node = obj.req("type")?;
    let t = type_node.str()?;
    let allowed = fields(t).ok_or_else(|| type_node.error(format!("unknown type `{t}`")))?;
    obj.only(allowed)?;
    Ok((t, obj))
}

fn read_coupon(node: &Node, ctx: &Ctx) -> Result<Coupon> {
    let c = node.obj(&[
        "id",
        "name",
        "description",
        "status",
        "codes",
        "audience",
        "visibility",
        "activation",
        "expiry",
        "window",
        "conditions",
        "reward",
        "limits",
        "priority",
        "stacking",
    ])?;
    let id = c.req("id")?.string()?;
    check_id(&id, &join_path(&node.path, "id"), 64)?;
    let name = c.req("name")?.string()?;
    check_text(&name, &join_path(&node.path, "name"), 200)?;
    let description = c.get("description").map(|d| d.string()).transpose()?;
    if let Some(d) = &description {
        check_text(d, &join_path(&node.path, "description"), 2000)?;
    }
    let status_node = c.req("status")?;
    let status_name = status_node.str()?;
    let status = Status::ALL
        .into_iter()
        .find(|s| s.name() == status_name)
        .ok_or_else(|| {
            status_node.error("status is draft, scheduled, active, paused, ended or archived")
        })?;
    let visibility = match c.get("visibility") {
        None => Visibility::Visible,
        Some(v) => match v.str()? {
            "visible" => Visibility::Visible,
            "hidden" => Visibility::Hidden,
            _ => return Err(v.error("visibility is visible or hidden")),
        },
    };
    let codes = read_codes(&c.req("codes")?, visibility, ctx)?;
    let audience = match c.get("audience") {
        None => Audience::All,
        Some(a) => match tagged(&a, &|t| match t {
            "all" | "assigned" => Some(&["type"]),
            "segment" => Some(&["type", "segment"]),
            _ => None,
        })? {
            ("all", _) => Audience::All,
            ("assigned", _) => Audience::Assigned,
            (_, obj) => {
                let seg = obj.req("segment")?;
                let name = seg.string()?;
                let rule = ctx
                    .segments
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, r)| r)
                    .ok_or_else(|| seg.error(format!("no segment `{name}` in `segments`")))?;
                Audience::Segment {
                    name,
                    rule: rule.clone(),
                }
            }
        },
    };
    let activation = match c.get("activation") {
        None => None,
        Some(a) => Some(
            match tagged(&a, &|t| match t {
                "time" => Some(&["type", "at"]),
                "event" => Some(&["type", "event", "delay"]),
                _ => None,
            })? {
                ("time", obj) => Activation::Time(instant(&obj.req("at")?)?),
                (_, obj) => {
                    let ev = obj.req("event")?;
                    let event = ev.string()?;
                    check_id(&event, &ev.path, 64)?;
                    let delay = obj
                        .get("delay")
                        .map(|d| duration(&d))
                        .transpose()?
                        .unwrap_or_else(Duration::zero);
                    Activation::Event { event, delay }
                }
            },
        ),
    };
    if status == Status::Scheduled && !matches!(activation, Some(Activation::Time(_))) {
        return Err(status_node
            .error("a scheduled coupon needs a time activation (`activation.type: time`)"));
    }
    let expiry = match c.get("expiry") {
        None => None,
        Some(e) => Some(
            match tagged(&e, &|t| match t {
                "fixed" => Some(&["type", "at"]),
                "relative" => Some(&["type", "duration", "from"]),
                _ => None,
            })? {
                ("fixed", obj) => Expiry::Fixed(instant(&obj.req("at")?)?),
                (_, obj) => {
                    let from_node = obj.req("from")?;
                    let from = match from_node.str()? {
                        "activation" if activation.is_some() => ExpiryFrom::Activation,
                        "assignment" if audience == Audience::Assigned => ExpiryFrom::Assignment,
                        "activation" => {
                            return Err(
                                from_node.error("counting from activation needs an `activation`")
                            )
                        }
                        "assignment" => {
                            return Err(from_node
                                .error("counting from assignment needs `audience.type: assigned`"))
                        }
                        _ => return Err(from_node.error("`from` is activation or assignment")),
                    };
                    Expiry::Relative {
                        duration: duration(&obj.req("duration")?)?,
                        from,
                    }
                }
            },
        ),
    };
    let (window_start, window_end) = match c.get("window") {
        None => (None, None),
        Some(w) => {
            let obj = w.obj(&["start", "end"])?;
            let start = obj.get("start").map(|s| instant(&s)).transpose()?;
            let end = obj.get("end").map(|s| instant(&s)).transpose()?;
            if let (Some(s), Some(e)) = (start, end) {
                if e <= s {
                    return Err(w.error("`end` must be after `start`"));
                }
            }
            (start, end)
        }
    };
    let conditions = c
        .get("conditions")
        .map(|p| Predicate::read(&p, Scope::Cart))
        .transpose()?;
    let reward = read_reward(&c.req("reward")?, ctx.currency)?;
    let limits = match c.get("limits") {
        None => CouponLimits::default(),
        Some(l) => read_limits(&l, ctx.currency)?,
    };
    if limits.budget.is_some() && matches!(reward.payout, Payout::Cashback { .. }) {
        return Err(
            node.error("a money budget limits discounts; cap cashback with `reward.max_points`")
        );
    }
    let priority = c.get("priority").map(|p| p.i32()).transpose()?.unwrap_or(0);
    let stacking = match c.get("stacking") {
        None => Stacking::new(
            default_class(&reward.target),
            &[Class::Product, Class::Order, Class::Shipping],
            false,
        ),
        Some(st) => read_stacking(&st, &reward.target)?,
    };
    Ok(Coupon {
        id,
        name,
        description,
        status,
        codes,
        audience,
        visibility,
        activation,
        expiry,
        window_start,
        window_end,
        conditions,
        reward,
        limits,
        priority,
        stacking,
    })
}

/// The class a coupon stacks as when the manifest does not say: by what it discounts.
fn default_class(target: &Target) -> Class {
    match target {
        Target::Products(_) => Class::Product,
        Target::Order => Class::Order,
        Target::Shipping | Target::Fee(_) => Class::Shipping,
    }
}

#[inline(never)]
fn read_stacking(node: &Node, target: &Target) -> Result<Stacking> {
    let obj = node.obj(&["class", "combines_with", "exclusive"])?;
    let class_of = |n: &Node| -> Result<Class> {
        Class::parse(n.str()?).ok_or_else(|| n.error("a class is product, order or shipping"))
    };
    let class = match obj.get("class") {
        Some(c) => class_of(&c)?,
        None => default_class(target),
    };
    let combines = match obj.get("combines_with") {
        Some(list) => list
            .items()?
            .iter()
            .map(class_of)
            .collect::<Result<Vec<_>>>()?,
        None => vec![Class::Product, Class::Order, Class::Shipping],
    };
    let exclusive = obj
        .get("exclusive")
        .map(|e| e.bool())
        .transpose()?
        .unwrap_or(false);
    Ok(Stacking::new(class, &combines, exclusive))
}

#[inline(never)]
fn read_codes(node: &Node, visibility: Visibility, ctx: &Ctx) -> Result<Codes> {
    let (t, obj) = tagged(node, &|t| match t {
        "static" => Some(&["type", "code", "code_hash"]),
        "bulk" => Some(&["type", "prefix", "length", "check"]),
        "automatic" => Some(&["type"]),
        _ => None,
    })?;
    let normalized =
        |n: &Node| codes::normalize(n.str()?, &n.path).map_err(|e| n.error(e.to_string()));
    match t {
        "static" => match (obj.get("code"), obj.get("code_hash")) {
            (Some(code), None) => {
                if visibility == Visibility::Hidden {
                    return Err(code.error(
                        "a hidden coupon must carry `code_hash`, not its code, so that a browser cannot list it",
                    ));
                }
                let code = normalized(&code)?;
                Ok(Codes::Static {
                    hash: codes::hash_code(ctx.manifest_id, &code),
                    code: Some(code),
                })
            }
            (None, Some(h)) => {
                if visibility == Visibility::Visible {
                    return Err(h.error(
                        "a visible coupon shows its code in the tray: give `code`, or make the coupon hidden",
                    ));
                }
                let hash = h.string()?;
                if hash.len() != 43
                    || !hash
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(
                        h.error("must be 43 characters of base64url (SHA-512/256, see docs)")
                    );
                }
                Ok(Codes::Static { code: None, hash })
            }
            _ => Err(node.error("a static code has `code` or `code_hash`, one of them")),
        },
        "bulk" => {
            let prefix = normalized(&obj.req("prefix")?)?;
            let length_node = obj.req("length")?;
            let length = usize::try_from(length_node.u64()?).unwrap_or(usize::MAX);
            if prefix.len() > 16 || length < prefix.len().saturating_add(6) || length > MAX_CODE_LEN
            {
                return Err(node.error(format!(
                    "a bulk prefix has at most 16 characters and codes at least 6 more, {MAX_CODE_LEN} in all"
                )));
            }
            let check = match obj.get("check") {
                Some(n) => n.bool()?,
                None => false,
            };
            Ok(Codes::Bulk {
                prefix,
                length,
                check,
            })
        }
        _ => Ok(Codes::Automatic),
    }
}

#[inline(never)]
fn read_target(node: &Node) -> Result<Target> {
    Ok(
        match tagged(node, &|t| match t {
            "order" | "shipping" => Some(&["type"]),
            "products" => Some(&["type", "match"]),
            "fee" => Some(&["type", "fee"]),
            _ => None,
        })? {
            ("order", _) => Target::Order,
            ("shipping", _) => Target::Shipping,
            ("products", obj) => {
                Target::Products(Predicate::read(&obj.req("match")?, Scope::Line)?)
            }
            (_, obj) => {
                let fee = obj.req("fee")?;
                let id = fee.string()?;
                check_id(&id, &fee.path, 64)?;
                Target::Fee(id)
            }
        },
    )
}

#[inline(never)]
fn read_reward(node: &Node, currency: Currency) -> Result<Reward> {
    let (t, obj) = tagged(node, &|t| match t {
        "percentage" => Some(&["type", "percent", "target", "max_discount"]),
        "fixed_amount" => Some(&["type", "amount", "target"]),
        "cashback" => Some(&[
            "type",
            "percent",
            "amount",
            "points",
            "target",
            "points_per_unit",
            "max_points",
        ]),
        _ => None,
    })?;
    let target = |required: bool| -> Result<Target> {
        match obj.get("target") {
            Some(t) => read_target(&t),
            None if required => Err(obj.node().error("missing field `target`")),
            None => Ok(Target::Order),
        }
    };
    match t {
        "percentage" => Ok(Reward {
            kind: "percentage",
            amount: Amount::Percent(percent(&obj.req("percent")?)?),
            target: target(true)?,
            max_discount: obj
                .get("max_discount")
                .map(|m| amount(&m, currency))
                .transpose()?,
            payout: Payout::Discount,
        }),
        "fixed_amount" => Ok(Reward {
            kind: "fixed_amount",
            amount: Amount::Fixed(amount(&obj.req("amount")?, currency)?),
            target: target(true)?,
            max_discount: None,
            payout: Payout::Discount,
        }),
        _ => {
            let value = match (obj.get("percent"), obj.get("amount"), obj.get("points")) {
                (Some(p), None, None) => Amount::Percent(percent(&p)?),
                (None, Some(a), None) => Amount::Fixed(amount(&a, currency)?),
                (None, None, Some(n)) if n.u64()? > 0 => Amount::Points(n.u64()?),
                _ => return Err(node.error(
                    "cashback takes exactly one of `percent`, `amount` or `points` (more than 0)",
                )),
            };
            let points_per_unit = match obj.get("points_per_unit") {
                Some(r) => {
                    let rate = money::parse_decimal(r.str()?, 4, &r.path)
                        .map_err(|e| r.error(e.to_string()))?;
                    if rate.is_zero() {
                        return Err(r.error("must be more than zero"));
                    }
                    rate
                }
                None => Decimal::ONE,
            };
            let max_points = match obj.get("max_points") {
                Some(m) if m.u64()? == 0 => {
                    return Err(m.error("must be at least 1 (leave it out for no cap)"))
                }
                Some(m) => Some(m.u64()?),
                None => None,
            };
            Ok(Reward {
                kind: "cashback",
                amount: value,
                target: target(false)?,
                max_discount: None,
                payout: Payout::Cashback {
                    points_per_unit,
                    max_points,
                },
            })
        }
    }
}

#[inline(never)]
fn read_limits(node: &Node, currency: Currency) -> Result<CouponLimits> {
    let obj = node.obj(&["per_user", "global", "budget"])?;
    let count = |key: &str| -> Result<Option<u64>> {
        match obj.get(key) {
            None => Ok(None),
            Some(n) => match n.u64()? {
                0 => Err(n.error("must be at least 1 (leave it out for no limit)")),
                v => Ok(Some(v)),
            },
        }
    };
    Ok(CouponLimits {
        per_user: count("per_user")?,
        global: count("global")?,
        budget: obj
            .get("budget")
            .map(|b| amount(&b, currency))
            .transpose()?,
    })
}

impl Manifest {
    /// Builds the code indexes and refuses duplicates and ambiguous prefixes.
    fn index(&mut self) -> Result<()> {
        let ids = self
            .coupons
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        Index::build(ids).map_err(|(id, first, i)| {
            invalid(
                &format!("coupons[{i}].id"),
                format!("`{id}` is also the id of coupons[{first}]"),
            )
        })?;
        let (mut plain, mut hashed) = (Vec::new(), Vec::new());
        for (i, c) in self.coupons.iter().enumerate() {
            match &c.codes {
                Codes::Static { code, hash } => {
                    if let Some(code) = code {
                        plain.push((code.clone(), i));
                    }
                    hashed.push((hash.clone(), i));
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
        // Every static code has a hash, visible or not, so the hashes catch every repeat.
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
        for (code, i) in self.plain_codes.iter() {
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
