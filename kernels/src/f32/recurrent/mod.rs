//! Recurrent layers over whole sequences — simple RNN, LSTM, GRU — forward, and
//! backward through time.
//!
//! | buffer | layout |
//! |---|---|
//! | input | `[batch][steps][inputs]` |
//! | input weights | `[G·hidden][inputs]`, gate blocks in the layer's documented order |
//! | recurrent weights | `[G·hidden][hidden]` |
//! | bias, recurrent bias | `[G·hidden]` each, optional |
//! | output | `[batch][steps][hidden]` (return sequences) or `[batch][hidden]` |
//! | initial / final state | `[batch][hidden]` (`h`; an LSTM also has `c`) |
//! | saved (forward → backward) | `*::saved_len`, time-major |
//!
//! `G` is 4 for an LSTM, 3 for a GRU, 1 for a simple RNN. Stacked layers chain outputs
//! to inputs (return sequences below the top); a bidirectional layer is two layers, one
//! with [`Params::reversed`], whose outputs are concatenated. Forward saves what
//! backward needs in a caller buffer instead of recomputing it; backward accumulates
//! (`+=`) into every gradient buffer given, like every other backward kernel.

pub mod gru;
pub mod lstm;
mod params;
pub mod rnn;
mod sequence;

pub use params::{Params, StateMut, StateRef, WeightGrads, Weights};
