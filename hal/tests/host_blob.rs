//! The colour-blob detector on synthetic frames: shading does not matter,
//! geometry follows the pinhole model, noise and bad input are handled.

use std::convert::Infallible;

use robot_hal::capability::{Camera, ObjectDetector};
use robot_hal::host::{BlobClass, BlobConfigError, BlobError, ColorBlobDetector, FieldOfView};
use robot_hal::{Detection, Error, ErrorKind, ErrorType, Frame, Rgb};

const W: u32 = 100;
const H: u32 = 80;
const GREY: Rgb = Rgb::new(120, 120, 120);

/// A camera that returns a fixed frame.
struct Still(Frame);

impl ErrorType for Still {
    type Error = Infallible;
}

impl Camera for Still {
    fn capture(&mut self) -> Result<Frame, Infallible> {
        Ok(self.0.clone())
    }
}

fn canvas() -> Frame {
    let rgb = (0..W * H).flat_map(|_| [GREY.r, GREY.g, GREY.b]).collect();
    Frame { width: W, height: H, rgb }
}

/// Paint a rectangle `[x0, x1) x [y0, y1)`, its colour scaled by `k`.
fn rect(f: &mut Frame, (x0, y0, x1, y1): (u32, u32, u32, u32), c: Rgb, k: f64) {
    let s = |v: u8| (f64::from(v) * k).round() as u8;
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * f.width + x) * 3) as usize;
            f.rgb[i..i + 3].copy_from_slice(&[s(c.r), s(c.g), s(c.b)]);
        }
    }
}

fn classes() -> Vec<BlobClass> {
    vec![
        BlobClass { label: "yellow block".into(), rgb: Rgb::new(240, 210, 20), height_m: 0.1 },
        BlobClass { label: "blue cup".into(), rgb: Rgb::new(30, 60, 220), height_m: 0.2 },
    ]
}

fn fov() -> FieldOfView {
    FieldOfView::new(90.0, 2.0 * (0.8f64).atan().to_degrees())
}

fn run(frame: Frame) -> Vec<Detection> {
    let mut d = ColorBlobDetector::new(Still(frame), fov(), classes()).expect("config");
    d.detect().expect("detect")
}

#[test]
fn pinhole_geometry_and_nearest_first() {
    let mut f = canvas();
    // 90 deg across 100 px: focal 50 px both ways (vertical FOV matches).
    // Yellow: 10 px tall, centred on column 25, left of centre.
    rect(&mut f, (20, 30, 30, 40), Rgb::new(240, 210, 20), 1.0);
    // Blue: 20 px tall, centred on column 75, half in shadow.
    rect(&mut f, (70, 40, 80, 50), Rgb::new(30, 60, 220), 1.0);
    rect(&mut f, (70, 50, 80, 60), Rgb::new(30, 60, 220), 0.5);
    let seen = run(f);
    assert_eq!(seen.len(), 2, "{seen:?}");
    let bearing = (25.0f64 / 50.0).atan().to_degrees();
    let depth = 50.0 * 0.1 / 10.0;
    let (y, b) = (&seen[0], &seen[1]);
    assert_eq!(y.label, "yellow block");
    assert!((y.bearing_deg - bearing).abs() < 1e-9, "{y:?}");
    assert!((y.distance_m - depth / bearing.to_radians().cos()).abs() < 1e-9, "{y:?}");
    assert_eq!(b.label, "blue cup");
    assert!((b.bearing_deg + bearing).abs() < 1e-9, "{b:?}");
    // The shaded half still counts: 20 px tall, 0.2 m => 0.5 m deep.
    assert!((b.distance_m - 0.5 / bearing.to_radians().cos()).abs() < 1e-9, "{b:?}");
}

#[test]
fn similar_hues_dark_pixels_and_specks_are_ignored() {
    let mut f = canvas();
    // A pale wall of nearly the block's hue.
    rect(&mut f, (0, 0, 100, 20), Rgb::new(230, 220, 150), 1.0);
    // Yellow so dark its colour is unreliable.
    rect(&mut f, (10, 30, 30, 50), Rgb::new(24, 21, 2), 1.0);
    // A yellow speck below the size limit.
    rect(&mut f, (60, 60, 62, 62), Rgb::new(240, 210, 20), 1.0);
    assert_eq!(run(f), vec![]);
}

#[test]
fn two_blobs_of_one_colour_are_two_detections() {
    let mut f = canvas();
    rect(&mut f, (10, 10, 14, 30), Rgb::new(240, 210, 20), 1.0);
    rect(&mut f, (60, 10, 64, 20), Rgb::new(240, 210, 20), 1.0);
    let seen = run(f);
    assert_eq!(seen.iter().filter(|d| d.label == "yellow block").count(), 2, "{seen:?}");
    assert!(seen[0].distance_m < seen[1].distance_m);
}

#[test]
fn bad_frames_and_configs_are_errors() {
    let bad = Frame { width: 10, height: 10, rgb: vec![0; 7] };
    let mut d = ColorBlobDetector::new(Still(bad), fov(), classes()).expect("config");
    let e = d.detect().expect_err("bad frame");
    assert!(matches!(e, BlobError::BadFrame { len: 7, .. }));
    assert_eq!(e.kind(), ErrorKind::Fault);
    assert_eq!(d.half_fov_deg(), 45.0);

    let black = BlobClass { label: "shadow".into(), rgb: Rgb::OFF, height_m: 0.1 };
    assert!(matches!(ColorBlobDetector::new((), fov(), vec![black]), Err(BlobConfigError::BadClass { .. })));
    let flat = BlobClass { label: "flat".into(), rgb: GREY, height_m: 0.0 };
    assert!(matches!(ColorBlobDetector::new((), fov(), vec![flat]), Err(BlobConfigError::BadClass { .. })));
    let wide = FieldOfView::new(180.0, 40.0);
    assert!(matches!(ColorBlobDetector::new((), wide, classes()), Err(BlobConfigError::BadFov { .. })));
}

#[test]
fn vertical_fov_from_the_aspect_ratio() {
    let f = FieldOfView::from_horizontal(90.0, 100, 80);
    assert!((f.vertical_deg - fov().vertical_deg).abs() < 1e-9);
}
