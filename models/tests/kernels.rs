//! Checks of [`robot_models::kernels`]: one shared property test per kernel
//! that runs every path this CPU supports against the portable reference (run
//! natively on x86-64 and under qemu for aarch64 CPUs with and without
//! dotprod), plus the edge cases whose behaviour the docs define.

use proptest::prelude::*;
use robot_models::kernels::{
    masked_argmax, masked_argmax_on, masked_log_softmax, masked_log_softmax_on, matvec_i8, matvec_i8_on,
    quantize_row_i8, top_k_i8, top_k_i8_on, KernelError, KernelPath,
};

fn simd_paths() -> Vec<KernelPath> {
    KernelPath::available().into_iter().filter(|&p| p != KernelPath::Reference).collect()
}

/// A matrix shape, its values (full int8 range, -128 included), scales that
/// include repeats (for ties), a query and k.
fn search_case() -> impl Strategy<Value = (usize, Vec<i8>, Vec<f32>, Vec<i8>, usize)> {
    (0usize..160, 0usize..40).prop_flat_map(|(dim, rows)| {
        (
            Just(dim),
            proptest::collection::vec(any::<i8>(), rows * dim),
            proptest::collection::vec(prop_oneof![Just(1.0f32), 0.001f32..2.0], rows),
            proptest::collection::vec(any::<i8>(), dim),
            0usize..50,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn top_k_i8_every_path_matches_reference((dim, matrix, scales, query, k) in search_case()) {
        let want = top_k_i8_on(KernelPath::Reference, &matrix, &scales, dim, &query, 0.5, k).unwrap();
        prop_assert_eq!(want.len(), k.min(scales.len()));
        for w in want.windows(2) {
            prop_assert!(w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0), "order {:?}", w);
        }
        for path in simd_paths() {
            let got = top_k_i8_on(path, &matrix, &scales, dim, &query, 0.5, k).unwrap();
            prop_assert_eq!(&got, &want, "path {:?}", path);
        }
    }

    #[test]
    fn masked_argmax_and_log_softmax_every_path_match_reference(
        logits in proptest::collection::vec(
            prop_oneof![8 => -30.0f32..30.0, 1 => Just(f32::NAN), 1 => Just(f32::NEG_INFINITY),
                        1 => Just(f32::INFINITY), 1 => Just(2.5f32), 1 => Just(-0.0f32), 1 => Just(0.0f32)],
            0..300),
        allowed in proptest::collection::vec(
            prop_oneof![any::<u64>(), Just(0u64), Just(u64::MAX)], 0..6),
    ) {
        let want = masked_argmax_on(KernelPath::Reference, &logits, &allowed).unwrap();
        let mut want_ls = vec![0.0; logits.len()];
        masked_log_softmax_on(KernelPath::Reference, &logits, &allowed, &mut want_ls).unwrap();
        if let Some(i) = want {
            prop_assert!(want_ls[i] > f32::NEG_INFINITY);
        }
        for path in simd_paths() {
            prop_assert_eq!(masked_argmax_on(path, &logits, &allowed).unwrap(), want, "path {:?}", path);
            let mut got = vec![1.0; logits.len()];
            masked_log_softmax_on(path, &logits, &allowed, &mut got).unwrap();
            for (i, (&g, &w)) in got.iter().zip(&want_ls).enumerate() {
                let close = g == w || (g - w).abs() <= 1e-5 * w.abs().max(1.0);
                prop_assert!(close, "path {:?} index {}: {} vs {}", path, i, g, w);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn matvec_i8_every_path_matches_reference(
        (rows, cols, w, x) in (0usize..20, 0usize..100).prop_flat_map(|(rows, cols)| (
            Just(rows),
            Just(cols),
            proptest::collection::vec(any::<i8>(), rows * cols),
            proptest::collection::vec(any::<i8>(), cols),
        ))
    ) {
        let want = matvec_i8_on(KernelPath::Reference, &w, rows, cols, &x).unwrap();
        // The reference itself against the definition, in i64 so it cannot wrap.
        for (r, &got) in want.iter().enumerate() {
            let exact: i64 = (0..cols).map(|c| i64::from(w[r * cols + c]) * i64::from(x[c])).sum();
            prop_assert_eq!(i64::from(got), exact);
        }
        for path in simd_paths() {
            prop_assert_eq!(&matvec_i8_on(path, &w, rows, cols, &x).unwrap(), &want, "path {:?}", path);
        }
    }
}

#[test]
fn matvec_extremes_and_shapes() {
    // -128 * -128 everywhere: the largest products, which a saturating
    // `maddubs`-style kernel would get wrong.
    let cols = 1000;
    let w = vec![-128i8; 3 * cols];
    let x = vec![-128i8; cols];
    assert_eq!(matvec_i8(&w, 3, cols, &x).unwrap(), vec![16384 * 1000; 3]);
    assert_eq!(matvec_i8(&[], 2, 0, &[]).unwrap(), vec![0, 0]);
    assert!(matches!(matvec_i8(&w, 2, cols, &x), Err(KernelError::MatrixShape { .. })));
    assert!(matches!(matvec_i8(&w, 3, cols, &x[1..]), Err(KernelError::QueryShape { .. })));
}

#[test]
fn reference_is_always_available_and_first() {
    // Shows in CI logs which paths this CPU (or qemu CPU model) exercised.
    eprintln!("kernel paths available: {:?}", KernelPath::available());
    assert_eq!(KernelPath::available().first(), Some(&KernelPath::Reference));
    assert!(KernelPath::available().contains(&KernelPath::active()));
}

#[test]
fn top_k_edge_cases() {
    let matrix = [1i8, 0, 2, 0, 1, 0, 3, 3];
    let scales = [1.0f32, 0.5, 1.0, 1.0];
    // Scores: 1, 1, 1, 3 -> row 3, then the tied rows in index order.
    assert_eq!(top_k_i8(&matrix, &scales, 2, &[1, 0], 1.0, 10).unwrap(), vec![(3, 3.0), (0, 1.0), (1, 1.0), (2, 1.0)]);
    assert_eq!(top_k_i8(&matrix, &scales, 2, &[1, 0], 1.0, 2).unwrap(), vec![(3, 3.0), (0, 1.0)]);
    assert!(top_k_i8(&matrix, &scales, 2, &[1, 0], 1.0, 0).unwrap().is_empty());
    assert!(top_k_i8(&[], &[], 2, &[1, 0], 1.0, 5).unwrap().is_empty());
    // NaN row scales are never returned.
    assert_eq!(
        top_k_i8(&matrix, &[f32::NAN, 1.0, 1.0, f32::NAN], 2, &[1, 0], 1.0, 5).unwrap(),
        vec![(1, 2.0), (2, 1.0)]
    );
    // Large k (collect-and-select mode) gives the same order as the buffer.
    let rows = 300;
    let big: Vec<i8> = (0..rows).map(|i| (i % 7) as i8).collect();
    let ones = vec![1.0; rows];
    let all = top_k_i8(&big, &ones, 1, &[1], 1.0, 1000).unwrap();
    let few = top_k_i8(&big, &ones, 1, &[1], 1.0, 30).unwrap();
    assert_eq!(all.len(), rows);
    assert_eq!(&all[..30], &few[..]);
}

#[test]
fn top_k_rejects_bad_shapes() {
    assert!(matches!(top_k_i8(&[1, 2, 3], &[1.0, 1.0], 2, &[1, 1], 1.0, 1), Err(KernelError::MatrixShape { .. })));
    assert!(matches!(top_k_i8(&[1, 2], &[1.0], 2, &[1], 1.0, 1), Err(KernelError::QueryShape { len: 1, dim: 2 })));
    assert!(matches!(top_k_i8(&[1, 2], &[1.0], 2, &[1, 1], f32::NAN, 1), Err(KernelError::QueryScale(_))));
}

#[test]
fn quantize_is_symmetric_and_round_trips() {
    let row = [0.5f32, -1.0, 0.25, 0.0];
    let (q, scale) = quantize_row_i8(&row);
    assert_eq!(q, vec![64, -127, 32, 0]);
    for (&v, &x) in q.iter().zip(&row) {
        assert!((f32::from(v) * scale - x).abs() <= scale / 2.0 + f32::EPSILON);
    }
    assert_eq!(quantize_row_i8(&[0.0, 0.0]), (vec![0, 0], 0.0));
    assert_eq!(quantize_row_i8(&[f32::NAN, f32::INFINITY, -2.0]).0, vec![0, 127, -127]);
    assert_eq!(quantize_row_i8(&[]), (vec![], 0.0));
}

#[test]
fn argmax_edge_cases() {
    let logits = [1.0f32, f32::NAN, 3.0, 3.0, -1.0];
    assert_eq!(masked_argmax(&logits, &[u64::MAX]), Some(2));
    assert_eq!(masked_argmax(&logits, &[0b10011]), Some(0));
    assert_eq!(masked_argmax(&logits, &[0b00010]), None, "NaN counts as disallowed");
    assert_eq!(masked_argmax(&logits, &[]), None, "missing words disallow");
    assert_eq!(masked_argmax(&[], &[u64::MAX]), None);
    assert_eq!(masked_argmax(&[f32::NEG_INFINITY, f32::NEG_INFINITY], &[0b10]), Some(1));
}

#[test]
fn log_softmax_edge_cases() {
    let logits = [0.0f32, 0.0, 1000.0, f32::NAN];
    let mut out = [0.0f32; 4];
    masked_log_softmax(&logits, &[0b1011], &mut out).unwrap();
    let half = -(2.0f32).ln();
    assert!((out[0] - half).abs() < 1e-6 && (out[1] - half).abs() < 1e-6, "{out:?}");
    assert_eq!(out[2], f32::NEG_INFINITY);
    assert_eq!(out[3], f32::NEG_INFINITY);
    // Stable with a huge allowed logit: all mass on it, no NaN.
    masked_log_softmax(&logits, &[u64::MAX], &mut out).unwrap();
    assert_eq!(out[2], 0.0);
    assert!(out.iter().all(|x| !x.is_nan()));
    masked_log_softmax(&logits, &[0], &mut out).unwrap();
    assert!(out.iter().all(|&x| x == f32::NEG_INFINITY));
    masked_log_softmax(&[f32::INFINITY, 1.0, f32::INFINITY], &[u64::MAX], &mut out[..3]).unwrap();
    assert_eq!(&out[..3], &[half, f32::NEG_INFINITY, half]);
    assert!(matches!(
        masked_log_softmax(&logits, &[u64::MAX], &mut out[..2]),
        Err(KernelError::OutputShape { out: 2, logits: 4 })
    ));
}

#[test]
fn unavailable_path_is_an_error_not_a_crash() {
    let foreign = if cfg!(target_arch = "x86_64") { KernelPath::NeonDotprod } else { KernelPath::Avx2Fma };
    assert_eq!(masked_argmax_on(foreign, &[1.0], &[1]), Err(KernelError::Unavailable(foreign)));
}
