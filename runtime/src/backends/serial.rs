//! A rover whose motors and sensors sit behind a co-processor on a serial
//! port (`backend = "serial"`): every capability goes over one
//! [`SerialLink`]; the co-processor also reads the kill-switch line and
//! latches its own motor stop, so a stop holds even if this host hangs.

use std::sync::Arc;
use std::time::Duration;

use robot_hal::board::BoardFile;
use robot_hal::capability::erased::Erased;
use robot_hal::serial::SerialLink;

use super::Bound;
use crate::devices::Devices;

/// Range of the co-processor's forward range sensor, metres.
const RANGE_MAX_M: f64 = 4.0;

/// Bind the devices of a serial board to an open link.
pub fn bind(board: &BoardFile, link: &SerialLink) -> Bound {
    let devices = Devices {
        drive: Some(Box::new(Erased(link.drive(board.drive.track_width_m, board.drive.max_wheel_speed_mps)))),
        odometry: Some(Box::new(Erased(link.odometry()))),
        range: Some(Box::new(Erased(link.range(RANGE_MAX_M)))),
        battery: Some(Box::new(Erased(link.battery()))),
        thermometer: Some(Box::new(Erased(link.thermometer()))),
        led: Some(Box::new(Erased(link.led()))),
        speaker: None,
        gripper: Some(Box::new(Erased(link.gripper()))),
        camera: None,
        detector: None,
    };
    // One latch on the co-processor covers wheels and gripper.
    let safe_stops: Vec<Arc<dyn robot_hal::capability::SafeStop>> = vec![Arc::new(link.safe_stop("co-processor"))];
    // The line reading may be one heartbeat old; the co-processor reacts to
    // the line itself without waiting for the host.
    let estop_line = Box::new(Erased(link.estop_line(Duration::from_millis(20))));
    Bound { devices, safe_stops, estop_line }
}
