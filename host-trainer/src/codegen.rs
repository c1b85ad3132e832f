//! `mote export --rust`: a Rust module with the model's weights as `const` arrays and a
//! `predict` that calls the integer kernels directly.

use crate::{Error, Result};

/// The Rust module for the `.mote` model in `bytes`.
pub fn rust_module(bytes: &[u8]) -> Result<String> {
    let _ = mote_core::format::ModelView::from_bytes(bytes)?;
    Err(Error::Mismatch {
        detail: "export --rust: code generation is not built yet".into(),
    })
}
