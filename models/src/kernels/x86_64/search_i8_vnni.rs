//! The int8 dot products on x86-64 CPUs with AVX-512 VNNI (Ice Lake and
//! later Xeons, Zen 4 and later): `vpdpbusd` multiplies 32 unsigned by signed
//! byte pairs and adds each group of four into an i32 lane in one
//! instruction, where AVX2 needs `maddubs` and `madd`, two multiplies. The
//! in-cache search is bound by those multiplies, and the DRAM-bound one
//! overlaps its arithmetic with the loads better the less there is of it.
//!
//! `vpdpbusd` wants one unsigned operand. For a query without -128 (every
//! query the memory quantizes) it is `|r|` against `q sign(r)`, which stays
//! within ±127; otherwise the query is offset by 128,
//! `q · r = (q + 128) · r − 128 Σr`, and a second `vpdpbusd` against ones
//! sums the row. The accumulators wrap like the reference's i32 sums and the
//! true dot product fits an i32 (`MAX_DIM`), so both forms are exact for
//! every byte value.
//!
//! 256-bit vectors (AVX-512VL), not 512: a `Vec`'s rows are only 16-byte
//! aligned, so 64-byte loads split cache lines, and a 512-bit version ran
//! slower than AVX2 in a trial on the 100,000-row search.

use std::arch::x86_64::*;

use super::super::generic;
use super::load_i8x32;

/// Whether this CPU can run [`dots_i8`].
pub(super) fn detected() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("avx512vl") && is_x86_feature_detected!("avx512vnni")
}

pub(super) fn dots_i8(rows: &[i8], query: &[i8], out: &mut [i32]) {
    // SAFETY: only in the table from `avx512_vnni`, which checked `detected()`.
    unsafe { dots_i8_vnni(rows, query, out) }
}

/// `Σ (q + 128) r − 128 Σ r` of the lanes, wrapping.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn finish(offset_dot: __m256i, row_sum: __m256i) -> i32 {
    // SAFETY: AVX2 is enabled here.
    unsafe { super::hsum_i32(offset_dot).wrapping_sub(super::hsum_i32(row_sum).wrapping_mul(128)) }
}

/// Four rows per pass, offset form (exact for every query). They share each
/// query load; the accumulators are named, not
/// an array, so they stay in registers whatever the optimizer unrolls.
#[inline]
#[target_feature(enable = "avx2,avx512vl,avx512vnni")]
unsafe fn dots_4_rows(block: &[i8], query: &[i8], out: &mut [i32]) {
    let dim = query.len();
    let simd = dim - dim % 32;
    let flip = _mm256_set1_epi8(i8::MIN);
    let ones = _mm256_set1_epi8(1);
    let (mut d0, mut d1, mut d2, mut d3) =
        (_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256());
    let (mut s0, mut s1, mut s2, mut s3) =
        (_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256());
    let mut at = 0;
    while at < simd {
        // SAFETY: `at + 32 <= simd <= dim`, the length of the query and of each of the 4 rows.
        unsafe {
            // q + 128 as an unsigned byte is q with its top bit flipped.
            let q = _mm256_xor_si256(load_i8x32(query, at), flip);
            let r = load_i8x32(block, at);
            d0 = _mm256_dpbusd_epi32(d0, q, r);
            s0 = _mm256_dpbusd_epi32(s0, ones, r);
            let r = load_i8x32(block, dim + at);
            d1 = _mm256_dpbusd_epi32(d1, q, r);
            s1 = _mm256_dpbusd_epi32(s1, ones, r);
            let r = load_i8x32(block, 2 * dim + at);
            d2 = _mm256_dpbusd_epi32(d2, q, r);
            s2 = _mm256_dpbusd_epi32(s2, ones, r);
            let r = load_i8x32(block, 3 * dim + at);
            d3 = _mm256_dpbusd_epi32(d3, q, r);
            s3 = _mm256_dpbusd_epi32(s3, ones, r);
        }
        at += 32;
    }
    for (i, (o, (d, s))) in out.iter_mut().zip([(d0, s0), (d1, s1), (d2, s2), (d3, s3)]).enumerate() {
        let row = &block[i * dim..(i + 1) * dim];
        // SAFETY: AVX2 is enabled here.
        let head = unsafe { finish(d, s) };
        *o = head.wrapping_add(generic::dot_i8(&row[simd..], &query[simd..]));
    }
}

/// Four rows per pass for a query without -128: `q · r = |r| · (q sign(r))`,
/// one `vpdpbusd` per 32 bytes (|r| unsigned, at most 128; `q sign(r)`
/// within ±127 because q is never -128).
///
/// # Safety
/// The features must be available, `block` must hold 4 rows of
/// `query.len()`, and `query` must not contain -128.
#[inline]
#[target_feature(enable = "avx2,avx512vl,avx512vnni")]
unsafe fn dots_4_rows_sign(block: &[i8], query: &[i8], out: &mut [i32]) {
    let dim = query.len();
    let simd = dim - dim % 32;
    let (mut d0, mut d1, mut d2, mut d3) =
        (_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256());
    let mut at = 0;
    while at < simd {
        // SAFETY: `at + 32 <= simd <= dim`, the length of the query and of each of the 4 rows.
        unsafe {
            let q = load_i8x32(query, at);
            let r = load_i8x32(block, at);
            d0 = _mm256_dpbusd_epi32(d0, _mm256_abs_epi8(r), _mm256_sign_epi8(q, r));
            let r = load_i8x32(block, dim + at);
            d1 = _mm256_dpbusd_epi32(d1, _mm256_abs_epi8(r), _mm256_sign_epi8(q, r));
            let r = load_i8x32(block, 2 * dim + at);
            d2 = _mm256_dpbusd_epi32(d2, _mm256_abs_epi8(r), _mm256_sign_epi8(q, r));
            let r = load_i8x32(block, 3 * dim + at);
            d3 = _mm256_dpbusd_epi32(d3, _mm256_abs_epi8(r), _mm256_sign_epi8(q, r));
        }
        at += 32;
    }
    for (i, (o, d)) in out.iter_mut().zip([d0, d1, d2, d3]).enumerate() {
        let row = &block[i * dim..(i + 1) * dim];
        // SAFETY: AVX2 is enabled here.
        let head = unsafe { super::hsum_i32(d) };
        *o = head.wrapping_add(generic::dot_i8(&row[simd..], &query[simd..]));
    }
}

#[target_feature(enable = "avx2,avx512vl,avx512vnni")]
unsafe fn dots_i8_vnni(rows: &[i8], query: &[i8], out: &mut [i32]) {
    let dim = query.len();
    // Checked per call (a few hundred rows), which costs one pass over the
    // query: the common case takes one multiply per 32 bytes instead of two.
    let signed = !query.contains(&i8::MIN);
    let mut blocks = rows.chunks_exact(4 * dim);
    let mut outs = out.chunks_exact_mut(4);
    for (block, o) in (&mut blocks).zip(&mut outs) {
        super::prefetch_ahead(block);
        // SAFETY: the features are enabled here; `block` holds 4 rows of `dim`,
        // and the sign form is only used for a query without -128.
        unsafe {
            if signed {
                dots_4_rows_sign(block, query, o);
            } else {
                dots_4_rows(block, query, o);
            }
        }
    }
    // At most three rows per call, and a search's blocks of 256 rows leave
    // them only in its last call: the reference is fast enough for them.
    let tail = &rows[rows.len() - blocks.remainder().len()..];
    for (row, o) in tail.chunks_exact(dim).zip(outs.into_remainder()) {
        *o = generic::dot_i8(row, query);
    }
}
