//! Placeholder: pretty-printer.
