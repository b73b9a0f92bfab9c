//! Half-precision similarity search: the memory's embedding matrix stored as
//! IEEE 754 binary16 (half the bytes of f32, no per-row scale to keep) and
//! searched with an f32 query, with the same top-k rules as the int8 search.
//!
//! Values travel as raw `u16` bits so callers need no half-float crate; the
//! conversions here are exact in the f16 -> f32 direction and round to
//! nearest-even in the other. Scores must be bit-identical on every path (so
//! top-k ties break the same way everywhere), which fixes the arithmetic: each
//! product `f32(row[i]) * query[i]` is rounded, then added into accumulator
//! `i % 8` (no fused multiply-add), the eight accumulators are combined as
//! `((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7))`, and the `dim % 8` tail is added
//! in order. The SIMD paths are memory-bound on large matrices, so FMA would
//! buy little speed for the loss of reproducibility.

use super::{active_table, select, table_or_err, KernelError, KernelPath, Table, ROWS_PER_BLOCK};

/// Exact conversion of binary16 bits to f32. Signalling NaNs come back quiet,
/// as the F16C and NEON conversion instructions return them.
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from(h >> 10) & 0x1f;
    let man = u32::from(h & 0x3ff);
    match (exp, man) {
        (0, 0) => f32::from_bits(sign),
        // Subnormal: man * 2^-24, exact in f32.
        (0, _) => {
            let v = man as f32 * f32::from_bits(0x3380_0000);
            if sign != 0 {
                -v
            } else {
                v
            }
        }
        (0x1f, 0) => f32::from_bits(sign | 0x7f80_0000),
        (0x1f, _) => f32::from_bits(sign | 0x7fc0_0000 | man << 13),
        _ => f32::from_bits(sign | (exp + 112) << 23 | man << 13),
    }
}

/// Nearest binary16 to `x` (ties to even), as bits: how an f32 embedding is
/// stored for [`top_k_f16`]. Beyond the f16 range gives +-infinity; NaN stays NaN.
pub fn f32_to_f16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let abs = bits & 0x7fff_ffff;
    if abs > 0x7f80_0000 {
        return sign | 0x7e00 | ((abs >> 13) & 0x3ff) as u16;
    }
    // 65520 and up (infinity included) round to infinity.
    if abs >= 0x477f_f000 {
        return sign | 0x7c00;
    }
    if abs < 0x3880_0000 {
        // Below the smallest normal f16 (2^-14): the mantissa is x * 2^24,
        // exact in f32, rounded to an integer; 1024 is the smallest normal.
        let scaled = f32::from_bits(abs) * f32::from_bits(0x4b80_0000);
        return sign | scaled.round_ties_even() as u16;
    }
    let exp = (abs >> 23) - 112;
    let man = abs & 0x7f_ffff;
    let mut h = exp << 10 | man >> 13;
    let rest = man & 0x1fff;
    // A carry out of the mantissa correctly bumps the exponent.
    if rest > 0x1000 || (rest == 0x1000 && h & 1 == 1) {
        h += 1;
    }
    sign | h as u16
}

/// Top-`k` rows of a binary16 embedding matrix by dot product with an f32
/// query, best first, on the active path.
///
/// `matrix` holds `rows * dim` f16 bit patterns, row-major. Ties keep the
/// lower row index first; rows whose score is NaN (NaN or infinite values)
/// are never returned. `k = 0` or no rows gives an empty result, `k > rows`
/// returns every row. Every path returns identical results (see the module
/// docs for the fixed summation order).
pub fn top_k_f16(
    matrix: &[u16],
    rows: usize,
    dim: usize,
    query: &[f32],
    k: usize,
) -> Result<Vec<(usize, f32)>, KernelError> {
    top_k_f16_with(active_table(), matrix, rows, dim, query, k)
}

/// [`top_k_f16`] on a given path (for tests, benchmarks and A/B runs).
pub fn top_k_f16_on(
    path: KernelPath,
    matrix: &[u16],
    rows: usize,
    dim: usize,
    query: &[f32],
    k: usize,
) -> Result<Vec<(usize, f32)>, KernelError> {
    top_k_f16_with(table_or_err(path)?, matrix, rows, dim, query, k)
}

fn top_k_f16_with(
    table: Table,
    matrix: &[u16],
    rows: usize,
    dim: usize,
    query: &[f32],
    k: usize,
) -> Result<Vec<(usize, f32)>, KernelError> {
    let expected = rows.saturating_mul(dim);
    if matrix.len() != expected {
        return Err(KernelError::MatrixShape { len: matrix.len(), rows, dim, expected });
    }
    if query.len() != dim {
        return Err(KernelError::QueryShape { len: query.len(), dim });
    }
    let mut top = select::TopK::new(k.min(rows), rows);
    if top.capacity() == 0 {
        return Ok(Vec::new());
    }
    let mut scores = [0f32; ROWS_PER_BLOCK];
    for block_start in (0..rows).step_by(ROWS_PER_BLOCK) {
        let n = ROWS_PER_BLOCK.min(rows - block_start);
        let scores = &mut scores[..n];
        if dim == 0 {
            scores.fill(0.0);
        } else {
            let start = block_start * dim;
            (table.dots_f16)(&matrix[start..start + n * dim], query, scores);
        }
        for (i, &score) in scores.iter().enumerate() {
            top.offer(block_start + i, score);
        }
    }
    Ok(top.into_sorted())
}

/// The reference dot products, in the order the module docs fix.
pub(super) fn dots_f16(rows: &[u16], query: &[f32], out: &mut [f32]) {
    for (row, o) in rows.chunks_exact(query.len()).zip(out) {
        *o = dot_f16(row, query);
    }
}

fn dot_f16(row: &[u16], query: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut r = row.chunks_exact(8);
    let mut q = query.chunks_exact(8);
    for (r8, q8) in (&mut r).zip(&mut q) {
        for ((a, &h), &x) in acc.iter_mut().zip(r8).zip(q8) {
            *a += f16_bits_to_f32(h) * x;
        }
    }
    let sum = reduce8(acc);
    add_tail_f16(sum, r.remainder(), q.remainder())
}

/// The fixed combination of the eight lane accumulators.
pub(super) fn reduce8(a: [f32; 8]) -> f32 {
    ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

/// Adds the products of the last `dim % 8` values in order.
pub(super) fn add_tail_f16(mut sum: f32, row: &[u16], query: &[f32]) -> f32 {
    for (&h, &x) in row.iter().zip(query) {
        sum += f16_bits_to_f32(h) * x;
    }
    sum
}
