//! Stacking: which of the coupons that qualify apply together.
//!
//! Every coupon has a combination class (`product`, `order` or `shipping`), the classes it
//! combines with, and may be `exclusive` (it combines with nothing). Two coupons go together when
//! neither is exclusive and each one's class is in the other's list. A cart also takes at most
//! `settings.max_codes_per_cart` codes (automatic coupons do not count).
//!
//! Two ways to choose, set by `settings.stacking`:
//! - `priority` (the default): highest `priority` first, then coupon id; each coupon joins when it
//!   goes with every coupon already chosen.
//! - `best_deal`: the set that saves the customer the most. Exact for up to [`EXACT_LIMIT`]
//!   candidates: every set that cannot take one more coupon is priced (adding a coupon never lowers
//!   the total, so the best set is one of those). Ties go to the set whose priorities, highest
//!   first, are higher, then to the set whose ids sort first. Beyond the limit: coupons in order of
//!   what each saves alone (then priority, then id), each joining when it goes with those chosen.

use crate::error::Result;
use crate::manifest::Coupon;
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// How many candidates best deal compares exactly (2^12 = 4,096 sets at most).
pub const EXACT_LIMIT: usize = 12;

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

    fn bit(self) -> u8 {
        match self {
            Class::Product => 1,
            Class::Order => 2,
            Class::Shipping => 4,
        }
    }
}

/// A coupon's stacking rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stacking {
    pub class: Class,
    /// The classes it combines with, as bits.
    combines: u8,
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

/// Whether two coupons apply together.
pub fn compatible(a: &Coupon, b: &Coupon) -> bool {
    let (x, y) = (a.stacking, b.stacking);
    !x.exclusive && !y.exclusive && x.combines_with(y.class) && y.combines_with(x.class)
}

/// The first chosen coupon that `coupon` does not go with, for its reason.
pub fn lost_to<'a>(coupon: &Coupon, chosen: &[&'a Coupon]) -> Option<&'a Coupon> {
    chosen
        .iter()
        .copied()
        .find(|c| c.id != coupon.id && !compatible(coupon, c))
}

/// The candidates (in priority order, highest first) and what the engine needs to price a set.
pub struct Choice<'a> {
    pub coupons: Vec<&'a Coupon>,
    /// Whether each candidate came with a code (codes count against the per-cart limit).
    pub has_code: Vec<bool>,
    pub max_codes: usize,
    /// What each candidate saves on its own (for best deal past the exact limit).
    pub alone: Vec<Decimal>,
}

impl std::fmt::Debug for Choice<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Choice")
            .field("candidates", &self.coupons.len())
            .finish()
    }
}

impl Choice<'_> {
    fn fits(&self, set: &[bool], i: usize) -> bool {
        let Some(c) = self.coupons.get(i) else {
            return false;
        };
        let codes = set
            .iter()
            .zip(&self.has_code)
            .filter(|(s, h)| **s && **h)
            .count();
        let code_ok = !self.has_code.get(i).copied().unwrap_or(false) || codes < self.max_codes;
        code_ok
            && set
                .iter()
                .zip(&self.coupons)
                .all(|(s, o)| !*s || compatible(c, o))
    }

    /// Adds candidates in `order`, each one that fits what is already chosen.
    fn greedy(&self, order: &[usize]) -> Vec<bool> {
        let mut set = vec![false; self.coupons.len()];
        for &i in order {
            if self.fits(&set, i) {
                if let Some(s) = set.get_mut(i) {
                    *s = true;
                }
            }
        }
        set
    }

    /// Chooses the set. `price` returns what a set saves in all.
    pub fn choose(
        &self,
        mode: Mode,
        price: &mut dyn FnMut(&[bool]) -> Result<Decimal>,
    ) -> Result<Vec<bool>> {
        let n = self.coupons.len();
        let by_priority: Vec<usize> = (0..n).collect();
        match mode {
            Mode::Priority => Ok(self.greedy(&by_priority)),
            Mode::BestDeal if n > EXACT_LIMIT => {
                let order = crate::sort::indices(n, &|a, b| {
                    self.alone.get(b).cmp(&self.alone.get(a)).then(a.cmp(&b))
                });
                Ok(self.greedy(&order))
            }
            Mode::BestDeal => {
                let mut best: Option<(Decimal, Vec<bool>)> = None;
                for mask in 0u32..(1u32 << n) {
                    let set: Vec<bool> = (0..n).map(|i| mask & (1 << i) != 0).collect();
                    let valid = (0..n).filter(|&i| set.get(i) == Some(&true)).all(|i| {
                        let mut without = set.clone();
                        if let Some(s) = without.get_mut(i) {
                            *s = false;
                        }
                        self.fits(&without, i)
                    });
                    let maximal = (0..n).all(|i| set.get(i) == Some(&true) || !self.fits(&set, i));
                    if !valid || !maximal {
                        continue;
                    }
                    let saved = price(&set)?;
                    let better = match &best {
                        None => true,
                        Some((top, top_set)) => match saved.cmp(top) {
                            Ordering::Greater => true,
                            Ordering::Less => false,
                            Ordering::Equal => self.tie(&set, top_set) == Ordering::Less,
                        },
                    };
                    if better {
                        best = Some((saved, set));
                    }
                }
                Ok(best.map(|(_, s)| s).unwrap_or_else(|| vec![false; n]))
            }
        }
    }

    /// Orders two sets of equal value: higher priorities first, then ids that sort first.
    /// Candidates are in priority order, so comparing chosen positions does both at once.
    fn tie(&self, a: &[bool], b: &[bool]) -> Ordering {
        let picks = |s: &[bool]| -> Vec<usize> {
            (0..s.len()).filter(|&i| s.get(i) == Some(&true)).collect()
        };
        picks(a).cmp(&picks(b))
    }
}
