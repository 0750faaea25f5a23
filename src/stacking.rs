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
//!   the total, so the best set is one of those), and, with two or more buy X get Y rewards (which
//!   take units from one another), those sets without some of them. Ties go to the set whose priorities, highest
//!   first, are higher, then to the set whose ids sort first. Beyond the limit: coupons in order of
//!   what each saves alone (then priority, then id), each joining when it goes with those chosen.

use crate::error::Result;
use crate::manifest::{Class, Coupon, Mode, Stacking, Units};
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// How many candidates best deal compares exactly (2^12 = 4,096 sets at most).
pub const EXACT_LIMIT: usize = 12;

/// Whether two coupons apply together.
pub fn compatible(a: &Coupon, b: &Coupon) -> bool {
    a.stacking.goes_with(b.stacking)
}

/// Whether every two of `coupons` apply together: the pairwise [`compatible`] of every pair, in
/// one pass over the classes (linear in the number of coupons).
pub fn all_compatible(coupons: &[Stacking]) -> bool {
    if coupons.len() < 2 {
        return true;
    }
    // How many coupons of each class; a coupon must combine with every class among the others.
    let mut count = [0usize; 3];
    for c in coupons {
        if c.exclusive {
            return false;
        }
        if let Some(n) = count.get_mut(c.class.index()) {
            *n += 1;
        }
    }
    let classes = [Class::Product, Class::Order, Class::Shipping];
    coupons.iter().all(|c| {
        classes.iter().all(|&k| {
            let own = usize::from(k == c.class);
            let others = count.get(k.index()).copied().unwrap_or(0) - own;
            others == 0 || c.combines_with(k)
        })
    })
}

/// The coupons chosen so far, summed up so that whether one more goes with all of them is a
/// constant-time question: the classes present, the classes every one of them combines with,
/// whether one is exclusive, and the codes used.
#[derive(Debug, Clone, Copy)]
struct Chosen {
    any: bool,
    exclusive: bool,
    classes: u8,
    combine_all: u8,
    codes: usize,
}

impl Chosen {
    const NONE: Chosen = Chosen {
        any: false,
        exclusive: false,
        classes: 0,
        combine_all: 0b111,
        codes: 0,
    };

    /// [`compatible`] with every chosen coupon.
    fn goes_with(&self, s: Stacking) -> bool {
        !self.any
            || (!s.exclusive
                && !self.exclusive
                && s.combines & self.classes == self.classes
                && self.combine_all & s.class.bit() != 0)
    }

    fn add(&mut self, s: Stacking, code: bool) {
        self.any = true;
        self.exclusive |= s.exclusive;
        self.classes |= s.class.bit();
        self.combine_all &= s.combines;
        self.codes += usize::from(code);
    }
}

/// The first chosen coupon that `coupon` does not go with, for its reason.
pub fn lost_to<'a>(coupon: &Coupon, chosen: &[&'a Coupon]) -> Option<&'a Coupon> {
    chosen
        .iter()
        .copied()
        .find(|c| c.id != coupon.id && !compatible(coupon, c))
}

/// For a buy X get Y coupon that best deal left out although it goes with every chosen coupon:
/// the chosen buy X get Y coupon that saves more on the units they share.
pub fn units_rival<'a>(coupon: &Coupon, chosen: &[&'a Coupon]) -> Option<&'a Coupon> {
    let units = |c: &Coupon| matches!(c.reward.units, Units::BuyGet { .. });
    if !units(coupon) {
        return None;
    }
    chosen
        .iter()
        .copied()
        .find(|c| c.id != coupon.id && units(c))
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
    fn code(&self, i: usize) -> bool {
        self.has_code.get(i).copied().unwrap_or(false)
    }

    /// Adds candidates in `order`, each one that fits what is already chosen. Linear: each
    /// candidate is checked against a summary of the chosen ones, not against each of them.
    fn greedy(&self, order: &[usize]) -> Vec<bool> {
        let mut set = vec![false; self.coupons.len()];
        let mut chosen = Chosen::NONE;
        for &i in order {
            let (Some(c), code) = (self.coupons.get(i), self.code(i)) else {
                continue;
            };
            if (!code || chosen.codes < self.max_codes) && chosen.goes_with(c.stacking) {
                chosen.add(c.stacking, code);
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
                // Sets as bit masks: who goes with whom and who has a code, worked out once.
                let compat: Vec<u32> = (0..n)
                    .map(|i| {
                        (0..n).fold(0u32, |m, j| {
                            match (self.coupons.get(i), self.coupons.get(j)) {
                                (Some(a), Some(b)) if compatible(a, b) => m | 1 << j,
                                _ => m,
                            }
                        })
                    })
                    .collect();
                let codes = (0..n).fold(0u32, |m, i| if self.code(i) { m | 1 << i } else { m });
                // Buy X get Y rewards take units from one another (a unit is freed only once), so
                // with two or more of them a set without some is priced too: it may save more.
                let units = (0..n).fold(0u32, |m, i| match self.coupons.get(i) {
                    Some(c) if matches!(c.reward.units, Units::BuyGet { .. }) => m | 1 << i,
                    _ => m,
                });
                let optional = if units.count_ones() >= 2 { units } else { 0 };
                // Whether candidate `i` fits the set `mask` (which does not hold it).
                let fits = |mask: u32, i: usize| {
                    let code_ok = codes & 1 << i == 0
                        || ((mask & codes).count_ones() as usize) < self.max_codes;
                    let others = compat.get(i).copied().unwrap_or(0);
                    code_ok && mask & !others == 0
                };
                let mut best: Option<(Decimal, Vec<bool>, u32)> = None;
                for mask in 0u32..(1u32 << n) {
                    let valid = (0..n).all(|i| mask & 1 << i == 0 || fits(mask & !(1 << i), i));
                    let maximal = (0..n)
                        .all(|i| mask & 1 << i != 0 || optional & 1 << i != 0 || !fits(mask, i));
                    if !valid || !maximal {
                        continue;
                    }
                    let set: Vec<bool> = (0..n).map(|i| mask & 1 << i != 0).collect();
                    let saved = price(&set)?;
                    let better = match &best {
                        None => true,
                        Some((top, top_set, top_mask)) => match saved.cmp(top) {
                            Ordering::Greater => true,
                            Ordering::Less => false,
                            // A set without some buy X get Y rewards wins only by saving more:
                            // the larger one keeps them, each with its own reason.
                            Ordering::Equal if mask & top_mask == *top_mask => true,
                            Ordering::Equal if mask & top_mask == mask => false,
                            Ordering::Equal => self.tie(&set, top_set) == Ordering::Less,
                        },
                    };
                    if better {
                        best = Some((saved, set, mask));
                    }
                }
                Ok(best.map(|(_, s, _)| s).unwrap_or_else(|| vec![false; n]))
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

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Every stacking rule there is: 3 classes x 8 sets of classes to combine with x exclusive.
    fn every_rule() -> Vec<Stacking> {
        let classes = [Class::Product, Class::Order, Class::Shipping];
        let mut out = Vec::new();
        for class in classes {
            for bits in 0u8..8 {
                let with: Vec<Class> = classes
                    .iter()
                    .copied()
                    .filter(|c| bits & c.bit() != 0)
                    .collect();
                for exclusive in [false, true] {
                    out.push(Stacking::new(class, &with, exclusive));
                }
            }
        }
        out
    }

    /// The class summaries answer exactly what comparing every pair answers.
    #[test]
    fn summaries_agree_with_every_pair() {
        let rules = every_rule();
        for a in &rules {
            for b in &rules {
                let mut chosen = Chosen::NONE;
                chosen.add(*a, false);
                chosen.add(*b, false);
                for c in &rules {
                    let pairwise = c.goes_with(*a) && c.goes_with(*b);
                    assert_eq!(chosen.goes_with(*c), pairwise, "{a:?} {b:?} + {c:?}");
                    let all = a.goes_with(*b) && pairwise;
                    assert_eq!(all_compatible(&[*a, *b, *c]), all, "{a:?} {b:?} {c:?}");
                }
                assert_eq!(all_compatible(&[*a, *b]), a.goes_with(*b));
            }
        }
    }
}
