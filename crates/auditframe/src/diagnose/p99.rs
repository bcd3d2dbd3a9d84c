//! Exact nearest-rank P99s of several non-negative components at once, by sample-select.

use crate::analysis::percentile_rank;

/// The exact nearest-rank P99 of each of the `K` components over `rows`.
///
/// The P99 is the m-th largest value, m = n − rank + 1 (about 1 % of n). A threshold from a
/// sample of the rows keeps only the values at or above it — a few percent — in one pass;
/// if at least m are kept, the m-th largest of them is the answer, exactly. Otherwise (an
/// unlucky sample) the component falls back to selecting among all its non-zero values.
/// Values must not be negative; a P99 is zero when fewer than m values are non-zero.
pub(crate) fn p99_of<const K: usize>(rows: &[&[i64; K]]) -> [i64; K] {
    let n = rows.len();
    if n == 0 {
        return [0; K];
    }
    let m = n + 1 - percentile_rank(99.0, n);
    // Thresholds: about the 97th percentile of an evenly spaced sample (at least 1, so that
    // zeros are never kept).
    const SAMPLE: usize = 1024;
    let mut thresholds = [1i64; K];
    if n >= 4 * SAMPLE {
        let step = n / SAMPLE;
        let mut sample: [Vec<i64>; K] = std::array::from_fn(|_| Vec::with_capacity(SAMPLE + 1));
        for r in rows.iter().step_by(step) {
            for (v, &x) in sample.iter_mut().zip(r.iter()) {
                v.push(x);
            }
        }
        for (t, v) in thresholds.iter_mut().zip(&mut sample) {
            let at = v.len() * 97 / 100;
            if at < v.len() {
                *t = (*v.select_nth_unstable(at).1).max(1);
            }
        }
    }
    let mut kept: [Vec<i64>; K] = std::array::from_fn(|_| Vec::with_capacity(m * 4));
    for r in rows {
        for ((v, &x), &t) in kept.iter_mut().zip(r.iter()).zip(&thresholds) {
            if x >= t {
                v.push(x);
            }
        }
    }
    let mut out = [0i64; K];
    for (j, ((o, mut v), t)) in out.iter_mut().zip(kept).zip(thresholds).enumerate() {
        *o = if v.len() >= m {
            let at = v.len() - m;
            *v.select_nth_unstable(at).1
        } else if t <= 1 {
            // Every non-zero value was kept and there are fewer than m: zero.
            0
        } else {
            let mut all: Vec<i64> = rows
                .iter()
                .filter_map(|r| r.get(j).copied().filter(|&x| x > 0))
                .collect();
            if all.len() >= m {
                let at = all.len() - m;
                *all.select_nth_unstable(at).1
            } else {
                0
            }
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sampled selection equals sorting, for sizes on both sides of the sampling cut-off,
    /// sparse and dense components, ties, constant and ordered values.
    #[test]
    fn p99_of_equals_sorting() {
        const K: usize = 9;
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in [1usize, 7, 100, 4095, 4096, 5000, 20_000, 57_000] {
            let mut rows: Vec<[i64; K]> = Vec::with_capacity(n);
            for i in 0..n {
                let r = next();
                let mut row = [0i64; K];
                row[0] = (r % 1_000_000) as i64; // dense
                row[1] = if r % 50 == 0 { (r % 777) as i64 + 1 } else { 0 }; // 2 % non-zero
                row[2] = if r % 200 == 0 { 5 } else { 0 }; // 0.5 % non-zero: P99 is 0
                row[3] = 42; // constant
                row[4] = (r % 3) as i64; // heavy ties
                row[5] = if i % 2 == 0 { (i as i64) * 1000 } else { 0 }; // ordered
                                                                         // Rising: a sample from the start would set the threshold too high.
                row[6] = if i < n / 2 { 1 } else { (i * i) as i64 };
                row[8] = (r >> 40) as i64;
                rows.push(row);
            }
            let refs: Vec<&[i64; K]> = rows.iter().collect();
            let got = p99_of(&refs);
            for j in 0..K {
                let mut all: Vec<i64> = rows.iter().map(|r| r[j]).collect();
                all.sort_unstable();
                let want = all[percentile_rank(99.0, n) - 1];
                assert_eq!(got[j], want, "n {n}, component {j}");
            }
        }
        assert_eq!(p99_of::<K>(&[]), [0; K]);
    }
}
