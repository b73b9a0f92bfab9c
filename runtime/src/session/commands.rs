//! Operator commands of the interactive prompt, shared with replay so a
//! replayed session applies them identically.

use super::SimSession;
use crate::recorder::Event;
use crate::safety::OperatorReset;
use anyhow::{bail, Context};
use robot_hal::board::Level;

pub const HELP: &str = "\
Programs: drive(distance_m=1); turn(angle_deg=90); repeat(4) { drive(distance_m=1); turn(angle_deg=90) }
          go_to(place=\"kitchen\"); say(text=\"hello\"); set_led(color=red); find(object=\"yellow block\")
Commands: :level L0..L5   set the autonomy level (capped by the board)
          :estop          press the simulated kill-switch     :release   release it
          :reset          operator reset of the latch (line must be released)
          :where          ground truth and odometry           :tools     list the tools
          :quit";

/// Apply a `:command` (without the colon) and record it.
pub fn apply_command(s: &mut SimSession, cmd: &str) -> anyhow::Result<String> {
    let cmd = cmd.trim();
    s.executor.record(Event::Input { source: "command".into(), text: cmd.to_string(), confidence: None });
    let mut words = cmd.split_whitespace();
    let msg = match words.next().unwrap_or("") {
        "level" => {
            let want: Level = words.next().context("usage: :level L3")?.parse().map_err(anyhow::Error::msg)?;
            let from = s.executor.policy.level();
            let to = s.executor.policy.set_level_by_operator(want)?;
            s.executor.record(Event::Level { from: from.to_string(), to: to.to_string(), reason: "operator".into() });
            format!("autonomy level {to}")
        }
        "estop" => {
            s.sim.press_estop();
            wait_engaged(s);
            s.executor.record_safety_events();
            "kill-switch pressed: latched, actuators safe".into()
        }
        "release" => {
            s.sim.release_estop();
            "kill-switch line released (the latch stays engaged until :reset)".into()
        }
        "reset" => {
            // The line must have been seen released for the debounce time.
            std::thread::sleep(std::time::Duration::from_millis(s.executor.board.kill_switch.debounce_ms + 10));
            let r = s.executor.latch.reset(OperatorReset { operator: "local terminal".into() });
            s.executor.record_safety_events();
            match r {
                Ok(()) => "latch reset: actuators accept commands again (nothing restarts by itself)".into(),
                Err(e) => bail!("reset refused: {e}"),
            }
        }
        "where" => {
            let t = s.sim.truth();
            let o = s.sim.odometry_pose();
            format!(
                "truth x={:.3} y={:.3} heading={:.1} | odometry x={:.3} y={:.3} heading={:.1} | latch {}",
                t.x,
                t.y,
                t.heading_deg,
                o.x,
                o.y,
                o.heading_deg,
                if s.executor.latch.is_engaged() { "ENGAGED" } else { "clear" }
            )
        }
        "tools" => s.executor.registry.names().collect::<Vec<_>>().join(", "),
        other => bail!("unknown command `:{other}` (try :help)"),
    };
    Ok(msg)
}

fn wait_engaged(s: &SimSession) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while s.executor.latch.all_safe_at().is_none() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
