//! The f16 similarity search on aarch64: `fcvtl`/`fcvtl2` widen eight halves
//! to two f32 vectors (base Advanced SIMD, so every Pi and Jetson has them).
//! They are issued through inline assembly: the `vcvt_f32_f16` intrinsic
//! (on `float16x4_t`) compiles on the 1.95 toolchain used here, but the
//! half-float NEON types are newer than the workspace's `rust-version`
//! (1.80), and the assembly works on both.
//! Multiply and add stay separate (no FMA) so the scores match the reference
//! bit for bit; lanes 0-3 and 4-7 of the reference's eight accumulators are
//! the two vectors per row.

use std::arch::aarch64::*;

use super::super::search_f16::{add_tail_f16, reduce8};

pub(in super::super) fn dots_f16(rows: &[u16], query: &[f32], out: &mut [f32]) {
    // SAFETY: only in tables built after detecting NEON.
    unsafe { dots_f16_neon(rows, query, out) }
}

/// Converts `slice[at..at + 8]` to two f32 vectors.
///
/// # Safety
/// NEON must be available and `at + 8 <= slice.len()`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load_f16x8(slice: &[u16], at: usize) -> (float32x4_t, float32x4_t) {
    debug_assert!(at + 8 <= slice.len());
    // SAFETY: the caller guarantees 8 readable halves from `at`.
    let h = unsafe { vld1q_u16(slice.as_ptr().add(at)) };
    let lo: float32x4_t;
    let hi: float32x4_t;
    // SAFETY: both instructions only read and write the named vector
    // registers (`out` keeps them apart from `h`); NEON is enabled.
    unsafe {
        std::arch::asm!(
            "fcvtl {lo:v}.4s, {h:v}.4h",
            "fcvtl2 {hi:v}.4s, {h:v}.8h",
            h = in(vreg) h,
            lo = out(vreg) lo,
            hi = out(vreg) hi,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    (lo, hi)
}

/// One row's accumulators (lanes 0-3, 4-7) plus the products at `at`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn step(acc: [float32x4_t; 2], row: &[u16], at: usize, q: [float32x4_t; 2]) -> [float32x4_t; 2] {
    // SAFETY: the caller guarantees `at + 8 <= row.len()`.
    let (lo, hi) = unsafe { load_f16x8(row, at) };
    [vaddq_f32(acc[0], vmulq_f32(lo, q[0])), vaddq_f32(acc[1], vmulq_f32(hi, q[1]))]
}

/// The eight lanes combined in the reference's order.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn reduce(acc: [float32x4_t; 2]) -> f32 {
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` holds exactly eight floats.
    unsafe {
        vst1q_f32(lanes.as_mut_ptr(), acc[0]);
        vst1q_f32(lanes.as_mut_ptr().add(4), acc[1]);
    }
    reduce8(lanes)
}

#[target_feature(enable = "neon")]
unsafe fn dots_f16_neon(rows: &[u16], query: &[f32], out: &mut [f32]) {
    let dim = query.len();
    let simd = dim - dim % 8;
    let zero = [vdupq_n_f32(0.0); 2];
    let mut blocks = rows.chunks_exact(4 * dim);
    let mut outs = out.chunks_exact_mut(4);
    for (block, o) in (&mut blocks).zip(&mut outs) {
        let (r0, rest) = block.split_at(dim);
        let (r1, rest) = rest.split_at(dim);
        let (r2, r3) = rest.split_at(dim);
        let mut acc = [zero; 4];
        let mut at = 0;
        while at < simd {
            // SAFETY: `at + 8 <= simd <= dim`, the length of the query and of every row.
            unsafe {
                let q = [vld1q_f32(query.as_ptr().add(at)), vld1q_f32(query.as_ptr().add(at + 4))];
                acc[0] = step(acc[0], r0, at, q);
                acc[1] = step(acc[1], r1, at, q);
                acc[2] = step(acc[2], r2, at, q);
                acc[3] = step(acc[3], r3, at, q);
            }
            at += 8;
        }
        for ((o, row), acc) in o.iter_mut().zip([r0, r1, r2, r3]).zip(acc) {
            *o = add_tail_f16(reduce(acc), &row[simd..], &query[simd..]);
        }
    }
    for (row, o) in rows[rows.len() - blocks.remainder().len()..].chunks_exact(dim).zip(outs.into_remainder()) {
        let mut acc = zero;
        let mut at = 0;
        while at < simd {
            // SAFETY: `at + 8 <= simd <= dim`, the length of the query and of the row.
            unsafe {
                let q = [vld1q_f32(query.as_ptr().add(at)), vld1q_f32(query.as_ptr().add(at + 4))];
                acc = step(acc, row, at, q);
            }
            at += 8;
        }
        *o = add_tail_f16(reduce(acc), &row[simd..], &query[simd..]);
    }
}
