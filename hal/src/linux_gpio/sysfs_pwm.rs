//! A PWM channel through the kernel's sysfs interface
//! (`/sys/class/pwm/pwmchipN/pwmM/{period,duty_cycle,enable}`), which is
//! how a Jetson's header PWM is driven. Writes go through `&self`, so the
//! safe stop can zero a channel the drive owns.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::gpio::{GpioError, PwmOut, PwmStop};

/// One exported, enabled sysfs PWM channel.
#[derive(Debug)]
pub struct SysfsPwm {
    dir: PathBuf,
    period_ns: u64,
}

/// Duty cycle as nanoseconds of `period_ns`.
pub fn duty_ns(duty: f64, period_ns: u64) -> u64 {
    // Clamped to [0, 1], so the product fits in u64.
    (duty.clamp(0.0, 1.0) * period_ns as f64).round() as u64
}

impl SysfsPwm {
    /// Export `channel` of `chip` if needed, set the period for `hz`, duty 0, enable.
    pub fn open(chip: &Path, channel: u32, hz: f64) -> Result<SysfsPwm, GpioError> {
        let what = || format!("PWM {}/pwm{channel}", chip.display());
        if !(hz.is_finite() && hz > 0.0) {
            return Err(GpioError::Config(format!("{}: frequency {hz} Hz", what())));
        }
        let dir = chip.join(format!("pwm{channel}"));
        if !dir.exists() {
            std::fs::write(chip.join("export"), channel.to_string()).map_err(|e| GpioError::open(what(), e))?;
            // udev sets the new files' group a moment after export.
            for _ in 0..50 {
                if dir.join("period").exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let period_ns = (1e9 / hz).round().max(1.0) as u64;
        let pwm = SysfsPwm { dir, period_ns };
        // Duty before period, so the duty never exceeds a shorter new period.
        pwm.write("duty_cycle", 0).map_err(|e| GpioError::open(what(), e))?;
        pwm.write("period", period_ns).map_err(|e| GpioError::open(what(), e))?;
        pwm.write("enable", 1).map_err(|e| GpioError::open(what(), e))?;
        Ok(pwm)
    }

    fn write(&self, file: &str, value: u64) -> Result<(), GpioError> {
        std::fs::write(self.dir.join(file), value.to_string())
            .map_err(|e| GpioError::io(format!("{}/{file}", self.dir.display()), e))
    }
}

impl PwmStop for SysfsPwm {
    fn zero(&self) -> Result<(), GpioError> {
        self.write("duty_cycle", 0)
    }
}

impl PwmOut for std::sync::Arc<SysfsPwm> {
    fn set_duty(&mut self, duty: f64) -> Result<(), GpioError> {
        self.write("duty_cycle", duty_ns(duty, self.period_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn duty_in_nanoseconds() {
        assert_eq!(duty_ns(0.5, 1_000_000), 500_000);
        assert_eq!(duty_ns(1.5, 20_000_000), 20_000_000);
        assert_eq!(duty_ns(-1.0, 20_000_000), 0);
    }

    /// A fake sysfs chip in a temporary folder: export creates the channel, writes land in its files.
    #[test]
    fn exports_sets_period_and_writes_duty() {
        let chip = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(chip.path().join("pwm0")).expect("channel dir");
        std::fs::write(chip.path().join("pwm0/period"), "0").expect("period");
        let mut pwm = Arc::new(SysfsPwm::open(chip.path(), 0, 1000.0).expect("opens"));
        let read = |f: &str| std::fs::read_to_string(chip.path().join("pwm0").join(f)).expect("readable");
        assert_eq!((read("period"), read("enable"), read("duty_cycle")), ("1000000".into(), "1".into(), "0".into()));
        pwm.set_duty(0.25).expect("duty");
        assert_eq!(read("duty_cycle"), "250000");
        pwm.zero().expect("zero");
        assert_eq!(read("duty_cycle"), "0");
        // No `export` file and no channel: a clear open error.
        let err = SysfsPwm::open(chip.path(), 3, 1000.0).unwrap_err();
        assert!(matches!(err, GpioError::Open { .. }), "{err}");
    }
}
