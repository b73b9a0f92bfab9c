//! The embedder's asset folder: `manifest.json` lists the size and sha256 of
//! `model.onnx` and `tokenizer.json`; both are read once, checked, and parsed
//! from the checked bytes (the same rule as the brain's folder).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::EmbedError;
use crate::brain::assets::sha256_hex;

/// The files the embedder needs, all of which the manifest must list.
pub const REQUIRED_FILES: [&str; 2] = ["model.onnx", "tokenizer.json"];

const MANIFEST: &str = "manifest.json";

#[derive(Deserialize)]
struct Manifest {
    files: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    sha256: String,
    bytes: u64,
}

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

fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EmbedError::MissingFile { path: path.to_path_buf() },
        _ => EmbedError::Io { path: path.to_path_buf(), message: e.to_string() },
    })
}

impl EmbedAssets {
    /// Whether `dir` has a manifest, without reading anything else.
    pub fn present(dir: &Path) -> bool {
        dir.join(MANIFEST).is_file()
    }

    /// Reads and verifies every required file of `dir`.
    pub fn load(dir: &Path) -> Result<EmbedAssets, EmbedError> {
        let manifest_path = dir.join(MANIFEST);
        let manifest: Manifest = serde_json::from_slice(&read(&manifest_path)?)
            .map_err(|e| EmbedError::Manifest { path: manifest_path.clone(), reason: e.to_string() })?;
        let mut loaded = Vec::with_capacity(REQUIRED_FILES.len());
        for name in REQUIRED_FILES {
            let entry = manifest.files.get(name).ok_or_else(|| EmbedError::Manifest {
                path: manifest_path.clone(),
                reason: format!("`{name}` is not listed"),
            })?;
            let path = dir.join(name);
            let bytes = read(&path)?;
            if bytes.len() as u64 != entry.bytes {
                return Err(EmbedError::SizeMismatch { path, expected: entry.bytes, actual: bytes.len() as u64 });
            }
            let actual = sha256_hex(&bytes);
            if !actual.eq_ignore_ascii_case(entry.sha256.trim()) {
                return Err(EmbedError::HashMismatch { path, expected: entry.sha256.clone(), actual });
            }
            loaded.push(bytes);
        }
        let mut it = loaded.into_iter();
        let mut next = || it.next().unwrap_or_default();
        let (model_onnx, tokenizer_json) = (next(), next());
        let model_sha256 = sha256_hex(&model_onnx);
        Ok(EmbedAssets { dir: dir.to_path_buf(), model_onnx, tokenizer_json, model_sha256 })
    }
}
