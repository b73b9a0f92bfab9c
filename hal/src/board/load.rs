//! Loading and checking a board file.
//!
//! Syntax and type errors come from the TOML parser with their span;
//! semantic errors (a default level above the cap, a tool forbidden that
//! does not exist, a roadmap edge to an unknown place) are located by the
//! key or value they concern, so every error names file, line and column.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::file::*;
use crate::tools::{ArgType, ToolRegistry};

/// A board file that could not be read or is not valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BoardError {
    #[error("{path}: cannot read board file: {message}")]
    Io { path: String, message: String },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: String, line: usize, column: usize, message: String },
}

impl BoardError {
    pub fn line_column(&self) -> Option<(usize, usize)> {
        match self {
            BoardError::Invalid { line, column, .. } => Some((*line, *column)),
            BoardError::Io { .. } => None,
        }
    }
}

/// 1-based line and column of a byte offset.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..src.floor_char_boundary_compat(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

struct Checker<'a> {
    src: &'a str,
    path: String,
    errors: Vec<BoardError>,
}

impl Checker<'_> {
    /// Report an error at the first line that mentions `needle` (a key or a
    /// quoted value), or at line 1 when it cannot be found.
    fn err(&mut self, needle: &str, message: String) {
        let (line, column) = self.src.find(needle).map(|o| line_col(self.src, o)).unwrap_or((1, 1));
        self.errors.push(BoardError::Invalid { path: self.path.clone(), line, column, message });
    }
}

fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl BoardFile {
    /// Read, parse and check a board file.
    pub fn load(path: impl AsRef<Path>) -> Result<BoardFile, BoardError> {
        let path = path.as_ref();
        let src = std::fs::read_to_string(path)
            .map_err(|e| BoardError::Io { path: path.display().to_string(), message: e.to_string() })?;
        let mut board = Self::parse_str(&src, &path.display().to_string())?;
        board.path = Some(PathBuf::from(path));
        Ok(board)
    }

    /// Parse and check board-file text; `origin` names it in errors.
    pub fn parse_str(src: &str, origin: &str) -> Result<BoardFile, BoardError> {
        let board: BoardFile = toml::from_str(src).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(src, s.start)).unwrap_or((1, 1));
            BoardError::Invalid { path: origin.to_string(), line, column, message: e.message().trim().to_string() }
        })?;
        let errors = board.check(src, origin);
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(board),
        }
    }

    /// Every semantic problem in the board, in file order of discovery.
    pub fn check(&self, src: &str, origin: &str) -> Vec<BoardError> {
        let mut c = Checker { src, path: origin.to_string(), errors: Vec::new() };
        let a = &self.autonomy;
        if a.default > a.cap {
            c.err("default", format!("autonomy default {} is above the board's cap {}", a.default, a.cap));
        }
        if !positive(a.takeover_timeout_s) {
            c.err("takeover_timeout_s", "takeover_timeout_s must be positive".into());
        }
        if !positive(a.operator_heartbeat_s) {
            c.err("operator_heartbeat_s", "operator_heartbeat_s must be positive".into());
        }
        let r = &self.rules;
        for (key, v) in [
            ("max_speed_mps", r.max_speed_mps),
            ("max_turn_rate_dps", r.max_turn_rate_dps),
            ("max_single_move_m", r.max_single_move_m),
        ] {
            if !positive(v) {
                c.err(key, format!("rules.{key} must be a positive number, got {v}"));
            }
        }
        if !(0.0..=1.0).contains(&r.min_battery_for_motion) {
            c.err("min_battery_for_motion", "rules.min_battery_for_motion must be between 0 and 1".into());
        }
        if !r.geofence.is_empty() {
            if r.geofence.len() < 3 {
                c.err("geofence", "rules.geofence needs at least 3 corners".into());
            }
            if r.geofence.iter().flatten().any(|v| !v.is_finite()) {
                c.err("geofence", "rules.geofence corners must be finite numbers".into());
            }
        }
        let d = &self.drive;
        for (key, v) in [
            ("track_width_m", d.track_width_m),
            ("max_wheel_speed_mps", d.max_wheel_speed_mps),
            ("default_speed_mps", d.default_speed_mps),
            ("turn_rate_dps", d.turn_rate_dps),
        ] {
            if !positive(v) {
                c.err(key, format!("drive.{key} must be a positive number, got {v}"));
            }
        }
        if d.default_speed_mps > r.max_speed_mps {
            c.err("default_speed_mps", "drive.default_speed_mps is above rules.max_speed_mps".into());
        }
        let v = &self.verify;
        if !(positive(v.distance_tolerance_m) && positive(v.heading_tolerance_deg) && positive(v.place_tolerance_m)) {
            c.err("[verify]", "verify tolerances must be positive".into());
        }
        if !positive(v.step_timeout_s) || v.control_period_ms == 0 || v.control_period_ms > 1000 {
            c.err("[verify]", "verify.step_timeout_s must be positive and control_period_ms in 1..=1000".into());
        }
        if self.kill_switch.line.trim().is_empty() {
            c.err("[kill_switch]", "kill_switch.line is empty: every board needs a kill-switch line".into());
        }
        match self.board.backend {
            Backend::Sim if self.sim.is_none() => c.err("backend", "backend \"sim\" needs a [sim] section".into()),
            Backend::Serial if self.serial.is_none() => {
                c.err("backend", "backend \"serial\" needs a [serial] section".into())
            }
            _ => {}
        }
        if let Some(s) = &self.sim {
            if !(0.0..0.5).contains(&s.odometry_noise) {
                c.err("odometry_noise", "sim.odometry_noise must be in [0, 0.5)".into());
            }
            if !((0.0..=1.0).contains(&s.initial_battery)
                && s.battery_drain_per_m.is_finite()
                && s.battery_drain_per_m >= 0.0)
            {
                c.err("[sim]", "sim.initial_battery must be in [0, 1] and battery_drain_per_m non-negative".into());
            }
            if s.step_ms == 0 || s.step_ms > 100 {
                c.err("step_ms", "sim.step_ms must be in 1..=100".into());
            }
        }
        if self.board.robot_id.is_empty()
            || !self.board.robot_id.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            c.err(
                "robot_id",
                "board.robot_id must be non-empty letters, digits, '-' or '_' (it is an MQTT topic level)".into(),
            );
        }

        // Places, waypoints and the roadmap.
        let mut names = HashSet::new();
        for p in self.places.iter().chain(&self.waypoints) {
            if !(p.x.is_finite() && p.y.is_finite()) {
                c.err(&format!("\"{}\"", p.name), format!("place `{}` has a non-finite position", p.name));
            }
            for n in std::iter::once(&p.name).chain(&p.aliases) {
                if n.trim().is_empty() || n != &n.to_lowercase() {
                    c.err(&format!("\"{n}\""), format!("place name `{n}` must be non-empty lower case"));
                }
                if !names.insert(n.as_str()) {
                    c.err(&format!("\"{n}\""), format!("place name `{n}` is declared twice"));
                }
            }
        }
        for [a, b] in &self.navigation.roadmap {
            for n in [a, b] {
                if !names.contains(n.as_str()) {
                    c.err(&format!("\"{n}\""), format!("roadmap refers to unknown place or waypoint `{n}`"));
                }
            }
        }

        // Tools.
        let mut tools = HashSet::new();
        for t in &self.tools {
            let at = format!("\"{}\"", t.name);
            if !is_ident(&t.name) {
                c.err(&at, format!("tool name `{}` must be a lower-case identifier", t.name));
            }
            if !tools.insert(t.name.as_str()) {
                c.err(&at, format!("tool `{}` is declared twice", t.name));
            }
            if let Some(s) = t.timeout_s {
                if !positive(s) {
                    c.err(&at, format!("tool `{}`: timeout_s must be positive", t.name));
                }
            }
            let mut args = HashSet::new();
            for a in &t.args {
                if !is_ident(&a.name) {
                    c.err(
                        &format!("\"{}\"", a.name),
                        format!("tool `{}`: argument name `{}` must be a lower-case identifier", t.name, a.name),
                    );
                }
                if !args.insert(a.name.as_str()) {
                    c.err(
                        &format!("\"{}\"", a.name),
                        format!("tool `{}`: argument `{}` is declared twice", t.name, a.name),
                    );
                }
                match &a.ty {
                    ArgType::Number { min, max, .. } => {
                        if let (Some(lo), Some(hi)) = (min, max) {
                            if lo > hi || lo.is_nan() || hi.is_nan() {
                                c.err(
                                    &format!("\"{}\"", a.name),
                                    format!("tool `{}`: argument `{}` has min {lo} above max {hi}", t.name, a.name),
                                );
                            }
                        }
                    }
                    ArgType::Enum { values } => {
                        if values.is_empty() || values.iter().any(|v| !is_ident(v)) {
                            c.err(
                                &format!("\"{}\"", a.name),
                                format!("tool `{}`: enum argument `{}` needs lower-case word values", t.name, a.name),
                            );
                        }
                    }
                    ArgType::String { max_len } => {
                        if *max_len == 0 {
                            c.err(
                                &format!("\"{}\"", a.name),
                                format!("tool `{}`: string argument `{}` has max_len 0", t.name, a.name),
                            );
                        }
                    }
                }
            }
        }
        for f in &r.forbidden_tools {
            if !tools.contains(f.as_str()) {
                c.err(
                    &format!("\"{f}\""),
                    format!("rules.forbidden_tools names `{f}`, which this board does not declare"),
                );
            }
        }
        if let Err(e) = ToolRegistry::from_specs(self.tools.clone()) {
            c.err("[[tools]]", e.to_string());
        }
        c.errors
    }

    /// The tool registry this board declares.
    pub fn registry(&self) -> ToolRegistry {
        ToolRegistry::from_specs(self.tools.clone()).expect("checked when the board was loaded")
    }

    /// Look up a place or waypoint by name or alias (case-insensitive).
    pub fn place(&self, name: &str) -> Option<&PlaceDecl> {
        let n = name.trim().to_lowercase();
        self.places.iter().chain(&self.waypoints).find(|p| p.name == n || p.aliases.contains(&n))
    }
}
