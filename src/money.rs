//! Exact money: ISO 4217 currencies, amount parsing, the one rounding rule, and allocation.
//!
//! Amounts are `rust_decimal::Decimal` in major units ("12.50") and cross every boundary as strings.
//! **The rounding rule:** a computed discount is rounded once, to the currency's minor unit, half away
//! from zero ([`round`]), and then capped by what it applies to. Shares of a discount spread over
//! several lines use the largest-remainder method ([`allocate`]), so the shares sum exactly to it.

use crate::error::{Error, Result};
use arrayvec::ArrayString;
use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;

/// An ISO 4217 currency this engine knows, with its number of minor-unit digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    code: &'static str,
    minor_units: u32,
}

/// Active ISO 4217 codes (list 1, 2025) with minor units other than 2; every other listed code has 2.
const NON_TWO_DIGIT: &[(&str, u32)] = &[
    ("BHD", 3),
    ("BIF", 0),
    ("CLF", 4),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("PYG", 0),
    ("RWF", 0),
    ("TND", 3),
    ("UGX", 0),
    ("UYI", 0),
    ("UYW", 4),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
];

const TWO_DIGIT: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD \
BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP \
GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL \
MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR \
PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD \
TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG";

impl Currency {
    /// Looks up an ISO 4217 code (upper case, exactly three letters).
    pub fn from_code(code: &str) -> Option<Currency> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return None;
        }
        if let Some((c, minor_units)) = NON_TWO_DIGIT.iter().find(|(c, _)| *c == code) {
            return Some(Currency {
                code: c,
                minor_units: *minor_units,
            });
        }
        TWO_DIGIT
            .split_ascii_whitespace()
            .find(|c| *c == code)
            .map(|c| Currency {
                code: c,
                minor_units: 2,
            })
    }

    /// Parses a currency field, with `path` for the error.
    pub fn parse(code: &str, path: &str) -> Result<Currency> {
        Currency::from_code(code)
            .ok_or_else(|| Error::UnknownCurrency {
                path: path.to_string(),
                currency: code.chars().take(16).collect(),
            })
            .map_err(Box::new)
    }

    /// The ISO 4217 code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point (JPY 0, USD 2, KWD 3).
    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }

    /// The smallest amount: 0.01 for USD, 1 for JPY, 0.001 for KWD.
    pub fn unit(&self) -> Decimal {
        Decimal::new(1, self.minor_units)
    }

    /// Rounds a computed amount to this currency's minor unit: the engine's one rounding rule.
    pub fn round(&self, amount: Decimal) -> Decimal {
        round(amount, self.minor_units)
    }

    /// Formats an amount with exactly the currency's digits ("5" in USD is "5.00").
    #[inline(never)]
    pub fn format(&self, amount: Decimal) -> String {
        let mut a = amount;
        if a.scale() != self.minor_units {
            a = self.round(a);
            a.rescale(self.minor_units);
        }
        // At the currency's scale the mantissa is the amount in minor units (`rescale` keeps a
        // smaller scale when the digits would not fit: then `text` places the point).
        match u128::try_from(a.mantissa()) {
            Ok(units) if a.scale() == self.minor_units => self.figure(units).as_str().to_string(),
            _ => text(a),
        }
    }
}

impl Currency {
    /// Formats an amount given in whole minor units ("1250" cents is "12.50"): the same text as
    /// [`Currency::format`] on the same amount, without a `Decimal`.
    pub fn format_units(&self, units: u128) -> String {
        self.figure(units).as_str().to_string()
    }

    /// [`Currency::format_units`], held inline: no string on the heap. The units' digits are
    /// written once by `itoa` (two at a time; 64-bit while they fit, as 128-bit division is a
    /// software routine in Wasm), then the point goes before the last `minor_units` of them,
    /// with zeros in front when there are not more digits than that.
    #[inline(never)]
    pub fn figure(&self, units: u128) -> Figure {
        let dp = self.minor_units as usize;
        let mut buffer = itoa::Buffer::new();
        let digits = match u64::try_from(units) {
            Ok(u) => buffer.format(u),
            Err(_) => buffer.format(units),
        };
        let mut text = ArrayString::new();
        let whole = digits.len().saturating_sub(dp);
        let (int, minor) = digits.split_at(whole);
        let _ = text.try_push_str(if int.is_empty() { "0" } else { int });
        if dp > 0 {
            let _ = text.try_push('.');
            let _ = text.try_push_str("0000".get(..dp - minor.len()).unwrap_or_default());
            let _ = text.try_push_str(minor);
        }
        Figure(text)
    }

    /// `d` in this currency's whole minor units, or `AMOUNT_OVERFLOW` (naming `path`) when it is
    /// negative, a fraction of a minor unit, or out of range.
    pub fn to_units(&self, d: Decimal, path: &str) -> Result<u128> {
        units(d, self.minor_units).ok_or_else(|| overflow(path))
    }

    /// Whole minor units as a `Decimal` amount with the currency's scale.
    pub fn from_units(&self, units: u128, path: &str) -> Result<Decimal> {
        i128::try_from(units)
            .ok()
            .and_then(|u| Decimal::try_from_i128_with_scale(u, self.minor_units).ok())
            .ok_or_else(|| overflow(path))
    }
}

#[inline(never)]
fn overflow(path: &str) -> Box<Error> {
    Box::new(Error::AmountOverflow {
        path: path.to_string(),
    })
}

/// Sums minor units, or `AMOUNT_OVERFLOW` naming `path`.
pub fn sum_units<I: IntoIterator<Item = u128>>(items: I, path: &str) -> Result<u128> {
    items
        .into_iter()
        .try_fold(0u128, |acc, x| acc.checked_add(x))
        .ok_or_else(|| overflow(path))
}

/// The most bytes of a [`Figure`]: 39 digits of a `u128`, a point and a leading zero.
const FIGURE_BYTES: usize = 41;

/// An amount as text ("12.50"), held inline: what a result shows for each line, without a string
/// on the heap per amount. An `ArrayString` (written from `str`s) is read as a `str` without
/// checking its bytes again.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Figure(ArrayString<FIGURE_BYTES>);

impl Figure {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::ops::Deref for Figure {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Figure {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Figure {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for Figure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// Largest amount accepted on input, in major units (well inside `Decimal`'s range, so that a
/// thousand lines times a million units each still add up exactly).
pub const MAX_AMOUNT_DIGITS: usize = 15;

/// Rounds half away from zero to `dp` decimal places.
#[inline(never)]
pub fn round(amount: Decimal, dp: u32) -> Decimal {
    amount.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// Reads `-?digits(.digits)?` exactly; `None` for anything else or past 28 significant digits.
/// rust_decimal's general parser is several times larger in Wasm, and every caller here has
/// plain decimal digits.
#[inline(never)]
pub fn decimal(s: &str) -> Option<Decimal> {
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() || (body.contains('.') && frac.is_empty()) || frac.len() > 28 {
        return None;
    }
    // Up to 19 digits fit a u64, whose product is one Wasm instruction (a u128's is a call).
    let mantissa = if int.len() + frac.len() <= 19 {
        let mut m = 0u64;
        let all = digits(int.as_bytes(), 0, &mut m) == int.len()
            && digits(frac.as_bytes(), 0, &mut m) == frac.len();
        all.then_some(u128::from(m))?
    } else {
        int.bytes()
            .chain(frac.bytes())
            .try_fold(0u128, |m, b| match b.is_ascii_digit() {
                true => m.checked_mul(10)?.checked_add(u128::from(b - b'0')),
                false => None,
            })?
    };
    let m = i128::try_from(mantissa).ok()?;
    let d = Decimal::try_from_i128_with_scale(
        if negative { -m } else { m },
        u32::try_from(frac.len()).ok()?,
    )
    .ok()?;
    Some(d)
}

/// A JSON number's text (`-12.50`, `1e2`, `1.0000000000000001`) as an exact, normalised decimal;
/// `None` past 28 significant digits or an exponent beyond 56.
pub fn from_json_number(text: &str) -> Option<Decimal> {
    let d = match text.split_once(['e', 'E']) {
        None => decimal(text)?,
        Some((mantissa, exp)) => {
            let mut d = decimal(mantissa)?;
            let e: i32 = exp.parse().ok().filter(|e: &i32| e.abs() <= 56)?;
            if e < 0 {
                d.set_scale(d.scale().checked_add(e.unsigned_abs())?).ok()?;
            } else {
                for _ in 0..e {
                    d = d.checked_mul(Decimal::TEN)?;
                }
            }
            d
        }
    };
    Some(d.normalize())
}

/// Parses a money string in major units: digits, optionally a point and at most the currency's
/// minor-unit digits. No sign, exponent, spaces or thousands separators: "12.50", "0", "1000".
pub fn parse_amount(s: &str, currency: Currency, path: &str) -> Result<Decimal> {
    match amount_digits(s, currency.minor_units()) {
        Some((mantissa, scale)) => Ok(from_mantissa(mantissa, scale)),
        None => amount_refused(s, currency, path),
    }
}

/// A valid amount's digits, in one pass over its bytes and without allocating (every cart line
/// has a price): `mantissa / 10^scale`, its scale the number of digits sent after the point, as
/// [`decimal`] reads them. `None` for anything [`amount_refused`] may refuse (it says why).
#[inline(never)]
fn amount_digits(s: &str, max_dp: u32) -> Option<(u64, u32)> {
    let bytes = s.as_bytes();
    let mut mantissa = 0u64;
    let zeros = bytes.iter().take_while(|b| **b == b'0').count();
    let int_end = digits(bytes, zeros, &mut mantissa);
    // At most 15 significant digits before the point and 4 after it: below 10^19, a u64.
    if int_end == 0 || int_end - zeros > MAX_AMOUNT_DIGITS {
        return None;
    }
    let (end, scale) = match bytes.get(int_end) {
        Some(b'.') => {
            let end = digits(bytes, int_end + 1, &mut mantissa);
            (end, end - int_end - 1)
        }
        _ => (int_end, 0),
    };
    let scale = u32::try_from(scale).ok()?;
    match end == bytes.len() && (end == int_end || (1..=max_dp).contains(&scale)) {
        true => Some((mantissa, scale)),
        false => None,
    }
}

/// Reads the digits of `bytes` from `i` on into `mantissa` (wrapping: a refused amount's value is
/// not used); where they end.
#[inline(always)]
fn digits(bytes: &[u8], mut i: usize, mantissa: &mut u64) -> usize {
    while let Some(d) = bytes
        .get(i)
        .map(|b| b.wrapping_sub(b'0'))
        .filter(|d| *d <= 9)
    {
        *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    i
}

/// The `Decimal` of `mantissa / 10^scale`: what [`decimal`] reads from the same digits.
#[inline(never)]
pub fn from_mantissa(mantissa: u64, scale: u32) -> Decimal {
    Decimal::from_parts(mantissa as u32, (mantissa >> 32) as u32, 0, false, scale)
}

/// [`parse_amount`] rule by rule: why `s` is refused, with its first 40 characters in the message.
#[cold]
#[inline(never)]
fn amount_refused(s: &str, currency: Currency, path: &str) -> Result<Decimal> {
    let bad = |message: String| Error::InvalidAmount {
        path: path.to_string(),
        message,
    };
    let shown: String = s.chars().take(40).collect();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits_ok = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(int) || frac.is_some_and(|f| !digits_ok(f)) {
        return Err(Box::new(bad(format!(
            "`{shown}` is not a decimal amount in major units like \"12.50\" (no sign, exponent or spaces)"
        ))));
    }
    if int.trim_start_matches('0').len() > MAX_AMOUNT_DIGITS {
        return Err(Box::new(bad(format!(
            "`{shown}` is too large (at most {MAX_AMOUNT_DIGITS} digits before the point)"
        ))));
    }
    let frac_len = frac.map_or(0, str::len);
    if frac_len > currency.minor_units() as usize {
        return Err(Box::new(bad(format!(
            "`{shown}` has {frac_len} decimal places; {currency} has {}",
            currency.minor_units()
        ))));
    }
    decimal(s)
        .ok_or_else(|| bad(format!("`{shown}` is not a decimal amount")))
        .map_err(Box::new)
}

/// Parses a decimal that is not money (a percentage, a rate): digits with an optional point and
/// at most `max_dp` places, no sign.
pub fn parse_decimal(s: &str, max_dp: u32, path: &str) -> Result<Decimal> {
    let bad = || Error::InvalidAmount {
        path: path.to_string(),
        message: format!(
            "`{}` is not a non-negative decimal with at most {max_dp} decimal places",
            s.chars().take(40).collect::<String>()
        ),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let ok = !int.is_empty()
        && int.len() <= MAX_AMOUNT_DIGITS
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= max_dp as usize
        && !(s.contains('.') && frac.is_empty());
    if !ok {
        return Err(Box::new(bad()));
    }
    decimal(s).ok_or_else(bad).map_err(Box::new)
}

// The arithmetic below is kept out of line on purpose: rust_decimal's checked operations are
// large, and inlined at every call site they cost 1-2 KB of Wasm each.

/// `a + b`, or an overflow error naming `path`.
#[inline(never)]
pub fn add(a: Decimal, b: Decimal, path: &str) -> Result<Decimal> {
    plus(a, b)
        .ok_or_else(|| Error::AmountOverflow {
            path: path.to_string(),
        })
        .map_err(Box::new)
}

/// `a * b`, or an overflow error naming `path`.
#[inline(never)]
pub fn mul(a: Decimal, b: Decimal, path: &str) -> Result<Decimal> {
    a.checked_mul(b)
        .ok_or_else(|| Error::AmountOverflow {
            path: path.to_string(),
        })
        .map_err(Box::new)
}

/// `a + b`, or `None` past the decimal range.
#[inline(never)]
pub fn plus(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_add(b)
}

/// The shortest form of a number, as text: "12.50" is "12.5", "100" is "100".
#[inline(never)]
pub fn plain(n: Decimal) -> String {
    text(n.normalize())
}

/// A decimal as text with exactly its scale's digits ("-0.50"), from its integer mantissa:
/// Decimal's `Display` and its padding would cost about 2 KB of Wasm.
#[inline(never)]
pub fn text(n: Decimal) -> String {
    let mut m = n.mantissa().unsigned_abs();
    let dp = n.scale() as usize;
    let mut digits = Vec::new();
    while m > 0 || digits.len() <= dp {
        digits.push(b'0' + (m % 10) as u8);
        m /= 10;
    }
    let mut out = String::with_capacity(digits.len() + 2);
    if n.is_sign_negative() && !n.is_zero() {
        out.push('-');
    }
    for (i, d) in digits.iter().rev().enumerate() {
        if i == digits.len() - dp {
            out.push('.');
        }
        out.push(char::from(*d));
    }
    out
}

/// `n` as a `u64` when it is a whole number in range. From the mantissa: `ToPrimitive` brings
/// Decimal's `trunc` along.
#[inline(never)]
pub fn whole(n: Decimal) -> Option<u64> {
    let n = n.normalize();
    if n.scale() != 0 || n.is_sign_negative() && !n.is_zero() {
        return None;
    }
    u64::try_from(n.mantissa()).ok()
}

/// Whether `n` is a whole number.
#[inline(never)]
pub fn is_whole(n: Decimal) -> bool {
    // Through the rounding already in the binary: `fract` would bring its own copy (2 KB).
    n.round_dp_with_strategy(0, RoundingStrategy::ToZero) == n
}

/// `a - b` for amounts where `b <= a` (what was paid from what was owed); never below zero.
#[inline(never)]
pub fn less(a: Decimal, b: Decimal) -> Decimal {
    // a + (-b): subtraction would bring a second copy of the addition code (2 KB).
    // Never -0 either (a - a is -0 this way), which would print as "-0.00".
    match plus(a, -b) {
        Some(d) if d > Decimal::ZERO => d,
        _ => Decimal::ZERO,
    }
}

/// Sums amounts, or an overflow error naming `path`.
pub fn sum<I: IntoIterator<Item = Decimal>>(items: I, path: &str) -> Result<Decimal> {
    items
        .into_iter()
        .try_fold(Decimal::ZERO, |acc, x| add(acc, x, path))
}

/// `d` in minor units (`dp` decimals), when it is a whole number of them.
fn units(d: Decimal, dp: u32) -> Option<u128> {
    // Trailing zeros past the minor unit ("1.500" in USD) are fine; a fraction of a unit is not.
    let d = match d.scale() > dp {
        true => Some(d.round_dp_with_strategy(dp, RoundingStrategy::ToZero)).filter(|r| *r == d)?,
        false => d,
    };
    if d.is_sign_negative() || d.scale() > dp {
        return None;
    }
    u128::try_from(d.mantissa())
        .ok()?
        .checked_mul(10u128.checked_pow(dp - d.scale())?)
}

/// Splits `total` over `weights` in proportion, in whole minor units, so that the shares sum exactly
/// to `total` (largest-remainder method) and no share exceeds its weight. `total` must not exceed
/// the sum of the weights, and every amount is in whole minor units. Ties in the remainder go to the
/// larger weight, then the earlier index, so callers pass weights in a canonical order (by line id)
/// to stay independent of input order.
///
/// Exact integers: each share is floor(total x weight / whole) minor units, and the units left over
/// go one each to the largest remainders. Amounts whose products pass 128 bits (beyond about 1e19
/// minor units each) are `AMOUNT_OVERFLOW`: there is no division of decimals in the engine.
pub fn allocate(total: Decimal, weights: &[Decimal], currency: Currency) -> Result<Vec<Decimal>> {
    let dp = currency.minor_units();
    let whole = sum(weights.iter().copied(), "allocation")?;
    if whole.is_zero() || total.is_zero() {
        return Ok(vec![Decimal::ZERO; weights.len()]);
    }
    let ws = weights
        .iter()
        .map(|w| units(*w, dp))
        .collect::<Option<Vec<u128>>>()
        .ok_or_else(|| overflow("allocation"))?;
    let t = units(total.min(whole), dp).ok_or_else(|| overflow("allocation"))?;
    let mut shares = Vec::new();
    let all = sum_units(ws.iter().copied(), "allocation")?;
    allocate_units(t, &ws, all, &mut shares, &mut Vec::new())?;
    shares
        .into_iter()
        .map(|s| currency.from_units(s, "allocation"))
        .collect()
}

/// How many buckets [`spread_units`] counts remainders into.
const BUCKETS: usize = 64;

/// [`allocate`] in whole minor units: splits `total` (at most the sum of `weights`, which the
/// caller passes as `all`: it has just added them up) over `weights` into `shares`, exactly, by
/// largest remainder. `scratch` is working space a caller
/// may keep between calls. Linear: the leftover units go to the largest remainders found by
/// selection (`select_nth_unstable_by`), never by sorting every weight; ties go to the larger
/// weight, then the earlier index, as in [`allocate`].
///
/// In 64-bit arithmetic whenever `total x sum(weights)` fits (any real cart: 128-bit division is
/// a long software routine in Wasm), else in 128 bits, else `AMOUNT_OVERFLOW`.
#[inline(never)]
pub fn allocate_units(
    total: u128,
    weights: &[u128],
    all: u128,
    shares: &mut Vec<u128>,
    scratch: &mut Vec<(u128, u128, usize)>,
) -> Result<()> {
    shares.clear();
    scratch.clear();
    if all == 0 || total == 0 {
        shares.resize(weights.len(), 0);
        return Ok(());
    }
    let t = total.min(all);
    shares.resize(weights.len(), 0);
    if spread_units(t, weights, all, shares.as_mut_slice()) {
        return Ok(());
    }
    shares.clear();
    let mut given = 0u128;
    for (i, &w) in weights.iter().enumerate() {
        let p = t.checked_mul(w).ok_or_else(|| overflow("allocation"))?;
        let (share, rem) = (p / all, p % all);
        shares.push(share);
        given += share; // at most t
        if rem > 0 {
            scratch.push((rem, w, i));
        }
    }
    hand_out(t - given, scratch, shares);
    Ok(())
}

/// A weight [`spread_units`] reads, in whole minor units.
pub trait Weight: Copy {
    /// Its low 64 bits: all of it where it is read (every weight is at most their sum, which is
    /// checked to fit).
    fn low(self) -> u64;
}

impl Weight for u64 {
    #[inline(always)]
    fn low(self) -> u64 {
        self
    }
}

impl Weight for u128 {
    #[inline(always)]
    fn low(self) -> u64 {
        self as u64
    }
}

/// Where [`spread_units`] hands each share: a caller that lowers amounts as shares are worked
/// out needs no vector of shares.
pub trait Take {
    /// Takes `units` more for the weight at `i`.
    fn take(&mut self, i: usize, units: u64);
}

/// Shares added up in place.
impl Take for [u128] {
    #[inline(always)]
    fn take(&mut self, i: usize, units: u64) {
        if let Some(s) = self.get_mut(i) {
            *s += u128::from(units);
        }
    }
}

/// [`allocate_units`] in 64 bits, without a vector of shares: each index's share is handed to
/// `give` as it is worked out, then each leftover unit (one call per unit). `false`, and nothing
/// given, when `total x all` does not fit in 64 bits (the caller then splits in 128 bits). `total`
/// is at most `all`, the sum of `weights`.
///
/// Linear: one pass works out each share and counts each nonzero remainder into one of 64
/// buckets by its top bits (remainders are below `all`); the bucket where the count from the top
/// reaches the units left is the threshold; a second pass gives a unit to every remainder above
/// it, and only that bucket's remainders are ordered (remainder, then the larger weight, then
/// the earlier index), as [`hand_out`] does.
#[inline]
pub fn spread_units<W: Weight>(
    total: u128,
    weights: &[W],
    all: u128,
    give: &mut (impl Take + ?Sized),
) -> bool {
    // Every product t x w is at most t x all.
    let (Ok(t), Ok(all), true) = (
        u64::try_from(total),
        u64::try_from(all),
        total
            .checked_mul(all)
            .is_some_and(|p| p <= u128::from(u64::MAX)),
    ) else {
        return false;
    };
    if all == 0 || t == 0 {
        return true;
    }
    let shift = (64 - all.leading_zeros()).saturating_sub(BUCKETS.trailing_zeros());
    let mut counts = [0u32; BUCKETS];
    let mut given = 0u64;
    for (i, &w) in weights.iter().enumerate() {
        // w <= all, so it fits too.
        let p = t.wrapping_mul(w.low());
        let share = p / all;
        let rem = p - share * all;
        if rem > 0 {
            if let Some(c) = counts.get_mut((rem >> shift) as usize) {
                *c += 1;
            }
        }
        if share > 0 {
            give.take(i, share);
            given += share;
        }
    }
    let left = t - given;
    if left == 0 {
        return true;
    }
    let (mut cut, mut above) = (0usize, 0u64);
    for (b, &c) in counts.iter().enumerate().rev() {
        if above + u64::from(c) >= left {
            cut = b;
            break;
        }
        above += u64::from(c);
    }
    let mut ties: Vec<(u64, u64, usize)> = Vec::new();
    for (i, &w) in weights.iter().enumerate() {
        let rem = t.wrapping_mul(w.low()) % all;
        if rem == 0 {
            continue;
        }
        let b = (rem >> shift) as usize;
        if b > cut {
            give.take(i, 1);
        } else if b == cut {
            ties.push((rem, w.low(), i));
        }
    }
    let need = usize::try_from(left - above)
        .unwrap_or(usize::MAX)
        .min(ties.len());
    select_ties(&mut ties, need);
    for &(_, _, i) in ties.iter().take(need) {
        give.take(i, 1);
    }
    true
}

/// [`spread_units`] on the amounts themselves: lowers each of `amounts` (the weights, `all` their
/// sum) by its share of `total` (at most `all`), in place, with the same shares and the same
/// leftover units (largest remainder, ties to the larger weight, then the earlier index).
/// `None`, and nothing lowered, when `total x all` does not fit in 64 bits; else whether an
/// amount that had something left now has nothing (what a caller keeping the amounts' sum and
/// whether one is 0 needs: the sum is now `all - total`).
///
/// One pass over the amounts: each is lowered by its share, and one with a remainder is linked
/// into one of 64 buckets by the remainder's top bits (its weight kept beside the link). The
/// leftover units then go bucket by bucket from the top, walking only the lists they reach; the
/// bucket where they run out is the threshold, and only its remainders are ordered.
#[inline(never)]
pub fn spread_in_place(
    total: u128,
    all: u128,
    amounts: &mut [u64],
    scratch: &mut Spread,
) -> Option<bool> {
    let (Ok(t), Ok(all)) = (u64::try_from(total.min(all)), u64::try_from(all)) else {
        return None;
    };
    if all == 0 || t == 0 {
        return Some(false);
    }
    // t x all in 64 bits, checked by a division (a 128-bit product is three calls in Wasm).
    if all > u64::MAX / t {
        return None;
    }
    let shift = (64 - all.leading_zeros()).saturating_sub(BUCKETS.trailing_zeros());
    // Links are written before they are read: the buffer only grows, never cleared.
    let links = &mut scratch.links;
    if links.len() < amounts.len() {
        links.resize(amounts.len(), (0, NONE));
    }
    let mut head = [NONE; BUCKETS];
    let mut given = 0u64;
    for (k, (a, link)) in amounts.iter_mut().zip(links.iter_mut()).enumerate() {
        let w = *a;
        // w <= all, so t x w fits too, and the share is at most w.
        let p = t.wrapping_mul(w);
        let share = p / all;
        let rem = p - share * all;
        *a = w - share;
        given += share;
        // Every amount is linked, no branch: one without a remainder is in the lowest bucket
        // and ranks last there, and more amounts have a remainder than there are units left
        // (the remainders sum to them x `all`), so it never takes one.
        if let Some(h) = head.get_mut((rem >> shift) as usize & (BUCKETS - 1)) {
            *link = (w, *h);
            *h = k;
        }
    }
    let mut left = t - given;
    // The whole of every amount when `t` is `all`; otherwise each keeps at least 1 before the
    // leftover units, and one left with 1 may give it up.
    let mut emptied = t == all;
    // Each bucket's list, from the last amount linked, walked by hand (an iterator over it is a
    // call per step). Each amount on it takes a unit as it is counted; at the bucket where the
    // units run out (the threshold, met once) they are given back, and only its remainders are
    // ordered. Wrapping: a unit taken from an amount with nothing left is given back there.
    for &first in head.iter().rev() {
        if left == 0 {
            break;
        }
        let (mut count, mut k, mut zero) = (0u64, first, false);
        while let Some(&(_, next)) = links.get(k) {
            if let Some(a) = amounts.get_mut(k) {
                *a = a.wrapping_sub(1);
                zero |= *a == 0;
            }
            count += 1;
            k = next;
        }
        if count <= left {
            left -= count;
            emptied |= zero;
            continue;
        }
        k = first;
        while let Some(&(_, next)) = links.get(k) {
            if let Some(a) = amounts.get_mut(k) {
                *a = a.wrapping_add(1);
            }
            k = next;
        }
        // The threshold: its remainders in order, the first `left` take a unit.
        let ties = &mut scratch.ties;
        ties.clear();
        k = first;
        while let Some(&(w, next)) = links.get(k) {
            ties.push((t.wrapping_mul(w) % all, w, k));
            k = next;
        }
        let need = usize::try_from(left).unwrap_or(usize::MAX);
        select_ties(ties, need);
        for &(_, _, k) in ties.iter().take(need) {
            if let Some(a) = amounts.get_mut(k) {
                *a -= 1;
                emptied |= *a == 0;
            }
        }
        break;
    }
    Some(emptied)
}

/// Puts the `need` largest of `ties` (remainder, then the larger weight, then the earlier index)
/// first: one copy of the selection for both spreads.
#[inline(never)]
fn select_ties(ties: &mut [(u64, u64, usize)], need: usize) {
    if need > 0 && need < ties.len() {
        ties.select_nth_unstable_by(need - 1, |a, b| {
            b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2))
        });
    }
}

/// No link: the end of a bucket's list.
const NONE: usize = usize::MAX;

/// [`spread_in_place`]'s working space, kept between calls.
#[derive(Debug, Default)]
pub struct Spread {
    /// Per amount with a remainder: its weight and the next in its bucket.
    links: Vec<(u64, usize)>,
    /// The threshold bucket's remainders, weights and indices.
    ties: Vec<(u64, u64, usize)>,
}

/// Gives the `left` units still to hand out one each to the largest remainders (`(remainder,
/// weight, index)`, ties to the larger weight, then the earlier index). There are fewer of them
/// than nonzero remainders, which sum to `left` x the whole. Selects the threshold remainder
/// among the bare remainders (cheap to compare and move), then breaks ties at the threshold only.
fn hand_out<T: Ord + Copy, L: TryInto<usize>>(
    left: L,
    candidates: &mut [(T, T, usize)],
    shares: &mut [u128],
) {
    let left = left.try_into().unwrap_or(usize::MAX).min(candidates.len());
    if left == 0 {
        return;
    }
    let mut give = |i: usize| {
        if let Some(s) = shares.get_mut(i) {
            *s += 1;
        }
    };
    if left == candidates.len() {
        candidates.iter().for_each(|c| give(c.2));
        return;
    }
    // The `left`-th largest remainder is at position `len - left` in ascending order; the
    // natural order selects with a plain comparison, cheaper than a reversed closure.
    let mut rems: Vec<T> = candidates.iter().map(|c| c.0).collect();
    let (_, &mut threshold, _) = rems.select_nth_unstable(candidates.len() - left);
    let mut at_threshold = Vec::new();
    let mut given = 0;
    for c in candidates.iter() {
        if c.0 > threshold {
            give(c.2);
            given += 1;
        } else if c.0 == threshold {
            at_threshold.push((c.1, c.2));
        }
    }
    let need = left - given;
    if need > 0 && need < at_threshold.len() {
        at_threshold.select_nth_unstable_by(need - 1, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    }
    at_threshold.iter().take(need).for_each(|&(_, i)| give(i));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(Currency::from_code("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::from_code("KWD").unwrap().minor_units(), 3);
        assert_eq!(Currency::from_code("USD").unwrap().minor_units(), 2);
        assert!(Currency::from_code("usd").is_none());
        assert!(Currency::from_code("XXX").is_none());
    }

    #[test]
    fn decimals_are_read_exactly_on_both_sides_of_19_digits() {
        // 19 digits are read in a u64, more in a u128; rust_decimal's own parser agrees.
        for s in [
            "0",
            "-0.5",
            "12.50",
            "9999999999999999999",
            "999999999999999999.9",
            "18446744073709551616",
            "-10000000000000000000",
            "1234567890.123456789012345678",
            "7922816251426433759354395033",
        ] {
            assert_eq!(decimal(s), Some(d(s)), "{s}");
        }
        // Past 28 digits (a Decimal's most), and what is not plain digits.
        for bad in [
            "79228162514264337593543950336",
            "1.2.3",
            "12a",
            "",
            "-",
            "1.",
            ".1",
        ] {
            assert_eq!(decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn amounts_are_strict() {
        let usd = Currency::from_code("USD").unwrap();
        assert_eq!(parse_amount("12.5", usd, "p").unwrap(), d("12.5"));
        for bad in [
            "", "-1", "-0", "1e3", "NaN", "Infinity", " 1", "1.", ".5", "1.234", "1,000", "+1",
        ] {
            let err = parse_amount(bad, usd, "p").unwrap_err();
            assert_eq!(err.code(), "INVALID_AMOUNT", "{bad}");
        }
        let jpy = Currency::from_code("JPY").unwrap();
        assert!(parse_amount("100.5", jpy, "p").is_err());
        assert!(parse_amount("1234567890123456", usd, "p").is_err());
    }

    /// The one-pass reader accepts what the rule-by-rule one does, with the same digits and
    /// scale, and leaves every refusal (and its message) to it.
    #[test]
    fn amounts_read_in_one_pass_as_rule_by_rule() {
        let mut rng = crate::lcg(3u64);
        let mut next = || {
            let seed = rng();
            (seed >> 33) as usize
        };
        let alphabet = b"0000011123456789..9-e x";
        for code in ["USD", "JPY", "KWD", "CLF"] {
            let c = Currency::from_code(code).unwrap();
            for _ in 0..20_000 {
                let len = next() % 22;
                let s: String = (0..len)
                    .map(|_| char::from(alphabet[next() % alphabet.len()]))
                    .collect();
                let (fast, slow) = (parse_amount(&s, c, "p"), amount_refused(&s, c, "p"));
                assert_eq!(fast.is_ok(), slow.is_ok(), "{s}");
                match (fast, slow) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!((a.mantissa(), a.scale()), (b.mantissa(), b.scale()), "{s}")
                    }
                    (a, b) => assert_eq!(
                        a.err().map(|e| e.to_string()),
                        b.err().map(|e| e.to_string())
                    ),
                }
            }
        }
    }

    #[test]
    fn allocation_sums_exactly_and_never_exceeds_a_weight() {
        let usd = Currency::from_code("USD").unwrap();
        let shares = allocate(d("10.00"), &[d("3.33"), d("3.33"), d("3.34")], usd).unwrap();
        assert_eq!(shares.iter().copied().sum::<Decimal>(), d("10.00"));
        let shares = allocate(d("1.00"), &[d("1"), d("1"), d("1")], usd).unwrap();
        assert_eq!(shares, vec![d("0.34"), d("0.33"), d("0.33")]);
        let shares = allocate(d("0.05"), &[d("0.01"), d("0.01"), d("100")], usd).unwrap();
        assert_eq!(shares.iter().copied().sum::<Decimal>(), d("0.05"));
    }

    #[test]
    fn allocation_is_exact_up_to_128_bit_products() {
        let usd = Currency::from_code("USD").unwrap();
        let weights = [d("3.33"), d("3.33"), d("3.34"), d("0.01")];
        let shares = allocate(d("1.01"), &weights, usd).unwrap();
        assert_eq!(shares, vec![d("0.34"), d("0.33"), d("0.34"), d("0.00")]);
        // A hundred quadrillion dollars still splits exactly...
        let big = [d("50000000000000000.00"), d("30000000000000000.01")];
        let shares = allocate(d("70000000000000000.01"), &big, usd).unwrap();
        assert_eq!(
            shares.iter().copied().sum::<Decimal>(),
            d("70000000000000000.01")
        );
        assert!(shares.iter().zip(&big).all(|(s, w)| s <= w));
        // ...and past 128-bit products it is an error, never a wrong split.
        let huge = [
            d("50000000000000000000000"),
            d("30000000000000000000000.01"),
        ];
        let err = allocate(d("70000000000000000000000.01"), &huge, usd).unwrap_err();
        assert_eq!(err.code(), "AMOUNT_OVERFLOW");
    }

    #[test]
    fn units_format_as_decimals_do() {
        for code in ["USD", "JPY", "KWD", "CLF"] {
            let c = Currency::from_code(code).unwrap();
            for u in [
                0u128,
                1,
                9,
                10,
                99,
                100,
                12345,
                u128::from(u64::MAX),
                u128::from(u64::MAX) + 1,
                10u128.pow(28) - 1,
            ] {
                let d = Decimal::from_i128_with_scale(i128::try_from(u).unwrap(), c.minor_units());
                assert_eq!(c.format_units(u), c.format(d), "{code} {u}");
                assert_eq!(c.format_units(u), text(d), "{code} {u}");
            }
            let mut rng = crate::lcg(3u64);
            for _ in 0..20_000 {
                let seed = rng();
                let u = u128::from(seed >> (seed % 64));
                let d = Decimal::from_i128_with_scale(i128::try_from(u).unwrap(), c.minor_units());
                assert_eq!(c.format_units(u), c.format(d), "{code} {u}");
                // `format` goes through the same digits: `text` is the reference.
                assert_eq!(c.format_units(u), text(d), "{code} {u}");
            }
            // Past Decimal's range: the digits of the number, the point before the last few.
            for u in [u128::MAX, u128::MAX / 7, 10u128.pow(38)] {
                let digits = u.to_string();
                let (whole, minor) = digits.split_at(digits.len() - c.minor_units() as usize);
                let want = match minor.is_empty() {
                    true => whole.to_string(),
                    false => format!("{whole}.{minor}"),
                };
                assert_eq!(c.format_units(u), want, "{code} {u}");
            }
        }
    }

    /// Largest remainder by a full sort, as the engine did before: the reference.
    fn by_sorting(t: u128, ws: &[u128]) -> Vec<u128> {
        let all: u128 = ws.iter().sum();
        let t = t.min(all);
        let mut shares: Vec<u128> = ws.iter().map(|w| t * w / all).collect();
        let mut order: Vec<usize> = (0..ws.len()).collect();
        order.sort_by(|&a, &b| {
            let rem = |i: usize| t * ws[i] % all;
            rem(b).cmp(&rem(a)).then(ws[b].cmp(&ws[a])).then(a.cmp(&b))
        });
        let left = t - shares.iter().sum::<u128>();
        for &i in order.iter().take(usize::try_from(left).unwrap()) {
            shares[i] += 1;
        }
        shares
    }

    #[test]
    fn allocation_selects_as_sorting_did_in_64_and_128_bits() {
        let mut rng = crate::lcg(7u64);
        let mut next = || {
            let seed = rng();
            seed >> 33
        };
        for case in 0..300 {
            let n = 1 + (next() % 40) as usize;
            // Every third case past 64-bit products: the 128-bit path.
            let big = if case % 3 == 0 { 1u128 << 40 } else { 1 };
            let ws: Vec<u128> = (0..n).map(|_| u128::from(next() % 5000) * big).collect();
            let all: u128 = ws.iter().sum();
            let t = u128::from(next() % 7000) * big + u128::from(next() % 3);
            let mut got = Vec::new();
            allocate_units(t, &ws, all, &mut got, &mut Vec::new()).unwrap();
            let want = if all == 0 || t == 0 {
                vec![0; n]
            } else {
                by_sorting(t, &ws)
            };
            assert_eq!(got, want, "case {case}: {t} over {ws:?}");
        }
    }

    #[test]
    fn spreading_in_place_lowers_by_the_same_shares() {
        let mut rng = crate::lcg(11u64);
        let mut next = || {
            let seed = rng();
            seed >> 33
        };
        let mut scratch = Spread::default();
        for case in 0..600 {
            let n = 1 + (next() % 60) as usize;
            // Some cases with many equal weights (ties at the threshold), some with zeros.
            let spread = [5000, 7, 2][case % 3];
            let ws: Vec<u64> = (0..n).map(|_| next() % spread).collect();
            let all: u64 = ws.iter().sum();
            let t = next() % (all + 3);
            let mut got = ws.clone();
            let emptied = spread_in_place(u128::from(t), u128::from(all), &mut got, &mut scratch);
            let really = ws.iter().zip(&got).any(|(&w, &g)| w != 0 && g == 0);
            assert_eq!(emptied, Some(really), "case {case}: {t} over {ws:?}");
            let wide: Vec<u128> = ws.iter().map(|&w| u128::from(w)).collect();
            let want: Vec<u64> = if all == 0 || t == 0 {
                ws.clone()
            } else {
                by_sorting(u128::from(t), &wide)
                    .iter()
                    .zip(&ws)
                    .map(|(&s, &w)| w - u64::try_from(s).unwrap())
                    .collect()
            };
            assert_eq!(got, want, "case {case}: {t} over {ws:?}");
        }
        // Past 64-bit products: refused, nothing lowered.
        let mut big = vec![1u64 << 40, 1 << 40];
        assert_eq!(
            spread_in_place(1 << 41, 1 << 41, &mut big, &mut scratch),
            None
        );
        assert_eq!(big, vec![1u64 << 40, 1 << 40]);
    }

    #[test]
    fn text_keeps_the_scale() {
        for (n, want) in [
            ("0", "0"),
            ("0.50", "0.50"),
            ("-1.05", "-1.05"),
            ("120", "120"),
            ("0.001", "0.001"),
        ] {
            assert_eq!(text(d(n)), want);
        }
        assert_eq!(plain(d("12.50")), "12.5");
        assert_eq!(plain(d("100")), "100");
    }

    #[test]
    fn decimals_are_read_exactly() {
        for (text, want) in [
            ("0", "0"),
            ("12.50", "12.50"),
            ("-0.001", "-0.001"),
            (
                "7922816251426433759354395033",
                "7922816251426433759354395033",
            ),
        ] {
            assert_eq!(decimal(text), Some(d(want)), "{text}");
            assert_eq!(decimal(text).unwrap().to_string(), want);
        }
        for bad in [
            "",
            "-",
            ".5",
            "5.",
            "1e3",
            "1.2.3",
            " 1",
            "+1",
            "1,5",
            "99999999999999999999999999999",
            "0.00000000000000000000000000001",
        ] {
            assert_eq!(decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        let usd = Currency::from_code("USD").unwrap();
        assert_eq!(usd.round(d("1.005")), d("1.01"));
        assert_eq!(usd.round(d("1.004")), d("1.00"));
        assert_eq!(usd.format(d("5")), "5.00");
        assert_eq!(
            Currency::from_code("JPY").unwrap().format(d("149.5")),
            "150"
        );
    }
}
