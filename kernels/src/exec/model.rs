//! A model ready to run: a validated `.mote` file.

use mote_core::Result;
use mote_core::format::{ModelView, TensorInfo};

/// A `.mote` model, validated once and borrowed from its bytes (which may be a
/// `&'static` array in flash; see [`mote_core::include_model!`]).
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    view: ModelView<'a>,
}

impl<'a> Model<'a> {
    /// Validates `bytes` (see [`ModelView::from_bytes`] for everything checked).
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        Ok(Self {
            view: ModelView::from_bytes(bytes)?,
        })
    }

    /// The validated records.
    pub fn view(&self) -> &ModelView<'a> {
        &self.view
    }

    /// Bytes of arena an [`Interpreter`](super::Interpreter) needs (plus up to 15 for
    /// alignment when the arena does not start at a 16-byte boundary).
    pub fn arena_bytes(&self) -> usize {
        self.view.arena_bytes()
    }

    /// The input tensor's record.
    pub fn input(&self) -> Result<TensorInfo<'a>> {
        self.view.input()
    }

    /// The output tensor's record.
    pub fn output(&self) -> Result<TensorInfo<'a>> {
        self.view.output()
    }
}
