//! The manifest payload (version 1): what coupons exist and how each behaves. The payload is read
//! strictly (unknown fields are refused) and validated into the model the engine evaluates.
//! docs/manifest.md and docs/manifest.schema.json describe the same shape for people and tools.

use crate::cart::{CartFacts, Event, EventFacts, User};
use crate::codes::{self, MAX_CODE_LEN};
use crate::error::{join_path, Error, Result};
use crate::json::{self, Node, Obj, Source};
use crate::money::{self, Currency};
use crate::rules::{Failure, Predicate, Scope, Value};
use crate::sort::Index;
use crate::stacking::{Class, Mode, Stacking};
use crate::time::{parse_duration, parse_instant, Duration, Instant};
use crate::zone::{Schedule, Zone, Zones};
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
    /// Whether `event` of `user` fires this trigger: `Err(None)` when it is another event,
    /// `Err(Some)` with the failed rule when its `where` does not hold. The rule is judged as of
    /// the event (`from_now` counts from its time), so the answer never changes later.
    pub fn matches(
        &self,
        event: &Event,
        user: &User,
    ) -> std::result::Result<(), Option<Box<Failure>>> {
        if event.name != self.event {
            return Err(None);
        }
        let outer = CartFacts {
            user,
            cart: None,
            now: event.at,
        };
        match &self.filter {
            Some(rule) => rule
                .check(&EventFacts {
                    outer: &outer,
                    event,
                })
                .map_or(Ok(()), |f| Err(Some(Box::new(f)))),
            None => Ok(()),
        }
    }

    /// Reads `{ event, where?, delay? }` from an object whose keys were checked.
    fn read(obj: &Obj) -> Result<Trigger> {
        let ev = obj.req("event")?;
        let event = ev.string()?;
        check_id(&event, &ev.path, 64)?;
        Ok(Trigger {
            event,
            filter: obj
                .get("where")
                .map(|w| Predicate::read(&w, Scope::Event))
                .transpose()?,
            delay: obj
                .get("delay")
                .map(|d| duration(&d))
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
    /// How the reward picks what it discounts.
    pub units: Units,
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
    },
    /// Buy `buy.1` units matching `buy.0`, get `get.1` other units matching `get.0` at the reward's
    /// amount off each.
    BuyGet {
        buy: (Predicate, u64),
        get: (Predicate, u64),
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
        return Err(Box::new(invalid(
            path,
            format!("ids are 1 to {max} characters of A-Z, a-z, 0-9, `_` and `-`"),
        )));
    }
    Ok(())
}

#[inline(never)]
fn check_text(s: &str, path: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() || json::char_count(s) > max {
        return Err(Box::new(invalid(
            path,
            format!("must be 1 to {max} characters"),
        )));
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
            return Err(Box::new(invalid("", "the payload is not a JSON object")));
        };
        match map.get("version") {
            Some(Value::Num(n)) if *n == Decimal::from(SUPPORTED_VERSION) => {}
            Some(other) => {
                return Err(Box::new(Error::ManifestVersionUnsupported {
                    version: other.show(),
                }))
            }
            None => return Err(Box::new(invalid("version", "missing field `version`"))),
        }
        Ok(Payload(tree))
    }

    /// `issued_at` and `expires_at`.
    pub(crate) fn validity(&self) -> Result<(Instant, Instant)> {
        let time = |name: &str| -> Result<Instant> {
            match &self.0 {
                Value::Map(m) => match m.get(name) {
                    Some(Value::Str(s)) => parse_instant(s, name)
                        .map_err(|e| invalid(name, e.to_string()))
                        .map_err(Box::new),
                    _ => Err(Box::new(invalid(
                        name,
                        format!("`{name}` must be an RFC 3339 date-time"),
                    ))),
                },
                _ => Err(Box::new(invalid("", "the payload is not a JSON object"))),
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
        "time_zones",
        "coupons",
    ])?;
    let id = m.req("id")?.string()?;
    check_id(&id, "id", 128)?;
    let issued_at = instant(&m.req("issued_at")?)?;
    let expires_at = instant(&m.req("expires_at")?)?;
    if expires_at <= issued_at {
        return Err(Box::new(invalid("expires_at", "must be after issued_at")));
    }
    let currency_node = m.req("currency")?;
    let currency = Currency::from_code(currency_node.str()?)
        .ok_or_else(|| currency_node.error("not an ISO 4217 currency this engine knows"))?;
    let mut zones = Zones::read(m.get("time_zones").as_ref(), issued_at)?;
    let mut max_codes_per_cart = DEFAULT_MAX_CODES_PER_CART;
    let mut stacking = Mode::Priority;
    if let Some(settings) = m.get("settings") {
        let settings = settings.obj(&["max_codes_per_cart", "stacking", "time_zone"])?;
        if let Some(z) = settings.get("time_zone") {
            zones.default = zones.resolve(Some(&z))?;
        }
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
        .map(|c| read_coupon(c, &ctx, &mut zones))
        .collect::<Result<Vec<_>>>()?;
    let time_zone = zones.default;
    let mut manifest = Manifest {
        id,
        issued_at,
        expires_at,
        currency,
        max_codes_per_cart,
        stacking,
        zones: zones.finish(root)?,
        time_zone,
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
pub(crate) fn instant(node: &Node) -> Result<Instant> {
    parse_instant(node.str()?, &node.path).map_err(|e| node.error(e.to_string()))
}

#[inline(never)]
pub(crate) fn duration(node: &Node) -> Result<Duration> {
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

fn read_coupon(node: &Node, ctx: &Ctx, zones: &mut Zones) -> Result<Coupon> {
    let c = node.obj(&[
        "id",
        "name",
        "description",
        "status",
        "codes",
        "audience",
        "visibility",
        "activation",
        "distribution",
        "expiry",
        "window",
        "conditions",
        "reward",
        "limits",
        "priority",
        "stacking",
        "schedule",
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
                "event" => Some(&["type", "event", "where", "delay"]),
                _ => None,
            })? {
                ("time", obj) => Activation::Time(instant(&obj.req("at")?)?),
                (_, obj) => Activation::Event(Trigger::read(&obj)?),
            },
        ),
    };
    let mut distribution = Vec::new();
    if let Some(d) = c.get("distribution") {
        let items = d.items()?;
        if audience != Audience::Assigned {
            return Err(
                d.error("`distribution` assigns the coupon: it needs `audience.type: assigned`")
            );
        }
        within("distribution", items.len(), 8)?;
        for item in &items {
            distribution.push(Trigger::read(&item.obj(&["event", "where", "delay"])?)?);
        }
    }
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
    let schedule = c
        .get("schedule")
        .map(|s| Schedule::read(&s, &mut |n| zones.resolve(n)))
        .transpose()?;
    Ok(Coupon {
        id,
        name,
        description,
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

/// A target, and its unit selection (`select`, `max_quantity`) when it has one.
type Selection = Option<(bool, Option<u64>)>;

#[inline(never)]
fn read_target(node: &Node) -> Result<(Target, Selection)> {
    let (t, obj) = tagged(node, &|t| match t {
        "order" | "shipping" => Some(&["type"]),
        "products" => Some(&["type", "match", "select", "max_quantity"]),
        "fee" => Some(&["type", "fee"]),
        _ => None,
    })?;
    Ok(match t {
        "order" => (Target::Order, None),
        "shipping" => (Target::Shipping, None),
        "products" => {
            let select = match obj.get("select") {
                None => None,
                Some(s) => Some(match s.str()? {
                    "cheapest" => true,
                    "most_expensive" => false,
                    _ => return Err(s.error("select is cheapest or most_expensive")),
                }),
            };
            let max = obj.get("max_quantity").map(|m| count(&m)).transpose()?;
            if select.is_none() && max.is_some() {
                return Err(node.error("`max_quantity` goes with `select`"));
            }
            (
                Target::Products(Predicate::read(&obj.req("match")?, Scope::Line)?),
                select.map(|c| (c, max)),
            )
        }
        _ => {
            let fee = obj.req("fee")?;
            let id = fee.string()?;
            check_id(&id, &fee.path, 64)?;
            (Target::Fee(id), None)
        }
    })
}

/// An integer of at least 1.
#[inline(never)]
fn count(node: &Node) -> Result<u64> {
    match node.u64()? {
        0 => Err(node.error("must be at least 1")),
        n => Ok(n),
    }
}

/// Exactly one of `percent` or `amount`: what a tier or a get unit gives.
fn percent_or_amount(obj: &Obj, currency: Currency) -> Result<Amount> {
    match (obj.get("percent"), obj.get("amount")) {
        (Some(p), None) => Ok(Amount::Percent(percent(&p)?)),
        (None, Some(a)) => Ok(Amount::Fixed(amount(&a, currency)?)),
        _ => Err(obj
            .node()
            .error("give exactly one of `percent` or `amount`")),
    }
}

#[inline(never)]
fn read_reward(node: &Node, currency: Currency) -> Result<Reward> {
    let (t, obj) = tagged(node, &|t| match t {
        "percentage" => Some(&["type", "percent", "target", "max_discount"]),
        "fixed_amount" => Some(&["type", "amount", "target", "allocation"]),
        "cashback" => Some(&[
            "type",
            "percent",
            "amount",
            "points",
            "target",
            "points_per_unit",
            "max_points",
        ]),
        "buy_x_get_y" => Some(&[
            "type",
            "buy",
            "get",
            "percent",
            "amount",
            "max_applications",
        ]),
        "tiered" => Some(&["type", "basis", "tiers", "target", "max_discount"]),
        "fixed_price" => Some(&["type", "price", "quantity", "target", "max_applications"]),
        _ => None,
    })?;
    let target = || -> Result<(Target, Selection)> {
        match obj.get("target") {
            Some(t) => read_target(&t),
            None if t == "cashback" => Ok((Target::Order, None)),
            None => Err(obj.node().error("missing field `target`")),
        }
    };
    // The target of a reward that does not select units.
    let whole = || -> Result<Target> {
        match target()? {
            (target, None) => Ok(target),
            _ => Err(node.error("`select` works on percentage and fixed_amount rewards")),
        }
    };
    let products = |what: &str| -> Result<Target> {
        match whole()? {
            t @ Target::Products(_) => Ok(t),
            _ => Err(node.error(format!("{what} needs a `products` target"))),
        }
    };
    let max_discount = || {
        obj.get("max_discount")
            .map(|m| amount(&m, currency))
            .transpose()
    };
    let applications = || obj.get("max_applications").map(|m| count(&m)).transpose();
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
            Some((cheapest, max)) => Units::Select {
                cheapest,
                max,
                each,
            },
            None if each => Units::Select {
                cheapest: true,
                max: None,
                each,
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
                Amount::Percent(percent(&obj.req("percent")?)?),
                target,
                max_discount()?,
                units,
            ))
        }
        "fixed_amount" => {
            let each = match obj.get("allocation") {
                None => false,
                Some(a) => match a.str()? {
                    "across" => false,
                    "each" => true,
                    _ => return Err(a.error("allocation is across or each")),
                },
            };
            let (target, units) = select(target()?, each);
            if each && !matches!(target, Target::Products(_)) {
                return Err(node.error("`allocation: each` needs a `products` target"));
            }
            Ok(reward(
                "fixed_amount",
                Amount::Fixed(amount(&obj.req("amount")?, currency)?),
                target,
                None,
                units,
            ))
        }
        "buy_x_get_y" => {
            // `{ match, quantity }`; `get` may leave out `match` (the same items as `buy`) and
            // `quantity` (1).
            let side = |key: &str, required: bool| -> Result<(Option<Predicate>, u64)> {
                let Some(n) = obj.get(key) else {
                    return match required {
                        true => Err(node.error(format!("missing field `{key}`"))),
                        false => Ok((None, 1)),
                    };
                };
                let o = n.obj(&["match", "quantity"])?;
                let quantity = match o.get("quantity") {
                    Some(q) => count(&q)?,
                    None if required => return Err(n.error("missing field `quantity`")),
                    None => 1,
                };
                let rule = match o.get("match") {
                    Some(m) => Some(Predicate::read(&m, Scope::Line)?),
                    None if required => return Err(n.error("missing field `match`")),
                    None => None,
                };
                Ok((rule, quantity))
            };
            let (Some(buy_rule), buy_quantity) = side("buy", true)? else {
                return Err(node.error("missing field `buy`"));
            };
            let (get_rule, get_quantity) = side("get", false)?;
            let get = (get_rule.unwrap_or_else(|| buy_rule.clone()), get_quantity);
            let buy = (buy_rule, buy_quantity);
            Ok(reward(
                "buy_x_get_y",
                percent_or_amount(&obj, currency)?,
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
            let basis = obj.req("basis")?;
            let by_quantity = match basis.str()? {
                "amount" => false,
                "quantity" => true,
                _ => return Err(basis.error("basis is amount or quantity")),
            };
            let list = obj.req("tiers")?;
            let items = list.items()?;
            if items.is_empty() || items.len() > 20 {
                return Err(list.error("give 1 to 20 tiers"));
            }
            let mut tiers: Vec<(Decimal, Amount)> = Vec::new();
            for item in items {
                let o = item.obj(&["min", "percent", "amount"])?;
                let m = o.req("min")?;
                let min = if by_quantity {
                    Decimal::from(count(&m)?)
                } else {
                    amount(&m, currency)?
                };
                if tiers.last().is_some_and(|(last, _)| min <= *last) {
                    return Err(m.error("tiers go up strictly by `min`"));
                }
                tiers.push((min, percent_or_amount(&o, currency)?));
            }
            let target = whole()?;
            if !matches!(target, Target::Order | Target::Products(_)) {
                return Err(node.error("a tiered reward targets the order or products"));
            }
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
            let price = amount(&obj.req("price")?, currency)?;
            Ok(reward(
                "fixed_price",
                Amount::Fixed(price),
                products("a fixed price")?,
                None,
                Units::FixedPrice {
                    price,
                    quantity: count(&obj.req("quantity")?)?,
                    max: applications()?,
                },
            ))
        }
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
                target: whole()?,
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
fn read_limits(node: &Node, currency: Currency) -> Result<CouponLimits> {
    let mut fields = vec!["per_user", "global", "budget"];
    fields.extend(PERIOD_LIMITS);
    let obj = node.obj(&fields)?;
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
        periods: {
            let mut p = [None; 6];
            for (slot, key) in p.iter_mut().zip(PERIOD_LIMITS) {
                *slot = count(key)?;
            }
            p
        },
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
                        return Err(Box::new(invalid(
                            &format!("coupons[{i}].codes.prefix"),
                            format!("`{prefix}` overlaps the prefix `{other}` of coupons[{j}]"),
                        )));
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
                return Err(Box::new(invalid(
                    &format!("coupons[{i}].codes.code"),
                    format!("starts with `{prefix}`, the bulk prefix of coupons[{j}]"),
                )));
            }
        }
        Ok(())
    }
}
