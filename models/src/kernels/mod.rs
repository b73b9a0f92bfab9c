//! Hand-tuned hot loops around tract: the pieces of the brain's inner loop that
//! tract does not cover (int8 and f16 memory search, constrained decoding, the
//! voice frontend's log-mel filterbank) or runs slowly (int8 matrix-vector
//! products).
//!
//! The layout follows tract's linalg: a portable reference ([`generic`]) that is
//! always built and defines the exact semantics, plus per-architecture paths
//! (AVX2/FMA and AVX-512 VNNI on x86-64, NEON and NEON+dotprod on aarch64) that are chosen at run
//! time by CPU feature detection, so one binary runs on a Raspberry Pi 4 and
//! picks the faster dot-product instructions on a Pi 5 or Jetson Orin.
//! Every path fills a [`Table`] of function pointers; the public functions here
//! validate their input once and run the shared driver code (blocking, top-k
//! selection, special cases) on top of the active table. Setting the environment
//! variable `ROBOT_KERNELS=reference` forces the reference for A/B runs; it is
//! read once per process.
//!
//! This module is the only place in the crate that uses `unsafe` (intrinsics and
//! `#[target_feature]` functions, all in the architecture files).

mod generic;
mod logmel;
mod search_f16;
mod select;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

use std::sync::OnceLock;

pub use logmel::{power_spectrum, power_spectrum_on, LogMel, LogMelConfig, LogMelError, MelFilterbank};
pub use search_f16::{f16_bits_to_f32, f32_to_f16_bits, top_k_f16, top_k_f16_on};

/// Name of the environment variable that picks a kernel path (`reference`,
/// `avx2`, `avx512-vnni`, `neon`, `neon-dotprod`); unset, unknown or unavailable means the
/// fastest path this CPU supports.
pub const KERNELS_ENV: &str = "ROBOT_KERNELS";

/// Longest row the int8 search accepts: `128 * 128 * MAX_DIM` fits an i32,
/// so the integer dot products are exact on every path.
pub const MAX_DIM: usize = 1 << 17;

/// Rows per block in the similarity search: the dot products of one block are
/// kept in a stack buffer before scaling and top-k selection.
const ROWS_PER_BLOCK: usize = 256;

/// Errors from the kernels: shape mismatches between the arguments, or a path
/// asked for by name that this CPU cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// The matrix does not hold `rows * dim` values.
    #[error("matrix has {len} values, expected {rows} rows x {dim} dims = {expected}")]
    MatrixShape {
        /// Values in the matrix slice.
        len: usize,
        /// Rows implied by the scales slice.
        rows: usize,
        /// Row length asked for.
        dim: usize,
        /// `rows * dim` (saturating).
        expected: usize,
    },
    /// The query (or input vector) does not have `dim` values.
    #[error("query has {len} values, expected {dim}")]
    QueryShape {
        /// Values in the query.
        len: usize,
        /// Row length asked for.
        dim: usize,
    },
    /// Rows longer than [`MAX_DIM`] could overflow the i32 accumulators.
    #[error("dimension {0} exceeds the maximum {MAX_DIM}")]
    DimTooLarge(usize),
    /// The query scale is NaN or infinite.
    #[error("query scale {0} is not finite")]
    QueryScale(f32),
    /// The output slice does not match the logits.
    #[error("output has {out} values, logits have {logits}")]
    OutputShape {
        /// Values in the output slice.
        out: usize,
        /// Values in the logits slice.
        logits: usize,
    },
    /// A buffer passed to a kernel has the wrong length.
    #[error("{what} has {len} values, expected {expected}")]
    Length {
        /// Which buffer.
        what: &'static str,
        /// Values passed.
        len: usize,
        /// Values needed.
        expected: usize,
    },
    /// The requested path needs CPU features this machine lacks.
    #[error("kernel path {0:?} is not available on this CPU")]
    Unavailable(KernelPath),
}

/// One implementation of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KernelPath {
    /// Portable scalar Rust: the definition every other path must match.
    Reference,
    /// x86-64 with AVX2 and FMA.
    Avx2Fma,
    /// [`KernelPath::Avx2Fma`] with the int8 dot products on AVX-512 VNNI
    /// (Ice Lake and later Xeons, Zen 4 and later).
    Avx512Vnni,
    /// aarch64 Advanced SIMD (every aarch64 Linux CPU).
    Neon,
    /// aarch64 Advanced SIMD plus the `sdot` dot-product instructions
    /// (Cortex-A76 and later: Raspberry Pi 5, Jetson Orin).
    NeonDotprod,
}

impl KernelPath {
    /// Every path that can exist, in order of preference (best last).
    const ALL: [KernelPath; 5] =
        [KernelPath::Reference, KernelPath::Avx2Fma, KernelPath::Avx512Vnni, KernelPath::Neon, KernelPath::NeonDotprod];

    /// Short name, as accepted by [`KERNELS_ENV`].
    pub fn name(self) -> &'static str {
        match self {
            KernelPath::Reference => "reference",
            KernelPath::Avx2Fma => "avx2",
            KernelPath::Avx512Vnni => "avx512-vnni",
            KernelPath::Neon => "neon",
            KernelPath::NeonDotprod => "neon-dotprod",
        }
    }

    /// Whether this CPU can run the path.
    pub fn is_available(self) -> bool {
        table(self).is_some()
    }

    /// The paths this CPU can run, the reference first and the fastest last.
    pub fn available() -> Vec<KernelPath> {
        KernelPath::ALL.into_iter().filter(|p| p.is_available()).collect()
    }

    /// The path the unsuffixed functions use: chosen from [`KERNELS_ENV`] and
    /// the CPU once per process.
    pub fn active() -> KernelPath {
        active_table().path
    }
}

/// The per-path primitives; the drivers below do the rest. A table for a SIMD
/// path is only ever built after its CPU features were detected, which is what
/// makes its safe-looking function pointers sound.
#[derive(Clone, Copy)]
struct Table {
    path: KernelPath,
    /// Dot products of each `query.len()`-long row in `rows` with `query`,
    /// one per element of `out`; callers pass `rows.len() == out.len() * query.len()`
    /// and a non-empty query.
    dots_i8: fn(rows: &[i8], query: &[i8], out: &mut [i32]),
    /// See [`masked_argmax`].
    argmax: fn(logits: &[f32], allowed: &[u64]) -> Option<usize>,
    /// [`masked_log_softmax`] once the finite maximum allowed logit is known.
    log_softmax_finite: fn(logits: &[f32], allowed: &[u64], max: f32, out: &mut [f32]),
    /// f16 dot products, laid out like `dots_i8`, in the order fixed in [`search_f16`].
    dots_f16: fn(rows: &[u16], query: &[f32], out: &mut [f32]),
    /// See [`power_spectrum`]; callers pass `spectrum.len() == 2 * out.len()`.
    power_spectrum: fn(spectrum: &[f32], out: &mut [f32]),
    /// See [`MelFilterbank::apply_log`]; callers pass matching lengths.
    mel_log: fn(power: &[f32], bank: &MelFilterbank, out: &mut [f32]),
}

fn table(path: KernelPath) -> Option<Table> {
    match path {
        KernelPath::Reference => Some(generic::TABLE),
        #[cfg(target_arch = "x86_64")]
        KernelPath::Avx2Fma => x86_64::avx2_fma(),
        #[cfg(target_arch = "x86_64")]
        KernelPath::Avx512Vnni => x86_64::avx512_vnni(),
        #[cfg(target_arch = "aarch64")]
        KernelPath::Neon => aarch64::neon(),
        #[cfg(target_arch = "aarch64")]
        KernelPath::NeonDotprod => aarch64::neon_dotprod(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

fn active_table() -> Table {
    static ACTIVE: OnceLock<Table> = OnceLock::new();
    *ACTIVE.get_or_init(|| {
        let wanted = std::env::var(KERNELS_ENV).ok();
        let named = wanted
            .as_deref()
            .and_then(|w| KernelPath::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(w.trim())))
            .and_then(table);
        named.unwrap_or_else(|| KernelPath::ALL.into_iter().rev().find_map(table).unwrap_or(generic::TABLE))
    })
}

fn table_or_err(path: KernelPath) -> Result<Table, KernelError> {
    table(path).ok_or(KernelError::Unavailable(path))
}

/// Symmetric int8 quantization of one embedding row: returns the values and
/// the scale such that `value as f32 * scale` approximates the input.
///
/// The scale maps the largest finite magnitude to 127 (never -128, so that
/// products stay symmetric). An all-zero (or all non-finite) row gets scale 0.
/// Non-finite inputs: NaN becomes 0, +-infinity becomes +-127.
pub fn quantize_row_i8(row: &[f32]) -> (Vec<i8>, f32) {
    let max_abs = row.iter().filter(|x| x.is_finite()).fold(0.0f32, |m, x| m.max(x.abs()));
    if max_abs == 0.0 {
        let values = row.iter().map(|&x| if x.is_infinite() { 127 * x.signum() as i8 } else { 0 }).collect();
        return (values, 0.0);
    }
    let scale = max_abs / 127.0;
    let inv = 127.0 / max_abs;
    // `as` saturates and maps NaN to 0, which is the documented behaviour.
    let values = row.iter().map(|&x| (x * inv).round().clamp(-127.0, 127.0) as i8).collect();
    (values, scale)
}

/// Top-`k` rows of an int8 embedding matrix by scaled dot product with a query,
/// best first, on the active path.
///
/// `matrix` is row-major with `scales.len()` rows of `dim` values; the score of
/// row `i` is `dot_i32(row_i, query) as f32 * (scales[i] * query_scale)`. Ties
/// keep the lower row index first; rows whose score is NaN (a NaN or infinite
/// row scale) are never returned. `k = 0` or no rows gives an empty result,
/// `k > rows` returns every row. Integer accumulation is exact up to
/// [`MAX_DIM`], so every path returns identical results.
pub fn top_k_i8(
    matrix: &[i8],
    scales: &[f32],
    dim: usize,
    query: &[i8],
    query_scale: f32,
    k: usize,
) -> Result<Vec<(usize, f32)>, KernelError> {
    top_k_with(active_table(), matrix, scales, dim, query, query_scale, k)
}

/// [`top_k_i8`] on a given path (for tests, benchmarks and A/B runs).
pub fn top_k_i8_on(
    path: KernelPath,
    matrix: &[i8],
    scales: &[f32],
    dim: usize,
    query: &[i8],
    query_scale: f32,
    k: usize,
) -> Result<Vec<(usize, f32)>, KernelError> {
    top_k_with(table_or_err(path)?, matrix, scales, dim, query, query_scale, k)
}

fn top_k_with(
    table: Table,
    matrix: &[i8],
    scales: &[f32],
    dim: usize,
    query: &[i8],
    query_scale: f32,
    k: usize,
) -> Result<Vec<(usize, f32)>, KernelError> {
    let rows = scales.len();
    let expected = rows.saturating_mul(dim);
    if matrix.len() != expected {
        return Err(KernelError::MatrixShape { len: matrix.len(), rows, dim, expected });
    }
    if query.len() != dim {
        return Err(KernelError::QueryShape { len: query.len(), dim });
    }
    if dim > MAX_DIM {
        return Err(KernelError::DimTooLarge(dim));
    }
    if !query_scale.is_finite() {
        return Err(KernelError::QueryScale(query_scale));
    }
    let mut top = select::TopK::new(k.min(rows), rows);
    if top.capacity() == 0 {
        return Ok(Vec::new());
    }
    let mut dots = [0i32; ROWS_PER_BLOCK];
    for (block, row_scales) in scales.chunks(ROWS_PER_BLOCK).enumerate() {
        let dots = &mut dots[..row_scales.len()];
        if dim == 0 {
            dots.fill(0);
        } else {
            let start = block * ROWS_PER_BLOCK * dim;
            (table.dots_i8)(&matrix[start..start + row_scales.len() * dim], query, dots);
        }
        for (i, (&dot, &scale)) in dots.iter().zip(row_scales).enumerate() {
            // One expression shared by every path, so scores are bit-identical.
            top.offer(block * ROWS_PER_BLOCK + i, dot as f32 * (scale * query_scale));
        }
    }
    Ok(top.into_sorted())
}

/// Int8 matrix-vector product `w * x` with exact i32 results, on the active
/// path: `w` is row-major `rows x cols`, `x` has `cols` values. For the brain's
/// quantized layers where tract leaves speed on the table; the caller applies
/// the scales.
pub fn matvec_i8(w: &[i8], rows: usize, cols: usize, x: &[i8]) -> Result<Vec<i32>, KernelError> {
    matvec_with(active_table(), w, rows, cols, x)
}

/// [`matvec_i8`] on a given path.
pub fn matvec_i8_on(path: KernelPath, w: &[i8], rows: usize, cols: usize, x: &[i8]) -> Result<Vec<i32>, KernelError> {
    matvec_with(table_or_err(path)?, w, rows, cols, x)
}

fn matvec_with(table: Table, w: &[i8], rows: usize, cols: usize, x: &[i8]) -> Result<Vec<i32>, KernelError> {
    let expected = rows.saturating_mul(cols);
    if w.len() != expected {
        return Err(KernelError::MatrixShape { len: w.len(), rows, dim: cols, expected });
    }
    if x.len() != cols {
        return Err(KernelError::QueryShape { len: x.len(), dim: cols });
    }
    if cols > MAX_DIM {
        return Err(KernelError::DimTooLarge(cols));
    }
    let mut out = vec![0i32; rows];
    if cols > 0 {
        (table.dots_i8)(w, x, &mut out);
    }
    Ok(out)
}

/// Whether bit `i` of the `allowed` bitset is set; bits past its end are clear.
fn is_allowed(allowed: &[u64], i: usize) -> bool {
    allowed.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
}

/// Index of the largest allowed logit, for greedy constrained decoding.
///
/// `allowed` is a bitset (bit `i % 64` of word `i / 64` allows token `i`);
/// words missing from the end disallow the rest. NaN logits count as
/// disallowed. Ties (including `-0.0` vs `0.0`) go to the lower index. `None`
/// when nothing allowed and non-NaN remains; an allowed `-inf` can still win.
pub fn masked_argmax(logits: &[f32], allowed: &[u64]) -> Option<usize> {
    (active_table().argmax)(logits, allowed)
}

/// [`masked_argmax`] on a given path.
pub fn masked_argmax_on(path: KernelPath, logits: &[f32], allowed: &[u64]) -> Result<Option<usize>, KernelError> {
    Ok((table_or_err(path)?.argmax)(logits, allowed))
}

/// Log-probabilities over the allowed tokens, for sampling and beam search in
/// constrained decoding; disallowed (and NaN) logits get `-inf`.
///
/// Numerically stable (shifted by the maximum). If nothing is allowed, every
/// output is `-inf`. If the maximum allowed logit is infinite (`+inf`, or every
/// allowed logit is `-inf`), the tokens equal to it share the probability
/// evenly. SIMD paths use a polynomial `exp` and may differ from the reference
/// by a few ulp of the log-sum; `-inf` positions are identical.
pub fn masked_log_softmax(logits: &[f32], allowed: &[u64], out: &mut [f32]) -> Result<(), KernelError> {
    log_softmax_with(active_table(), logits, allowed, out)
}

/// [`masked_log_softmax`] on a given path.
pub fn masked_log_softmax_on(
    path: KernelPath,
    logits: &[f32],
    allowed: &[u64],
    out: &mut [f32],
) -> Result<(), KernelError> {
    log_softmax_with(table_or_err(path)?, logits, allowed, out)
}

fn log_softmax_with(table: Table, logits: &[f32], allowed: &[u64], out: &mut [f32]) -> Result<(), KernelError> {
    if out.len() != logits.len() {
        return Err(KernelError::OutputShape { out: out.len(), logits: logits.len() });
    }
    let Some(best) = (table.argmax)(logits, allowed) else {
        out.fill(f32::NEG_INFINITY);
        return Ok(());
    };
    let max = logits[best];
    if max.is_finite() {
        (table.log_softmax_finite)(logits, allowed, max, out);
        return Ok(());
    }
    // Infinite maximum: the limit of softmax is uniform over the tied entries.
    let tied = |i: usize, x: f32| x == max && is_allowed(allowed, i);
    let count = logits.iter().enumerate().filter(|&(i, &x)| tied(i, x)).count();
    let share = -(count as f32).ln();
    for (i, (o, &x)) in out.iter_mut().zip(logits).enumerate() {
        *o = if tied(i, x) { share } else { f32::NEG_INFINITY };
    }
    Ok(())
}
