//! Softmax along one axis: `yᵢ = e^(xᵢ − m) / Σⱼ e^(xⱼ − m)` with `m` the maximum along
//! the axis, so no exponential overflows (the result is the same as without `m`).
//!
//! The tensor is seen as `[outer][axis][inner]` ([`Axis`]); each of the
//! `outer·inner` lanes is normalised on its own. Backward needs only the output:
//! `∂L/∂xᵢ = yᵢ·(gᵢ − Σⱼ gⱼ·yⱼ)`. No scratch memory.

pub use super::Axis;
use mote_core::{Result, error::check_len};

/// Module convention: the axis is the layer's parameters.
pub type Params = Axis;

/// Forward: `output` = softmax of `input` along the axis (both `outer·axis·inner`).
pub fn forward(params: &Axis, input: &[f32], output: &mut [f32]) -> Result<()> {
    let len = params.checked_len()?;
    check_len("softmax: input", len, input.len())?;
    check_len("softmax: output", len, output.len())?;
    let step = params.inner;
    params.for_each_lane(input, output, |x, y, i| {
        let max = x
            .iter()
            .skip(i)
            .step_by(step)
            .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let mut sum = 0.0f32;
        for (o, &v) in y
            .iter_mut()
            .skip(i)
            .step_by(step)
            .zip(x.iter().skip(i).step_by(step))
        {
            *o = crate::math::exp(v - max);
            sum += *o;
        }
        let scale = 1.0 / sum;
        for o in y.iter_mut().skip(i).step_by(step) {
            *o *= scale;
        }
    });
    Ok(())
}

/// Backward: `grad_input += y·(grad_output − Σ_axis grad_output·y)` per lane, with
/// `output` (= y) from [`forward`] (all three slices `outer·axis·inner`).
pub fn backward(
    params: &Axis,
    output: &[f32],
    grad_output: &[f32],
    grad_input: &mut [f32],
) -> Result<()> {
    let len = params.checked_len()?;
    check_len("softmax: output", len, output.len())?;
    check_len("softmax: grad_output", len, grad_output.len())?;
    check_len("softmax: grad_input", len, grad_input.len())?;
    let step = params.inner;
    let block = params.axis * params.inner;
    for ((y, g), d) in output
        .chunks_exact(block)
        .zip(grad_output.chunks_exact(block))
        .zip(grad_input.chunks_exact_mut(block))
    {
        for i in 0..step {
            let dot: f32 = y
                .iter()
                .skip(i)
                .step_by(step)
                .zip(g.iter().skip(i).step_by(step))
                .map(|(&a, &b)| a * b)
                .sum();
            for ((d, &y), &g) in d
                .iter_mut()
                .skip(i)
                .step_by(step)
                .zip(y.iter().skip(i).step_by(step))
                .zip(g.iter().skip(i).step_by(step))
            {
                *d += y * (g - dot);
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
    fn lanes_sum_to_one_and_large_inputs_are_stable() {
        // [2][3][2]: softmax along the middle axis.
        let p = Axis {
            outer: 2,
            axis: 3,
            inner: 2,
        };
        let x = [
            1.0, 1000.0, 2.0, 1001.0, 3.0, 1002.0, 0.0, -5.0, 0.0, -5.0, 0.0, -5.0,
        ];
        let mut y = [0.0; 12];
        forward(&p, &x, &mut y).unwrap();
        assert!(y.iter().all(|v| v.is_finite()));
        for o in 0..2 {
            for i in 0..2 {
                let s: f32 = (0..3).map(|a| y[(o * 3 + a) * 2 + i]).sum();
                assert!((s - 1.0).abs() < 1e-6);
            }
        }
        // Lanes 0 and 1 of the first block are the same softmax (shifted inputs).
        assert!((y[0] - y[1]).abs() < 1e-6 && (y[4] - 0.665_240_9).abs() < TOL);
        assert!((y[6] - 1.0 / 3.0).abs() < 1e-6);
        // Σ grad_input = 0 for any upstream gradient.
        let mut d = [0.0; 12];
        backward(
            &p,
            &y,
            &[0.3, -1.0, 2.0, 0.5, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
            &mut d,
        )
        .unwrap();
        assert!(d.iter().sum::<f32>().abs() < 1e-6);
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let p = Axis::last(2, 2);
        assert!(forward(&p, &[0.0; 4], &mut [0.0; 3]).is_err());
        assert!(backward(&p, &[0.0; 4], &[0.0; 4], &mut [0.0; 5]).is_err());
        assert!(forward(&Axis::last(2, 0), &[], &mut []).is_err());
    }
}
