//! Placeholder: JSON step list.
