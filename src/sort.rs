//! One sort, and one index, for the whole engine. Every ordering sorts indices with the standard
//! library's stable sort through a `dyn` comparison, so the Wasm carries one copy of the sort
//! instead of one per call site (each copy costs about 4 KB).

use std::cmp::Ordering;

/// The indices `0..n` in the order `cmp` gives (stable): the standard library's stable sort,
/// instantiated once, here, for every ordering in the engine.
pub fn indices(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| cmp(a, b));
    idx
}

/// Sorts `v` by `cmp` (stable).
pub fn sort_by<T>(v: &mut Vec<T>, cmp: impl Fn(&T, &T) -> Ordering) {
    let order = indices(v.len(), &|a, b| match (v.get(a), v.get(b)) {
        (Some(x), Some(y)) => cmp(x, y),
        _ => Ordering::Equal,
    });
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(
        order
            .iter()
            .filter_map(|&i| slots.get_mut(i).and_then(Option::take)),
    );
}

/// A lookup from string keys to positions: sorted pairs and a binary search. It replaces a hash
/// map where the keys are few or built once (coupon codes, ids), and keeps the Wasm small.
#[derive(Debug, Clone, Default)]
pub struct Index(Vec<(String, usize)>);

impl Index {
    /// Builds the index; a repeated key is refused with the key and both positions (first, then
    /// the later one).
    pub fn build(mut pairs: Vec<(String, usize)>) -> Result<Index, (String, usize, usize)> {
        sort_by(&mut pairs, |a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        for w in pairs.windows(2) {
            if let [a, b] = w {
                if a.0 == b.0 {
                    return Err((a.0.clone(), a.1, b.1));
                }
            }
        }
        Ok(Index(pairs))
    }

    /// The position stored for `key`.
    pub fn get(&self, key: &str) -> Option<usize> {
        let i = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        self.0.get(i).map(|(_, v)| *v)
    }

    /// Every key with its position, in key order.
    pub fn iter(&self) -> impl Iterator<Item = &(String, usize)> {
        self.0.iter()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn index_refuses_repeats() {
        let ix = super::Index::build(vec![("b".into(), 0), ("a".into(), 1)]).unwrap();
        assert_eq!(ix.get("a"), Some(1));
        assert_eq!(ix.get("c"), None);
        assert_eq!(
            super::Index::build(vec![("a".into(), 3), ("a".into(), 1)]).unwrap_err(),
            ("a".into(), 1, 3)
        );
    }

    #[test]
    fn sorts_stably() {
        let mut v = vec![(2, 'a'), (1, 'b'), (2, 'c'), (0, 'd')];
        super::sort_by(&mut v, |a, b| a.0.cmp(&b.0));
        assert_eq!(v, vec![(0, 'd'), (1, 'b'), (2, 'a'), (2, 'c')]);
    }
}
