//! An object detector that finds blobs of known colours in camera frames.
//!
//! Each pixel is compared with the reference colours in rg-chromaticity
//! (`r/(r+g+b)`, `g/(r+g+b)`), which ignores brightness: a yellow block in
//! shadow and in light has the same chromaticity, while a pale wall of a
//! similar hue does not. Pixels too dark to have a reliable colour are
//! skipped. Same-class pixels are grouped into 8-connected blobs; blobs
//! smaller than `min_pixels` are noise. A blob becomes a
//! [`Detection`] through the pinhole model: its centroid column gives the
//! bearing, its height in pixels against the object's known height gives
//! the depth, and depth over the cosine of the bearing the distance.
//!
//! That is crude next to a neural detector, but it needs no model, runs in
//! a few milliseconds on a Pi, and is enough for brightly coloured objects.
//! It cannot tell two objects of one colour from one when they touch in the
//! image, and a blob cut off by the top or bottom of the frame reads
//! farther away than it is.

use crate::capability::{Camera, ObjectDetector};
use crate::{Detection, ErrorKind, ErrorType, Frame, Rgb};

/// Default largest rg-chromaticity distance from a reference colour.
const DEFAULT_TOLERANCE: f64 = 0.06;
/// Default smallest blob, in pixels.
const DEFAULT_MIN_PIXELS: usize = 8;
/// Pixels whose `r + g + b` is below this have no reliable colour.
const DEFAULT_MIN_BRIGHTNESS: u32 = 60;
/// Class indices are stored in a byte per pixel (0 is "none").
const MAX_CLASSES: usize = 255;

/// A kind of object the detector looks for.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BlobClass {
    /// What a detection is called, e.g. `yellow block`.
    pub label: String,
    /// The object's colour in good light.
    pub rgb: Rgb,
    /// The object's real height, metres, for the distance estimate.
    pub height_m: f64,
}

/// The camera's field of view, full angles in degrees.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldOfView {
    pub horizontal_deg: f64,
    pub vertical_deg: f64,
}

impl FieldOfView {
    pub const fn new(horizontal_deg: f64, vertical_deg: f64) -> Self {
        Self { horizontal_deg, vertical_deg }
    }

    /// The vertical angle that goes with `horizontal_deg` for a sensor of
    /// `width` by `height` square pixels.
    pub fn from_horizontal(horizontal_deg: f64, width: u32, height: u32) -> Self {
        let half = (horizontal_deg / 2.0).to_radians().tan() * f64::from(height) / f64::from(width.max(1));
        Self { horizontal_deg, vertical_deg: 2.0 * half.atan().to_degrees() }
    }
}

/// A detector configuration that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BlobConfigError {
    #[error("field of view {horizontal_deg}x{vertical_deg} deg must be within (0, 180) on both axes")]
    BadFov { horizontal_deg: f64, vertical_deg: f64 },
    #[error("blob class `{label}`: {reason}")]
    BadClass { label: String, reason: &'static str },
    #[error("at most {MAX_CLASSES} blob classes are supported, got {0}")]
    TooManyClasses(usize),
}

impl crate::Error for BlobConfigError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

/// Why detection failed: the camera failed, or gave a malformed frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError<E> {
    #[error("camera: {0}")]
    Camera(E),
    #[error("{width}x{height} frame has {len} bytes, expected width*height*3")]
    BadFrame { width: u32, height: u32, len: usize },
}

impl<E: crate::Error> crate::Error for BlobError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            BlobError::Camera(e) => e.kind(),
            BlobError::BadFrame { .. } => ErrorKind::Fault,
        }
    }
}

/// rg chromaticity of a colour, or `None` when it is black.
fn chroma(r: u8, g: u8, b: u8) -> Option<(f64, f64)> {
    let sum = f64::from(r) + f64::from(g) + f64::from(b);
    (sum > 0.0).then(|| (f64::from(r) / sum, f64::from(g) / sum))
}

/// Extent and centroid of one blob.
#[derive(Debug)]
struct Blob {
    class: usize,
    pixels: usize,
    sum_x: f64,
    min_y: usize,
    max_y: usize,
}

/// An [`ObjectDetector`] over any [`Camera`]; see the module docs.
#[derive(Debug)]
pub struct ColorBlobDetector<C> {
    camera: C,
    fov: FieldOfView,
    classes: Vec<BlobClass>,
    refs: Vec<(f64, f64)>,
    tolerance: f64,
    min_pixels: usize,
    min_brightness: u32,
}

impl<C> ColorBlobDetector<C> {
    /// Look for `classes` in the frames of `camera`, whose field of view is `fov`.
    pub fn new(camera: C, fov: FieldOfView, classes: Vec<BlobClass>) -> Result<Self, BlobConfigError> {
        let ok = |a: f64| a.is_finite() && a > 0.0 && a < 180.0;
        if !ok(fov.horizontal_deg) || !ok(fov.vertical_deg) {
            return Err(BlobConfigError::BadFov { horizontal_deg: fov.horizontal_deg, vertical_deg: fov.vertical_deg });
        }
        if classes.len() > MAX_CLASSES {
            return Err(BlobConfigError::TooManyClasses(classes.len()));
        }
        let mut refs = Vec::with_capacity(classes.len());
        for c in &classes {
            let bad = |reason| BlobConfigError::BadClass { label: c.label.clone(), reason };
            if !(c.height_m.is_finite() && c.height_m > 0.0) {
                return Err(bad("height_m must be a positive number"));
            }
            refs.push(chroma(c.rgb.r, c.rgb.g, c.rgb.b).ok_or_else(|| bad("black has no colour to match"))?);
        }
        Ok(Self {
            camera,
            fov,
            classes,
            refs,
            tolerance: DEFAULT_TOLERANCE,
            min_pixels: DEFAULT_MIN_PIXELS,
            min_brightness: DEFAULT_MIN_BRIGHTNESS,
        })
    }

    /// Largest rg-chromaticity distance that still matches a class (default
    /// 0.06). A value that is not a number matches nothing.
    pub fn with_tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = if tolerance.is_nan() { 0.0 } else { tolerance.max(0.0) };
        self
    }

    /// Smallest blob reported, in pixels (default 8).
    pub fn with_min_pixels(mut self, min_pixels: usize) -> Self {
        self.min_pixels = min_pixels.max(1);
        self
    }

    /// Darkest pixel considered, as `r + g + b` (default 60).
    pub fn with_min_brightness(mut self, min_brightness: u32) -> Self {
        self.min_brightness = min_brightness;
        self
    }

    pub fn camera_mut(&mut self) -> &mut C {
        &mut self.camera
    }

    pub fn into_camera(self) -> C {
        self.camera
    }

    /// Detections in one frame, nearest first. Generic over the camera
    /// error only so [`ObjectDetector::detect`] can pass the result on.
    pub fn find<E>(&self, frame: &Frame) -> Result<Vec<Detection>, BlobError<E>> {
        let (w, h) = (frame.width as usize, frame.height as usize);
        let need = w.checked_mul(h).and_then(|n| n.checked_mul(3));
        if need != Some(frame.rgb.len()) {
            return Err(BlobError::BadFrame { width: frame.width, height: frame.height, len: frame.rgb.len() });
        }
        let mut labels: Vec<u8> = frame.rgb.chunks_exact(3).map(|px| self.classify(px)).collect();
        let mut found: Vec<Detection> = self
            .blobs(&mut labels, w)
            .into_iter()
            .filter(|b| b.pixels >= self.min_pixels)
            .filter_map(|b| self.locate(&b, w, h))
            .collect();
        found.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
        Ok(found)
    }

    /// The class of one pixel, plus one; 0 for none.
    fn classify(&self, px: &[u8]) -> u8 {
        let &[r, g, b] = px else { return 0 };
        if u32::from(r) + u32::from(g) + u32::from(b) < self.min_brightness {
            return 0;
        }
        let Some((cr, cg)) = chroma(r, g, b) else { return 0 };
        self.refs
            .iter()
            .enumerate()
            .map(|(i, (rr, rg))| (i, (cr - rr).hypot(cg - rg)))
            .filter(|&(_, d)| d <= self.tolerance)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            // At most MAX_CLASSES classes, so i + 1 fits a byte.
            .map_or(0, |(i, _)| u8::try_from(i + 1).unwrap_or(0))
    }

    /// Group labelled pixels into 8-connected blobs, clearing the labels.
    fn blobs(&self, labels: &mut [u8], w: usize) -> Vec<Blob> {
        let mut blobs = Vec::new();
        let mut stack = Vec::new();
        for start in 0..labels.len() {
            let class = labels.get(start).copied().unwrap_or(0);
            if class == 0 {
                continue;
            }
            let mut blob = Blob { class: usize::from(class - 1), pixels: 0, sum_x: 0.0, min_y: usize::MAX, max_y: 0 };
            if let Some(l) = labels.get_mut(start) {
                *l = 0;
            }
            stack.push(start);
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                blob.pixels += 1;
                blob.sum_x += x as f64 + 0.5;
                blob.min_y = blob.min_y.min(y);
                blob.max_y = blob.max_y.max(y);
                for (dx, dy) in [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                    let (Some(nx), Some(ny)) = (x.checked_add_signed(dx), y.checked_add_signed(dy)) else { continue };
                    if nx >= w {
                        continue;
                    }
                    let j = ny * w + nx;
                    if let Some(l) = labels.get_mut(j).filter(|l| **l == class) {
                        *l = 0;
                        stack.push(j);
                    }
                }
            }
            blobs.push(blob);
        }
        blobs
    }

    /// Bearing and distance of a blob by the pinhole model.
    fn locate(&self, blob: &Blob, w: usize, h: usize) -> Option<Detection> {
        let class = self.classes.get(blob.class)?;
        let focal_x = (w as f64 / 2.0) / (self.fov.horizontal_deg / 2.0).to_radians().tan();
        let focal_y = (h as f64 / 2.0) / (self.fov.vertical_deg / 2.0).to_radians().tan();
        let cx = blob.sum_x / blob.pixels as f64;
        // Column 0 is the left edge, and left is a positive bearing.
        let bearing = (-(cx - w as f64 / 2.0) / focal_x).atan();
        let height_px = (blob.max_y - blob.min_y + 1) as f64;
        let depth = focal_y * class.height_m / height_px;
        Some(Detection {
            label: class.label.clone(),
            bearing_deg: bearing.to_degrees(),
            distance_m: depth / bearing.cos(),
        })
    }
}

impl<C: Camera> ErrorType for ColorBlobDetector<C> {
    type Error = BlobError<C::Error>;
}

impl<C: Camera> ObjectDetector for ColorBlobDetector<C> {
    fn detect(&mut self) -> Result<Vec<Detection>, Self::Error> {
        let frame = self.camera.capture().map_err(BlobError::Camera)?;
        self.find(&frame)
    }

    fn half_fov_deg(&self) -> f64 {
        self.fov.horizontal_deg / 2.0
    }
}
