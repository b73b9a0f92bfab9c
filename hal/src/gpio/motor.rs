//! Turning a wheel speed into what an H-bridge driver is given, and a jaw
//! position into a servo pulse.
//!
//! The motors run open loop: duty is speed over the board's
//! `max_wheel_speed_mps`, so a speed above it is refused (as the
//! [`DifferentialDrive`](crate::capability::DifferentialDrive) contract asks)
//! rather than clamped.

/// The inputs of one H-bridge channel for one wheel speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WheelCommand {
    /// PWM duty cycle, 0 to 1.
    pub duty: f64,
    /// Level of the driver's `IN1`; `IN2` gets the opposite while moving.
    pub in1: bool,
    pub in2: bool,
}

impl WheelCommand {
    /// Both direction inputs low and no duty: the driver lets the wheel coast.
    pub const STOP: WheelCommand = WheelCommand { duty: 0.0, in1: false, in2: false };
}

/// The driver command for `speed_mps`, or `None` when the speed is not a
/// finite number within `max_mps`. `reversed` mirrors a motor mounted the
/// other way round.
pub fn wheel_command(speed_mps: f64, max_mps: f64, reversed: bool) -> Option<WheelCommand> {
    if !(speed_mps.is_finite() && max_mps.is_finite() && max_mps > 0.0) || speed_mps.abs() > max_mps {
        return None;
    }
    if speed_mps == 0.0 {
        return Some(WheelCommand::STOP);
    }
    let forward = (speed_mps > 0.0) != reversed;
    Some(WheelCommand { duty: (speed_mps.abs() / max_mps).min(1.0), in1: forward, in2: !forward })
}

/// Servo period: the usual 50 Hz hobby-servo frame, microseconds.
pub const SERVO_PERIOD_US: u32 = 20_000;

/// Duty cycle of a `pulse_us` pulse in a 50 Hz servo frame.
pub fn servo_duty(pulse_us: u32) -> f64 {
    (f64::from(pulse_us) / f64::from(SERVO_PERIOD_US)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duty_is_speed_over_the_maximum() {
        let c = wheel_command(0.25, 0.5, false).unwrap();
        assert_eq!((c.duty, c.in1, c.in2), (0.5, true, false));
        let c = wheel_command(-0.5, 0.5, false).unwrap();
        assert_eq!((c.duty, c.in1, c.in2), (1.0, false, true));
    }

    #[test]
    fn reversed_motor_swaps_direction() {
        let c = wheel_command(0.1, 0.5, true).unwrap();
        assert!(!c.in1 && c.in2);
        assert!((c.duty - 0.2).abs() < 1e-12);
    }

    #[test]
    fn zero_coasts_and_bad_speeds_are_refused() {
        assert_eq!(wheel_command(0.0, 0.5, false), Some(WheelCommand::STOP));
        assert_eq!(wheel_command(0.51, 0.5, false), None);
        assert_eq!(wheel_command(f64::NAN, 0.5, false), None);
        assert_eq!(wheel_command(0.1, 0.0, false), None);
    }

    #[test]
    fn servo_pulses() {
        assert!((servo_duty(1500) - 0.075).abs() < 1e-12);
        assert!((servo_duty(1000) - 0.05).abs() < 1e-12);
    }
}
