//! A bounded-memory, mergeable latency sketch with a relative-error guarantee (DDSketch,
//! Masson et al., VLDB 2019), for inputs where keeping every latency is too much.

use std::collections::BTreeMap;

use serde::Serialize;

use super::percentile_rank;

/// Counts of latencies in logarithmic buckets. With relative accuracy `α`, bucket `i` holds
/// the values in `(γ^(i-1), γ^i]` with `γ = (1+α)/(1-α)`, and its representative value
/// `2γ^i/(γ+1)` is within `α·v` of every value `v` in it. So the nearest-rank percentile read
/// from the sketch is within relative error `α` of the exact one (0 is exact; negative values,
/// which clock skew can give, are mirrored). Memory grows with the logarithm of the value
/// range, not with the count: about 900 buckets span 1 ms to 1 day at α = 1 %.
///
/// ```
/// use auditframe::analysis::LatencySketch;
/// let mut s = LatencySketch::new(0.01);
/// for v in 1..=1000 {
///     s.add(v);
/// }
/// let p99 = s.percentile(99.0).unwrap();
/// assert!((p99 - 990).abs() as f64 <= 0.01 * 990.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencySketch {
    alpha: f64,
    #[serde(skip)]
    gamma_ln: f64,
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
    zero: u64,
    count: u64,
}

impl LatencySketch {
    /// An empty sketch with relative accuracy `alpha` (clamped to `[1e-4, 0.5]`).
    pub fn new(alpha: f64) -> LatencySketch {
        let alpha = if alpha.is_finite() {
            alpha.clamp(1e-4, 0.5)
        } else {
            0.01
        };
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        LatencySketch {
            alpha,
            gamma_ln: gamma.ln(),
            positive: BTreeMap::new(),
            negative: BTreeMap::new(),
            zero: 0,
            count: 0,
        }
    }

    /// The relative accuracy.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Values added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Buckets in use (memory is about 16 bytes per bucket).
    pub fn buckets(&self) -> usize {
        self.positive.len() + self.negative.len() + usize::from(self.zero > 0)
    }

    fn index(&self, magnitude: f64) -> i32 {
        // ceil(log_γ(v)); magnitudes are ≥ 1 ms here, so the index is ≥ 0 and small.
        (magnitude.ln() / self.gamma_ln).ceil() as i32
    }

    fn value(&self, index: i32) -> f64 {
        let gamma = self.gamma_ln.exp();
        2.0 * (self.gamma_ln * f64::from(index)).exp() / (gamma + 1.0)
    }

    /// Adds one latency (ms).
    pub fn add(&mut self, v: i64) {
        self.count += 1;
        match v {
            0 => self.zero += 1,
            v if v > 0 => *self.positive.entry(self.index(v as f64)).or_insert(0) += 1,
            v => *self.negative.entry(self.index(-(v as f64))).or_insert(0) += 1,
        }
    }

    /// Adds another sketch's values. Sketches of different accuracy merge into this one's
    /// buckets through their representative values (the error bounds then add up).
    pub fn merge(&mut self, other: &LatencySketch) {
        self.count += other.count;
        self.zero += other.zero;
        let same = (self.gamma_ln - other.gamma_ln).abs() < 1e-12;
        for (&i, &n) in &other.positive {
            let j = if same { i } else { self.index(other.value(i)) };
            *self.positive.entry(j).or_insert(0) += n;
        }
        for (&i, &n) in &other.negative {
            let j = if same { i } else { self.index(other.value(i)) };
            *self.negative.entry(j).or_insert(0) += n;
        }
    }

    /// The nearest-rank percentile `p` (rank ⌈p/100·n⌉), within relative error `α` of the
    /// exact value, rounded to whole ms. `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<i64> {
        if self.count == 0 {
            return None;
        }
        let rank = percentile_rank(p, self.count as usize) as u64;
        let mut seen = 0u64;
        // Most negative first: negative buckets by descending magnitude.
        for (&i, &n) in self.negative.iter().rev() {
            seen += n;
            if seen >= rank {
                return Some(-(self.value(i).round() as i64));
            }
        }
        seen += self.zero;
        if seen >= rank {
            return Some(0);
        }
        for (&i, &n) in &self.positive {
            seen += n;
            if seen >= rank {
                return Some(self.value(i).round() as i64);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exact(values: &[i64], p: f64) -> i64 {
        let mut v = values.to_vec();
        v.sort_unstable();
        v[percentile_rank(p, v.len()) - 1]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn within_relative_error_of_the_exact_percentile(
            values in prop::collection::vec(prop_oneof![-5_000i64..5_000, 0i64..100_000_000, Just(0i64)], 1..400),
            p in prop::sample::select(vec![0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 100.0]),
            alpha in prop::sample::select(vec![0.001, 0.01, 0.05]),
            split in 0usize..400,
        ) {
            let mut whole = LatencySketch::new(alpha);
            values.iter().for_each(|&v| whole.add(v));
            let want = exact(&values, p);
            let got = whole.percentile(p).unwrap();
            // α relative, plus half a millisecond of rounding to whole ms.
            prop_assert!((got - want).abs() as f64 <= alpha * want.abs() as f64 + 0.5, "{got} vs {want}");
            // Merging the sketches of any split gives the sketch of the whole.
            let (a, b) = values.split_at(split.min(values.len()));
            let mut left = LatencySketch::new(alpha);
            a.iter().for_each(|&v| left.add(v));
            let mut right = LatencySketch::new(alpha);
            b.iter().for_each(|&v| right.add(v));
            left.merge(&right);
            prop_assert_eq!(left, whole);
        }
    }

    #[test]
    fn memory_is_logarithmic() {
        let mut s = LatencySketch::new(0.01);
        for v in 1..=86_400_000i64 {
            if v % 997 == 0 {
                s.add(v);
            }
        }
        assert!(s.buckets() < 1000, "{}", s.buckets());
        assert_eq!(LatencySketch::new(0.01).percentile(50.0), None);
    }
}
