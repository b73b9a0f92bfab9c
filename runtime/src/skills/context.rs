//! What a skill works with, and what it returns.

use std::time::Duration;

use robot_hal::board::BoardFile;
use robot_hal::capability::Clock;
use robot_hal::{DeviceError, ErrorKind, Frame, Pose};
use serde_json::Value as Json;

use crate::devices::Devices;
use crate::places::PlaceMemory;
use crate::safety::Latch;

/// The result of one attempt: what the step meant to do and what the
/// sensors say happened. `verified` is the skill's comparison of the two
/// within the board's tolerances.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub verified: bool,
    pub expected: Json,
    pub observed: Json,
    pub message: String,
}

impl Outcome {
    pub fn ok(expected: Json, observed: Json) -> Outcome {
        Outcome { verified: true, expected, observed, message: String::new() }
    }

    pub fn check(verified: bool, expected: Json, observed: Json, message: impl Into<String>) -> Outcome {
        Outcome { verified, expected, observed, message: if verified { String::new() } else { message.into() } }
    }
}

/// Why an attempt could not finish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SkillError {
    #[error("aborted: the kill-switch is engaged")]
    Aborted,
    #[error("step timed out after {0:.1} s")]
    Timeout(f64),
    #[error("device error: {0}")]
    Device(DeviceError),
    #[error("rule violated while running: {0}")]
    Rule(String),
    #[error("{0}")]
    Failed(String),
    #[error("no built-in skill `{0}`")]
    NoSkill(String),
}

impl From<DeviceError> for SkillError {
    fn from(e: DeviceError) -> Self {
        if e.kind == ErrorKind::Refused {
            SkillError::Aborted
        } else {
            SkillError::Device(e)
        }
    }
}

impl SkillError {
    /// Whether trying the step again may help.
    pub fn retryable(&self) -> bool {
        matches!(self, SkillError::Timeout(_) | SkillError::Failed(_))
            || matches!(self, SkillError::Device(e) if e.kind == ErrorKind::Timeout)
    }
}

/// Per-step memory kept across a retry, so the retry aims at the same goal
/// (the remaining distance, not the whole drive again).
#[derive(Debug, Clone, Default)]
pub struct StepState {
    pub start: Option<Pose>,
    /// The goal pose or accumulated target, set by the first attempt.
    pub goal: Option<Pose>,
    pub done_so_far: f64,
}

/// A running rule check: pose, battery, moving -> Err(reason).
pub type RuleCheck<'a> = &'a dyn Fn(Pose, f64, bool) -> Result<(), String>;

pub struct SkillCtx<'a> {
    pub devices: &'a mut Devices,
    pub clock: &'a dyn Clock,
    pub latch: &'a Latch,
    pub board: &'a BoardFile,
    pub places: &'a mut PlaceMemory,
    pub cruise_speed_mps: &'a mut f64,
    /// Simulated (clock) time by which this attempt must end.
    pub deadline: Duration,
    pub rules: RuleCheck<'a>,
    pub photos: &'a mut Vec<Frame>,
    pub(crate) ticks: u64,
    pub(crate) last_battery: f64,
}

impl<'a> SkillCtx<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        devices: &'a mut Devices,
        clock: &'a dyn Clock,
        latch: &'a Latch,
        board: &'a BoardFile,
        places: &'a mut PlaceMemory,
        cruise_speed_mps: &'a mut f64,
        deadline: Duration,
        rules: RuleCheck<'a>,
        photos: &'a mut Vec<Frame>,
    ) -> Self {
        SkillCtx {
            devices,
            clock,
            latch,
            board,
            places,
            cruise_speed_mps,
            deadline,
            rules,
            photos,
            ticks: 0,
            last_battery: 1.0,
        }
    }

    pub fn period(&self) -> Duration {
        Duration::from_millis(self.board.verify.control_period_ms)
    }

    pub fn pose(&mut self) -> Result<Pose, SkillError> {
        Ok(self.devices.odometry()?.pose()?)
    }

    /// One control period: refuse to go on after a stop, past the deadline,
    /// or outside the rules; otherwise let time pass.
    pub fn tick(&mut self, moving: bool) -> Result<(), SkillError> {
        if self.latch.is_engaged() {
            return Err(SkillError::Aborted);
        }
        let now = self.clock.now();
        if now > self.deadline {
            return Err(SkillError::Timeout(now.as_secs_f64()));
        }
        self.clock.sleep(self.period());
        if self.latch.is_engaged() {
            return Err(SkillError::Aborted);
        }
        self.ticks += 1;
        // The battery is slow to change and may be a bus transaction away:
        // read it every 10th tick.
        if self.ticks % 10 == 1 {
            if let Some(b) = self.devices.battery.as_mut() {
                self.last_battery = b.state()?.charge;
            }
        }
        let pose = self.pose()?;
        (self.rules)(pose, self.last_battery, moving).map_err(SkillError::Rule)
    }

    /// Command the wheels, after the latch check.
    pub fn wheels(&mut self, left: f64, right: f64) -> Result<(), SkillError> {
        self.latch.check_write()?;
        self.devices.drive()?.set_wheel_speeds(left, right)?;
        Ok(())
    }

    /// Stop the wheels. Allowed while latched (it is the safe state).
    pub fn halt(&mut self) {
        if let Some(d) = self.devices.drive.as_mut() {
            let _ = d.stop();
        }
    }
}
