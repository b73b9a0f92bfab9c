//! Detector, range sensor and camera.

mod common;

use robot_hal::capability::{Camera, ObjectDetector, RangeSensor, Thermometer};
use robot_hal::Pose;
use robot_sim::{encode_png, Sim, FRAME_HEIGHT, FRAME_WIDTH};

use common::sim;

fn put(s: &Sim, x: f64, y: f64, facing: (f64, f64)) {
    let heading = (facing.1 - y).atan2(facing.0 - x).to_degrees();
    if let Err(e) = s.teleport(Pose::new(x, y, heading)) {
        panic!("teleport: {e}");
    }
}

#[test]
fn yellow_block_is_seen_from_the_dock() {
    let (s, mut d) = sim(1);
    put(&s, 0.0, 0.0, (3.0, 1.9));
    let seen = d.detector.detect().unwrap_or_default();
    let Some(block) = seen.iter().find(|x| x.label == "yellow block") else { panic!("not seen: {seen:?}") };
    assert!(block.bearing_deg.abs() < 0.01);
    assert!((block.distance_m - 3.0f64.hypot(1.9)).abs() < 1e-9);
    assert_eq!(d.detector.half_fov_deg(), 30.0);

    // Turned 45 degrees right, it is out of view; 20 degrees right, it is
    // on the left (positive bearing).
    s.teleport(Pose::new(0.0, 0.0, 32.35 - 45.0)).ok();
    assert!(d.detector.detect().unwrap_or_default().is_empty());
    s.teleport(Pose::new(0.0, 0.0, 32.35 - 20.0)).ok();
    let b = d.detector.detect().unwrap_or_default().first().map(|x| x.bearing_deg);
    assert!(b.is_some_and(|b| (b - 20.0).abs() < 0.1), "{b:?}");
}

#[test]
fn red_ball_behind_a_wall_is_not_seen() {
    let (s, mut d) = sim(1);
    // 3.5 m from the ball, the living-room wall in between.
    put(&s, 3.0, 2.0, (2.5, 5.5));
    let seen = d.detector.detect().unwrap_or_default();
    assert!(seen.iter().all(|x| x.label != "red ball"), "{seen:?}");
    // The same distance, looking through the living-room door: seen.
    put(&s, 1.5, 2.0, (2.5, 5.5));
    let seen = d.detector.detect().unwrap_or_default();
    assert!(seen.iter().any(|x| x.label == "red ball"), "{seen:?}");
}

#[test]
fn range_reads_walls_and_objects() {
    let (s, mut d) = sim(1);
    // Facing north from the dock: the hallway wall is 2.5 m away.
    s.teleport(Pose::new(0.0, 0.0, 90.0)).ok();
    let r = d.range.distance_m().unwrap_or(f64::NAN);
    assert!((r - (2.5 - 0.15)).abs() < 1e-9, "range {r}");
    // Down the hallway: beyond the sensor's reach.
    s.teleport(Pose::new(0.0, 0.0, 0.0)).ok();
    assert_eq!(d.range.distance_m().ok(), Some(4.0));
    // The yellow block (radius 0.06) ahead at 1 m.
    put(&s, 2.0, 1.9, (3.0, 1.9));
    let r = d.range.distance_m().unwrap_or(f64::NAN);
    assert!((r - (1.0 - 0.06 - 0.15)).abs() < 1e-9, "range {r}");
}

#[test]
fn thermometer_is_plausible() {
    let (_s, mut d) = sim(1);
    let c = d.thermometer.celsius().unwrap_or(f64::NAN);
    assert!((15.0..40.0).contains(&c));
}

#[test]
fn camera_frame_renders_and_encodes() {
    let (s, mut d) = sim(1);
    put(&s, 0.0, 0.0, (3.0, 1.9));
    let Ok(frame) = d.camera.capture() else { panic!("capture failed") };
    assert_eq!((frame.width, frame.height), (FRAME_WIDTH, FRAME_HEIGHT));
    assert_eq!((frame.width, frame.height), (160, 120));
    assert_eq!(frame.rgb.len(), 160 * 120 * 3);
    let mut colours: Vec<[u8; 3]> = frame.rgb.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 20, "only {} colours", colours.len());
    // The yellow block is dead ahead, just below the horizon.
    let yellowish = (60..75).any(|y| {
        let i = (y * 160 + 80) * 3;
        let (r, g, b) = (frame.rgb[i], frame.rgb[i + 1], frame.rgb[i + 2]);
        r > 130 && g > 110 && b < 60
    });
    assert!(yellowish, "no yellow at the centre column");

    let png_bytes = encode_png(&frame);
    let decoder = png::Decoder::new(png_bytes.as_slice());
    let Ok(mut reader) = decoder.read_info() else { panic!("not a PNG") };
    let mut buf = vec![0; reader.output_buffer_size()];
    let Ok(info) = reader.next_frame(&mut buf) else { panic!("undecodable PNG") };
    assert_eq!((info.width, info.height), (160, 120));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(&buf[..info.buffer_size()], frame.rgb.as_slice());
}

#[test]
fn malformed_frame_encodes_to_nothing() {
    let f = robot_hal::Frame { width: 4, height: 4, rgb: vec![0; 5] };
    assert!(encode_png(&f).is_empty());
    assert!(robot_sim::try_encode_png(&f).is_err());
}

#[test]
fn svg_map_has_walls_places_objects_and_trail() {
    let (s, mut d) = sim(1);
    common::wheels_for(&s, &mut d, 0.3, 0.3, 2.0);
    let svg = s.render_svg();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for needle in ["kitchen", "front door", "red ball", "<polyline", "<title>start</title>", "<title>end</title>"] {
        assert!(svg.contains(needle), "missing {needle}");
    }
}
