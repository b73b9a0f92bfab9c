//! The per-robot secret that authenticates remote kill-switch messages.
//!
//! Each robot has its own 32-byte HMAC-SHA256 key, shared only with the
//! hosts allowed to stop and release it, so a key taken from one robot
//! cannot stop another. [`KillKey::from_file`] reads it from a file written
//! by `openssl rand -hex 32` (64 hex digits) or `openssl rand 32` (32 raw
//! bytes); the path comes from the board file or the command line. A key
//! file that other users can read is loaded but reported, so the caller can
//! warn: anyone who can read it can forge a release.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Length of a kill-switch key in bytes.
pub const KEY_LEN: usize = 32;

/// Files larger than this are not key files; reading stops here so a path
/// pointing at something huge (a device, a log) cannot exhaust memory.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// A per-robot HMAC-SHA256 key. Its `Debug` never shows the bytes, so a key
/// cannot leak into a log through a `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct KillKey([u8; KEY_LEN]);

impl fmt::Debug for KillKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KillKey(..)")
    }
}

/// A key file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("kill-switch key file {path} does not exist (create one with `openssl rand -hex 32 > {path}`)")]
    Missing { path: PathBuf },
    #[error("cannot read kill-switch key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("kill-switch key {origin} has {len} bytes: expected {KEY_LEN} raw bytes or {} hex digits", KEY_LEN * 2)]
    WrongLength { origin: String, len: usize },
    #[error("kill-switch key {origin} is not {} hex digits", KEY_LEN * 2)]
    NotHex { origin: String },
    /// All zero bytes: what an unfilled buffer or `/dev/zero` gives, never a
    /// key someone generated.
    #[error("kill-switch key {origin} is all zeros; generate one with `openssl rand -hex 32`")]
    AllZero { origin: String },
}

/// Something about a key file that does not stop it from being used but
/// that an operator should fix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyWarning {
    /// Group or other users may read the key (`mode` is the file's
    /// permission bits); `chmod 600` fixes it.
    ReadableByOthers { path: PathBuf, mode: u32 },
}

impl fmt::Display for KeyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyWarning::ReadableByOthers { path, mode } => write!(
                f,
                "kill-switch key file {} has mode {mode:03o}: other users can read it and forge releases; run `chmod 600 {}`",
                path.display(),
                path.display()
            ),
        }
    }
}

/// A key read from a file, with what was wrong about the file.
#[derive(Debug)]
pub struct LoadedKey {
    pub key: KillKey,
    pub warning: Option<KeyWarning>,
}

impl KillKey {
    /// A key from its raw bytes (all zeros is refused).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Result<KillKey, KeyError> {
        Self::checked(bytes, "given")
    }

    /// A key from 64 hex digits; surrounding whitespace (the newline
    /// `openssl rand -hex` writes) is ignored.
    pub fn from_hex(text: &str) -> Result<KillKey, KeyError> {
        Self::parse(text.as_bytes(), "given")
    }

    /// Read a key file: 64 hex digits (whitespace around them ignored) or
    /// exactly 32 raw bytes.
    pub fn from_file(path: impl AsRef<Path>) -> Result<LoadedKey, KeyError> {
        let path = path.as_ref();
        let io = |source: std::io::Error| match source.kind() {
            std::io::ErrorKind::NotFound => KeyError::Missing { path: path.to_path_buf() },
            _ => KeyError::Io { path: path.to_path_buf(), source },
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let warning = readable_by_others(&file, path).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(MAX_KEY_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
        let key = Self::parse(&bytes, &path.display().to_string())?;
        Ok(LoadedKey { key, warning })
    }

    pub(super) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn parse(bytes: &[u8], origin: &str) -> Result<KillKey, KeyError> {
        // Exactly 32 bytes is a raw key even if they happen to be printable:
        // a hex key is at least 64 bytes, so the two cannot be confused.
        if let Ok(raw) = <[u8; KEY_LEN]>::try_from(bytes) {
            return Self::checked(raw, origin);
        }
        let text = bytes.trim_ascii();
        if text.len() != KEY_LEN * 2 {
            return Err(KeyError::WrongLength { origin: origin.to_string(), len: bytes.len() });
        }
        let mut raw = [0u8; KEY_LEN];
        hex::decode_to_slice(text, &mut raw).map_err(|_| KeyError::NotHex { origin: origin.to_string() })?;
        Self::checked(raw, origin)
    }

    fn checked(raw: [u8; KEY_LEN], origin: &str) -> Result<KillKey, KeyError> {
        if raw == [0u8; KEY_LEN] {
            return Err(KeyError::AllZero { origin: origin.to_string() });
        }
        Ok(KillKey(raw))
    }
}

#[cfg(unix)]
fn readable_by_others(file: &std::fs::File, path: &Path) -> std::io::Result<Option<KeyWarning>> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata()?.permissions().mode() & 0o777;
    Ok((mode & 0o077 != 0).then(|| KeyWarning::ReadableByOthers { path: path.to_path_buf(), mode }))
}

#[cfg(not(unix))]
fn readable_by_others(_file: &std::fs::File, _path: &Path) -> std::io::Result<Option<KeyWarning>> {
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        path
    }

    #[test]
    fn hex_and_raw_files_give_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let hex_file = write(&dir, "hex", format!("{HEX}\n").as_bytes(), 0o600);
        let raw: Vec<u8> = (0u8..32).collect();
        let raw_file = write(&dir, "raw", &raw, 0o600);
        let a = KillKey::from_file(hex_file).unwrap();
        let b = KillKey::from_file(raw_file).unwrap();
        assert_eq!(a.key, b.key);
        assert_eq!(a.key.bytes()[31], 31);
        assert_eq!(a.warning, None);
    }

    #[test]
    fn a_missing_file_says_how_to_create_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = KillKey::from_file(dir.path().join("nope")).unwrap_err();
        assert!(matches!(err, KeyError::Missing { .. }));
        assert!(err.to_string().contains("openssl rand -hex 32"));
    }

    #[test]
    fn wrong_lengths_and_non_hex_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let short = write(&dir, "short", &HEX.as_bytes()[..62], 0o600);
        assert!(matches!(KillKey::from_file(short), Err(KeyError::WrongLength { len: 62, .. })));
        let long = write(&dir, "long", &[7u8; 33], 0o600);
        assert!(matches!(KillKey::from_file(long), Err(KeyError::WrongLength { len: 33, .. })));
        let huge = write(&dir, "huge", &vec![b'a'; 100_000], 0o600);
        assert!(matches!(KillKey::from_file(huge), Err(KeyError::WrongLength { len: 4097, .. })));
        let not_hex = write(&dir, "nothex", HEX.replace('a', "g").as_bytes(), 0o600);
        assert!(matches!(KillKey::from_file(not_hex), Err(KeyError::NotHex { .. })));
        assert!(matches!(KillKey::from_hex(&"0".repeat(64)), Err(KeyError::AllZero { .. })));
        assert!(matches!(KillKey::from_bytes([0; 32]), Err(KeyError::AllZero { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn a_key_others_can_read_is_loaded_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "open", HEX.as_bytes(), 0o644);
        let loaded = KillKey::from_file(&path).unwrap();
        assert_eq!(loaded.warning, Some(KeyWarning::ReadableByOthers { path, mode: 0o644 }));
        assert!(loaded.warning.unwrap().to_string().contains("chmod 600"));
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let key = KillKey::from_hex(HEX).unwrap();
        assert_eq!(format!("{key:?}"), "KillKey(..)");
    }
}
