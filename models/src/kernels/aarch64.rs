//! aarch64 kernels with NEON (every Raspberry Pi 4/5 and Jetson) and, where
//! `is_aarch64_feature_detected!("dotprod")` says so (Cortex-A76 and later:
//! Pi 5, Jetson Orin), the `sdot` instruction for the int8 dot products.
//! `sdot` is issued through inline assembly because its intrinsic
//! (`vdotq_s32`) is not stable Rust yet. Tables are only handed out after
//! detection, which is the invariant every `unsafe` call below relies on.

mod logmel;
mod search_f16;

use std::arch::aarch64::*;

use super::{generic, is_allowed, KernelPath, Table};

/// The NEON table, if this CPU has Advanced SIMD.
pub(super) fn neon() -> Option<Table> {
    std::arch::is_aarch64_feature_detected!("neon").then_some(Table {
        path: KernelPath::Neon,
        dots_i8: dots_i8_neon_safe,
        argmax,
        log_softmax_finite,
        dots_f16: search_f16::dots_f16,
        power_spectrum: logmel::power_spectrum,
        mel_log: logmel::mel_log,
    })
}

/// The NEON + dotprod table, if this CPU has both; only the int8 dot
/// products differ from [`neon`].
pub(super) fn neon_dotprod() -> Option<Table> {
    let neon = neon()?;
    std::arch::is_aarch64_feature_detected!("dotprod").then_some(Table {
        path: KernelPath::NeonDotprod,
        dots_i8: dots_i8_dotprod_safe,
        ..neon
    })
}

fn dots_i8_neon_safe(rows: &[i8], query: &[i8], out: &mut [i32]) {
    // SAFETY: only reachable through the table from `neon`, which checked NEON.
    unsafe { dots_i8::<false>(rows, query, out) }
}

fn dots_i8_dotprod_safe(rows: &[i8], query: &[i8], out: &mut [i32]) {
    // SAFETY: only reachable through the table from `neon_dotprod`, which checked NEON and dotprod.
    unsafe { dots_i8_dotprod(rows, query, out) }
}

fn argmax(logits: &[f32], allowed: &[u64]) -> Option<usize> {
    // SAFETY: only reachable through tables built after detecting NEON.
    unsafe { argmax_neon(logits, allowed) }
}

fn log_softmax_finite(logits: &[f32], allowed: &[u64], max: f32, out: &mut [f32]) {
    // SAFETY: only reachable through tables built after detecting NEON.
    unsafe { log_softmax_finite_neon(logits, allowed, max, out) }
}

/// Loads `slice[at..at + 16]`.
///
/// # Safety
/// NEON must be available and `at + 16 <= slice.len()`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load_i8x16(slice: &[i8], at: usize) -> int8x16_t {
    debug_assert!(at + 16 <= slice.len());
    // SAFETY: the caller guarantees 16 readable bytes from `at`.
    unsafe { vld1q_s8(slice.as_ptr().add(at)) }
}

/// `acc + dot(a, b)` per 4-byte group: widening multiplies (exact in i16,
/// |x*y| <= 16384) folded pairwise into the i32 lanes.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn mac_neon(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    let acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    vpadalq_s16(acc, vmull_high_s8(a, b))
}

/// `acc + dot(a, b)` per 4-byte group with one `sdot`.
#[inline]
#[target_feature(enable = "neon,dotprod")]
unsafe fn mac_dotprod(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    // SAFETY: `sdot` only reads and writes the named vector registers; the
    // enclosing target feature guarantees the CPU implements it.
    unsafe {
        std::arch::asm!(
            "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    acc
}

#[target_feature(enable = "neon,dotprod")]
unsafe fn dots_i8_dotprod(rows: &[i8], query: &[i8], out: &mut [i32]) {
    // SAFETY: the caller checked NEON and dotprod, which `dots_i8::<true>` needs.
    unsafe { dots_i8::<true>(rows, query, out) }
}

/// Four rows at a time share each query load.
///
/// # Safety
/// NEON must be available, and dotprod too when `DOTPROD`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn dots_i8<const DOTPROD: bool>(rows: &[i8], query: &[i8], out: &mut [i32]) {
    let mac = |acc, a, b| {
        // SAFETY: the caller guarantees the features for the chosen instruction.
        unsafe {
            if DOTPROD {
                mac_dotprod(acc, a, b)
            } else {
                mac_neon(acc, a, b)
            }
        }
    };
    let dim = query.len();
    let simd = dim - dim % 16;
    let mut blocks = rows.chunks_exact(4 * dim);
    let mut outs = out.chunks_exact_mut(4);
    for (block, o) in (&mut blocks).zip(&mut outs) {
        let (r0, rest) = block.split_at(dim);
        let (r1, rest) = rest.split_at(dim);
        let (r2, r3) = rest.split_at(dim);
        let mut acc = [vdupq_n_s32(0); 4];
        let mut at = 0;
        while at < simd {
            // SAFETY: `at + 16 <= simd <= dim`, the length of the query and of every row.
            unsafe {
                let q = load_i8x16(query, at);
                acc[0] = mac(acc[0], load_i8x16(r0, at), q);
                acc[1] = mac(acc[1], load_i8x16(r1, at), q);
                acc[2] = mac(acc[2], load_i8x16(r2, at), q);
                acc[3] = mac(acc[3], load_i8x16(r3, at), q);
            }
            at += 16;
        }
        for ((o, row), acc) in o.iter_mut().zip([r0, r1, r2, r3]).zip(acc) {
            *o = vaddvq_s32(acc).wrapping_add(generic::dot_i8(&row[simd..], &query[simd..]));
        }
    }
    for (row, o) in rows[rows.len() - blocks.remainder().len()..].chunks_exact(dim).zip(outs.into_remainder()) {
        let mut acc = vdupq_n_s32(0);
        let mut at = 0;
        while at < simd {
            // SAFETY: `at + 16 <= simd <= dim`, the length of the query and of the row.
            acc = mac(acc, unsafe { load_i8x16(row, at) }, unsafe { load_i8x16(query, at) });
            at += 16;
        }
        *o = vaddvq_s32(acc).wrapping_add(generic::dot_i8(&row[simd..], &query[simd..]));
    }
}

/// All-ones in lane `j` where bit `j` of `nibble` is set.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn lane_mask(nibble: u64) -> uint32x4_t {
    const BITS: [u32; 4] = [1, 2, 4, 8];
    // SAFETY: `BITS` holds exactly four u32.
    let bits = unsafe { vld1q_u32(BITS.as_ptr()) };
    vtstq_u32(vdupq_n_u32(nibble as u32), bits)
}

/// Loads `logits[at..at + 4]`.
///
/// # Safety
/// NEON must be available and `at + 4 <= logits.len()`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load_f32x4(logits: &[f32], at: usize) -> float32x4_t {
    debug_assert!(at + 4 <= logits.len());
    // SAFETY: the caller guarantees 4 readable floats from `at`.
    unsafe { vld1q_f32(logits.as_ptr().add(at)) }
}

/// Lanes allowed by `nibble` and not NaN.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn usable(x: float32x4_t, nibble: u64) -> uint32x4_t {
    vandq_u32(lane_mask(nibble), vceqq_f32(x, x))
}

/// Per-lane running maximum with the first index reaching it; see the x86-64
/// version for why the reduction and tail keep the reference's tie rule.
#[target_feature(enable = "neon")]
unsafe fn argmax_neon(logits: &[f32], allowed: &[u64]) -> Option<usize> {
    let n = logits.len();
    if n > u32::MAX as usize {
        return (generic::TABLE.argmax)(logits, allowed);
    }
    const LANES: [u32; 4] = [0, 1, 2, 3];
    // SAFETY: `LANES` holds exactly four u32.
    let lanes = unsafe { vld1q_u32(LANES.as_ptr()) };
    let words = (n / 64).min(allowed.len());
    let none = vdupq_n_u32(u32::MAX);
    let mut best = vdupq_n_f32(f32::NEG_INFINITY);
    let mut best_idx = none;
    for (w, &word) in allowed[..words].iter().enumerate() {
        if word == 0 {
            continue;
        }
        for j in 0..16 {
            let at = w * 64 + j * 4;
            // SAFETY: `at + 4 <= words * 64 <= n`.
            let x = unsafe { load_f32x4(logits, at) };
            let idx = vaddq_u32(vdupq_n_u32(at as u32), lanes);
            let better = vorrq_u32(vcgtq_f32(x, best), vceqq_u32(best_idx, none));
            let take = vandq_u32(usable(x, word >> (j * 4) & 0xf), better);
            best = vbslq_f32(take, x, best);
            best_idx = vbslq_u32(take, idx, best_idx);
        }
    }
    let mut vals = [0f32; 4];
    let mut ids = [0u32; 4];
    // SAFETY: both arrays hold exactly four lanes.
    unsafe {
        vst1q_f32(vals.as_mut_ptr(), best);
        vst1q_u32(ids.as_mut_ptr(), best_idx);
    }
    let lanes = ids.iter().zip(&vals).map(|(&id, &v)| ((id != u32::MAX).then_some(id as usize), v));
    super::select::finish_argmax(lanes, logits, allowed, words * 64)
}

/// `exp(x)` for `x <= 0`, same polynomial as the x86-64 path.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn exp_nonpositive(x: float32x4_t) -> float32x4_t {
    let x = vmaxq_f32(x, vdupq_n_f32(-87.336_55));
    let n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(std::f32::consts::LOG2_E)));
    let r = vfmsq_f32(x, n, vdupq_n_f32(0.693_359_4));
    let r = vfmsq_f32(r, n, vdupq_n_f32(-2.121_944_4e-4));
    let mut p = vdupq_n_f32(1.987_569_1e-4);
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5] {
        p = vfmaq_f32(vdupq_n_f32(c), p, r);
    }
    let y = vaddq_f32(vfmaq_f32(r, p, vmulq_f32(r, r)), vdupq_n_f32(1.0));
    let pow2 = vshlq_n_s32::<23>(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)));
    vmulq_f32(y, vreinterpretq_f32_s32(pow2))
}

#[target_feature(enable = "neon")]
unsafe fn log_softmax_finite_neon(logits: &[f32], allowed: &[u64], max: f32, out: &mut [f32]) {
    let n = logits.len().min(out.len());
    let words = (n / 64).min(allowed.len());
    let vmax = vdupq_n_f32(max);
    let mut acc = vdupq_n_f32(0.0);
    for (w, &word) in allowed[..words].iter().enumerate() {
        if word == 0 {
            continue;
        }
        for j in 0..16 {
            let at = w * 64 + j * 4;
            // SAFETY: `at + 4 <= words * 64 <= n`.
            let x = unsafe { load_f32x4(logits, at) };
            let e = exp_nonpositive(vsubq_f32(x, vmax));
            let keep = usable(x, word >> (j * 4) & 0xf);
            acc = vaddq_f32(acc, vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(e), keep)));
        }
    }
    let mut sum = vaddvq_f32(acc);
    for (i, &x) in logits.iter().enumerate().skip(words * 64) {
        if !x.is_nan() && is_allowed(allowed, i) {
            sum += (x - max).exp();
        }
    }
    let log_sum = sum.ln();
    let vlog = vdupq_n_f32(log_sum);
    let ninf = vdupq_n_f32(f32::NEG_INFINITY);
    for (w, &word) in allowed[..words].iter().enumerate() {
        for j in 0..16 {
            let at = w * 64 + j * 4;
            // SAFETY: `at + 4 <= words * 64 <= n <= out.len()`, and `logits.len()`.
            unsafe {
                let x = load_f32x4(logits, at);
                let y = vsubq_f32(vsubq_f32(x, vmax), vlog);
                vst1q_f32(out.as_mut_ptr().add(at), vbslq_f32(usable(x, word >> (j * 4) & 0xf), y, ninf));
            }
        }
    }
    for (i, (o, &x)) in out.iter_mut().zip(logits).enumerate().skip(words * 64) {
        *o = if !x.is_nan() && is_allowed(allowed, i) { x - max - log_sum } else { f32::NEG_INFINITY };
    }
}
