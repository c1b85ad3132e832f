//! Naive f64 reference implementations, the ground truth the kernels are tested
//! against: written for clarity (direct loops over the definitions), never for speed.

pub mod attention;
pub mod layers;
pub mod linear;
pub mod recurrent;
pub mod train;
