//! Top-k selection shared by every kernel path, so that the order of results
//! (score descending, lower index first on ties, NaN never) is defined in one
//! place and the SIMD paths only have to produce identical scores.

use std::cmp::Ordering;

/// Above this `k` the sorted insertion buffer (O(k) per insert) loses to
/// collecting everything and selecting once.
const SMALL_K: usize = 64;

/// Collects `(index, score)` pairs offered in increasing index order and keeps
/// the best `k`.
pub(super) struct TopK {
    k: usize,
    /// Small k: sorted best-first. Large k: every non-NaN pair, unsorted.
    items: Vec<(usize, f32)>,
}

/// Best first: higher score, then lower index. Scores are never NaN here, and
/// `-0.0 == 0.0` is a tie, as in the small-k buffer.
fn rank(a: &(usize, f32), b: &(usize, f32)) -> Ordering {
    b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal).then(a.0.cmp(&b.0))
}

impl TopK {
    /// `rows` is how many offers will come, to size the buffer once.
    pub(super) fn new(k: usize, rows: usize) -> Self {
        let cap = if k <= SMALL_K { k } else { rows };
        TopK { k, items: Vec::with_capacity(cap) }
    }

    pub(super) fn capacity(&self) -> usize {
        self.k
    }

    pub(super) fn offer(&mut self, index: usize, score: f32) {
        if score.is_nan() {
            return;
        }
        if self.k > SMALL_K {
            self.items.push((index, score));
            return;
        }
        if self.items.len() == self.k {
            // Equal scores lose: the incumbent has the lower index.
            match self.items.last() {
                Some(&(_, worst)) if score > worst => {
                    self.items.pop();
                }
                _ => return,
            }
        }
        // After all entries with score >= this one: ties stay in index order.
        let at = self.items.partition_point(|&(_, s)| s >= score);
        self.items.insert(at, (index, score));
    }

    pub(super) fn into_sorted(mut self) -> Vec<(usize, f32)> {
        if self.k > SMALL_K {
            if self.items.len() > self.k {
                self.items.select_nth_unstable_by(self.k - 1, rank);
                self.items.truncate(self.k);
            }
            self.items.sort_unstable_by(rank);
        }
        self.items
    }
}

/// Finish a SIMD masked argmax: merge the per-lane winners (`None` for a
/// lane that never saw an allowed, non-NaN logit), then scan the scalar
/// tail from `tail_start`. Ties go to the lower index, as in the reference.
pub(super) fn finish_argmax(
    lanes: impl Iterator<Item = (Option<usize>, f32)>,
    logits: &[f32],
    allowed: &[u64],
    tail_start: usize,
) -> Option<usize> {
    let mut result: Option<(usize, f32)> = None;
    for (id, v) in lanes {
        let Some(i) = id else { continue };
        match result {
            Some((bi, bv)) if v < bv || (v == bv && bi < i) => {}
            _ => result = Some((i, v)),
        }
    }
    // The tail has higher indices than every lane, so it must be strictly better.
    for (i, &x) in logits.iter().enumerate().skip(tail_start) {
        if x.is_nan() || !super::is_allowed(allowed, i) {
            continue;
        }
        match result {
            Some((_, bv)) if x <= bv => {}
            _ => result = Some((i, x)),
        }
    }
    result.map(|(i, _)| i)
}
