//! The run loop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use robot_hal::board::BoardFile;
use robot_hal::capability::Clock;
use robot_hal::program::{Call, Program};
use robot_hal::tools::ToolRegistry;
use robot_hal::{Frame, Pose};
use serde_json::{json, Value as Json};

use super::confirm::{Answer, Confirmer};
use super::episode::EpisodeDraft;
use super::report::{RunReport, RunStatus, StepReport, StepStatus};
use crate::devices::Devices;
use crate::memory::{MemoryError, MemoryStore};
use crate::places::PlaceMemory;
use crate::policy::{AnomalyResponse, Confirmation, Fault, Policy, RunContext, Source};
use crate::recorder::{Event, Recorder};
use crate::safety::{Latch, SafetyEvent};
use crate::skills::{self, Outcome, SkillCtx, SkillError, StepState};

/// Owns everything a run needs: the board, its devices, the clock, the
/// latch, the policy, place memory and the flight recorder.
pub struct Executor {
    pub board: BoardFile,
    pub registry: ToolRegistry,
    pub devices: Devices,
    pub clock: Arc<dyn Clock>,
    pub latch: Arc<Latch>,
    pub policy: Policy,
    pub places: PlaceMemory,
    pub recorder: Recorder,
    pub cruise_speed_mps: f64,
    pub photos: Vec<Frame>,
    /// Whether an operator link is up (the local terminal counts).
    pub operator_link: bool,
    episode: EpisodeDraft,
}

impl Executor {
    pub fn new(
        board: BoardFile,
        devices: Devices,
        clock: Arc<dyn Clock>,
        latch: Arc<Latch>,
        recorder: Recorder,
    ) -> Executor {
        let registry = board.registry();
        let policy = Policy::new(&board);
        let places = PlaceMemory::from_board(&board);
        let cruise = board.drive.default_speed_mps;
        Executor {
            board,
            registry,
            devices,
            clock,
            latch,
            policy,
            places,
            recorder,
            cruise_speed_mps: cruise,
            photos: Vec::new(),
            operator_link: true,
            episode: EpisodeDraft::default(),
        }
    }

    /// Keep places, objects seen and episodes in `store` from now on:
    /// remembered places from earlier runs become known (see
    /// [`PlaceMemory::with_store`]).
    pub fn attach_memory(&mut self, store: MemoryStore) -> Result<(), MemoryError> {
        let t_us = u64::try_from(self.clock.now().as_micros()).unwrap_or(u64::MAX);
        self.places = PlaceMemory::with_store(&self.board, store, t_us)?;
        Ok(())
    }

    /// The attached memory store, if any.
    pub fn memory(&self) -> Option<&MemoryStore> {
        self.places.store()
    }

    /// Record an event at the current clock time. A failing recorder must
    /// not stop the robot from stopping, so errors are reported on stderr.
    pub fn record(&mut self, event: Event) {
        let t = self.clock.now();
        self.episode.observe(&event);
        if let Err(e) = self.recorder.record(t, event) {
            eprintln!("flight recorder: {e}");
        }
    }

    /// Move queued safety events into the flight recorder.
    pub fn record_safety_events(&mut self) {
        for e in self.latch.drain_events() {
            let (what, detail) = match e {
                SafetyEvent::LinePressed => ("line_pressed", String::new()),
                SafetyEvent::LineReleased => ("line_released", String::new()),
                SafetyEvent::LineUnreadable(k) => ("line_unreadable", k.to_string()),
                SafetyEvent::Engaged(c) => ("latch_engaged", c.as_str().to_string()),
                SafetyEvent::ActuatorSafe(i) => ("actuator_safe", self.latch.actuator_name(i).to_string()),
                SafetyEvent::ActuatorFailed(i, k) => {
                    ("actuator_failed", format!("{}: {k}", self.latch.actuator_name(i)))
                }
                SafetyEvent::Reset => ("latch_reset", String::new()),
            };
            self.record(Event::Safety { what: what.into(), detail });
        }
    }

    /// Wait (bounded) until an engagement has finished commanding every
    /// actuator, so its events are all queued before they are recorded.
    fn settle_latch(&self) {
        let until = Instant::now() + Duration::from_millis(500);
        while self.latch.is_engaged() && self.latch.all_safe_at().is_none() && Instant::now() < until {
            std::thread::yield_now();
        }
    }

    fn pose(&mut self) -> Pose {
        self.devices.odometry.as_mut().and_then(|o| o.pose().ok()).unwrap_or_default()
    }

    fn battery(&mut self) -> f64 {
        self.devices.battery.as_mut().and_then(|b| b.state().ok()).map(|b| b.charge).unwrap_or(1.0)
    }

    /// Check, confirm and run a program.
    /// The longest [`Executor::run`] can spend on the steps of `program`:
    /// each step's timeout (the tool's, else the board's) times its attempts,
    /// summed. A supervisor uses it to tell a long program from a hung one
    /// (`robot_runtime::service::WorkerLiveness`). Zero for a program that
    /// cannot be unrolled: the run refuses it at once.
    pub fn time_bound(&self, program: &Program) -> Duration {
        let attempts = f64::from(1 + self.board.verify.retries);
        let secs: f64 =
            program.unrolled().unwrap_or_default().iter().map(|c| self.step_timeout_s(&c.tool) * attempts).sum();
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    }

    /// One attempt's time limit for `tool`: the tool's own, else the board's.
    fn step_timeout_s(&self, tool: &str) -> f64 {
        self.registry.get(tool).and_then(|s| s.timeout_s).unwrap_or(self.board.verify.step_timeout_s)
    }

    /// Record the brain's program for an utterance with its confidence
    /// (which the policy weighs), then run it as the brain's. The program,
    /// not the words, is recorded, so `robot replay` re-runs it without the
    /// brain.
    pub fn run_brain(&mut self, program: &Program, confidence: f64, confirmer: &mut dyn Confirmer) -> RunReport {
        self.record(Event::Input { source: "brain".into(), text: program.to_string(), confidence: Some(confidence) });
        self.run(program, Source::Brain { confidence }, confirmer)
    }

    pub fn run(&mut self, program: &Program, source: Source, confirmer: &mut dyn Confirmer) -> RunReport {
        let steps_json = program.to_json().unwrap_or(Json::Null);
        self.episode.start(program.to_string(), self.clock.now());
        self.record(Event::Plan { program: program.to_string(), steps: steps_json });
        self.record_safety_events();

        let ctx = RunContext {
            level: self.policy.level(),
            source,
            start_pose: self.pose(),
            battery: self.battery(),
            operator_link: self.operator_link,
        };
        let calls = program.unrolled().unwrap_or_default();
        let skipped = |calls: &[Call]| -> Vec<StepReport> { calls.iter().map(|c| skipped_step(c, "")).collect() };

        if self.latch.is_engaged() {
            let reason = "the kill-switch is engaged: an operator must reset it first".to_string();
            self.record(Event::Decision { decision: "rejected".into(), reason: reason.clone() });
            return self.finish(RunStatus::Estopped, reason, skipped(&calls));
        }
        let preflight = match self.policy.preflight(program, &self.registry, &ctx, &self.places) {
            Ok(p) => p,
            Err(rej) => {
                let reason = rej.to_string();
                self.record(Event::Decision { decision: "rejected".into(), reason: reason.clone() });
                return self.finish(RunStatus::Rejected, reason, skipped(&calls));
            }
        };
        let calls = preflight.unrolled.clone();
        let level = self.policy.level();
        let (each_step, step_set): (bool, Vec<usize>) = match &preflight.confirmation {
            Confirmation::NotNeeded => (false, vec![]),
            Confirmation::EachStep => (true, vec![]),
            Confirmation::Steps(v) => (false, v.clone()),
            Confirmation::PlanOnce { reason } => {
                let q = format!("[{level}] Run this plan? {} ({reason})", program);
                let a = confirmer.confirm(&q, None);
                self.record(Event::Confirm { question: q, answer: a.as_str().into() });
                match a {
                    Answer::Yes => (false, vec![]),
                    Answer::No => {
                        let reason = "the operator declined the plan".to_string();
                        self.record(Event::Decision { decision: "declined".into(), reason: reason.clone() });
                        return self.finish(RunStatus::Rejected, reason, skipped(&calls));
                    }
                    Answer::NoAnswer => {
                        let reason = format!("at {level} this plan needs the operator's confirmation ({reason})");
                        self.record(Event::Decision { decision: "needs_confirmation".into(), reason: reason.clone() });
                        return self.finish(RunStatus::NeedsConfirmation, reason, skipped(&calls));
                    }
                }
            }
        };
        self.record(Event::Decision {
            decision: "accepted".into(),
            reason: format!("{:?} at {level}", preflight.confirmation),
        });

        let mut reports: Vec<StepReport> = Vec::with_capacity(calls.len());
        let mut status = RunStatus::Done;
        let mut reason = String::new();
        for (i, call) in calls.iter().enumerate() {
            if each_step || step_set.contains(&i) {
                let q = format!("[{level}] Run step {} of {}: {}?", i + 1, calls.len(), call_text(call));
                let a = confirmer.confirm(&q, None);
                self.record(Event::Confirm { question: q, answer: a.as_str().into() });
                match a {
                    Answer::Yes => {}
                    Answer::No => {
                        status = RunStatus::Rejected;
                        reason = format!("the operator declined step {}", i + 1);
                        break;
                    }
                    Answer::NoAnswer => {
                        status = RunStatus::NeedsConfirmation;
                        reason = format!("at {level} step {} ({}) needs the operator's confirmation", i + 1, call.tool);
                        break;
                    }
                }
            }
            let (report, fault) = self.run_step(i, call);
            let step_status = report.status;
            let message = report.message.clone();
            reports.push(report);
            match step_status {
                StepStatus::Done => {}
                StepStatus::Aborted => {
                    self.lower_level(Fault::EmergencyStop);
                    status = RunStatus::Estopped;
                    let cause = self.latch.cause().map(|c| c.as_str()).unwrap_or("kill-switch");
                    reason = format!("stopped by the {cause} during step {} ({})", i + 1, call.tool);
                    break;
                }
                StepStatus::Failed | StepStatus::Skipped => {
                    status = RunStatus::Failed;
                    reason = format!("step {} ({}) failed: {message}", i + 1, call.tool);
                    reason.push_str(&self.handle_anomaly(fault, confirmer));
                    break;
                }
            }
        }
        let done = reports.len();
        reports.extend(calls[done..].iter().map(|c| skipped_step(c, "")));
        self.finish(status, reason, reports)
    }

    /// What happens after a step failed, by autonomy level.
    fn handle_anomaly(&mut self, fault: Fault, confirmer: &mut dyn Confirmer) -> String {
        if let Some(d) = self.devices.drive.as_mut() {
            let _ = d.stop();
        }
        // The response is decided at the level the anomaly happened at.
        let response = self.policy.on_anomaly();
        self.lower_level(fault);
        match response {
            AnomalyResponse::StopAndReport => "; stopped and reported to the operator".into(),
            AnomalyResponse::RequestTakeover { timeout } => {
                let q =
                    format!("Step failed. Take over? (safe stop in {:.0} s without an answer)", timeout.as_secs_f64());
                let a = confirmer.confirm(&q, Some(timeout));
                self.record(Event::Confirm { question: q, answer: a.as_str().into() });
                match a {
                    Answer::Yes => "; the operator took over".into(),
                    _ => "; nobody took over: safe stop".into(),
                }
            }
            AnomalyResponse::MinimalRiskStop => "; reached a minimal-risk state (stopped)".into(),
        }
    }

    fn run_step(&mut self, index: usize, call: &Call) -> (StepReport, Fault) {
        let args = call.args_json();
        self.record(Event::StepStart { index, tool: call.tool.clone(), args: args.clone() });
        let skill =
            self.registry.get(&call.tool).map(|s| s.skill_name().to_string()).unwrap_or_else(|| call.tool.clone());
        let timeout = self.step_timeout_s(&call.tool);
        let deadline = self.clock.now() + Duration::from_secs_f64(timeout);
        let max_attempts = 1 + self.board.verify.retries;
        let mut state = StepState::default();
        let mut attempts = 0;
        let mut last: Result<Outcome, SkillError>;
        loop {
            attempts += 1;
            last = self.attempt(&skill, call, deadline, &mut state);
            let retry = match &last {
                Ok(o) => !o.verified,
                Err(e) => e.retryable(),
            };
            if !retry || attempts >= max_attempts || self.latch.is_engaged() {
                break;
            }
        }
        let fault = match &last {
            Err(SkillError::Device(_)) => Fault::DeviceFault,
            Err(SkillError::Rule(_)) => Fault::RuleViolation,
            Err(SkillError::Aborted) => Fault::EmergencyStop,
            _ => Fault::StepFailed,
        };
        let (status, expected, observed, message) = match last {
            Ok(o) if o.verified => (StepStatus::Done, o.expected, o.observed, String::new()),
            Ok(o) => (StepStatus::Failed, o.expected, o.observed, o.message),
            Err(SkillError::Aborted) => (StepStatus::Aborted, Json::Null, Json::Null, SkillError::Aborted.to_string()),
            Err(e) => (StepStatus::Failed, Json::Null, json!({"error": e.to_string()}), e.to_string()),
        };
        if status == StepStatus::Aborted {
            self.settle_latch();
        }
        self.record_safety_events();
        self.record(Event::StepEnd {
            index,
            tool: call.tool.clone(),
            status: status.as_str().into(),
            attempts,
            expected: expected.clone(),
            observed: observed.clone(),
            message: message.clone(),
        });
        (StepReport { tool: call.tool.clone(), args, status, expected, observed, attempts, message }, fault)
    }

    /// Lower the autonomy level for a fault, and record the change.
    fn lower_level(&mut self, fault: Fault) {
        let from = self.policy.level();
        let to = self.policy.lower_for_fault(fault);
        if to != from {
            self.record(Event::Level { from: from.to_string(), to: to.to_string(), reason: fault.as_str().into() });
        }
    }

    fn attempt(
        &mut self,
        skill: &str,
        call: &Call,
        deadline: Duration,
        state: &mut StepState,
    ) -> Result<Outcome, SkillError> {
        let policy = &self.policy;
        let rules =
            |pose: Pose, battery: f64, moving: bool| policy.monitor(pose, battery, moving).map_err(|v| v.to_string());
        let mut ctx = SkillCtx::new(
            &mut self.devices,
            self.clock.as_ref(),
            &self.latch,
            &self.board,
            &mut self.places,
            &mut self.cruise_speed_mps,
            deadline,
            &rules,
            &mut self.photos,
        );
        let r = skills::run(skill, &mut ctx, call, state);
        if r.is_err() {
            ctx.halt();
        }
        r
    }

    fn finish(&mut self, status: RunStatus, reason: String, steps: Vec<StepReport>) -> RunReport {
        self.record_safety_events();
        let pose = self.pose();
        self.record(Event::RunEnd { status: status.as_str().into(), reason: reason.clone(), final_pose: Some(pose) });
        let report = RunReport { status, reason, steps, final_pose: Some(pose), estop_latency_us: None };
        let episode = self.episode.finish(&report, self.clock.now());
        // Like the flight recorder, a failing memory must not change the run.
        if let Some(store) = self.places.store() {
            if let Err(e) = store.record_episode(&episode) {
                eprintln!("memory: episode not stored: {e}");
            }
        }
        report
    }
}

fn call_text(call: &Call) -> String {
    Program { stmts: vec![robot_hal::program::Stmt::Call(call.clone())] }.to_string()
}

fn skipped_step(call: &Call, message: &str) -> StepReport {
    StepReport {
        tool: call.tool.clone(),
        args: call.args_json(),
        status: StepStatus::Skipped,
        expected: Json::Null,
        observed: Json::Null,
        attempts: 0,
        message: message.to_string(),
    }
}
