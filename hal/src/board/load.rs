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

mod gpio;

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

/// One step of a path into the TOML document: a key of a table or an
/// element of an array (or array of tables).
#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    At(usize),
}
use Seg::{At, Key};

/// A node of the parsed document while walking a path.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a toml_edit::Item),
    Table(&'a toml_edit::Table),
    Value(&'a toml_edit::Value),
}

impl<'a> Node<'a> {
    fn table_like(self) -> Option<&'a dyn toml_edit::TableLike> {
        match self {
            Node::Item(i) => i.as_table_like(),
            Node::Table(t) => Some(t),
            Node::Value(v) => v.as_inline_table().map(|t| t as &dyn toml_edit::TableLike),
        }
    }

    fn array(self) -> Option<&'a toml_edit::Array> {
        match self {
            Node::Item(i) => i.as_array(),
            Node::Value(v) => v.as_array(),
            Node::Table(_) => None,
        }
    }
}

/// Byte offset of the deepest node of `path` that exists in `doc`: a key's
/// name, an array's element, or the header of a table in an array of
/// tables. Walking the parsed document (rather than searching the text)
/// points a duplicate at its second declaration and never at a comment.
fn locate(doc: &toml_edit::ImDocument<&str>, path: &[Seg<'_>]) -> Option<usize> {
    let mut node = Node::Item(doc.as_item());
    let mut found = None;
    for seg in path {
        let (span, next) = match *seg {
            Key(k) => {
                let Some((key, item)) = node.table_like().and_then(|t| t.get_key_value(k)) else { break };
                (key.span(), Node::Item(item))
            }
            At(i) => match node {
                Node::Item(toml_edit::Item::ArrayOfTables(a)) => {
                    let Some(t) = a.get(i) else { break };
                    (t.span(), Node::Table(t))
                }
                _ => {
                    let Some(v) = node.array().and_then(|a| a.get(i)) else { break };
                    (v.span(), Node::Value(v))
                }
            },
        };
        found = span.map(|s| s.start).or(found);
        node = next;
    }
    found
}

struct Checker<'a> {
    src: &'a str,
    doc: Option<toml_edit::ImDocument<&'a str>>,
    path: String,
    errors: Vec<BoardError>,
}

impl Checker<'_> {
    /// Report an error at the key or value `at` names (or the nearest
    /// enclosing one that exists), or at line 1 when none can be found.
    fn err(&mut self, at: &[Seg<'_>], message: String) {
        let offset = self.doc.as_ref().and_then(|d| locate(d, at));
        let (line, column) = offset.map(|o| line_col(self.src, o)).unwrap_or((1, 1));
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
            // The parser gives an empty span at offset 0 for a missing
            // top-level field, and every such field is a whole section.
            let span = e.span().filter(|s| !s.is_empty());
            let (line, column) = span.as_ref().map(|s| line_col(src, s.start)).unwrap_or((1, 1));
            let message = e.message().trim();
            let message = match (span, message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`'))) {
                (None, Some(section)) => format!("missing section [{section}]"),
                _ => message.to_string(),
            };
            BoardError::Invalid { path: origin.to_string(), line, column, message }
        })?;
        let errors = board.check(src, origin);
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(board),
        }
    }

    /// Every semantic problem in the board, in file order of discovery.
    pub fn check(&self, src: &str, origin: &str) -> Vec<BoardError> {
        let doc = toml_edit::ImDocument::parse(src).ok();
        let mut c = Checker { src, doc, path: origin.to_string(), errors: Vec::new() };
        let a = &self.autonomy;
        if a.default > a.cap {
            c.err(
                &[Key("autonomy"), Key("default")],
                format!("autonomy default {} is above the board's cap {}", a.default, a.cap),
            );
        }
        for (key, v) in [("takeover_timeout_s", a.takeover_timeout_s), ("operator_heartbeat_s", a.operator_heartbeat_s)]
        {
            if !positive(v) {
                c.err(&[Key("autonomy"), Key(key)], format!("autonomy.{key} must be positive"));
            }
        }
        let r = &self.rules;
        for (key, v) in [
            ("max_speed_mps", r.max_speed_mps),
            ("max_turn_rate_dps", r.max_turn_rate_dps),
            ("max_single_move_m", r.max_single_move_m),
        ] {
            if !positive(v) {
                c.err(&[Key("rules"), Key(key)], format!("rules.{key} must be a positive number, got {v}"));
            }
        }
        if !(0.0..=1.0).contains(&r.min_battery_for_motion) {
            c.err(
                &[Key("rules"), Key("min_battery_for_motion")],
                "rules.min_battery_for_motion must be between 0 and 1".into(),
            );
        }
        if !r.geofence.is_empty() {
            if r.geofence.len() < 3 {
                c.err(&[Key("rules"), Key("geofence")], "rules.geofence needs at least 3 corners".into());
            }
            if let Some(i) = r.geofence.iter().position(|p| p.iter().any(|v| !v.is_finite())) {
                c.err(&[Key("rules"), Key("geofence"), At(i)], "rules.geofence corners must be finite numbers".into());
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
                c.err(&[Key("drive"), Key(key)], format!("drive.{key} must be a positive number, got {v}"));
            }
        }
        if d.default_speed_mps > r.max_speed_mps {
            c.err(
                &[Key("drive"), Key("default_speed_mps")],
                "drive.default_speed_mps is above rules.max_speed_mps".into(),
            );
        }
        let v = &self.verify;
        for (key, value) in [
            ("distance_tolerance_m", v.distance_tolerance_m),
            ("heading_tolerance_deg", v.heading_tolerance_deg),
            ("place_tolerance_m", v.place_tolerance_m),
            ("step_timeout_s", v.step_timeout_s),
        ] {
            if !positive(value) {
                c.err(&[Key("verify"), Key(key)], format!("verify.{key} must be a positive number, got {value}"));
            }
        }
        if v.control_period_ms == 0 || v.control_period_ms > 1000 {
            c.err(&[Key("verify"), Key("control_period_ms")], "verify.control_period_ms must be in 1..=1000".into());
        }
        if self.kill_switch.line.trim().is_empty() {
            c.err(
                &[Key("kill_switch"), Key("line")],
                "kill_switch.line is empty: every board needs a kill-switch line".into(),
            );
        }
        let backend = [Key("board"), Key("backend")];
        match self.board.backend {
            Backend::Sim if self.sim.is_none() => c.err(&backend, "backend \"sim\" needs a [sim] section".into()),
            Backend::Serial if self.serial.is_none() => {
                c.err(&backend, "backend \"serial\" needs a [serial] section".into())
            }
            _ => {}
        }
        gpio::check(self, &mut c);
        if let Some(s) = &self.sim {
            if !(0.0..0.5).contains(&s.odometry_noise) {
                c.err(&[Key("sim"), Key("odometry_noise")], "sim.odometry_noise must be in [0, 0.5)".into());
            }
            if !(0.0..=1.0).contains(&s.initial_battery) {
                c.err(&[Key("sim"), Key("initial_battery")], "sim.initial_battery must be in [0, 1]".into());
            }
            if !(s.battery_drain_per_m.is_finite() && s.battery_drain_per_m >= 0.0) {
                c.err(
                    &[Key("sim"), Key("battery_drain_per_m")],
                    "sim.battery_drain_per_m must be a non-negative number".into(),
                );
            }
            if s.step_ms == 0 || s.step_ms > 100 {
                c.err(&[Key("sim"), Key("step_ms")], "sim.step_ms must be in 1..=100".into());
            }
        }
        if self.board.robot_id.is_empty()
            || !self.board.robot_id.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            c.err(
                &[Key("board"), Key("robot_id")],
                "board.robot_id must be non-empty letters, digits, '-' or '_' (it is an MQTT topic level)".into(),
            );
        }

        // Places, waypoints and the roadmap.
        let mut names = HashSet::new();
        for (section, list) in [("places", &self.places), ("waypoints", &self.waypoints)] {
            for (i, p) in list.iter().enumerate() {
                if !(p.x.is_finite() && p.y.is_finite()) {
                    c.err(&[Key(section), At(i), Key("x")], format!("place `{}` has a non-finite position", p.name));
                }
                let mut all = vec![(&p.name, vec![Key(section), At(i), Key("name")])];
                all.extend(
                    p.aliases.iter().enumerate().map(|(j, n)| (n, vec![Key(section), At(i), Key("aliases"), At(j)])),
                );
                for (n, at) in all {
                    let at = &at[..];
                    if n.trim().is_empty() || n != &n.to_lowercase() {
                        c.err(at, format!("place name `{n}` must be non-empty lower case"));
                    }
                    if !names.insert(n.as_str()) {
                        c.err(at, format!("place name `{n}` is declared twice"));
                    }
                }
            }
        }
        for (i, pair) in self.navigation.roadmap.iter().enumerate() {
            for (j, n) in pair.iter().enumerate() {
                if !names.contains(n.as_str()) {
                    c.err(
                        &[Key("navigation"), Key("roadmap"), At(i), At(j)],
                        format!("roadmap refers to unknown place or waypoint `{n}`"),
                    );
                }
            }
        }

        // Tools.
        let mut tools = HashSet::new();
        for (i, t) in self.tools.iter().enumerate() {
            let at = [Key("tools"), At(i), Key("name")];
            if !is_ident(&t.name) {
                c.err(&at, format!("tool name `{}` must be a lower-case identifier", t.name));
            } else if !crate::program::is_tool_name(&t.name) {
                c.err(&at, format!("tool name `{}` is a reserved word of the program language", t.name));
            }
            if !tools.insert(t.name.as_str()) {
                c.err(&at, format!("tool `{}` is declared twice", t.name));
            }
            if let Some(s) = t.timeout_s {
                if !positive(s) {
                    c.err(
                        &[Key("tools"), At(i), Key("timeout_s")],
                        format!("tool `{}`: timeout_s must be positive", t.name),
                    );
                }
            }
            let mut args = HashSet::new();
            for (j, a) in t.args.iter().enumerate() {
                let arg = |key| [Key("tools"), At(i), Key("args"), At(j), Key(key)];
                if !is_ident(&a.name) {
                    c.err(
                        &arg("name"),
                        format!("tool `{}`: argument name `{}` must be a lower-case identifier", t.name, a.name),
                    );
                }
                if !args.insert(a.name.as_str()) {
                    c.err(&arg("name"), format!("tool `{}`: argument `{}` is declared twice", t.name, a.name));
                }
                match &a.ty {
                    ArgType::Number { min, max, .. } => {
                        if let (Some(lo), Some(hi)) = (min, max) {
                            if lo > hi || lo.is_nan() || hi.is_nan() {
                                c.err(
                                    &arg("min"),
                                    format!("tool `{}`: argument `{}` has min {lo} above max {hi}", t.name, a.name),
                                );
                            }
                        }
                    }
                    ArgType::Enum { values } => {
                        if values.is_empty() || values.iter().any(|v| !is_ident(v)) {
                            c.err(
                                &arg("values"),
                                format!("tool `{}`: enum argument `{}` needs lower-case word values", t.name, a.name),
                            );
                        }
                    }
                    ArgType::String { max_len } => {
                        if *max_len == 0 {
                            c.err(
                                &arg("max_len"),
                                format!("tool `{}`: string argument `{}` has max_len 0", t.name, a.name),
                            );
                        }
                    }
                }
            }
        }
        for (i, f) in r.forbidden_tools.iter().enumerate() {
            if !tools.contains(f.as_str()) {
                c.err(
                    &[Key("rules"), Key("forbidden_tools"), At(i)],
                    format!("rules.forbidden_tools names `{f}`, which this board does not declare"),
                );
            }
        }
        if let Err(e) = ToolRegistry::from_specs(self.tools.clone()) {
            c.err(&[Key("tools")], e.to_string());
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
