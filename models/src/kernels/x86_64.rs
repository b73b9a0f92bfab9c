//! x86-64 kernels with AVX2 and FMA, so the desktop simulator runs the brain's
//! hot loops at full speed. Chosen at run time by `is_x86_feature_detected!`;
//! the table is only handed out after that check, which is the invariant every
//! `unsafe` call below relies on.

mod logmel;
mod search_f16;
mod search_i8_vnni;

use std::arch::x86_64::*;

use super::{generic, is_allowed, KernelPath, Table};

/// The AVX2/FMA table, if this CPU has both features. The f16 search also
/// needs F16C, which every AVX2 CPU has; without it that one entry stays the
/// reference's.
pub(super) fn avx2_fma() -> Option<Table> {
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        return None;
    }
    let dots_f16 = if is_x86_feature_detected!("f16c") { search_f16::dots_f16 } else { generic::TABLE.dots_f16 };
    Some(Table {
        path: KernelPath::Avx2Fma,
        dots_i8,
        argmax,
        log_softmax_finite,
        dots_f16,
        power_spectrum: logmel::power_spectrum,
        mel_log: logmel::mel_log,
    })
}

/// The AVX2/FMA table with the int8 dot products on AVX-512 VNNI, if this
/// CPU has all of it; the other kernels gain nothing from wider vectors here.
pub(super) fn avx512_vnni() -> Option<Table> {
    let avx2 = avx2_fma()?;
    search_i8_vnni::detected().then_some(Table {
        path: KernelPath::Avx512Vnni,
        dots_i8: search_i8_vnni::dots_i8,
        ..avx2
    })
}

fn dots_i8(rows: &[i8], query: &[i8], out: &mut [i32]) {
    // SAFETY: only reachable through the table from `avx2_fma`, which checked AVX2 and FMA.
    unsafe { dots_i8_avx2(rows, query, out) }
}

fn argmax(logits: &[f32], allowed: &[u64]) -> Option<usize> {
    // SAFETY: only reachable through the table from `avx2_fma`, which checked AVX2 and FMA.
    unsafe { argmax_avx2(logits, allowed) }
}

fn log_softmax_finite(logits: &[f32], allowed: &[u64], max: f32, out: &mut [f32]) {
    // SAFETY: only reachable through the table from `avx2_fma`, which checked AVX2 and FMA.
    unsafe { log_softmax_finite_avx2(logits, allowed, max, out) }
}

/// Sum of the eight i32 lanes (wrapping, like the reference).
#[target_feature(enable = "avx2")]
pub(super) unsafe fn hsum_i32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// Sign-extends 16 int8 values at `slice[at..at + 16]` to i16 lanes.
///
/// # Safety
/// AVX2 must be available and `at + 16 <= slice.len()`.
#[target_feature(enable = "avx2")]
unsafe fn load_i8x16(slice: &[i8], at: usize) -> __m256i {
    debug_assert!(at + 16 <= slice.len());
    // SAFETY: the caller guarantees 16 readable bytes from `at`; loadu has no alignment need.
    unsafe { _mm256_cvtepi8_epi16(_mm_loadu_si128(slice.as_ptr().add(at).cast())) }
}

/// Bytes ahead of the current block to prefetch in the dot products, into
/// L2 (`T1`), which leaves L1 to the block being multiplied. Measured on the
/// 100,000 x 384 search (EPYC, 2 cores, a noisy shared machine), against 8 KB
/// into L1 (`T0`): 1.4-1.6 ms against 1.9-2.5 ms; 2 KB and 32 KB were
/// worse or less steady.
const PREFETCH_AHEAD: usize = 16 * 1024;

/// The search streams a matrix larger than the caches: asks for the bytes
/// `PREFETCH_AHEAD` past `block` (as many as it holds) into L2, so the loads
/// of later blocks rarely wait on DRAM.
#[inline]
fn prefetch_ahead(block: &[i8]) {
    let ahead = block.as_ptr().wrapping_add(PREFETCH_AHEAD);
    for line in (0..block.len()).step_by(64) {
        // A hint that never faults, so running past the slice's end is fine.
        // SAFETY: SSE is part of x86-64, and prefetching any address is sound.
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T1>(ahead.wrapping_add(line))
        };
    }
}

/// Four rows at a time share each query load. The fast inner loop is the
/// `maddubs` sign trick: `q * r == |q| * (r * sign(q))`, with `|q|` as the
/// unsigned operand (at most 128) and `r * sign(q)` as the signed one, so one
/// `maddubs` multiplies 32 byte pairs and adds neighbours into i16 lanes. That
/// is exact as long as no row byte is -128 (`sign` would wrap it, and two
/// 128 * 128 products would saturate the i16 sum): the loop tracks each
/// block's minimum byte and redoes a block that contains -128 with the
/// widening `madd_epi16` kernel, which is exact for every input.
#[target_feature(enable = "avx2,fma")]
unsafe fn dots_i8_avx2(rows: &[i8], query: &[i8], out: &mut [i32]) {
    let dim = query.len();
    let simd = dim - dim % 32;
    let ones = _mm256_set1_epi16(1);
    let mut blocks = rows.chunks_exact(4 * dim);
    let mut outs = out.chunks_exact_mut(4);
    for (block, o) in (&mut blocks).zip(&mut outs) {
        prefetch_ahead(block);
        let (r0, rest) = block.split_at(dim);
        let (r1, rest) = rest.split_at(dim);
        let (r2, r3) = rest.split_at(dim);
        let mut acc = [_mm256_setzero_si256(); 4];
        let mut min = _mm256_set1_epi8(127);
        let mut at = 0;
        while at < simd {
            // SAFETY: `at + 32 <= simd <= dim`, the length of the query and of every row.
            unsafe {
                let q = load_i8x32(query, at);
                let qa = _mm256_abs_epi8(q);
                for (acc, row) in acc.iter_mut().zip([r0, r1, r2, r3]) {
                    let r = load_i8x32(row, at);
                    min = _mm256_min_epi8(min, r);
                    let pairs = _mm256_maddubs_epi16(qa, _mm256_sign_epi8(r, q));
                    *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(pairs, ones));
                }
            }
            at += 32;
        }
        let has_min = _mm256_movemask_epi8(_mm256_cmpeq_epi8(min, _mm256_set1_epi8(i8::MIN))) != 0;
        if has_min {
            // SAFETY: AVX2 is enabled here; the slices are the block's rows.
            unsafe { dots_i8_widen(block, query, o) };
            continue;
        }
        for ((o, row), acc) in o.iter_mut().zip([r0, r1, r2, r3]).zip(acc) {
            *o = hsum_i32(acc).wrapping_add(generic::dot_i8(&row[simd..], &query[simd..]));
        }
    }
    let tail = &rows[rows.len() - blocks.remainder().len()..];
    // SAFETY: AVX2 is enabled here.
    unsafe { dots_i8_widen(tail, query, outs.into_remainder()) };
}

/// Loads `slice[at..at + 32]`.
///
/// # Safety
/// AVX must be available and `at + 32 <= slice.len()`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load_i8x32(slice: &[i8], at: usize) -> __m256i {
    debug_assert!(at + 32 <= slice.len());
    // SAFETY: the caller guarantees 32 readable bytes from `at`; loadu has no alignment need.
    unsafe { _mm256_loadu_si256(slice.as_ptr().add(at).cast()) }
}

/// One row at a time, sign-extending to i16 so `madd_epi16` is exact for
/// every byte value (pairs of products fit an i32).
#[target_feature(enable = "avx2")]
unsafe fn dots_i8_widen(rows: &[i8], query: &[i8], out: &mut [i32]) {
    let dim = query.len();
    let simd = dim - dim % 16;
    for (row, o) in rows.chunks_exact(dim).zip(out) {
        let mut acc = _mm256_setzero_si256();
        let mut at = 0;
        while at < simd {
            // SAFETY: `at + 16 <= simd <= dim`, the length of the query and of the row.
            unsafe {
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(load_i8x16(row, at), load_i8x16(query, at)));
            }
            at += 16;
        }
        *o = hsum_i32(acc).wrapping_add(generic::dot_i8(&row[simd..], &query[simd..]));
    }
}

/// All-ones in lane `j` where bit `j` of `byte` is set.
#[target_feature(enable = "avx2")]
unsafe fn lane_mask(byte: u64) -> __m256i {
    let bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(byte as i32), bits), bits)
}

/// Loads `logits[at..at + 8]`.
///
/// # Safety
/// AVX must be available and `at + 8 <= logits.len()`.
#[target_feature(enable = "avx2")]
unsafe fn load_f32x8(logits: &[f32], at: usize) -> __m256 {
    debug_assert!(at + 8 <= logits.len());
    // SAFETY: the caller guarantees 8 readable floats from `at`.
    unsafe { _mm256_loadu_ps(logits.as_ptr().add(at)) }
}

/// Per-lane running maximum with the first index reaching it, over whole
/// 64-token words of the bitset; the scalar tail and the lane reduction keep
/// the reference's "lowest index wins ties" rule.
#[target_feature(enable = "avx2,fma")]
unsafe fn argmax_avx2(logits: &[f32], allowed: &[u64]) -> Option<usize> {
    let n = logits.len();
    if n > i32::MAX as usize {
        return (generic::TABLE.argmax)(logits, allowed);
    }
    let words = (n / 64).min(allowed.len());
    let none = _mm256_set1_epi32(-1);
    let mut best = _mm256_set1_ps(f32::NEG_INFINITY);
    let mut best_idx = none;
    for (w, &word) in allowed[..words].iter().enumerate() {
        if word == 0 {
            continue;
        }
        for j in 0..8 {
            let at = w * 64 + j * 8;
            // SAFETY: `at + 8 <= words * 64 <= n`.
            let x = unsafe { load_f32x8(logits, at) };
            let idx = _mm256_add_epi32(_mm256_set1_epi32(at as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            let usable = _mm256_and_si256(
                lane_mask(word >> (j * 8) & 0xff),
                _mm256_castps_si256(_mm256_cmp_ps::<_CMP_ORD_Q>(x, x)),
            );
            let better = _mm256_or_si256(
                _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GT_OQ>(x, best)),
                _mm256_cmpeq_epi32(best_idx, none),
            );
            let take = _mm256_and_si256(usable, better);
            best = _mm256_blendv_ps(best, x, _mm256_castsi256_ps(take));
            best_idx = _mm256_blendv_epi8(best_idx, idx, take);
        }
    }
    let mut vals = [0f32; 8];
    let mut ids = [0i32; 8];
    // SAFETY: both arrays hold exactly eight lanes; storeu has no alignment need.
    unsafe {
        _mm256_storeu_ps(vals.as_mut_ptr(), best);
        _mm256_storeu_si256(ids.as_mut_ptr().cast(), best_idx);
    }
    let lanes = ids.iter().zip(&vals).map(|(&id, &v)| (usize::try_from(id).ok(), v));
    super::select::finish_argmax(lanes, logits, allowed, words * 64)
}

/// `exp(x)` for `x <= 0` (Cephes polynomial, ~1 ulp); inputs below the
/// smallest normal result are clamped, which only matters beside a max of 1.
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_nonpositive(x: __m256) -> __m256 {
    let x = _mm256_max_ps(x, _mm256_set1_ps(-87.336_55));
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        _mm256_set1_ps(std::f32::consts::LOG2_E),
    ));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm256_set1_ps(1.987_569_1e-4);
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    let y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0));
    let pow2 = _mm256_slli_epi32::<23>(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)));
    _mm256_mul_ps(y, _mm256_castsi256_ps(pow2))
}

/// Usable lanes of `logits[at..at + 8]`: allowed by `byte` and not NaN.
#[target_feature(enable = "avx2")]
unsafe fn usable(x: __m256, byte: u64) -> __m256 {
    _mm256_and_ps(_mm256_castsi256_ps(lane_mask(byte)), _mm256_cmp_ps::<_CMP_ORD_Q>(x, x))
}

#[target_feature(enable = "avx2,fma")]
unsafe fn log_softmax_finite_avx2(logits: &[f32], allowed: &[u64], max: f32, out: &mut [f32]) {
    let n = logits.len().min(out.len());
    let words = (n / 64).min(allowed.len());
    let vmax = _mm256_set1_ps(max);
    let mut acc = _mm256_setzero_ps();
    for (w, &word) in allowed[..words].iter().enumerate() {
        if word == 0 {
            continue;
        }
        for j in 0..8 {
            let at = w * 64 + j * 8;
            // SAFETY: `at + 8 <= words * 64 <= n`.
            let x = unsafe { load_f32x8(logits, at) };
            let e = exp_nonpositive(_mm256_sub_ps(x, vmax));
            acc = _mm256_add_ps(acc, _mm256_and_ps(e, usable(x, word >> (j * 8) & 0xff)));
        }
    }
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` holds exactly eight floats.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
    let mut sum: f32 = lanes.iter().sum();
    for (i, &x) in logits.iter().enumerate().skip(words * 64) {
        if !x.is_nan() && is_allowed(allowed, i) {
            sum += (x - max).exp();
        }
    }
    let log_sum = sum.ln();
    let vlog = _mm256_set1_ps(log_sum);
    let ninf = _mm256_set1_ps(f32::NEG_INFINITY);
    for (w, &word) in allowed[..words].iter().enumerate() {
        for j in 0..8 {
            let at = w * 64 + j * 8;
            // SAFETY: `at + 8 <= words * 64 <= n <= out.len()`, and `logits.len()`.
            unsafe {
                let x = load_f32x8(logits, at);
                let y = _mm256_sub_ps(_mm256_sub_ps(x, vmax), vlog);
                let keep = usable(x, word >> (j * 8) & 0xff);
                _mm256_storeu_ps(out.as_mut_ptr().add(at), _mm256_blendv_ps(ninf, y, keep));
            }
        }
    }
    for (i, (o, &x)) in out.iter_mut().zip(logits).enumerate().skip(words * 64) {
        *o = if !x.is_nan() && is_allowed(allowed, i) { x - max - log_sum } else { f32::NEG_INFINITY };
    }
}
