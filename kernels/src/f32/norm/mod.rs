//! Normalisation layers: [`batch_norm`] (per channel over the batch, with running
//! statistics and folding into the preceding layer) and [`layer_norm`] (per row over
//! the last axis).
//!
//! Both normalise `x̂ = (x − μ)·σ̂⁻¹` with `σ̂ = √(σ² + ε)` and the *biased* variance
//! `σ² = mean((x − μ)²)`, then scale and shift: `y = γ·x̂ + β`.

pub mod batch_norm;
pub mod layer_norm;

/// The learned per-feature scale `γ` (gamma) and shift `β` (beta) of a normalisation
/// layer, each as long as the normalised axis (channels or features). Pass ones and
/// zeros for a layer without them.
#[derive(Debug, Clone, Copy)]
pub struct Affine<'a> {
    /// Scale γ, one per channel or feature.
    pub gamma: &'a [f32],
    /// Shift β, one per channel or feature.
    pub beta: &'a [f32],
}

/// The gradients a normalisation backward kernel accumulates (`+=`) into; `None` for
/// those the caller does not want.
#[derive(Debug, Default)]
pub struct Grads<'a> {
    /// Gradient for the input, input-shaped.
    pub input: Option<&'a mut [f32]>,
    /// Gradient for γ, one per channel or feature.
    pub gamma: Option<&'a mut [f32]>,
    /// Gradient for β, one per channel or feature.
    pub beta: Option<&'a mut [f32]>,
}

/// Checks `epsilon` (finite, > 0).
fn check_epsilon(at: &'static str, epsilon: f32) -> mote_core::Result<()> {
    if epsilon.is_finite() && epsilon > 0.0 {
        Ok(())
    } else {
        Err(mote_core::Error::new(
            mote_core::ErrorKind::InvalidFloat,
            at,
        ))
    }
}

/// `a·b`, or an `Overflow` error at `at`.
fn mul(at: &'static str, a: usize, b: usize) -> mote_core::Result<usize> {
    a.checked_mul(b)
        .ok_or(mote_core::Error::new(mote_core::ErrorKind::Overflow, at))
}

/// Checks the lengths of the optional gradient buffers.
fn check_grads(
    at: [&'static str; 3],
    grads: &Grads<'_>,
    input_len: usize,
    params_len: usize,
) -> mote_core::Result<()> {
    use mote_core::error::check_len;
    if let Some(g) = &grads.input {
        check_len(at[0], input_len, g.len())?;
    }
    if let Some(g) = &grads.gamma {
        check_len(at[1], params_len, g.len())?;
    }
    if let Some(g) = &grads.beta {
        check_len(at[2], params_len, g.len())?;
    }
    Ok(())
}
