//! From the board file's `[gpio]` section to the sensor devices, the part
//! both backends share: the encoder counters and geometry with the map of
//! which line is which channel ([`EncoderSetup`]), and the assembly of the
//! odometry, battery, range sensor and thermometer into [`GpioSensors`].
//! The backends add only what is hardware-specific: requesting the lines
//! with edge detection, and opening the I2C bus.

use std::sync::Arc;

use super::edges::LineMap;
use super::encoder::{Channel, Encoders, Wheel};
use super::odometry::{counts_per_rev, WheelGeometry};
use super::sensors::{I2cSensors, ThermalZone};
use super::wheel_odometry::WheelOdometry;
use crate::board::BoardFile;
use crate::capability::erased::{DynBattery, DynOdometry, DynRange, DynThermometer, Erased};

/// Encoder counters for a board, and what its lines are.
pub struct EncoderSetup {
    pub encoders: Arc<Encoders>,
    pub geometry: WheelGeometry,
    pub lines: LineMap,
}

impl EncoderSetup {
    /// The encoders `board` declares, or `None` when it has none. `x4`:
    /// whether the backend decodes every edge of A and B (the character
    /// device) or only A's edges (rppal, see [`super::encoder`]).
    pub fn from_board(board: &BoardFile, x4: bool) -> Option<EncoderSetup> {
        let e = board.gpio.as_ref()?.encoders.as_ref()?;
        let (lq, rq) = (x4 && e.left.b.is_some(), x4 && e.right.b.is_some());
        let mut lines = LineMap::new();
        for (wheel, pins) in [(Wheel::Left, &e.left), (Wheel::Right, &e.right)] {
            lines.add(pins.a, wheel, Channel::A);
            if let Some(b) = pins.b {
                lines.add(b, wheel, Channel::B);
            }
        }
        // Mixed encoders count at different rates; the geometry uses the
        // left wheel's and the checker requires both to match.
        let geometry = WheelGeometry {
            counts_per_rev: counts_per_rev(e.pulses_per_rev, lq),
            wheel_diameter_m: e.wheel_diameter_m,
            track_width_m: board.drive.track_width_m,
        };
        Some(EncoderSetup { encoders: Arc::new(Encoders::new(lq, rq)), geometry, lines })
    }
}

/// The sensing devices of a GPIO board; `None` where it has none.
#[derive(Default)]
pub struct GpioSensors {
    pub odometry: Option<DynOdometry>,
    pub battery: Option<DynBattery>,
    pub range: Option<DynRange>,
    pub thermometer: Option<DynThermometer>,
}

impl GpioSensors {
    /// Put the board's sensors together: odometry over `encoders` (with
    /// what keeps them counting) with the IMU's
    /// heading if the board has one, the I2C sensors, and the thermal zone.
    pub fn assemble(
        board: &BoardFile,
        encoders: Option<(EncoderSetup, Option<Box<dyn Send>>)>,
        i2c: I2cSensors,
    ) -> GpioSensors {
        let odometry = encoders.map(|(setup, worker)| {
            Box::new(Erased(WheelOdometry::new(setup.encoders, setup.geometry, i2c.heading, worker))) as DynOdometry
        });
        let thermometer = board
            .gpio
            .as_ref()
            .and_then(|g| g.thermal_zone.as_ref())
            .map(|path| Box::new(Erased(ThermalZone::new(path))) as DynThermometer);
        GpioSensors { odometry, battery: i2c.battery, range: i2c.range, thermometer }
    }
}
