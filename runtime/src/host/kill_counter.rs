//! The host's kill-switch counters, and signing a kill-switch message with
//! them (`robot host kill|release ROBOT --key FILE`).
//!
//! A robot accepts a message only if its counter is above the highest one
//! it has accepted from the same issuer (docs/remote-kill.md), so the host
//! keeps the last counter it used for each robot and issuer in a small file,
//! `<dir>/<robot_id>@<issuer>.counter` (robot ids cannot contain `@`, so the
//! name has one reading). The next counter is the larger of the stored one
//! plus one and the wall clock in milliseconds: the file makes counters
//! strictly increase even if the clock steps back, and the clock keeps them
//! above what the robot has seen even if the file is lost (a new host, a
//! wiped disk). The file is replaced atomically, under an exclusive lock on
//! a lock file beside it, before the message leaves, so no two `robot host`
//! processes ever hand out the same counter; one that is used up by a
//! message that never arrives is a harmless gap.
//!
//! Forcing the file to disk (two fsyncs, the file and its folder) takes
//! milliseconds to tens of milliseconds, so [`sign_kill`] does not wait for
//! it: the stop goes out first and the caller calls [`KillCounter::sync`]
//! right after publishing, as the robot saves its replay state after it
//! has engaged. Only a host power cut inside that window can lose the
//! counter, and even then the next counter is still above it unless the
//! host's clock also stepped back ([`KillCounter::next`] is the fully
//! durable form).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::commands::KillAction;
use super::HostError;
use crate::remote::message::is_valid_id;
use crate::remote::{sign, Action, KillFields, KillKey};
use crate::sync::topics::validate_robot_id;

/// A counter file larger than this was not written by us.
const MAX_COUNTER_FILE_BYTES: u64 = 64;

/// The persisted counter of one robot and issuer.
#[derive(Debug, Clone)]
pub struct KillCounter {
    path: PathBuf,
}

impl KillCounter {
    /// The counter for `robot_id` and `issuer`, kept in `dir` (created when
    /// needed).
    pub fn new(dir: impl AsRef<Path>, robot_id: &str, issuer: &str) -> Result<KillCounter, HostError> {
        validate_robot_id(robot_id)?;
        if !is_valid_id(issuer) {
            return Err(HostError::Invalid(format!("issuer `{issuer}`: use 1 to 64 of A-Z a-z 0-9 . _ - : @")));
        }
        Ok(KillCounter { path: dir.as_ref().join(format!("{robot_id}@{issuer}.counter")) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last counter handed out (0 when none was).
    pub fn last(&self) -> Result<u64, HostError> {
        read_counter(&self.path)
    }

    /// Take the next counter: above the stored one and at least `now_ms`,
    /// on disk before this returns.
    pub fn next(&self, now_ms: u64) -> Result<u64, HostError> {
        let next = self.next_unsynced(now_ms)?;
        self.sync()?;
        Ok(next)
    }

    /// Take the next counter like [`KillCounter::next`], visible to every
    /// other process at once but not yet forced to disk: call
    /// [`KillCounter::sync`] after the message is out.
    pub fn next_unsynced(&self, now_ms: u64) -> Result<u64, HostError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        // Held until `_lock` is dropped at the end of this call.
        let _lock = LockFile::acquire(&self.path.with_extension("lock"))?;
        let last = read_counter(&self.path)?;
        let next = last
            .checked_add(1)
            .ok_or_else(|| HostError::Invalid(format!("{} is at the largest counter", self.path.display())))?
            .max(now_ms);
        replace(&self.path, next)?;
        Ok(next)
    }

    /// Force the counter file, and its replacement in the folder, to disk.
    pub fn sync(&self) -> Result<(), HostError> {
        File::open(&self.path).and_then(|f| f.sync_all()).map_err(|e| io(&self.path, e))?;
        // The rename lives in the folder: sync it too, or a power cut can
        // bring back the old counter.
        #[cfg(unix)]
        {
            let dir = self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))?;
        }
        Ok(())
    }
}

/// How long [`LockFile::acquire`] waits for another process.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// A lock file older than this was left by a process that died: the
/// section it guards takes a millisecond.
const STALE_LOCK: Duration = Duration::from_secs(10);

/// An exclusive lock between processes without `flock` (stable only after
/// the workspace's Rust 1.80): a lock file created with `create_new`, which
/// is atomic, and removed on drop.
struct LockFile {
    path: PathBuf,
}

impl LockFile {
    fn acquire(path: &Path) -> Result<LockFile, HostError> {
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(_) => return Ok(LockFile { path: path.to_path_buf() }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
                    if age.is_some_and(|a| a > STALE_LOCK) {
                        let _ = std::fs::remove_file(path);
                        continue;
                    }
                    if Instant::now() >= deadline {
                        return Err(HostError::Timeout(format!(
                            "{} is held by another `robot host` (delete it if none is running)",
                            path.display()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(io(path, e)),
            }
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn io(path: &Path, e: std::io::Error) -> HostError {
    HostError::Io(std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

fn read_counter(path: &Path) -> Result<u64, HostError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io(path, e)),
    };
    let mut text = String::new();
    file.take(MAX_COUNTER_FILE_BYTES + 1).read_to_string(&mut text).map_err(|e| io(path, e))?;
    // A damaged file is an error, not a restart at 0: the clock would
    // usually cover for it, but not if it was stepped back.
    text.trim().parse().map_err(|_| {
        HostError::Invalid(format!(
            "kill counter {} is damaged (expected one number); fix or delete it",
            path.display()
        ))
    })
}

/// Write `value` to a temporary file and rename it over `path`: readers
/// see the old value or the new one, never a part.
fn replace(path: &Path, value: u64) -> Result<(), HostError> {
    let tmp = path.with_extension("counter.tmp");
    let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(format!("{value}\n").as_bytes()).map_err(|e| io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

/// Sign a kill-switch message for `robot_id` with the next counter of
/// `counter` and the timestamp `now_ms`: the JSON bytes to publish. The
/// counter is taken with [`KillCounter::next_unsynced`]: call
/// [`KillCounter::sync`] once the message is published.
pub fn sign_kill(
    key: &KillKey,
    counter: &KillCounter,
    robot_id: &str,
    issuer: &str,
    action: KillAction,
    now_ms: u64,
) -> Result<Vec<u8>, HostError> {
    let action = match action {
        KillAction::Kill => Action::Engage,
        KillAction::Release => Action::Release,
        KillAction::Heartbeat => Action::Heartbeat,
    };
    let fields = KillFields {
        robot_id: robot_id.to_string(),
        action,
        counter: counter.next_unsynced(now_ms)?,
        timestamp_ms: now_ms,
        issuer: issuer.to_string(),
    };
    Ok(sign(key, fields)?.to_json().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::verify;

    fn key() -> KillKey {
        KillKey::from_bytes([5; 32]).unwrap()
    }

    #[test]
    fn counters_strictly_increase_across_reopening_even_when_the_clock_steps_back() {
        let dir = tempfile::tempdir().unwrap();
        let c = KillCounter::new(dir.path(), "rover-1", "console").unwrap();
        assert_eq!(c.last().unwrap(), 0);
        assert_eq!(c.next(1_000).unwrap(), 1_000);
        assert_eq!(c.next(1_000).unwrap(), 1_001, "same millisecond");
        assert_eq!(c.next(10).unwrap(), 1_002, "clock stepped back");
        let again = KillCounter::new(dir.path(), "rover-1", "console").unwrap();
        assert_eq!(again.next(0).unwrap(), 1_003);
        // Another issuer, another robot: separate counters.
        assert_eq!(KillCounter::new(dir.path(), "rover-1", "fleet").unwrap().next(5).unwrap(), 5);
        assert_eq!(KillCounter::new(dir.path(), "rover-2", "console").unwrap().next(7).unwrap(), 7);
    }

    #[test]
    fn a_damaged_counter_file_and_bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let c = KillCounter::new(dir.path(), "rover-1", "console").unwrap();
        std::fs::write(c.path(), "12x").unwrap();
        assert!(matches!(c.next(1), Err(HostError::Invalid(_))));
        assert!(KillCounter::new(dir.path(), "../etc", "console").is_err());
        assert!(KillCounter::new(dir.path(), "rover-1", "a/b").is_err());
        assert!(KillCounter::new(dir.path(), "rover-1", "").is_err());
    }

    #[test]
    fn sign_kill_makes_a_message_the_robot_verifies_with_the_next_counter() {
        let dir = tempfile::tempdir().unwrap();
        let c = KillCounter::new(dir.path(), "rover-1", "console").unwrap();
        let a = sign_kill(&key(), &c, "rover-1", "console", KillAction::Kill, 50).unwrap();
        let b = sign_kill(&key(), &c, "rover-1", "console", KillAction::Release, 50).unwrap();
        let (a, b) = (verify(&key(), &a).unwrap(), verify(&key(), &b).unwrap());
        assert_eq!((a.fields().action, a.fields().counter, a.fields().timestamp_ms), (Action::Engage, 50, 50));
        assert_eq!((b.fields().action, b.fields().counter), (Action::Release, 51));
        assert_eq!(c.last().unwrap(), 51);
    }

    #[test]
    fn the_lock_waits_for_its_holder_and_takes_over_a_stale_one() {
        let dir = tempfile::tempdir().unwrap();
        let c = KillCounter::new(dir.path(), "rover-1", "console").unwrap();
        let lock_path = c.path().with_extension("lock");
        let held = LockFile::acquire(&lock_path).unwrap();
        let other = c.clone();
        let waiter = std::thread::spawn(move || other.next(1).unwrap());
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(c.last().unwrap(), 0, "waits while the lock is held");
        drop(held);
        assert_eq!(waiter.join().unwrap(), 1);
        assert!(!lock_path.exists(), "released");
        // A lock file left by a crashed process, older than STALE_LOCK.
        let f = File::create(&lock_path).unwrap();
        f.set_modified(std::time::SystemTime::now() - STALE_LOCK - Duration::from_secs(1)).unwrap();
        assert_eq!(c.next(0).unwrap(), 2);
    }
}
