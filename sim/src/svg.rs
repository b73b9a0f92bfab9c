//! An SVG map of a run: walls, room names, the board's places and
//! waypoints, the objects where they are now, and the rover's true trail
//! from a start marker to an end marker. Written by `robot exec --map` and
//! the interactive demo so a person can see what the rover actually did.

use std::fmt::Write as _;

use robot_hal::Rgb;

use crate::geometry::Vec2;
use crate::map::Shape;
use crate::sim::Landmark;
use crate::world::{World, ROVER_RADIUS_M};

/// Pixels per metre.
const SCALE: f64 = 60.0;
const MARGIN: f64 = 20.0;

fn hex(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c.r, c.g, c.b)
}

/// Text for XML content and attributes.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

struct Frame {
    lo: Vec2,
    hi: Vec2,
}

impl Frame {
    fn px(&self, x: f64, y: f64) -> (f64, f64) {
        ((x - self.lo.x) * SCALE + MARGIN, (self.hi.y - y) * SCALE + MARGIN)
    }
}

/// Draw the world. Writing to a `String` cannot fail, so results of
/// `write!` are ignored.
pub(crate) fn render(world: &World, landmarks: &[Landmark]) -> String {
    let (lo, hi) = world.map.bounds;
    let f = Frame { lo, hi };
    let width = (hi.x - lo.x) * SCALE + 2.0 * MARGIN;
    let height = (hi.y - lo.y) * SCALE + 2.0 * MARGIN;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);

    for r in &world.map.rooms {
        let (x0, y0) = f.px(r.min.x, r.max.y);
        let (x1, y1) = f.px(r.max.x, r.min.y);
        let c = r.wall_color;
        let tint = Rgb::new(c.r / 2 + 128, c.g / 2 + 128, c.b / 2 + 128);
        let _ = writeln!(
            s,
            r#"<rect x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
            x1 - x0,
            y1 - y0,
            hex(tint)
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="14" fill="#555555">{}</text>"##,
            x0 + 6.0,
            y0 + 18.0,
            escape(r.name)
        );
    }
    for w in &world.map.walls {
        let (x0, y0) = f.px(w.a.x, w.a.y);
        let (x1, y1) = f.px(w.b.x, w.b.y);
        let _ = writeln!(
            s,
            r##"<line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y1:.1}" stroke="#222222" stroke-width="4" stroke-linecap="square"/>"##
        );
    }
    for m in &world.map.markings {
        let (x0, y0) = f.px(m.segment.a.x, m.segment.a.y);
        let (x1, y1) = f.px(m.segment.b.x, m.segment.b.y);
        let _ = writeln!(
            s,
            r#"<line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y1:.1}" stroke="{}" stroke-width="8"/>"#,
            hex(m.color)
        );
    }
    for l in landmarks {
        let (x, y) = f.px(l.x, l.y);
        if l.place {
            let _ = writeln!(s, r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="#3355aa"/>"##);
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#3355aa">{}</text>"##,
                x + 6.0,
                y - 4.0,
                escape(&l.name)
            );
        } else {
            let _ = writeln!(s, r##"<circle cx="{x:.1}" cy="{y:.1}" r="2" fill="#8899bb"/>"##);
        }
    }
    for o in &world.objects {
        let (x, y) = f.px(o.x, o.y);
        let r = (o.radius * SCALE).max(3.0);
        let fill = hex(o.color);
        match o.shape {
            Shape::Ball => {
                let _ = writeln!(s, r##"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="{fill}" stroke="#000000"/>"##);
            }
            Shape::Box => {
                let _ = writeln!(
                    s,
                    r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}" stroke="#000000"/>"##,
                    x - r,
                    y - r,
                    2.0 * r,
                    2.0 * r
                );
            }
        }
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#000000">{}</text>"##,
            x + r + 2.0,
            y + 3.0,
            escape(&o.label)
        );
    }

    let points: Vec<String> = world
        .path
        .iter()
        .chain(std::iter::once(&world.truth.pose()))
        .map(|p| {
            let (x, y) = f.px(p.x, p.y);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = writeln!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#d62728" stroke-width="2" stroke-linejoin="round"/>"##,
        points.join(" ")
    );
    if let Some(start) = world.path.first() {
        let (x, y) = f.px(start.x, start.y);
        let _ = writeln!(
            s,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="6" fill="none" stroke="#2ca02c" stroke-width="3"><title>start</title></circle>"##
        );
    }
    let end = world.truth.pose();
    let (x, y) = f.px(end.x, end.y);
    let r = ROVER_RADIUS_M * SCALE;
    let (hx, hy) = f.px(
        end.x + ROVER_RADIUS_M * end.heading_deg.to_radians().cos(),
        end.y + ROVER_RADIUS_M * end.heading_deg.to_radians().sin(),
    );
    let _ = writeln!(
        s,
        r##"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="none" stroke="#d62728" stroke-width="3"><title>end</title></circle>"##
    );
    let _ =
        writeln!(s, r##"<line x1="{x:.1}" y1="{y:.1}" x2="{hx:.1}" y2="{hy:.1}" stroke="#d62728" stroke-width="3"/>"##);
    s.push_str("</svg>\n");
    s
}
