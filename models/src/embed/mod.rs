//! Sentence embeddings for the robot's memory search: text to a 384-d unit
//! vector with the original all-MiniLM-L6-v2 (mean pooling and L2
//! normalisation are inside the graph), on tract.
//!
//! This is deliberately separate from the brain: the brain fine-tunes its
//! MiniLM encoder for planning, which makes it a poor general embedder
//! ("red ball" and "blue cup" come out nearly parallel). The asset folder
//! (`models/embed/`, written by `models/training/embed/export.py`) holds
//! `model.onnx` (int8 weights), `tokenizer.json` and `manifest.json`; every
//! file is checked against the manifest's size and sha256 before use, so a
//! truncated or mismatched copy is a typed [`EmbedError`], never a panic.
//!
//! [`QuantizedVec`] is the storage form: int8 values with one scale per
//! vector, the layout [`crate::kernels::top_k_i8`] searches.

mod assets;
mod model;
mod quant;

use std::path::{Path, PathBuf};

pub use assets::{EmbedAssets, REQUIRED_FILES};
pub use quant::QuantizedVec;

use crate::brain::WordPieceTokenizer;
use model::EmbedModel;

/// Length of every embedding.
pub const EMBED_DIM: usize = 384;

/// Tokens fed to the model at most, `[CLS]` and `[SEP]` included: what
/// all-MiniLM-L6-v2 was trained with; longer text is cut (its start is kept).
pub const MAX_TOKENS: usize = 256;

/// Bytes of text read at most: far more than [`MAX_TOKENS`] tokens, so
/// cutting here never changes an embedding, but a huge paste costs nothing.
pub const MAX_TEXT_BYTES: usize = 8192;

/// Why the embedder could not load or run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    #[error("{}: file is missing (the embedding model is in models/embed/)", path.display())]
    MissingFile { path: PathBuf },
    #[error("{}: cannot read: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("{}: invalid manifest: {reason}", path.display())]
    Manifest { path: PathBuf, reason: String },
    #[error("{}: {actual} bytes, the manifest says {expected} (truncated or replaced?)", path.display())]
    SizeMismatch { path: PathBuf, expected: u64, actual: u64 },
    #[error("{}: sha256 {actual} does not match the manifest's {expected} (corrupt or from another build)", path.display())]
    HashMismatch { path: PathBuf, expected: String, actual: String },
    #[error("tokenizer.json: {reason}")]
    Tokenizer { reason: String },
    #[error("model.onnx: {reason}")]
    Model { reason: String },
    #[error("embedding output: {reason}")]
    Output { reason: String },
}

/// A loaded sentence embedder. `embed` takes `&self` and the embedder is
/// `Send + Sync`, so one instance can serve several threads.
pub struct Embedder {
    tokenizer: WordPieceTokenizer,
    model: EmbedModel,
    dir: PathBuf,
    model_id: String,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl Embedder {
    /// Loads the asset folder `dir` (checked against its manifest).
    pub fn load(dir: &Path) -> Result<Embedder, EmbedError> {
        let assets = EmbedAssets::load(dir)?;
        let tokenizer = WordPieceTokenizer::from_json(&assets.tokenizer_json)
            .map_err(|e| EmbedError::Tokenizer { reason: e.to_string() })?;
        let model = EmbedModel::load(&assets.model_onnx)?;
        let model_id = format!("minilm-l6-{}", &assets.model_sha256[..16.min(assets.model_sha256.len())]);
        Ok(Embedder { tokenizer, model, dir: dir.to_path_buf(), model_id })
    }

    /// Whether `dir` looks like an embedder folder (has a manifest).
    pub fn present(dir: &Path) -> bool {
        EmbedAssets::present(dir)
    }

    /// A short name of the exact model (its file's hash): stored beside
    /// each vector so that a changed model re-embeds instead of mixing.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The folder the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The token ids the model sees for `text`: `[CLS] ... [SEP]`, cut to
    /// [`MAX_TOKENS`] with the `[SEP]` kept.
    pub fn token_ids(&self, text: &str) -> Result<Vec<i64>, EmbedError> {
        let enc = self
            .tokenizer
            .encode(clip(text, MAX_TEXT_BYTES))
            .map_err(|e| EmbedError::Tokenizer { reason: e.to_string() })?;
        let mut ids = enc.ids;
        if ids.len() > MAX_TOKENS {
            let sep = ids.last().copied().unwrap_or_default();
            ids.truncate(MAX_TOKENS - 1);
            ids.push(sep);
        }
        Ok(ids)
    }

    /// The embedding of `text`: [`EMBED_DIM`] values with unit L2 norm
    /// (the graph normalises; this checks the output is finite and sized).
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let ids = self.token_ids(text)?;
        let v = self.model.run(&ids)?;
        if v.len() != EMBED_DIM {
            return Err(EmbedError::Output { reason: format!("{} values, expected {EMBED_DIM}", v.len()) });
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(EmbedError::Output { reason: "non-finite value".into() });
        }
        Ok(v)
    }

    /// [`Embedder::embed`] quantized for storage and int8 search.
    pub fn embed_i8(&self, text: &str) -> Result<QuantizedVec, EmbedError> {
        Ok(QuantizedVec::quantize(&self.embed(text)?))
    }
}

/// Cosine similarity of two vectors (0 when either is all zeros).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests;
