//! The log-mel filterbank's kernels on aarch64 NEON: the power spectrum
//! (`ld2` de-interleaves real and imaginary parts; same rounding steps as the
//! reference) and the filterbank with eight filters per pair of vectors over
//! the transposed layout (mul then add, so the sums are identical), followed
//! by the same vectorized natural log as the x86-64 path.

use std::arch::aarch64::*;

use super::super::logmel::{MelFilterbank, GROUP};

pub(in super::super) fn power_spectrum(spectrum: &[f32], out: &mut [f32]) {
    // SAFETY: only in tables built after detecting NEON.
    unsafe { power_spectrum_neon(spectrum, out) }
}

pub(in super::super) fn mel_log(power: &[f32], bank: &MelFilterbank, out: &mut [f32]) {
    // SAFETY: only in tables built after detecting NEON.
    unsafe { mel_log_neon(power, bank, out) }
}

#[target_feature(enable = "neon")]
unsafe fn power_spectrum_neon(spectrum: &[f32], out: &mut [f32]) {
    let n = out.len().min(spectrum.len() / 2);
    let simd = n - n % 4;
    let mut i = 0;
    while i < simd {
        // SAFETY: `2 * (i + 4) <= 2 * n <= spectrum.len()` and `i + 4 <= n <= out.len()`.
        unsafe {
            let c = vld2q_f32(spectrum.as_ptr().add(2 * i));
            vst1q_f32(out.as_mut_ptr().add(i), vaddq_f32(vmulq_f32(c.0, c.0), vmulq_f32(c.1, c.1)));
        }
        i += 4;
    }
    for (c, o) in spectrum[2 * simd..].chunks_exact(2).zip(&mut out[simd..]) {
        *o = c[0] * c[0] + c[1] * c[1];
    }
}

/// `ln(x)` for finite `x >= f32::EPSILON` (Cephes `logf` polynomial, ~1 ulp).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn ln_normal(x: float32x4_t) -> float32x4_t {
    let bits = vreinterpretq_u32_f32(x);
    let exp = vsubq_s32(vreinterpretq_s32_u32(vshrq_n_u32::<23>(bits)), vdupq_n_s32(126));
    let mut e = vcvtq_f32_s32(exp);
    // Mantissa scaled into [0.5, 1).
    let m = vreinterpretq_f32_u32(vorrq_u32(vandq_u32(bits, vdupq_n_u32(0x007f_ffff)), vdupq_n_u32(0x3f00_0000)));
    let one = vdupq_n_f32(1.0);
    let small = vcltq_f32(m, vdupq_n_f32(std::f32::consts::FRAC_1_SQRT_2));
    let and = |v: float32x4_t| vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), small));
    e = vsubq_f32(e, and(one));
    let m = vaddq_f32(vsubq_f32(m, one), and(m));
    let z = vmulq_f32(m, m);
    let mut p = vdupq_n_f32(7.037_683_6e-2);
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
        p = vfmaq_f32(vdupq_n_f32(c), p, m);
    }
    let y = vmulq_f32(vmulq_f32(p, m), z);
    let y = vfmaq_f32(y, e, vdupq_n_f32(-2.121_944_4e-4));
    let y = vfmsq_f32(y, z, vdupq_n_f32(0.5));
    vfmaq_f32(vaddq_f32(m, y), e, vdupq_n_f32(0.693_359_4))
}

/// `ln(max(x, EPSILON))` with NaN and +infinity passed through, as `floor_ln`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn floor_ln_neon(x: float32x4_t) -> float32x4_t {
    let y = ln_normal(vmaxq_f32(x, vdupq_n_f32(f32::EPSILON)));
    let special = vmvnq_u32(vcltq_f32(x, vdupq_n_f32(f32::INFINITY)));
    vbslq_f32(special, x, y)
}

#[target_feature(enable = "neon")]
unsafe fn mel_log_neon(power: &[f32], bank: &MelFilterbank, out: &mut [f32]) {
    for (g, &(first, bins, offset)) in bank.groups.iter().enumerate() {
        let weights = &bank.transposed[offset..offset + bins * GROUP];
        let mut lo = vdupq_n_f32(0.0);
        let mut hi = vdupq_n_f32(0.0);
        for (i, &p) in power[first..first + bins].iter().enumerate() {
            let p = vdupq_n_f32(p);
            // SAFETY: `(i + 1) * GROUP <= bins * GROUP == weights.len()`.
            unsafe {
                lo = vaddq_f32(lo, vmulq_f32(vld1q_f32(weights.as_ptr().add(i * GROUP)), p));
                hi = vaddq_f32(hi, vmulq_f32(vld1q_f32(weights.as_ptr().add(i * GROUP + 4)), p));
            }
        }
        let mut lanes = [0f32; GROUP];
        // SAFETY: `lanes` holds exactly eight floats.
        unsafe {
            vst1q_f32(lanes.as_mut_ptr(), floor_ln_neon(lo));
            vst1q_f32(lanes.as_mut_ptr().add(4), floor_ln_neon(hi));
        }
        for (o, &l) in out.iter_mut().skip(g * GROUP).take(GROUP).zip(&lanes) {
            *o = l;
        }
    }
}
