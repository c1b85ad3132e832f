//! Log-softmax along one axis: `yᵢ = xᵢ − m − ln Σⱼ e^(xⱼ − m)` with `m` the maximum
//! along the axis (no overflow, and no `ln 0` for very negative inputs).
//!
//! The tensor is seen as `[outer][axis][inner]` ([`Axis`]). Backward needs only the
//! output: `∂L/∂xᵢ = gᵢ − e^(yᵢ)·Σⱼ gⱼ`. Pair it with a negative log-likelihood loss for
//! a numerically sound cross-entropy. No scratch memory.

pub use super::Axis;
use crate::math;
use mote_core::{Result, error::check_len};

/// Module convention: the axis is the layer's parameters.
pub type Params = Axis;

/// Forward: `output` = log-softmax of `input` along the axis (both
/// `outer·axis·inner`).
pub fn forward(params: &Axis, input: &[f32], output: &mut [f32]) -> Result<()> {
    let len = params.checked_len()?;
    check_len("log_softmax: input", len, input.len())?;
    check_len("log_softmax: output", len, output.len())?;
    let step = params.inner;
    params.for_each_lane(input, output, |x, y, i| {
        let max = x
            .iter()
            .skip(i)
            .step_by(step)
            .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let sum: f32 = x
            .iter()
            .skip(i)
            .step_by(step)
            .map(|&v| math::exp(v - max))
            .sum();
        // (x − m) − ln Σ rather than x − (m + ln Σ): x − m is exact near the maximum
        // (Sterbenz), so large offsets cost no precision.
        let lse = math::ln(sum);
        for (o, &v) in y
            .iter_mut()
            .skip(i)
            .step_by(step)
            .zip(x.iter().skip(i).step_by(step))
        {
            *o = (v - max) - lse;
        }
    });
    Ok(())
}

/// Backward: `grad_input += grad_output − e^y·Σ_axis grad_output` per lane, with
/// `output` (= y) from [`forward`] (all three slices `outer·axis·inner`).
pub fn backward(
    params: &Axis,
    output: &[f32],
    grad_output: &[f32],
    grad_input: &mut [f32],
) -> Result<()> {
    let len = params.checked_len()?;
    check_len("log_softmax: output", len, output.len())?;
    check_len("log_softmax: grad_output", len, grad_output.len())?;
    check_len("log_softmax: grad_input", len, grad_input.len())?;
    let step = params.inner;
    let block = params.axis * params.inner;
    for ((y, g), d) in output
        .chunks_exact(block)
        .zip(grad_output.chunks_exact(block))
        .zip(grad_input.chunks_exact_mut(block))
    {
        for i in 0..step {
            let sum: f32 = g.iter().skip(i).step_by(step).sum();
            for ((d, &y), &g) in d
                .iter_mut()
                .skip(i)
                .step_by(step)
                .zip(y.iter().skip(i).step_by(step))
                .zip(g.iter().skip(i).step_by(step))
            {
                *d += g - math::exp(y) * sum;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tolerance of values computed through `exp`: micromath's is 2.4e−3 off with
    /// `fast-math`.
    const TOL: f32 = if cfg!(feature = "fast-math") {
        5e-3
    } else {
        1e-6
    };

    #[test]
    fn exp_of_output_is_softmax() {
        let p = Axis::last(1, 3);
        let x = [-1000.0, 0.0, 1.0];
        let mut y = [0.0; 3];
        forward(&p, &x, &mut y).unwrap();
        assert!(y.iter().all(|v| v.is_finite()));
        assert!((y[2] - -0.313_261_7).abs() < TOL);
        let mut d = [0.0; 3];
        backward(&p, &y, &[0.0, 0.0, 1.0], &mut d).unwrap();
        assert!((d[2] - (1.0 - 0.731_058_6)).abs() < TOL);
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let p = Axis::last(2, 2);
        assert!(forward(&p, &[0.0; 3], &mut [0.0; 4]).is_err());
        assert!(backward(&p, &[0.0; 4], &[0.0; 3], &mut [0.0; 4]).is_err());
    }
}
