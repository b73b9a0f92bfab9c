//! Rovers wired to their own GPIO header: `backend = "raspberry-pi"`
//! (rppal) and `backend = "linux-gpio"` (GPIO character device, for a
//! Jetson or any Linux board). The drive, gripper and LED are bound from
//! the board's `[gpio]` pins, and so are the sensors the board file names:
//! wheel-encoder odometry (so `drive`, `turn` and `dock` run closed loop),
//! the I2C battery monitor and range sensor, and the SoC thermal zone; one safe stop latches them all by dropping
//! the motor-enable line and zeroing the PWM duty; the kill-switch input
//! (pull-up, edge interrupts) feeds the line monitor. Opening fails with a
//! typed error, e.g. "not a Raspberry Pi: ..." on another machine, or a
//! "no ... support" error when the feature was left out of the build.

#[cfg(any(feature = "rpi", feature = "linux-gpio"))]
use std::sync::Arc;

use robot_hal::board::BoardFile;
#[cfg(any(feature = "rpi", feature = "linux-gpio"))]
use robot_hal::capability::erased::Erased;
#[cfg(any(feature = "rpi", feature = "linux-gpio"))]
use robot_hal::capability::SafeStop;
use robot_hal::gpio::GpioError;

use super::Bound;
#[cfg(any(feature = "rpi", feature = "linux-gpio"))]
use crate::devices::Devices;

/// Bind a `raspberry-pi` board's devices.
#[cfg(feature = "rpi")]
pub fn bind_rpi(board: &BoardFile) -> Result<Bound, GpioError> {
    let pi = robot_hal::rpi::Rpi::open(board)?;
    let safe_stop: Arc<dyn SafeStop> = pi.safe_stop;
    Ok(Bound {
        devices: Devices {
            drive: Some(Box::new(Erased(pi.drive))),
            odometry: pi.sensors.odometry,
            range: pi.sensors.range,
            battery: pi.sensors.battery,
            thermometer: pi.sensors.thermometer,
            gripper: pi.gripper.map(|g| Box::new(Erased(g)) as _),
            led: pi.led.map(|l| Box::new(Erased(l)) as _),
            ..Devices::default()
        },
        safe_stops: vec![safe_stop],
        estop_line: Box::new(Erased(pi.kill_switch)),
    })
}

/// Without the `rpi` feature: say so instead of failing obscurely.
#[cfg(not(feature = "rpi"))]
pub fn bind_rpi(_board: &BoardFile) -> Result<Bound, GpioError> {
    Err(GpioError::NotBuilt { backend: "raspberry-pi", feature: "rpi" })
}

/// Bind a `linux-gpio` board's devices.
#[cfg(feature = "linux-gpio")]
pub fn bind_linux_gpio(board: &BoardFile) -> Result<Bound, GpioError> {
    let b = robot_hal::linux_gpio::LinuxGpio::open(board)?;
    let safe_stop: Arc<dyn SafeStop> = b.safe_stop;
    Ok(Bound {
        devices: Devices {
            drive: Some(Box::new(Erased(b.drive))),
            odometry: b.sensors.odometry,
            range: b.sensors.range,
            battery: b.sensors.battery,
            thermometer: b.sensors.thermometer,
            gripper: b.gripper.map(|g| Box::new(Erased(g)) as _),
            led: b.led.map(|l| Box::new(Erased(l)) as _),
            ..Devices::default()
        },
        safe_stops: vec![safe_stop],
        estop_line: Box::new(Erased(b.kill_switch)),
    })
}

/// Without the `linux-gpio` feature: say so instead of failing obscurely.
#[cfg(not(feature = "linux-gpio"))]
pub fn bind_linux_gpio(_board: &BoardFile) -> Result<Bound, GpioError> {
    Err(GpioError::NotBuilt { backend: "linux-gpio", feature: "linux-gpio" })
}
