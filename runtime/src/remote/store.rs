//! Where the replay state ([`ReplayState`]) survives restarts.
//!
//! [`ReplayStore`] is a trait so the robot can keep the state wherever it
//! keeps its other durable state (its SQLite memory, later); this module
//! provides [`MemoryStore`] (tests, robots with nothing to persist to) and
//! [`FileStore`], a small JSON file replaced atomically: the new state is
//! written to a temporary file beside it, forced to the disk, and renamed
//! over the old one, so a power cut leaves either the old state or the new
//! one, never a torn mix that would forget a high-water mark.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::replay::ReplayState;

/// A state file larger than this is not one we wrote.
const MAX_STATE_FILE_BYTES: u64 = 1 << 20;

/// The replay state could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("replay state {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is not a replay state: the marks it held are
    /// unknown, so it is an error rather than a fresh start.
    #[error("replay state {path} is unreadable: {message}")]
    Corrupt { path: PathBuf, message: String },
}

/// Durable storage for the replay state.
pub trait ReplayStore: Send {
    /// The stored state; a store that never saved returns the default.
    fn load(&mut self) -> Result<ReplayState, StoreError>;

    /// Replace the stored state. When this returns `Ok`, the state survives
    /// a crash or power cut.
    fn save(&mut self, state: &ReplayState) -> Result<(), StoreError>;
}

/// Keeps the state in memory only: it survives nothing.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: ReplayState,
}

impl MemoryStore {
    pub fn new(state: ReplayState) -> MemoryStore {
        MemoryStore { state }
    }

    pub fn state(&self) -> &ReplayState {
        &self.state
    }
}

impl ReplayStore for MemoryStore {
    fn load(&mut self) -> Result<ReplayState, StoreError> {
        Ok(self.state.clone())
    }

    fn save(&mut self, state: &ReplayState) -> Result<(), StoreError> {
        self.state = state.clone();
        Ok(())
    }
}

/// Keeps the state in one JSON file, replaced atomically.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    pub fn new(path: impl Into<PathBuf>) -> FileStore {
        FileStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::Io { path: self.path.clone(), source }
    }

    fn temp_path(&self) -> PathBuf {
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.path.with_file_name(format!(".{name}.tmp"))
    }
}

impl ReplayStore for FileStore {
    fn load(&mut self) -> Result<ReplayState, StoreError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ReplayState::default()),
            Err(e) => return Err(self.io(e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_STATE_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| self.io(e))?;
        if bytes.len() as u64 > MAX_STATE_FILE_BYTES {
            return Err(StoreError::Corrupt { path: self.path.clone(), message: "too large".into() });
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Corrupt { path: self.path.clone(), message: e.to_string() })
    }

    fn save(&mut self, state: &ReplayState) -> Result<(), StoreError> {
        let json = serde_json::to_vec(state)
            .map_err(|e| StoreError::Corrupt { path: self.path.clone(), message: e.to_string() })?;
        let tmp = self.temp_path();
        let mut file = std::fs::File::create(&tmp).map_err(|e| self.io(e))?;
        file.write_all(&json).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))?;
        drop(file);
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        // The rename itself lives in the folder: without syncing it, a power
        // cut can bring back the old file after `save` returned.
        sync_parent(&self.path).map_err(|e| self.io(e))
    }
}

#[cfg(unix)]
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(parent)?.sync_all()
}

#[cfg(not(unix))]
fn sync_parent(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::replay::StandingEngage;

    fn state() -> ReplayState {
        let mut s = ReplayState::default();
        s.high_water.insert("console".into(), 41);
        s.high_water.insert("fleet".into(), 3);
        s.standing_engage = Some(StandingEngage { issuer: "console".into(), counter: 41 });
        s
    }

    #[test]
    fn a_file_store_starts_empty_and_keeps_what_it_saved_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kill-replay.json");
        assert_eq!(FileStore::new(&path).load().unwrap(), ReplayState::default());
        FileStore::new(&path).save(&state()).unwrap();
        assert_eq!(FileStore::new(&path).load().unwrap(), state());
        let mut later = state();
        later.standing_engage = None;
        FileStore::new(&path).save(&later).unwrap();
        assert_eq!(FileStore::new(&path).load().unwrap(), later);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("kill-replay.json")], "no temporary file left");
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"{\"high_water\":{\"console\":4").unwrap();
        assert!(matches!(FileStore::new(&path).load(), Err(StoreError::Corrupt { .. })));
        std::fs::write(&path, vec![b' '; (MAX_STATE_FILE_BYTES + 1) as usize]).unwrap();
        assert!(matches!(FileStore::new(&path).load(), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn a_save_into_a_missing_folder_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = FileStore::new(dir.path().join("no/such/folder/state.json"));
        assert!(matches!(store.save(&state()), Err(StoreError::Io { .. })));
    }

    #[test]
    fn a_memory_store_keeps_the_last_save() {
        let mut m = MemoryStore::default();
        m.save(&state()).unwrap();
        assert_eq!(m.load().unwrap(), state());
        assert_eq!(m.state(), &state());
    }
}
