//! The PPM decoder: what capture tools write decodes, everything else is a
//! clear error, and no input makes it panic.

use proptest::prelude::*;
use robot_hal::host::ppm::{self, PpmError, MAX_DIMENSION};
use robot_hal::{ErrorKind, Frame};

fn frame(width: u32, height: u32) -> Frame {
    let rgb = (0..width * height * 3).map(|i| (i * 37 % 256) as u8).collect();
    Frame { width, height, rgb }
}

#[test]
fn round_trips_through_encode() {
    let f = frame(5, 3);
    let bytes = ppm::encode(&f).expect("encode");
    assert!(bytes.starts_with(b"P6\n5 3\n255\n"));
    assert_eq!(ppm::decode(&bytes), Ok(f));
}

#[test]
fn comments_and_odd_whitespace_in_the_header() {
    // A raster that starts with bytes that look like whitespace and '#'.
    let raster = [b'\n', b' ', b'#', 1, 2, 3];
    let mut data = b"P6# made by a camera\n\t2 # width\r\n 1\n# maxval next\n255\n".to_vec();
    data.extend_from_slice(&raster);
    let f = ppm::decode(&data).expect("decode");
    assert_eq!((f.width, f.height), (2, 1));
    assert_eq!(f.rgb, raster);
}

#[test]
fn small_maxval_is_scaled_to_255() {
    let mut data = b"P6 2 1 15\n".to_vec();
    data.extend_from_slice(&[0, 15, 7, 8, 1, 14]);
    let f = ppm::decode(&data).expect("decode");
    assert_eq!(f.rgb, vec![0, 255, 119, 136, 17, 238]);
}

#[test]
fn trailing_bytes_after_the_first_image_are_ignored() {
    let mut data = ppm::encode(&frame(1, 1)).expect("encode");
    data.extend_from_slice(b"P6 1 1 255\nxyz");
    assert_eq!(ppm::decode(&data).map(|f| f.rgb.len()), Ok(3));
}

#[test]
fn rejects_with_clear_errors() {
    assert!(matches!(ppm::decode(b"P3 1 1 255\n1 2 3"), Err(PpmError::BadMagic { .. })));
    assert!(matches!(ppm::decode(b""), Err(PpmError::BadMagic { .. })));
    assert!(matches!(ppm::decode(b"\x89PNG\r\n"), Err(PpmError::BadMagic { .. })));
    assert!(matches!(ppm::decode(b"P61 1 255\nabc"), Err(PpmError::BadHeader(_))));
    assert!(matches!(ppm::decode(b"P6 x 1 255\nabc"), Err(PpmError::BadHeader(_))));
    assert!(matches!(ppm::decode(b"P6 1 1"), Err(PpmError::BadHeader(_))));
    assert!(matches!(ppm::decode(b"P6 1 1 255abc"), Err(PpmError::BadHeader(_))));
    assert!(matches!(ppm::decode(b"P6 99999999999999999999 1 255\n"), Err(PpmError::BadHeader(_))));
    assert_eq!(ppm::decode(b"P6 0 1 255\n"), Err(PpmError::BadSize { width: 0, height: 1 }));
    assert_eq!(ppm::decode(b"P6 8193 2 255\n"), Err(PpmError::BadSize { width: 8193, height: 2 }));
    assert_eq!(ppm::decode(b"P6 1 1 65535\n"), Err(PpmError::BadMaxval(65535)));
    assert_eq!(ppm::decode(b"P6 1 1 0\n"), Err(PpmError::BadMaxval(0)));
    assert_eq!(ppm::decode(b"P6 2 2 255\nabcdef"), Err(PpmError::Truncated { expected: 12, got: 6 }));
    assert_eq!(ppm::decode(b"P6 1 1 9\n\x01\x0a\x02"), Err(PpmError::SampleOverMaxval { value: 10, maxval: 9 }));
    // The largest legal size is accepted up to the raster check, without
    // allocating for it first.
    let big = format!("P6 {MAX_DIMENSION} {MAX_DIMENSION} 255\n");
    assert!(matches!(ppm::decode(big.as_bytes()), Err(PpmError::Truncated { got: 0, .. })));

    let e = ppm::decode(b"P5 1 1 255\n\0").expect_err("error");
    assert_eq!(robot_hal::Error::kind(&e), ErrorKind::Fault);
    assert!(e.to_string().contains("P6"), "{e}");
}

#[test]
fn encode_rejects_inconsistent_frames() {
    let bad = Frame { width: 2, height: 2, rgb: vec![0; 5] };
    assert_eq!(ppm::encode(&bad), Err(PpmError::BadFrame { width: 2, height: 2, len: 5 }));
    let empty = Frame { width: 0, height: 0, rgb: Vec::new() };
    assert!(ppm::encode(&empty).is_err());
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    (1u32..12, 1u32..12).prop_flat_map(|(w, h)| {
        proptest::collection::vec(any::<u8>(), (w * h * 3) as usize).prop_map(move |rgb| Frame {
            width: w,
            height: h,
            rgb,
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = ppm::decode(&data);
        let mut with_magic = b"P6 ".to_vec();
        with_magic.extend_from_slice(&data);
        let _ = ppm::decode(&with_magic);
    }

    #[test]
    fn encode_decode_round_trip(f in arb_frame()) {
        let bytes = ppm::encode(&f).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(ppm::decode(&bytes), Ok(f));
    }

    #[test]
    fn truncated_ppm_is_an_error(f in arb_frame(), cut in any::<prop::sample::Index>()) {
        let bytes = ppm::encode(&f).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let short = &bytes[..cut.index(bytes.len())];
        prop_assert!(ppm::decode(short).is_err());
    }

    #[test]
    fn mutated_ppm_never_panics_and_decodes_consistently(
        f in arb_frame(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = ppm::encode(&f).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if let Ok(g) = ppm::decode(&bytes) {
            prop_assert_eq!(g.rgb.len(), (g.width * g.height * 3) as usize);
        }
    }
}
