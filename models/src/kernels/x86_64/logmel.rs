//! The log-mel filterbank's kernels on x86-64 with AVX2/FMA: the power
//! spectrum (bit-identical to the reference: `hadd` adds `re^2 + im^2` in the
//! same rounding steps) and the filterbank with eight filters per vector over
//! the transposed layout (mul then add, so the sums are identical too),
//! followed by a vectorized natural log.

use std::arch::x86_64::*;

use super::super::logmel::{MelFilterbank, GROUP};

pub(in super::super) fn power_spectrum(spectrum: &[f32], out: &mut [f32]) {
    // SAFETY: only in the table from `avx2_fma`, which checked AVX2 and FMA.
    unsafe { power_spectrum_avx2(spectrum, out) }
}

pub(in super::super) fn mel_log(power: &[f32], bank: &MelFilterbank, out: &mut [f32]) {
    // SAFETY: only in the table from `avx2_fma`, which checked AVX2 and FMA.
    unsafe { mel_log_avx2(power, bank, out) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn power_spectrum_avx2(spectrum: &[f32], out: &mut [f32]) {
    let n = out.len().min(spectrum.len() / 2);
    let simd = n - n % 8;
    let mut i = 0;
    while i < simd {
        // SAFETY: `2 * (i + 8) <= 2 * n <= spectrum.len()` and `i + 8 <= n <= out.len()`.
        unsafe {
            let a = _mm256_loadu_ps(spectrum.as_ptr().add(2 * i));
            let b = _mm256_loadu_ps(spectrum.as_ptr().add(2 * i + 8));
            // Per 128-bit half: [|c0|^2, |c1|^2, |c4|^2, |c5|^2 | |c2|^2, |c3|^2, |c6|^2, |c7|^2].
            let h = _mm256_hadd_ps(_mm256_mul_ps(a, a), _mm256_mul_ps(b, b));
            let ordered = _mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(h));
            _mm256_storeu_ps(out.as_mut_ptr().add(i), _mm256_castpd_ps(ordered));
        }
        i += 8;
    }
    for (c, o) in spectrum[2 * simd..].chunks_exact(2).zip(&mut out[simd..]) {
        *o = c[0] * c[0] + c[1] * c[1];
    }
}

/// `ln(x)` for finite `x >= f32::EPSILON` (Cephes `logf` polynomial, ~1 ulp).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn ln_normal(x: __m256) -> __m256 {
    let bits = _mm256_castps_si256(x);
    let exp = _mm256_sub_epi32(_mm256_srli_epi32::<23>(bits), _mm256_set1_epi32(126));
    let mut e = _mm256_cvtepi32_ps(exp);
    // Mantissa scaled into [0.5, 1).
    let m = _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi32(0x007f_ffff)),
        _mm256_set1_epi32(0x3f00_0000),
    ));
    let one = _mm256_set1_ps(1.0);
    let small = _mm256_cmp_ps::<_CMP_LT_OQ>(m, _mm256_set1_ps(std::f32::consts::FRAC_1_SQRT_2));
    e = _mm256_sub_ps(e, _mm256_and_ps(one, small));
    let m = _mm256_add_ps(_mm256_sub_ps(m, one), _mm256_and_ps(m, small));
    let z = _mm256_mul_ps(m, m);
    let mut p = _mm256_set1_ps(7.037_683_6e-2);
    for c in [
        -1.151_461e-1,
        1.167_699_9e-1,
        -1.242_014_1e-1,
        1.424_932_3e-1,
        -1.666_805_8e-1,
        2.000_071_5e-1,
        -2.499_999_4e-1,
        3.333_333e-1,
    ] {
        p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(c));
    }
    let y = _mm256_mul_ps(_mm256_mul_ps(p, m), z);
    let y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.121_944_4e-4), y);
    let y = _mm256_fnmadd_ps(_mm256_set1_ps(0.5), z, y);
    _mm256_fmadd_ps(e, _mm256_set1_ps(0.693_359_4), _mm256_add_ps(m, y))
}

/// `ln(max(x, EPSILON))` with NaN and +infinity passed through, as `floor_ln`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn floor_ln_avx2(x: __m256) -> __m256 {
    let y = ln_normal(_mm256_max_ps(x, _mm256_set1_ps(f32::EPSILON)));
    let special = _mm256_cmp_ps::<_CMP_NLT_UQ>(x, _mm256_set1_ps(f32::INFINITY));
    _mm256_blendv_ps(y, x, special)
}

#[target_feature(enable = "avx2,fma")]
unsafe fn mel_log_avx2(power: &[f32], bank: &MelFilterbank, out: &mut [f32]) {
    for (g, &(first, bins, offset)) in bank.groups.iter().enumerate() {
        let weights = &bank.transposed[offset..offset + bins * GROUP];
        let mut acc = _mm256_setzero_ps();
        for (i, &p) in power[first..first + bins].iter().enumerate() {
            // SAFETY: `(i + 1) * GROUP <= bins * GROUP == weights.len()`.
            let w = unsafe { _mm256_loadu_ps(weights.as_ptr().add(i * GROUP)) };
            acc = _mm256_add_ps(acc, _mm256_mul_ps(w, _mm256_set1_ps(p)));
        }
        let mut lanes = [0f32; GROUP];
        // SAFETY: `lanes` holds exactly eight floats.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), floor_ln_avx2(acc)) };
        let filters = out.iter_mut().skip(g * GROUP).take(GROUP);
        for (o, &l) in filters.zip(&lanes) {
            *o = l;
        }
    }
}
