//! The simulated camera: a first-person ray-cast render of the house, and
//! PNG encoding for saving frames.
//!
//! One ray per image column finds the nearest wall (the classic 2.5-D
//! technique): walls take the paint of the room they are seen from and
//! darken with distance, the floor and ceiling are shaded by row, and the
//! objects are drawn as sprites standing on the floor, hidden by nearer
//! walls. It is crude, but a person looking at a photo can tell which room
//! the rover is in and what lies ahead of it, and it is deterministic.

use robot_hal::{Frame, Rgb};

use crate::error::SimError;
use crate::geometry::{wrap_rad, Vec2};
use crate::map::Shape;
use crate::sensing::HALF_FOV_DEG;
use crate::world::World;

pub const FRAME_WIDTH: u32 = 160;
pub const FRAME_HEIGHT: u32 = 120;
/// Lens height above the floor, metres.
const CAMERA_HEIGHT_M: f64 = 0.25;
const WALL_HEIGHT_M: f64 = 2.4;
/// Height of a marked (closed) door.
const DOOR_HEIGHT_M: f64 = 2.0;
const CEILING: Rgb = Rgb::new(235, 235, 230);
const FLOOR: Rgb = Rgb::new(150, 115, 80);
/// What a ray sees when it escapes the map (never, in a closed house).
const VOID: Rgb = Rgb::new(20, 20, 20);

fn shade(c: Rgb, k: f64) -> Rgb {
    let f = |v: u8| (f64::from(v) * k).round().clamp(0.0, 255.0) as u8;
    Rgb::new(f(c.r), f(c.g), f(c.b))
}

/// Light falls off with distance, never quite to black.
fn falloff(d: f64) -> f64 {
    (1.0 / (1.0 + 0.18 * d)).max(0.2)
}

struct Canvas {
    w: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn put(&mut self, x: usize, y: usize, c: Rgb) {
        let i = (y * self.w + x) * 3;
        if let Some(px) = self.rgb.get_mut(i..i + 3) {
            px.copy_from_slice(&[c.r, c.g, c.b]);
        }
    }
}

/// Render what the camera sees from the rover's true pose.
pub fn render(world: &World) -> Frame {
    let (w, h) = (FRAME_WIDTH as usize, FRAME_HEIGHT as usize);
    let mut canvas = Canvas { w, rgb: vec![0; w * h * 3] };
    let focal = (w as f64 / 2.0) / HALF_FOV_DEG.to_radians().tan();
    let (pos, theta) = (world.truth.pos, world.truth.theta);
    let mid_y = h as f64 / 2.0;
    let mut depth = vec![f64::INFINITY; w];

    for (x, zbuf) in depth.iter_mut().enumerate() {
        // Column 0 is the left edge, which is a positive (leftward) angle.
        let rel = (-(x as f64 + 0.5 - w as f64 / 2.0) / focal).atan();
        let dir = Vec2::from_angle(theta + rel);
        let hit = world.map.cast(pos, dir);
        let (perp, paint, paint_top) = match hit {
            Some((t, i)) => {
                let perp = (t * rel.cos()).max(1e-3);
                let at = pos.plus(dir.scale(t));
                let room = world.map.room_at(at.minus(dir.scale(0.01)));
                let mut c = room.map_or(VOID, |r| r.wall_color);
                // Walls along y face east-west: a little darker, so corners read.
                if world.map.walls.get(i).is_some_and(|s| s.a.x == s.b.x) {
                    c = shade(c, 0.85);
                }
                let marking = world.map.markings.iter().find(|m| m.segment.distance_to(at) < 0.01);
                let top = marking.map_or(0.0, |_| DOOR_HEIGHT_M);
                (perp, shade(c, falloff(perp)), marking.map(|m| (shade(m.color, falloff(perp)), top)))
            }
            None => (f64::INFINITY, VOID, None),
        };
        *zbuf = perp;
        let wall_top = mid_y - focal * (WALL_HEIGHT_M - CAMERA_HEIGHT_M) / perp;
        let wall_bottom = mid_y + focal * CAMERA_HEIGHT_M / perp;
        let door_top = paint_top.map(|(_, top)| mid_y - focal * (top - CAMERA_HEIGHT_M) / perp);
        for y in 0..h {
            let vy = y as f64 + 0.5;
            let c = if vy < wall_top {
                shade(CEILING, 0.6 + 0.4 * (1.0 - vy / mid_y).clamp(0.0, 1.0))
            } else if vy > wall_bottom {
                // Distance to the floor point this row sees.
                let d = focal * CAMERA_HEIGHT_M / (vy - mid_y).max(1e-3);
                shade(FLOOR, falloff(d))
            } else {
                match (paint_top, door_top) {
                    (Some((door, _)), Some(top)) if vy >= top => door,
                    _ => paint,
                }
            };
            canvas.put(x, y, c);
        }
    }

    // Objects far to near, so nearer ones cover farther ones.
    let ahead = Vec2::from_angle(theta);
    let left = Vec2::from_angle(theta + std::f64::consts::FRAC_PI_2);
    let mut sprites: Vec<(f64, &crate::world::SimObject)> = world
        .objects
        .iter()
        .filter(|o| !o.held)
        .filter_map(|o| {
            let to = o.position().minus(pos);
            let d = to.dot(ahead);
            (d > 0.05 && wrap_rad(to.y.atan2(to.x) - theta).abs() < std::f64::consts::FRAC_PI_2).then_some((d, o))
        })
        .collect();
    sprites.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (d, o) in sprites {
        let lateral = o.position().minus(pos).dot(left);
        let cx = w as f64 / 2.0 - focal * lateral / d;
        let half_w = (focal * o.radius / d).max(0.5);
        let bottom = mid_y + focal * CAMERA_HEIGHT_M / d;
        let top = mid_y + focal * (CAMERA_HEIGHT_M - 2.0 * o.radius) / d;
        let cy = (top + bottom) / 2.0;
        let half_h = ((bottom - top) / 2.0).max(0.5);
        let x0 = (cx - half_w).floor().max(0.0) as usize;
        let x1 = ((cx + half_w).ceil().max(0.0) as usize).min(w);
        let y0 = top.floor().max(0.0) as usize;
        let y1 = (bottom.ceil().max(0.0) as usize).min(h);
        for x in x0..x1 {
            if depth.get(x).is_some_and(|&z| d >= z) {
                continue;
            }
            for y in y0..y1 {
                let nx = (x as f64 + 0.5 - cx) / half_w;
                let ny = (y as f64 + 0.5 - cy) / half_h;
                let r2 = nx * nx + ny * ny;
                let k = match o.shape {
                    Shape::Ball if r2 > 1.0 => continue,
                    // Lit from the upper left.
                    Shape::Ball => 1.1 - 0.4 * ((nx + 0.4).powi(2) + (ny + 0.4).powi(2)).sqrt(),
                    Shape::Box if nx.abs() > 1.0 || ny.abs() > 1.0 => continue,
                    Shape::Box => 1.0 - 0.15 * nx.abs(),
                };
                canvas.put(x, y, shade(o.color, k * falloff(d).max(0.75)));
            }
        }
    }

    Frame { width: FRAME_WIDTH, height: FRAME_HEIGHT, rgb: canvas.rgb }
}

/// Encode a frame as an RGB8 PNG.
pub fn try_encode_png(frame: &Frame) -> Result<Vec<u8>, SimError> {
    let need = (frame.width as usize) * (frame.height as usize) * 3;
    if frame.rgb.len() != need || need == 0 {
        return Err(SimError::Image(format!(
            "{}x{} frame has {} bytes, expected {need}",
            frame.width,
            frame.height,
            frame.rgb.len()
        )));
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, frame.width, frame.height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| SimError::Image(e.to_string()))?;
    writer.write_image_data(&frame.rgb).map_err(|e| SimError::Image(e.to_string()))?;
    writer.finish().map_err(|e| SimError::Image(e.to_string()))?;
    Ok(out)
}

/// Encode a frame as an RGB8 PNG; a malformed frame (wrong byte count,
/// zero size) yields an empty vector, since there is no image to save.
pub fn encode_png(frame: &Frame) -> Vec<u8> {
    try_encode_png(frame).unwrap_or_default()
}
