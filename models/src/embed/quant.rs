//! The storage form of an embedding: int8 values and one scale per vector
//! (symmetric, from [`crate::kernels::quantize_row_i8`]), a quarter of the
//! f32 size and what the int8 top-k kernel searches. A unit vector keeps a
//! cosine above 0.999 with its quantized form, so ranking barely moves.

use crate::kernels::quantize_row_i8;

/// An int8-quantized vector: `values[i] as f32 * scale` approximates the
/// original `i`-th value.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedVec {
    pub values: Vec<i8>,
    pub scale: f32,
}

impl QuantizedVec {
    /// Quantizes `v` (NaN becomes 0, see [`quantize_row_i8`]).
    pub fn quantize(v: &[f32]) -> QuantizedVec {
        let (values, scale) = quantize_row_i8(v);
        QuantizedVec { values, scale }
    }

    /// The approximate f32 vector.
    pub fn dequantize(&self) -> Vec<f32> {
        self.values.iter().map(|&q| f32::from(q) * self.scale).collect()
    }

    /// The values as bytes (two's complement), for a database BLOB.
    pub fn value_bytes(&self) -> Vec<u8> {
        self.values.iter().map(|&q| q.to_ne_bytes()[0]).collect()
    }

    /// The inverse of [`QuantizedVec::value_bytes`]; `None` when `scale` is
    /// not finite or negative (a corrupt row).
    pub fn from_bytes(bytes: &[u8], scale: f32) -> Option<QuantizedVec> {
        if !scale.is_finite() || scale < 0.0 {
            return None;
        }
        Some(QuantizedVec { values: bytes.iter().map(|&b| i8::from_ne_bytes([b])).collect(), scale })
    }

    /// Approximate dot product with another quantized vector.
    pub fn dot(&self, other: &QuantizedVec) -> f32 {
        let d: i32 = self.values.iter().zip(&other.values).map(|(&a, &b)| i32::from(a) * i32::from(b)).sum();
        d as f32 * self.scale * other.scale
    }
}
