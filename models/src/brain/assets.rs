//! The brain's asset folder: reading `manifest.json` and every file the brain
//! loads, each checked against the size and sha256 the manifest records, so
//! a truncated download, a hand-edited vocabulary or a model from another
//! training run is refused at load with the file's name instead of producing
//! plans from mismatched pieces. Files are read into memory once and parsed
//! from those bytes, so what was hashed is what is used.

use std::path::{Path, PathBuf};

use super::BrainError;
pub use crate::manifest::{sha256_hex, MANIFEST};
use crate::manifest::{Manifest, ManifestError};

/// The files the brain needs, all of which the manifest must list.
pub const REQUIRED_FILES: [&str; 4] = ["encoder.onnx", "decoder.onnx", "tokenizer.json", "vocab.json"];

/// The verified contents of an asset folder.
#[derive(Debug, Clone)]
pub struct Assets {
    pub dir: PathBuf,
    pub encoder_onnx: Vec<u8>,
    pub decoder_onnx: Vec<u8>,
    pub tokenizer_json: Vec<u8>,
    pub vocab_json: Vec<u8>,
}

impl From<ManifestError> for BrainError {
    fn from(e: ManifestError) -> BrainError {
        match e {
            ManifestError::MissingFile { path } => BrainError::MissingFile { path },
            ManifestError::Io { path, message } => BrainError::Io { path, message },
            ManifestError::SizeMismatch { path, expected, actual } => {
                BrainError::SizeMismatch { path, expected, actual }
            }
            ManifestError::HashMismatch { path, expected, actual } => {
                BrainError::HashMismatch { path, expected, actual }
            }
            ManifestError::Invalid { path, reason } => BrainError::Manifest { path, reason },
        }
    }
}

impl Assets {
    /// Whether `dir` looks like a brain folder (has a manifest), without
    /// reading anything else: for callers that fall back when there is none.
    pub fn present(dir: &Path) -> bool {
        Manifest::present(dir)
    }

    /// Reads and verifies every required file of `dir`.
    pub fn load(dir: &Path) -> Result<Assets, BrainError> {
        let m = Manifest::load(dir)?;
        Ok(Assets {
            dir: dir.to_path_buf(),
            encoder_onnx: m.read_verified(REQUIRED_FILES[0])?,
            decoder_onnx: m.read_verified(REQUIRED_FILES[1])?,
            tokenizer_json: m.read_verified(REQUIRED_FILES[2])?,
            vocab_json: m.read_verified(REQUIRED_FILES[3])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_folder(dir: &Path, files: &[(&str, &[u8])], manifest_override: Option<(&str, &str, u64)>) {
        let mut m = serde_json::Map::new();
        for (name, bytes) in files {
            let (sha, n) = match manifest_override {
                Some((n2, sha, len)) if n2 == *name => (sha.to_string(), len),
                _ => (sha256_hex(bytes), bytes.len() as u64),
            };
            m.insert(name.to_string(), serde_json::json!({"sha256": sha, "bytes": n}));
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        std::fs::write(dir.join(MANIFEST), serde_json::json!({ "files": m }).to_string()).unwrap();
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("brain-assets-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    const FILES: [(&str, &[u8]); 4] =
        [("encoder.onnx", b"enc"), ("decoder.onnx", b"dec"), ("tokenizer.json", b"{}"), ("vocab.json", b"[]")];

    #[test]
    fn loads_a_verified_folder() {
        let d = tmp("ok");
        write_folder(&d, &FILES, None);
        let a = Assets::load(&d).unwrap();
        assert_eq!(a.decoder_onnx, b"dec");
        assert_eq!(a.vocab_json, b"[]");
        assert!(Assets::present(&d));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn names_the_bad_file() {
        let d = tmp("bad");
        assert!(!Assets::present(&d));
        assert!(matches!(Assets::load(&d), Err(BrainError::MissingFile { .. })));

        write_folder(&d, &FILES, Some(("decoder.onnx", &"0".repeat(64), 3)));
        match Assets::load(&d) {
            Err(BrainError::HashMismatch { path, .. }) => assert!(path.ends_with("decoder.onnx")),
            other => panic!("{other:?}"),
        }

        write_folder(&d, &FILES, Some(("vocab.json", &sha256_hex(b"[]"), 7)));
        assert!(matches!(Assets::load(&d), Err(BrainError::SizeMismatch { expected: 7, actual: 2, .. })));

        write_folder(&d, &FILES[..3], None);
        assert!(matches!(Assets::load(&d), Err(BrainError::Manifest { .. })));

        write_folder(&d, &FILES, None);
        std::fs::remove_file(d.join("tokenizer.json")).unwrap();
        assert!(matches!(Assets::load(&d), Err(BrainError::MissingFile { .. })));

        std::fs::write(d.join(MANIFEST), "{").unwrap();
        assert!(matches!(Assets::load(&d), Err(BrainError::Manifest { .. })));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
