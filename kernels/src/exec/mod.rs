//! The executor: runs a `.mote` model (see `mote_core::format` and `docs/format.md`)
//! inside a caller-provided arena, with no allocation — the same integer kernels the
//! host evaluates with, so device and host agree bit for bit.
//!
//! [`Model::from_bytes`] validates the file once; [`Interpreter::new`] checks the arena
//! is large enough (the size the exporter's planner computed) and
//! [`Interpreter::invoke`] runs the operators in order.

mod interpreter;
mod lstm;
mod model;
mod ops;
mod regions;

pub use interpreter::Interpreter;
pub use lstm::{lstm_s8, lstm_s16};
pub use model::Model;
pub use regions::{ArenaSplit, i8s, i8s_mut, i16s, i16s_mut};
