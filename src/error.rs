//! The one error type: a call failed because its input was bad, a signature did not hold, or a limit
//! was exceeded. A coupon that does not apply is not an error; see [`crate::Reason`].

use std::fmt;

/// Why a call failed. Every variant has a stable code ([`Error::code`]) that is public API: it is
/// documented in docs/errors.md, tested, and never renamed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The signed manifest is not a compact JWS: not three base64url parts, or a header that is not JSON.
    ManifestMalformed { message: String },
    /// The JWS header names an algorithm other than `EdDSA`, or lists `crit` extensions we do not know.
    ManifestAlgorithmUnsupported { alg: String },
    /// The key set is not a JWKS of Ed25519 (OKP) public keys.
    KeySetInvalid { message: String },
    /// The JWS header's `kid` names no key in the key set (`Some`), or the header has no `kid`
    /// string at all (`None`).
    ManifestKeyUnknown { kid: Option<String> },
    /// The signature does not verify over the bytes received: a changed byte or the wrong key.
    ManifestSignatureInvalid,
    /// The manifest's `expires_at` is at or before `now`.
    ManifestExpired { expires_at: String, now: String },
    /// The manifest's `issued_at` is after `now` (beyond the allowed clock skew).
    ManifestNotYetValid { issued_at: String, now: String },
    /// The manifest's `version` is not one this engine reads.
    ManifestVersionUnsupported { version: String },
    /// The manifest payload does not follow the schema (docs/manifest.md) at `path`.
    ManifestInvalid { path: String, message: String },
    /// A request (cart, user, codes, usage, options) does not have the expected shape at `path`.
    InvalidRequest { path: String, message: String },
    /// A money amount at `path` is not a non-negative decimal string with at most the currency's
    /// minor-unit digits, or is too large.
    InvalidAmount { path: String, message: String },
    /// A quantity at `path` is not a whole number from 1 to the allowed maximum.
    InvalidQuantity { path: String, message: String },
    /// A time at `path` is not an RFC 3339 date-time with an offset, or a duration is not ISO 8601.
    InvalidTime { path: String, message: String },
    /// The currency at `path` is not an ISO 4217 code this engine knows.
    UnknownCurrency { path: String, currency: String },
    /// The cart's currency differs from the manifest's.
    CurrencyMismatch { expected: String, actual: String },
    /// Two cart lines share the id at `path`.
    DuplicateLineId { path: String, id: String },
    /// A submitted code at `path` has characters that cannot be part of a code after normalisation.
    CodeInvalid { path: String, message: String },
    /// An input is larger than the configured limit (`what`: manifest bytes, cart lines, codes, ...).
    LimitExceeded {
        what: &'static str,
        limit: u64,
        actual: u64,
    },
    /// Arithmetic left the range of exact decimal money (amounts near 7.9e28).
    AmountOverflow { path: String },
}

impl Error {
    /// The stable UPPER_SNAKE_CASE code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::ManifestMalformed { .. } => "MANIFEST_MALFORMED",
            Error::ManifestAlgorithmUnsupported { .. } => "MANIFEST_ALGORITHM_UNSUPPORTED",
            Error::KeySetInvalid { .. } => "KEYSET_INVALID",
            Error::ManifestKeyUnknown { .. } => "MANIFEST_KEY_UNKNOWN",
            Error::ManifestSignatureInvalid => "MANIFEST_SIGNATURE_INVALID",
            Error::ManifestExpired { .. } => "MANIFEST_EXPIRED",
            Error::ManifestNotYetValid { .. } => "MANIFEST_NOT_YET_VALID",
            Error::ManifestVersionUnsupported { .. } => "MANIFEST_VERSION_UNSUPPORTED",
            Error::ManifestInvalid { .. } => "MANIFEST_INVALID",
            Error::InvalidRequest { .. } => "INVALID_REQUEST",
            Error::InvalidAmount { .. } => "INVALID_AMOUNT",
            Error::InvalidQuantity { .. } => "INVALID_QUANTITY",
            Error::InvalidTime { .. } => "INVALID_TIME",
            Error::UnknownCurrency { .. } => "UNKNOWN_CURRENCY",
            Error::CurrencyMismatch { .. } => "CURRENCY_MISMATCH",
            Error::DuplicateLineId { .. } => "DUPLICATE_LINE_ID",
            Error::CodeInvalid { .. } => "CODE_INVALID",
            Error::LimitExceeded { .. } => "LIMIT_EXCEEDED",
            Error::AmountOverflow { .. } => "AMOUNT_OVERFLOW",
        }
    }

    /// The field path the error is about, where there is one (`cart.lines[2].unit_price`).
    pub fn path(&self) -> Option<&str> {
        match self {
            Error::ManifestInvalid { path, .. }
            | Error::InvalidRequest { path, .. }
            | Error::InvalidAmount { path, .. }
            | Error::InvalidQuantity { path, .. }
            | Error::InvalidTime { path, .. }
            | Error::UnknownCurrency { path, .. }
            | Error::DuplicateLineId { path, .. }
            | Error::CodeInvalid { path, .. }
            | Error::AmountOverflow { path } => Some(path),
            _ => None,
        }
    }

    /// The same error about the value at `at`: readers of one value leave the path empty, and the
    /// caller, who knows where the value sat, fills it in only when something failed.
    pub fn at(mut self: Box<Self>, at: &dyn Fn() -> String) -> Box<Self> {
        if let Error::ManifestInvalid { path, .. }
        | Error::InvalidRequest { path, .. }
        | Error::InvalidAmount { path, .. }
        | Error::InvalidQuantity { path, .. }
        | Error::InvalidTime { path, .. }
        | Error::UnknownCurrency { path, .. }
        | Error::DuplicateLineId { path, .. }
        | Error::CodeInvalid { path, .. }
        | Error::AmountOverflow { path } = &mut *self
        {
            *path = join_path(&at(), path);
        }
        self
    }

    /// The same error about the field `key` of the value at hand (see [`Error::at`]).
    #[inline(never)]
    pub fn under(self: Box<Self>, key: &str) -> Box<Self> {
        self.at(&|| key.to_string())
    }

    /// The same error about item `i` of the list at hand (see [`Error::at`]).
    #[inline(never)]
    pub fn item(self: Box<Self>, i: usize) -> Box<Self> {
        self.at(&|| format!("[{i}]"))
    }

    /// Every error code, for the docs table and the test that keeps it complete.
    pub const CODES: &'static [&'static str] = &[
        "MANIFEST_MALFORMED",
        "MANIFEST_ALGORITHM_UNSUPPORTED",
        "KEYSET_INVALID",
        "MANIFEST_KEY_UNKNOWN",
        "MANIFEST_SIGNATURE_INVALID",
        "MANIFEST_EXPIRED",
        "MANIFEST_NOT_YET_VALID",
        "MANIFEST_VERSION_UNSUPPORTED",
        "MANIFEST_INVALID",
        "INVALID_REQUEST",
        "INVALID_AMOUNT",
        "INVALID_QUANTITY",
        "INVALID_TIME",
        "UNKNOWN_CURRENCY",
        "CURRENCY_MISMATCH",
        "DUPLICATE_LINE_ID",
        "CODE_INVALID",
        "LIMIT_EXCEEDED",
        "AMOUNT_OVERFLOW",
    ];
}

/// `MANIFEST_INVALID` at `path`, relative to the value being read: each caller above prefixes
/// where that value sat ([`Error::under`], [`Error::item`]), only when something failed.
#[inline(never)]
pub(crate) fn invalid(path: &str, message: impl Into<String>) -> Box<Error> {
    Box::new(Error::ManifestInvalid {
        path: path.to_string(),
        message: message.into(),
    })
}

pub(crate) fn join_path(prefix: &str, path: &str) -> String {
    if path.is_empty() || path == "." {
        prefix.to_string()
    } else if prefix.is_empty() {
        path.to_string()
    } else {
        // By hand: `format!` costs several times more, and every field read builds a path.
        let mut out = String::with_capacity(prefix.len() + path.len() + 1);
        out.push_str(prefix);
        if !path.starts_with('[') {
            out.push('.');
        }
        out.push_str(path);
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ManifestMalformed { message } => {
                write!(f, "the signed manifest is not a compact JWS: {message}")
            }
            Error::ManifestAlgorithmUnsupported { alg } => {
                write!(
                    f,
                    "the manifest is signed with `{alg}`; only EdDSA (Ed25519) is accepted"
                )
            }
            Error::KeySetInvalid { message } => {
                write!(f, "the key set is not a valid JWKS: {message}")
            }
            Error::ManifestKeyUnknown { kid: Some(kid) } => {
                write!(f, "no key with kid `{kid}` in the key set")
            }
            Error::ManifestKeyUnknown { kid: None } => write!(
                f,
                "the JWS header has no `kid`: it must name the key of the key set that signed it"
            ),
            Error::ManifestSignatureInvalid => write!(f, "the manifest signature does not verify"),
            Error::ManifestExpired { expires_at, now } => {
                write!(f, "the manifest expired at {expires_at} (now is {now})")
            }
            Error::ManifestNotYetValid { issued_at, now } => {
                write!(
                    f,
                    "the manifest is issued at {issued_at}, after now ({now})"
                )
            }
            Error::ManifestVersionUnsupported { version } => {
                write!(
                    f,
                    "manifest version {version} is not supported (this engine reads version 1)"
                )
            }
            Error::ManifestInvalid { path, message } => write!(f, "manifest {path}: {message}"),
            Error::InvalidRequest { path, message }
            | Error::InvalidAmount { path, message }
            | Error::InvalidQuantity { path, message }
            | Error::InvalidTime { path, message }
            | Error::CodeInvalid { path, message } => {
                // A request that is wrong as a whole has no path to name.
                let sep = if path.is_empty() { "" } else { ": " };
                write!(f, "{path}{sep}{message}")
            }
            Error::UnknownCurrency { path, currency } => {
                write!(f, "{path}: `{currency}` is not a known ISO 4217 currency")
            }
            Error::CurrencyMismatch { expected, actual } => {
                write!(
                    f,
                    "the cart is in {actual} but the manifest prices coupons in {expected}"
                )
            }
            Error::DuplicateLineId { path, id } => {
                write!(f, "{path}: line id `{id}` is used twice")
            }
            Error::LimitExceeded {
                what,
                limit,
                actual,
            } => {
                write!(f, "too many {what}: {actual}, the limit is {limit}")
            }
            Error::AmountOverflow { path } => {
                write!(f, "{path}: the amount is too large to compute exactly")
            }
        }
    }
}

impl std::error::Error for Error {}

/// Shorthand used across the core.
pub type Result<T, E = Box<Error>> = std::result::Result<T, E>;
