//! Autonomy-level requests that arrive over the network.
//!
//! A remote command may lower the level, never raise it, and nothing sets a
//! level above the board's cap (`docs/autonomy.md`). This is the policy's
//! own rule ([`Policy::set_level`] with [`Source::Remote`]); the wrapper
//! only checks the cap first, so a request above the cap is refused naming
//! the cap rather than merely as a raise, which is what an operator
//! reading the log needs to know. Requests are refused, never clamped: a
//! level the sender did not ask for is not a safe guess.

use robot_hal::board::Level;

use crate::policy::{Policy, PolicyError, Source};

/// Apply a remote request for `requested`. Returns the new level.
pub fn remote_set_level(policy: &mut Policy, requested: Level) -> Result<Level, PolicyError> {
    if requested > policy.cap() {
        return Err(PolicyError::AboveCap { requested, cap: policy.cap() });
    }
    policy.set_level(requested, &Source::Remote)
}

#[cfg(test)]
mod tests {
    use robot_hal::board::BoardFile;

    use super::*;

    fn policy_at(level: Level) -> Policy {
        let board = BoardFile::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml")).unwrap();
        let mut p = Policy::new(&board);
        p.set_level_by_operator(level).unwrap();
        p
    }

    #[test]
    fn above_the_cap_is_refused_naming_the_cap() {
        let mut p = policy_at(Level::L2);
        assert_eq!(p.cap(), Level::L4);
        assert_eq!(
            remote_set_level(&mut p, Level::L5),
            Err(PolicyError::AboveCap { requested: Level::L5, cap: Level::L4 })
        );
        assert_eq!(p.level(), Level::L2);
    }

    #[test]
    fn a_raise_within_the_cap_is_refused_and_a_lowering_is_applied() {
        let mut p = policy_at(Level::L2);
        assert!(matches!(remote_set_level(&mut p, Level::L3), Err(PolicyError::RaiseNotByOperator { .. })));
        assert_eq!(p.level(), Level::L2);
        assert_eq!(remote_set_level(&mut p, Level::L2), Ok(Level::L2));
        assert_eq!(remote_set_level(&mut p, Level::L0), Ok(Level::L0));
        assert_eq!(p.level(), Level::L0);
    }

    #[test]
    fn no_remote_request_ever_ends_above_the_cap_or_the_level_it_started_at() {
        for start in Level::ALL.into_iter().filter(|l| *l <= Level::L4) {
            for req in Level::ALL {
                let mut p = policy_at(start);
                let _ = remote_set_level(&mut p, req);
                assert!(p.level() <= start && p.level() <= p.cap(), "{start} -> {req} gave {}", p.level());
            }
        }
    }
}
