//! The embedder's asset folder: `manifest.json` lists the size and sha256 of
//! `model.onnx` and `tokenizer.json`; both are read once, checked, and parsed
//! from the checked bytes (the same rule as the brain's folder).

use std::path::{Path, PathBuf};

use super::EmbedError;
use crate::manifest::{sha256_hex, Manifest, ManifestError};

/// The files the embedder needs, all of which the manifest must list.
pub const REQUIRED_FILES: [&str; 2] = ["model.onnx", "tokenizer.json"];

/// The verified contents of an embedder folder.
#[derive(Debug, Clone)]
pub struct EmbedAssets {
    pub dir: PathBuf,
    pub model_onnx: Vec<u8>,
    pub tokenizer_json: Vec<u8>,
    /// The sha256 of `model.onnx`: identifies the model that made a stored
    /// embedding, so vectors from another model are never mixed in.
    pub model_sha256: String,
}

impl From<ManifestError> for EmbedError {
    fn from(e: ManifestError) -> EmbedError {
        match e {
            ManifestError::MissingFile { path } => EmbedError::MissingFile { path },
            ManifestError::Io { path, message } => EmbedError::Io { path, message },
            ManifestError::SizeMismatch { path, expected, actual } => {
                EmbedError::SizeMismatch { path, expected, actual }
            }
            ManifestError::HashMismatch { path, expected, actual } => {
                EmbedError::HashMismatch { path, expected, actual }
            }
            ManifestError::Invalid { path, reason } => EmbedError::Manifest { path, reason },
        }
    }
}

impl EmbedAssets {
    /// Whether `dir` has a manifest, without reading anything else.
    pub fn present(dir: &Path) -> bool {
        Manifest::present(dir)
    }

    /// Reads and verifies every required file of `dir`.
    pub fn load(dir: &Path) -> Result<EmbedAssets, EmbedError> {
        let m = Manifest::load(dir)?;
        let model_onnx = m.read_verified(REQUIRED_FILES[0])?;
        let tokenizer_json = m.read_verified(REQUIRED_FILES[1])?;
        let model_sha256 = sha256_hex(&model_onnx);
        Ok(EmbedAssets { dir: dir.to_path_buf(), model_onnx, tokenizer_json, model_sha256 })
    }
}
