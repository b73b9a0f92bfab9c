//! Portable reference kernels: plain scalar Rust that defines the results
//! every SIMD path must reproduce (exactly for the integer and argmax kernels,
//! to a few ulp for log-softmax). Always built; also the fallback on CPUs
//! without the features of any tuned path.

use super::{is_allowed, logmel, search_f16, KernelPath, Table};

pub(super) const TABLE: Table = Table {
    path: KernelPath::Reference,
    dots_i8,
    argmax,
    log_softmax_finite,
    dots_f16: search_f16::dots_f16,
    power_spectrum: logmel::power_spectrum_ref,
    mel_log: logmel::mel_log_ref,
};

fn dots_i8(rows: &[i8], query: &[i8], out: &mut [i32]) {
    for (row, o) in rows.chunks_exact(query.len()).zip(out) {
        *o = dot_i8(row, query);
    }
}

/// Exact for rows up to `MAX_DIM`; wrapping keeps longer rows panic-free.
pub(super) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).fold(0i32, |acc, (&x, &y)| acc.wrapping_add(i32::from(x) * i32::from(y)))
}

fn argmax(logits: &[f32], allowed: &[u64]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &x) in logits.iter().enumerate() {
        if x.is_nan() || !is_allowed(allowed, i) {
            continue;
        }
        match best {
            Some((_, b)) if x <= b => {}
            _ => best = Some((i, x)),
        }
    }
    best.map(|(i, _)| i)
}

fn log_softmax_finite(logits: &[f32], allowed: &[u64], max: f32, out: &mut [f32]) {
    let counted = |i: usize, x: f32| !x.is_nan() && is_allowed(allowed, i);
    let sum: f32 = logits.iter().enumerate().filter(|&(i, &x)| counted(i, x)).map(|(_, &x)| (x - max).exp()).sum();
    let log_sum = sum.ln();
    for (i, (o, &x)) in out.iter_mut().zip(logits).enumerate() {
        *o = if counted(i, x) { x - max - log_sum } else { f32::NEG_INFINITY };
    }
}
