//! What the `mote` subcommands do, as library functions the binary calls (and tests
//! can call): each returns the text to print or an error.

pub mod activations;
pub mod eval;
pub mod export;
pub mod gradcheck;
pub mod input;
pub mod inspect;
pub mod predict;
pub mod summary;
