//! Checks of the f16 similarity search in [`robot_models::kernels`]: the
//! shared property test that runs every path this CPU supports against the
//! reference (natively and under qemu for both aarch64 CPU models), the
//! binary16 conversions, and the edge cases the docs define.

use proptest::prelude::*;
use robot_models::kernels::{f16_bits_to_f32, f32_to_f16_bits, top_k_f16, top_k_f16_on, KernelError, KernelPath};

fn simd_paths() -> Vec<KernelPath> {
    KernelPath::available().into_iter().filter(|&p| p != KernelPath::Reference).collect()
}

/// Mostly ordinary embedding values, with repeats (ties), and any bit
/// pattern at all (subnormals, infinities, NaNs) now and then.
fn half() -> impl Strategy<Value = u16> {
    prop_oneof![
        8 => (-2.0f32..2.0).prop_map(f32_to_f16_bits),
        1 => Just(0x3c00u16),
        1 => any::<u16>(),
    ]
}

fn search_case() -> impl Strategy<Value = (usize, usize, Vec<u16>, Vec<f32>, usize)> {
    (0usize..70, 0usize..40).prop_flat_map(|(dim, rows)| {
        (
            Just(dim),
            Just(rows),
            proptest::collection::vec(half(), rows * dim),
            proptest::collection::vec(prop_oneof![4 => -2.0f32..2.0, 1 => Just(0.5f32)], dim),
            0usize..50,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn top_k_f16_every_path_matches_reference((dim, rows, matrix, query, k) in search_case()) {
        let want = top_k_f16_on(KernelPath::Reference, &matrix, rows, dim, &query, k).unwrap();
        for w in want.windows(2) {
            prop_assert!(w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0), "order {:?}", w);
        }
        // The reference against the exact dot product where it is finite.
        for &(i, score) in &want {
            let row = &matrix[i * dim..(i + 1) * dim];
            let products = row.iter().zip(&query).map(|(&h, &q)| f64::from(f16_bits_to_f32(h)) * f64::from(q));
            let (exact, magnitude) = products.fold((0.0, 0.0), |(s, m), p| (s + p, m + p.abs()));
            if magnitude.is_finite() {
                prop_assert!((f64::from(score) - exact).abs() <= 1e-6 * magnitude + 1e-30, "row {}: {} vs {}", i, score, exact);
            }
        }
        for path in simd_paths() {
            let got = top_k_f16_on(path, &matrix, rows, dim, &query, k).unwrap();
            prop_assert_eq!(&got, &want, "path {:?}", path);
        }
    }
}

#[test]
fn conversions_round_trip_every_half() {
    for h in 0..=u16::MAX {
        let x = f16_bits_to_f32(h);
        if x.is_nan() {
            assert!(f32_to_f16_bits(x) & 0x7c00 == 0x7c00 && f32_to_f16_bits(x) & 0x3ff != 0, "{h:#x}");
        } else {
            assert_eq!(f32_to_f16_bits(x), h, "{h:#x} -> {x}");
        }
    }
}

#[test]
fn conversions_round_to_nearest_even() {
    assert_eq!(f32_to_f16_bits(1.0), 0x3c00);
    assert_eq!(f32_to_f16_bits(-0.0), 0x8000);
    assert_eq!(f32_to_f16_bits(65504.0), 0x7bff);
    assert_eq!(f32_to_f16_bits(65519.0), 0x7bff);
    assert_eq!(f32_to_f16_bits(65520.0), 0x7c00, "halfway to 65536 rounds to even: infinity");
    assert_eq!(f32_to_f16_bits(f32::NEG_INFINITY), 0xfc00);
    assert!(f16_bits_to_f32(f32_to_f16_bits(f32::NAN)).is_nan());
    let tiny = 2f32.powi(-24);
    assert_eq!(f32_to_f16_bits(tiny), 1, "smallest subnormal");
    assert_eq!(f32_to_f16_bits(tiny / 2.0), 0, "tie to even: zero");
    assert_eq!(f32_to_f16_bits(tiny * 1.5), 2, "tie to even: two");
    assert_eq!(f32_to_f16_bits(1.0 + 2f32.powi(-11)), 0x3c00, "tie to even below");
    assert_eq!(f32_to_f16_bits(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02, "tie to even above");
    assert_eq!(f32_to_f16_bits(2f32.powi(-14) * (1.0 - 2f32.powi(-12))), 0x0400, "rounds up into the normals");
    assert_eq!(f16_bits_to_f32(0x0001), tiny);
    assert_eq!(f16_bits_to_f32(0xc000), -2.0);
}

#[test]
fn top_k_f16_edge_cases() {
    let one = f32_to_f16_bits(1.0);
    let two = f32_to_f16_bits(2.0);
    let nan = 0x7e00;
    // Rows: [1, 0], [1, 0], [2, 0], [NaN, 0] against query [1, 1].
    let matrix = [one, 0, one, 0, two, 0, nan, 0];
    assert_eq!(top_k_f16(&matrix, 4, 2, &[1.0, 1.0], 10).unwrap(), vec![(2, 2.0), (0, 1.0), (1, 1.0)]);
    assert_eq!(top_k_f16(&matrix, 4, 2, &[1.0, 1.0], 2).unwrap(), vec![(2, 2.0), (0, 1.0)]);
    assert!(top_k_f16(&matrix, 4, 2, &[1.0, 1.0], 0).unwrap().is_empty());
    assert!(top_k_f16(&[], 0, 2, &[1.0, 1.0], 3).unwrap().is_empty());
    assert_eq!(top_k_f16(&[], 3, 0, &[], 2).unwrap(), vec![(0, 0.0), (1, 0.0)]);
    // Large k (collect-and-select mode) agrees with the small-k buffer.
    let rows = 300;
    let big: Vec<u16> = (0..rows).map(|i| f32_to_f16_bits((i % 7) as f32)).collect();
    let all = top_k_f16(&big, rows, 1, &[1.0], 1000).unwrap();
    assert_eq!(all.len(), rows);
    assert_eq!(&all[..30], &top_k_f16(&big, rows, 1, &[1.0], 30).unwrap()[..]);
}

#[test]
fn top_k_f16_rejects_bad_shapes() {
    assert!(matches!(top_k_f16(&[0, 0, 0], 2, 2, &[1.0, 1.0], 1), Err(KernelError::MatrixShape { .. })));
    assert!(matches!(top_k_f16(&[0, 0], 1, 2, &[1.0], 1), Err(KernelError::QueryShape { len: 1, dim: 2 })));
    assert!(matches!(top_k_f16(&[0, 0], usize::MAX, 2, &[1.0, 1.0], 1), Err(KernelError::MatrixShape { .. })));
}
