//! Tests against the shipped `models/embed/` folder: the real model must
//! rank related phrases above unrelated ones, and broken folders must give
//! typed errors.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::*;

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("embed")
}

fn embedder() -> &'static Embedder {
    static E: OnceLock<Embedder> = OnceLock::new();
    E.get_or_init(|| Embedder::load(&shipped()).expect("models/embed loads"))
}

fn sim(a: &str, b: &str) -> f32 {
    let e = embedder();
    cosine(&e.embed(a).unwrap(), &e.embed(b).unwrap())
}

#[test]
fn embeddings_are_unit_length_and_deterministic() {
    let e = embedder();
    let v = e.embed("red ball").unwrap();
    assert_eq!(v.len(), EMBED_DIM);
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
    assert_eq!(v, e.embed("red ball").unwrap());
}

#[test]
fn related_phrases_rank_above_unrelated_ones() {
    // Each query, its paraphrase, and distractors that share no meaning.
    let cases = [
        ("red ball", "a crimson ball", ["the kitchen", "charge the battery", "quiet mode at night"]),
        ("the kitchen", "where we cook food", ["a red ball", "be silent after 10 pm", "a green bottle"]),
        ("be quiet at night", "no noise after 10 pm", ["a red ball", "the garage door", "drive forward"]),
    ];
    for (q, related, others) in cases {
        let good = sim(q, related);
        for o in others {
            let bad = sim(q, o);
            assert!(good > bad + 0.1, "{q:?}: {related:?} {good} vs {o:?} {bad}");
        }
    }
    // The brain's fine-tuned encoder put these at 0.84; the original model does not.
    assert!(sim("red ball", "blue cup") < 0.7);
}

#[test]
fn quantized_vectors_keep_the_ranking() {
    let e = embedder();
    let q = e.embed_i8("red ball").unwrap();
    let near = e.embed_i8("a crimson ball").unwrap();
    let far = e.embed_i8("the kitchen").unwrap();
    assert!(q.dot(&near) > q.dot(&far));
    let f = e.embed("red ball").unwrap();
    assert!(cosine(&f, &q.dequantize()) > 0.999);
    let back = QuantizedVec::from_bytes(&q.value_bytes(), q.scale).unwrap();
    assert_eq!(back, q);
    assert!(QuantizedVec::from_bytes(&q.value_bytes(), f32::NAN).is_none());
}

#[test]
fn odd_and_long_text_embeds_without_error() {
    let e = embedder();
    let long = "the robot drove around the house ".repeat(500);
    assert_eq!(e.token_ids(&long).unwrap().len(), MAX_TOKENS);
    for s in ["", "\u{0}\u{7f}", "🤖🤖", "寿司を食べる", long.as_str(), &"é".repeat(10_000)] {
        let v = e.embed(s).unwrap();
        assert_eq!(v.len(), EMBED_DIM);
    }
}

#[test]
fn broken_folders_are_typed_errors() {
    let d = std::env::temp_dir().join(format!("embed-assets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    assert!(!Embedder::present(&d));
    assert!(matches!(Embedder::load(&d), Err(EmbedError::MissingFile { .. })));
    let tok = std::fs::read(shipped().join("tokenizer.json")).unwrap();
    std::fs::write(d.join("tokenizer.json"), &tok).unwrap();
    std::fs::write(d.join("model.onnx"), b"not onnx").unwrap();
    let manifest = |model_sha: &str| {
        serde_json::json!({"files": {
            "model.onnx": {"sha256": model_sha, "bytes": 8},
            "tokenizer.json": {"sha256": crate::brain::assets::sha256_hex(&tok), "bytes": tok.len()},
        }})
        .to_string()
    };
    std::fs::write(d.join("manifest.json"), manifest(&"0".repeat(64))).unwrap();
    assert!(matches!(Embedder::load(&d), Err(EmbedError::HashMismatch { .. })));
    std::fs::write(d.join("manifest.json"), manifest(&crate::brain::assets::sha256_hex(b"not onnx"))).unwrap();
    assert!(matches!(Embedder::load(&d), Err(EmbedError::Model { .. })));
    std::fs::write(d.join("manifest.json"), "{").unwrap();
    assert!(matches!(Embedder::load(&d), Err(EmbedError::Manifest { .. })));
    std::fs::remove_dir_all(&d).unwrap();
}
