//! Training runs: a spec and a data set in, a trained and checkpointed model out.
//!
//! [`run`] loads the data, builds (or resumes, or fine-tunes) the model, and for every
//! epoch shuffles with a seed derived from the run's seed and the epoch number, steps
//! the optimiser over mini-batches on all threads, evaluates on the validation set,
//! advances the schedule, writes `last.ckpt` (and `best.ckpt` on improvement),
//! `history.csv` and `curves.svg`, and finally evaluates on the test set and writes
//! `metrics.json`. Because every random draw of an epoch derives from (seed, epoch,
//! batch), resuming from a checkpoint continues exactly where the run stopped.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod evaluate;
pub mod objective;
pub mod optimizer;
pub mod parallel;
pub mod session;

pub use config::Spec;
pub use session::{Options, Outcome, run};
