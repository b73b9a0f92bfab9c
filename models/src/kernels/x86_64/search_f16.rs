//! The f16 similarity search on x86-64: F16C converts eight halves to f32 per
//! instruction, AVX does the products. Multiply and add stay separate (no
//! FMA) so the scores match the reference bit for bit; see the parent
//! `search_f16` module for the fixed order this reproduces.

use std::arch::x86_64::*;

use super::super::search_f16::{add_tail_f16, reduce8};
use super::PREFETCH_AHEAD;

pub(in super::super) fn dots_f16(rows: &[u16], query: &[f32], out: &mut [f32]) {
    // SAFETY: only in the table from `avx2_fma`, which checked AVX2 and F16C.
    unsafe { dots_f16_f16c(rows, query, out) }
}

/// Converts `slice[at..at + 8]` to f32.
///
/// # Safety
/// AVX and F16C must be available and `at + 8 <= slice.len()`.
#[inline]
#[target_feature(enable = "avx2,f16c")]
unsafe fn load_f16x8(slice: &[u16], at: usize) -> __m256 {
    debug_assert!(at + 8 <= slice.len());
    // SAFETY: the caller guarantees 8 readable halves from `at`; loadu has no alignment need.
    unsafe { _mm256_cvtph_ps(_mm_loadu_si128(slice.as_ptr().add(at).cast())) }
}

/// The eight lanes combined in the reference's order.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn reduce(acc: __m256) -> f32 {
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` holds exactly eight floats; storeu has no alignment need.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
    reduce8(lanes)
}

/// Four rows per pass share each query load; lane `j` of a row's accumulator
/// is the reference's accumulator `j`.
#[target_feature(enable = "avx2,f16c")]
unsafe fn dots_f16_f16c(rows: &[u16], query: &[f32], out: &mut [f32]) {
    let dim = query.len();
    let simd = dim - dim % 8;
    let mut blocks = rows.chunks_exact(4 * dim);
    let mut outs = out.chunks_exact_mut(4);
    for (block, o) in (&mut blocks).zip(&mut outs) {
        // Larger than the caches at the benchmark size: fetch ahead (a hint
        // that never faults, so pointing past the slice is fine).
        let ahead = block.as_ptr().cast::<i8>().wrapping_add(2 * PREFETCH_AHEAD);
        for line in (0..2 * block.len()).step_by(64) {
            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(line));
        }
        let (r0, rest) = block.split_at(dim);
        let (r1, rest) = rest.split_at(dim);
        let (r2, r3) = rest.split_at(dim);
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut at = 0;
        while at < simd {
            // SAFETY: `at + 8 <= simd <= dim`, the length of the query and of every row.
            unsafe {
                let q = _mm256_loadu_ps(query.as_ptr().add(at));
                acc[0] = _mm256_add_ps(acc[0], _mm256_mul_ps(load_f16x8(r0, at), q));
                acc[1] = _mm256_add_ps(acc[1], _mm256_mul_ps(load_f16x8(r1, at), q));
                acc[2] = _mm256_add_ps(acc[2], _mm256_mul_ps(load_f16x8(r2, at), q));
                acc[3] = _mm256_add_ps(acc[3], _mm256_mul_ps(load_f16x8(r3, at), q));
            }
            at += 8;
        }
        for ((o, row), acc) in o.iter_mut().zip([r0, r1, r2, r3]).zip(acc) {
            *o = add_tail_f16(reduce(acc), &row[simd..], &query[simd..]);
        }
    }
    for (row, o) in rows[rows.len() - blocks.remainder().len()..].chunks_exact(dim).zip(outs.into_remainder()) {
        let mut acc = _mm256_setzero_ps();
        let mut at = 0;
        while at < simd {
            // SAFETY: `at + 8 <= simd <= dim`, the length of the query and of the row.
            unsafe {
                let q = _mm256_loadu_ps(query.as_ptr().add(at));
                acc = _mm256_add_ps(acc, _mm256_mul_ps(load_f16x8(row, at), q));
            }
            at += 8;
        }
        *o = add_tail_f16(reduce(acc), &row[simd..], &query[simd..]);
    }
}
