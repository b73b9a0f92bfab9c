//! Serial co-processor link (placeholder).
