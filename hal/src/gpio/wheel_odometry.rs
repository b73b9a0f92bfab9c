//! The [`Odometry`] of a GPIO board: wheel-encoder counts through the pure
//! [`PoseIntegrator`], with the heading from an IMU where the board has one.
//!
//! The executor asks for the pose every control period while a skill moves
//! the robot, which is what keeps the integration fine-grained; asking
//! only reads two atomics and, with an IMU, one short I2C transfer. The
//! counting itself runs elsewhere (rppal's interrupt threads, or an
//! [`super::EdgeWorker`]), kept alive by this device.

use std::sync::Arc;

use super::encoder::Encoders;
use super::odometry::{PoseIntegrator, WheelGeometry};
use super::sensors::SensorError;
use crate::capability::Odometry;
use crate::{ErrorType, Pose};

/// An absolute heading source: degrees, counter-clockwise positive, any zero.
pub trait HeadingSensor: Send {
    fn heading_deg(&mut self) -> Result<f64, SensorError>;
}

/// Pose from wheel encoders (and an optional IMU heading).
pub struct WheelOdometry {
    encoders: Arc<Encoders>,
    integrator: PoseIntegrator,
    heading: Option<Box<dyn HeadingSensor>>,
    /// Whatever feeds the counters (lines with interrupts, a worker thread);
    /// dropping it stops the counting.
    _feed: Option<Box<dyn Send>>,
}

impl WheelOdometry {
    /// Odometry over `encoders`; `feed` is what keeps them counting, if
    /// this device should own it. The pose starts at the origin.
    pub fn new(
        encoders: Arc<Encoders>,
        geometry: WheelGeometry,
        heading: Option<Box<dyn HeadingSensor>>,
        feed: Option<Box<dyn Send>>,
    ) -> Self {
        Self { encoders, integrator: PoseIntegrator::new(geometry), heading, _feed: feed }
    }

    /// The running `[left, right]` counts.
    pub fn counts(&self) -> [i64; 2] {
        self.encoders.counts()
    }
}

impl ErrorType for WheelOdometry {
    type Error = SensorError;
}

impl Odometry for WheelOdometry {
    fn pose(&mut self) -> Result<Pose, SensorError> {
        if let Some(fault) = self.encoders.fault() {
            return Err(SensorError::Encoders(fault));
        }
        let heading = match self.heading.as_mut() {
            Some(h) => Some(h.heading_deg()?),
            None => None,
        };
        Ok(self.integrator.update(self.encoders.counts(), heading))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpio::encoder::{Channel, Wheel};
    use crate::{Error as _, ErrorKind};

    const GEOM: WheelGeometry = WheelGeometry { counts_per_rev: 40.0, wheel_diameter_m: 0.1, track_width_m: 0.2 };

    struct Imu(Vec<f64>);
    impl HeadingSensor for Imu {
        fn heading_deg(&mut self) -> Result<f64, SensorError> {
            if self.0.is_empty() {
                return Err(SensorError::Invalid { device: "imu", addr: 0x28, message: "gone".into() });
            }
            Ok(self.0.remove(0))
        }
    }

    #[test]
    fn pose_follows_counts_and_imu() {
        let enc = Arc::new(Encoders::new(false, false));
        let mut o = WheelOdometry::new(enc.clone(), GEOM, Some(Box::new(Imu(vec![10.0, 10.0]))), None);
        assert_eq!(o.pose().unwrap(), Pose::default());
        enc.set_direction(Wheel::Left, 1.0);
        enc.set_direction(Wheel::Right, 1.0);
        // 40 counts per revolution of a 0.1 m wheel: 20 edges each is half a turn.
        for i in 0..20 {
            enc.edge(Wheel::Left, Channel::A, i % 2 == 0);
            enc.edge(Wheel::Right, Channel::A, i % 2 == 0);
        }
        assert_eq!(o.counts(), [20, 20]);
        let p = o.pose().unwrap();
        assert!((p.x - std::f64::consts::PI * 0.05).abs() < 1e-12 && p.heading_deg == 0.0, "{p:?}");
        assert_eq!(o.pose().unwrap_err().kind(), ErrorKind::Fault);
    }

    #[test]
    fn a_failed_edge_source_is_reported_not_frozen() {
        let enc = Arc::new(Encoders::new(true, true));
        let mut o = WheelOdometry::new(enc.clone(), GEOM, None, None);
        o.pose().unwrap();
        enc.set_fault("GPIO line 16: device gone".into());
        let e = o.pose().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Fault);
        assert!(e.to_string().contains("device gone"), "{e}");
    }
}
