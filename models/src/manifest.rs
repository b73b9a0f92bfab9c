//! Model asset folders and their `manifest.json`: one place that reads the
//! manifest and each file it lists, checking the size and sha256 recorded
//! there, so a truncated copy, a hand-edited vocabulary or a model from
//! another training run is refused at load with the file's name instead of
//! running mismatched pieces. The brain, the embedder, the VAD and the speech
//! model all load through [`Manifest`]; each maps [`ManifestError`] into its
//! own error type. Files are read into memory once and parsed from those
//! bytes, so what was hashed is what is used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The manifest's file name in an asset folder.
pub const MANIFEST: &str = "manifest.json";

/// Why a file of an asset folder could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    #[error("{}: file is missing", path.display())]
    MissingFile { path: PathBuf },
    #[error("{}: cannot read: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("{}: invalid manifest: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("{}: {actual} bytes, the manifest says {expected} (truncated or replaced?)", path.display())]
    SizeMismatch { path: PathBuf, expected: u64, actual: u64 },
    #[error("{}: sha256 {actual} does not match the manifest's {expected} (corrupt or from another build)", path.display())]
    HashMismatch { path: PathBuf, expected: String, actual: String },
}

#[derive(Deserialize)]
struct Entry {
    sha256: String,
    bytes: u64,
}

#[derive(Deserialize)]
struct Raw {
    files: BTreeMap<String, Entry>,
}

/// A parsed `manifest.json` of one folder.
pub struct Manifest {
    dir: PathBuf,
    path: PathBuf,
    files: BTreeMap<String, Entry>,
    /// The whole document, for fields other than `files` (an alphabet, a dimension).
    pub doc: serde_json::Value,
}

impl std::fmt::Debug for Manifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manifest").field("path", &self.path).field("files", &self.files.keys()).finish()
    }
}

/// Lower-case hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn read(path: &Path) -> Result<Vec<u8>, ManifestError> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ManifestError::MissingFile { path: path.to_path_buf() },
        _ => ManifestError::Io { path: path.to_path_buf(), message: e.to_string() },
    })
}

impl Manifest {
    /// Whether `dir` has a manifest, without reading anything else: for
    /// callers that fall back when there is none.
    pub fn present(dir: &Path) -> bool {
        dir.join(MANIFEST).is_file()
    }

    /// Reads and parses `dir/manifest.json`.
    pub fn load(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join(MANIFEST);
        let bytes = read(&path)?;
        let invalid = |e: serde_json::Error| ManifestError::Invalid { path: path.clone(), reason: e.to_string() };
        let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(invalid)?;
        let raw: Raw = serde_json::from_value(doc.clone()).map_err(invalid)?;
        Ok(Manifest { dir: dir.to_path_buf(), path, files: raw.files, doc })
    }

    /// The manifest file's own path (for error messages about its other fields).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the manifest lists `name`.
    pub fn lists(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Reads `name` from the folder and checks it against its entry.
    pub fn read_verified(&self, name: &str) -> Result<Vec<u8>, ManifestError> {
        let entry = self.files.get(name).ok_or_else(|| ManifestError::Invalid {
            path: self.path.clone(),
            reason: format!("`{name}` is not listed"),
        })?;
        let path = self.dir.join(name);
        let bytes = read(&path)?;
        // The size check is free and names the common failure (a truncated
        // copy) more plainly than a hash mismatch.
        if bytes.len() as u64 != entry.bytes {
            return Err(ManifestError::SizeMismatch { path, expected: entry.bytes, actual: bytes.len() as u64 });
        }
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(entry.sha256.trim()) {
            return Err(ManifestError::HashMismatch { path, expected: entry.sha256.clone(), actual });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest folder in a scratch dir that is removed when the returned guard drops.
    fn folder(files: &[(&str, &[u8])], lie: Option<(&str, u64)>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut m = serde_json::Map::new();
        for (name, bytes) in files {
            std::fs::write(d.join(name), bytes).unwrap();
            let n = match lie {
                Some((l, n)) if l == *name => n,
                _ => bytes.len() as u64,
            };
            m.insert(name.to_string(), serde_json::json!({"sha256": sha256_hex(bytes), "bytes": n}));
        }
        let doc = serde_json::json!({"files": m, "alphabet": "ab"});
        std::fs::write(d.join(MANIFEST), doc.to_string()).unwrap();
        dir
    }

    #[test]
    fn reads_listed_files_and_extra_fields() {
        let dir = folder(&[("a.bin", b"abc")], None);
        let d = dir.path();
        let m = Manifest::load(d).unwrap();
        assert_eq!(m.read_verified("a.bin").unwrap(), b"abc");
        assert_eq!(m.doc["alphabet"], "ab");
        assert!(m.lists("a.bin") && !m.lists("b.bin"));
    }

    #[test]
    fn names_each_failure() {
        let dir = folder(&[("a.bin", b"abc"), ("b.bin", b"xyz")], Some(("b.bin", 9)));
        let d = dir.path();
        let m = Manifest::load(d).unwrap();
        assert!(matches!(m.read_verified("b.bin"), Err(ManifestError::SizeMismatch { expected: 9, actual: 3, .. })));
        assert!(matches!(m.read_verified("c.bin"), Err(ManifestError::Invalid { .. })));
        std::fs::write(d.join("a.bin"), b"abd").unwrap();
        assert!(matches!(m.read_verified("a.bin"), Err(ManifestError::HashMismatch { .. })));
        std::fs::remove_file(d.join("a.bin")).unwrap();
        assert!(matches!(m.read_verified("a.bin"), Err(ManifestError::MissingFile { .. })));
        std::fs::write(d.join(MANIFEST), b"{\"files\": 3}").unwrap();
        assert!(matches!(Manifest::load(d), Err(ManifestError::Invalid { .. })));
        std::fs::remove_file(d.join(MANIFEST)).unwrap();
        assert!(matches!(Manifest::load(d), Err(ManifestError::MissingFile { .. })));
    }
}
