//! The JS skin: JS value -> request type -> core -> JS value. No business logic lives here; every
//! method is one call into [`crate::Engine`] plus conversion. Errors become JS `Error`s with a
//! stable `.code` (and `.path` where there is one), never a bare string and never a trap.

use crate::engine::Engine;
use crate::error::Error;
use crate::input::{self, EvaluateRequest, UserContext};
use crate::manifest::Limits;
use crate::signature::KeySet;
use crate::time::parse_instant;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

// Linked for its strong `memcmp`, which replaces compiler_builtins' byte-at-a-time one.
use wasm_memcmp as _;

#[global_allocator]
static ALLOCATOR: wasm_pool::Pool<talc::wasm::WasmDynamicTalc> =
    wasm_pool::Pool::new(talc::wasm::new_wasm_dynamic_allocator());

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Money: a decimal string in major units, e.g. "12.50". Times: RFC 3339 strings. */
export type Money = string;
export interface JsonWebKeySet { keys: Array<{ kty: "OKP"; crv: "Ed25519"; x: string; kid: string; alg?: "EdDSA"; use?: "sig" }> }
export interface EngineLimits { max_manifest_bytes?: number; max_coupons?: number; max_cart_lines?: number; max_line_quantity?: number; max_codes?: number; max_fees?: number }
export interface EngineOptions { now?: string; limits?: EngineLimits }
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export interface UserEvent { name: string; at: string; id?: string; properties?: Record<string, JsonValue> }
export interface Assignment { coupon_id: string; assigned_at: string; code?: string }
export interface UserContext { id?: string; properties?: Record<string, JsonValue>; segments?: string[]; events?: UserEvent[]; assignments?: Assignment[]; activations?: Array<{ coupon_id: string; at: string }> }
export interface CartLine { id: string; product_id: string; quantity: number; unit_price: Money; attributes?: Record<string, JsonValue> }
/** A shipping charge: `cart.shipping` (the one charge) or one of `cart.shipping_lines` (`id` required). */
export interface ShippingCharge { amount: Money; method?: JsonValue; id?: string; attributes?: Record<string, JsonValue> }
export interface Cart { currency: string; lines: CartLine[]; shipping?: ShippingCharge; shipping_lines?: Array<ShippingCharge & { id: string }>; fees?: Array<{ id: string; amount: Money; name?: string }>; attributes?: Record<string, JsonValue> }
/** One coupon's or limit group's counters; `periods` / `user_periods` by period label (`2026-11-23`, `2026-W48`, `2026-11`). */
export interface UsageEntry { redemptions?: number; user_redemptions?: number; discount_given?: Money; periods?: Record<string, number>; user_periods?: Record<string, number> }
export interface UsageSnapshot { as_of?: string; coupons?: Record<string, UsageEntry>; groups?: Record<string, UsageEntry> }
/** `allocations: true` adds each applied coupon's share per line, shipping and fee (what the Worker records with a redemption); without it the result is compact. `automatic: false` prices with the typed codes only, leaving automatic coupons out. `previous` (an order edit): the order before the edit; the result then has `edit`. */
export interface EvaluateRequest { cart: Cart; user?: UserContext; codes?: string[]; now?: string; usage?: UsageSnapshot; allocations?: boolean; automatic?: boolean; previous?: PreviousOrder }
/** The order before an edit. Entries may be the previous Evaluation's own `applied`, `lines` and `periods` (their other fields are ignored). */
export interface PreviousOrder { applied: Array<{ coupon_id: string; code?: string | null; discount: Money }>; lines?: Array<{ id: string; discount: Money }>; periods?: { day: string; week: string; month: string } }
/** What an order edit changed: `change` is discount minus previous_discount, with "-" when it went down. */
export interface OrderEdit {
  kept: Array<{ coupon_id: string; code: string | null; previous_discount: Money; discount: Money; change: string }>;
  dropped: Array<{ coupon_id: string; code: string | null; previous_discount: Money; reason: Reason }>;
  added: Array<{ coupon_id: string; code: string | null; discount: Money }>;
  lines?: Array<{ id: string; previous_discount: Money; discount: Money; change: string; added?: true; removed?: true }>;
}
export interface Reason { code: string; message: string; [detail: string]: JsonValue }
export interface Amounts { original: Money; discount: Money; final: Money }
export interface Allocation { target: "line" | "shipping" | "fee"; id?: string; amount: Money }
export interface AppliedCoupon { coupon_id: string; name: string; code: string | null; automatic: boolean; reward: string; target: string; summary: string; discount: Money; cashback_points: number;
  /** The lines the discount was spread over: "all" (every line of the cart) or their ids, in id order; absent when on no line. */
  lines?: "all" | string[]; shipping?: true; shipping_lines?: string[]; fees?: string[];
  /** Only when the request asked (`allocations: true`): each nonzero share. */
  allocations?: Allocation[]; budget_capped?: boolean; next_tier?: { missing: JsonValue; summary: string }; verification: "full" | "format_only" }
export interface Evaluation {
  manifest_id: string; currency: string; now: string;
  lines: Array<Amounts & { id: string }>;
  /** With `cart.shipping_lines`, `shipping` is their sum and `shipping_lines` each one. */
  shipping: Amounts | null; shipping_lines?: Array<Amounts & { id: string }>; fees: Array<Amounts & { id: string }>;
  totals: { subtotal: Money; shipping: Money; fees: Money; discount: Money; total: Money };
  cashback_points: number; applied: AppliedCoupon[];
  rejected: Array<{ code: string; coupon_id?: string; reason: Reason }>;
  periods: { day: string; week: string; month: string };
  /** Only when the request has `previous` (an order edit). */
  edit?: OrderEdit;
}
export interface TrayEntry { coupon_id: string; name: string; description?: string; code: string | null; automatic: boolean; reward: string; target: string; summary: string; has_conditions: boolean; redeemable_from?: string; expires_at: string | null; priority: number }
export interface Distribution {
  assigned: Array<{ coupon_id: string; assigned_at: string; bulk: boolean }>;
  activated: Array<{ coupon_id: string; at: string }>;
  skipped: Array<{ coupon_id: string; reason: Reason }>;
}
/** A coupon's settings in words (what `couponctl inspect` prints), times in the manifest's time zone. */
export interface CouponDescription { coupon_id: string; status: string; hidden: boolean; summary: string; lines: Array<{ label: string; text: string }> }
export interface CodeCheck { code: string; valid: boolean; coupon_id?: string; name?: string; summary?: string; expires_at?: string; has_conditions: boolean; verification: "full" | "format_only"; reason?: Reason }
/** Thrown by every method on bad input: `code` is a stable error code (docs/errors.md). */
export interface CouponError extends Error { code: string; path?: string }
"#;

/// A coupon engine over one verified manifest. See [`crate::Engine`].
#[wasm_bindgen]
#[derive(Debug)]
pub struct CouponEngine {
    inner: Engine,
}

#[wasm_bindgen]
impl CouponEngine {
    /// Verifies a signed manifest (JWS, EdDSA) against a key set and loads it.
    #[wasm_bindgen(js_name = fromSignedManifest)]
    pub fn from_signed_manifest(
        #[wasm_bindgen(unchecked_param_type = "string")] jws: JsValue,
        #[wasm_bindgen(unchecked_param_type = "JsonWebKeySet")] keys: JsValue,
        #[wasm_bindgen(unchecked_param_type = "EngineOptions | undefined")] opts: JsValue,
    ) -> Result<CouponEngine, JsValue> {
        let refuse = |what: &str| Error::ManifestMalformed {
            message: format!("the signed manifest {what}"),
        };
        let jws = text_arg(&jws, refuse)?;
        let keys = stringify(&keys)
            .and_then(|text| KeySet::from_json(&text))
            .map_err(|e| match *e {
                e @ Error::KeySetInvalid { .. } => to_js_error(&e),
                e => to_js_error(&Error::KeySetInvalid {
                    message: e.to_string(),
                }),
            })?;
        let (now, limits) = options(&opts).map_err(|e| to_js_error(&e))?;
        // Refused before it is copied in: its UTF-8 has at least a byte per UTF-16 unit.
        crate::manifest::within(
            "manifest bytes",
            jws.length() as usize,
            limits.max_manifest_bytes,
        )
        .map_err(|e| to_js_error(&e))?;
        // As bytes: a compact JWS is ASCII, and the engine reads it as such (checking it as UTF-8
        // cost 850,000 Wasm instructions for a 1,000-coupon one).
        let jws = crate::handoff::utf8(jws)
            .ok_or_else(|| to_js_error(&refuse("could not be read as UTF-8")))?;
        Engine::from_signed_manifest(&jws, &keys, now, limits)
            .map(|inner| CouponEngine { inner })
            .map_err(|e| to_js_error(&e))
    }

    /// The manifest's id.
    #[wasm_bindgen(getter, js_name = manifestId)]
    pub fn manifest_id(&self) -> String {
        self.inner.manifest_id().to_string()
    }

    /// The coupons this user sees now.
    #[wasm_bindgen(unchecked_return_type = "TrayEntry[]")]
    pub fn tray(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserContext & { now?: string }")] ctx: JsValue,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(ctx)?;
        to_js(self.inner.tray(&ctx))
    }

    /// Prices a cart with codes; consumes nothing.
    #[wasm_bindgen(unchecked_return_type = "Evaluation")]
    pub fn evaluate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EvaluateRequest")] req: JsValue,
    ) -> Result<JsValue, JsValue> {
        // Plain data comes in flat (src/intake.rs), borrowing its lines' text from the handoff.
        if let Some(flat) = crate::intake::Flat::of(&req) {
            if let Ok(mut req) = flat.read::<EvaluateRequest>() {
                req.now.get_or_insert_with(clock);
                return to_js(self.inner.evaluate(&req));
            }
        }
        // Anything else, and what the handoff does not read, as JSON text: it refuses what it
        // must, naming the field. The request borrows from this text while it is priced.
        let text = json_text(&req)?;
        let mut req: EvaluateRequest = input::from_json(&text).map_err(|e| to_js_error(&e))?;
        req.now.get_or_insert_with(clock);
        to_js(self.inner.evaluate(&req))
    }

    /// `evaluate` on the request's JSON text, read with its numbers' own digits: for callers
    /// that hold the text (the Worker), so `"quantity": 1.0000000000000001` is refused as natively.
    #[wasm_bindgen(js_name = evaluateJson, unchecked_return_type = "Evaluation")]
    pub fn evaluate_json(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<JsValue, JsValue> {
        let text = string_arg(&text, |what| Error::InvalidRequest {
            path: String::new(),
            message: format!("the request's JSON text {what}"),
        })?;
        let mut req: EvaluateRequest = input::from_json(&text).map_err(|e| to_js_error(&e))?;
        req.now.get_or_insert_with(clock);
        to_js(self.inner.evaluate(&req))
    }

    /// What one user event does: the coupons it assigns and activates, and those it skips.
    #[wasm_bindgen(unchecked_return_type = "Distribution")]
    pub fn distribute(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserContext & { now?: string }")] ctx: JsValue,
        #[wasm_bindgen(unchecked_param_type = "UserEvent")] event: JsValue,
        #[wasm_bindgen(unchecked_param_type = "UsageSnapshot | undefined")] usage: JsValue,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(ctx)?;
        let event: input::Event = from_js(event)?;
        let usage: Option<input::Usage> = from_js(usage)?;
        to_js(self.inner.distribute(&ctx, &event, usage.as_ref()))
    }

    /// Every coupon's settings in words (or only `couponId`'s: an empty list when there is none).
    #[wasm_bindgen(unchecked_return_type = "CouponDescription[]")]
    pub fn describe(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] coupon_id: JsValue,
    ) -> Result<JsValue, JsValue> {
        let coupon_id = match coupon_id.is_undefined() || coupon_id.is_null() {
            true => None,
            false => Some(string_arg(&coupon_id, |what| Error::InvalidRequest {
                path: "coupon_id".into(),
                message: format!("the coupon id {what}"),
            })?),
        };
        to_js(Ok(crate::describe::describe(
            self.inner.manifest(),
            coupon_id.as_deref(),
            None,
        )))
    }

    /// Checks one typed code for this user now, without a cart.
    #[wasm_bindgen(js_name = checkCode, unchecked_return_type = "CodeCheck")]
    pub fn check_code(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] code: JsValue,
        #[wasm_bindgen(unchecked_param_type = "UserContext & { now?: string }")] ctx: JsValue,
    ) -> Result<JsValue, JsValue> {
        let code = string_arg(&code, code_refused("code"))?;
        let ctx = context(ctx)?;
        to_js(self.inner.check_code(&code, &ctx))
    }
}

/// The check character of a bulk code's characters after its prefix (random and MAC), over the
/// default alphabet (docs/cli.md, codes generate); `undefined` for a character outside it.
#[wasm_bindgen(js_name = checkCharacter)]
pub fn check_character(
    #[wasm_bindgen(unchecked_param_type = "string")] body: JsValue,
) -> Result<Option<String>, JsValue> {
    let body = string_arg(&body, code_refused("body"))?;
    Ok(crate::codes::check_char(&body, crate::codes::DEFAULT_ALPHABET).map(String::from))
}

/// The `code_hash` a hidden static code is published as (SHA-512/256 salted with the manifest id,
/// of the code as the engine normalises it), as `couponctl sign` writes it for a code given in clear.
#[wasm_bindgen(js_name = hiddenCodeHash)]
pub fn hidden_code_hash(
    #[wasm_bindgen(unchecked_param_type = "string")] manifest_id: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] code: JsValue,
) -> Result<String, JsValue> {
    let manifest_id = string_arg(&manifest_id, |what| Error::InvalidRequest {
        path: "manifest_id".into(),
        message: format!("the manifest id {what}"),
    })?;
    let code = string_arg(&code, code_refused("code"))?;
    crate::codes::normalize(&code, "code")
        .map(|normal| crate::codes::hash_code(&manifest_id, &normal))
        .map_err(|e| to_js_error(&e))
}

/// A string argument, whole. What is not a string is refused (wasm-bindgen's own reading of a
/// `&str` takes any object with a `length`, and traps on a huge one), and so is text with a lone
/// surrogate: it has no UTF-8, and would come in with U+FFFD in its place, text the caller never
/// sent. `refuse` makes the error from what is wrong ("must be a string", ...).
fn string_arg(value: &JsValue, refuse: impl Fn(&str) -> Error) -> Result<String, JsValue> {
    let text = text_arg(value, &refuse)?;
    utf8_string(text).ok_or_else(|| to_js_error(&refuse("could not be read as UTF-8")))
}

/// A JS string as a `String`, through [`crate::handoff::utf8`].
fn utf8_string(text: &js_sys::JsString) -> Option<String> {
    crate::handoff::utf8(text).and_then(|bytes| String::from_utf8(bytes).ok())
}

/// [`string_arg`]'s checks, before the text is copied in.
fn text_arg(value: &JsValue, refuse: impl Fn(&str) -> Error) -> Result<&js_sys::JsString, JsValue> {
    let Some(text) = value.dyn_ref::<js_sys::JsString>() else {
        return Err(to_js_error(&refuse("must be a string")));
    };
    if !text.is_well_formed() {
        return Err(to_js_error(&refuse(
            "has a lone surrogate (UTF-16 that is not text)",
        )));
    }
    Ok(text)
}

/// [`string_arg`]'s refusal for a code at `path`.
fn code_refused(path: &'static str) -> impl Fn(&str) -> Error {
    move |what| Error::CodeInvalid {
        path: path.into(),
        message: format!("the code {what}"),
    }
}

/// The current time from the JS clock: the skin reads it so that the core never does.
fn clock() -> String {
    #[allow(clippy::cast_possible_truncation)]
    let millis = js_sys::Date::now() as i64;
    crate::time::format_instant(crate::time::Instant::from_timestamp_millis(millis))
}

/// `fromSignedManifest`'s options: `{ now?, limits? }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
struct Options {
    #[serde(default)]
    now: Option<String>,
    #[serde(default)]
    limits: Option<Limits>,
}

crate::de::objects!(Options);

/// Reads the options: the time to load at (the JS clock when there is none) and the limits.
fn options(opts: &JsValue) -> crate::error::Result<(crate::time::Instant, Limits)> {
    let o: Option<Options> = if opts.is_undefined() || opts.is_null() {
        None
    } else {
        Some(input::from_json(&stringify(opts)?)?)
    };
    let (now, limits) = o.map_or((None, None), |o| (o.now, o.limits));
    let now = match now {
        Some(n) => parse_instant(&n, "now")?,
        None => parse_instant(&clock(), "clock")?,
    };
    Ok((now, limits.unwrap_or_default()))
}

/// A user context (tray, checkCode, distribute) with `now` from the JS clock when it has none.
fn context(value: JsValue) -> Result<UserContext, JsValue> {
    let mut ctx: UserContext = match value.is_undefined() || value.is_null() {
        true => UserContext::default(),
        false => from_js(value)?,
    };
    ctx.now.get_or_insert_with(clock);
    Ok(ctx)
}

/// Reads a JS value into a typed request: its `JSON.stringify` text through serde_json, so that
/// every caller is read by one reader and unknown fields are refused (serde_wasm_bindgen's
/// `from_value` reads only a struct's known fields, so it cannot refuse the others; measured in
/// docs/development.md). A refusal names its field path.
fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, JsValue> {
    input::from_json(&json_text(&value)?).map_err(|e| to_js_error(&e))
}

/// The JSON text [`from_js`] reads (`null` for `undefined`).
fn json_text(value: &JsValue) -> Result<String, JsValue> {
    if value.is_undefined() {
        return Ok("null".into());
    }
    stringify(value).map_err(|e| to_js_error(&e))
}

/// A JS value's `JSON.stringify` text (js/handoff.js), encoded straight into Wasm memory.
///
/// A value JSON cannot carry is refused with what `JSON.stringify` said (a BigInt, a cycle, a
/// getter that throws), or with the path js/handoff.js found it at (NaN, a Map, ...).
fn stringify(value: &JsValue) -> crate::error::Result<String> {
    let refused = |path: String, message: String| Box::new(Error::InvalidRequest { path, message });
    match crate::handoff::json_stringify(value) {
        Ok(text) => text
            .dyn_ref::<js_sys::JsString>()
            .and_then(utf8_string)
            .ok_or_else(|| refused(String::new(), "not representable as JSON".into())),
        Err(thrown) => {
            let field = |k: &str| {
                js_sys::Reflect::get(&thrown, &JsValue::from_str(k))
                    .ok()
                    .and_then(|v| v.as_string())
            };
            let message = field("message").unwrap_or_default();
            Err(match field("path") {
                Some(path) => refused(path, message),
                None => refused(
                    String::new(),
                    format!("not representable as JSON: {message}"),
                ),
            })
        }
    }
}

/// Hands a result to JS as plain objects (maps as objects; money as strings), or its error: one
/// text and one list of words that js/handoff.js builds the objects from (src/handoff.rs).
fn to_js<T: Serialize>(result: crate::error::Result<T>) -> Result<JsValue, JsValue> {
    let value = result.map_err(|e| to_js_error(&e))?;
    crate::handoff::to_js(&value).map_err(|_| {
        to_js_error(&Error::InvalidRequest {
            path: String::new(),
            message: "the result could not be encoded".into(),
        })
    })
}

/// A JS `Error` with `.code`, `.path` and, for limits, `.limit` and `.actual`.
fn to_js_error(e: &Error) -> JsValue {
    let err: JsValue = js_sys::Error::new(&e.to_string()).into();
    let set = |k: &str, v: JsValue| {
        // Setting a property of a fresh Error cannot fail.
        let _ = js_sys::Reflect::set(&err, &JsValue::from_str(k), &v);
    };
    set("code", JsValue::from_str(e.code()));
    if let Some(path) = e.path() {
        set("path", JsValue::from_str(path));
    }
    match e {
        Error::LimitExceeded {
            what,
            limit,
            actual,
        } => {
            set("what", JsValue::from_str(what));
            set("limit", JsValue::from_f64(*limit as f64));
            set("actual", JsValue::from_f64(*actual as f64));
        }
        Error::CurrencyMismatch { expected, actual } => {
            set("expected", JsValue::from_str(expected));
            set("actual", JsValue::from_str(actual));
        }
        _ => {}
    }
    err
}
