//! Element-wise activation functions, forward and backward, and the
//! [`softmax`] / [`log_softmax`] normalisations along an axis.
//!
//! [`forward`] maps `input` to `output` value by value (any shape: the functions are
//! element-wise); [`backward`] accumulates `grad_input += f′(input)·grad_output`, taking
//! both the input and the output of the forward pass so that each derivative uses the
//! cheaper of the two (sigmoid and tanh from the output, the others from the input).
//! [`forward_in_place`] serves inference, where the input is not kept.
//!
//! Transcendental functions go through [`crate::math`] (libm, or micromath's `exp` with
//! the `fast-math` feature). At a kink (ReLU at 0, ReLU6 at 0 and 6, hard-sigmoid and
//! hard-swish at ±3) the derivative is the one PyTorch uses; see each variant.
//!
//! ```
//! use mote_kernels::f32::activation::{self, Activation};
//!
//! let x = [-1.0, 0.5, 2.0];
//! let mut y = [0.0; 3];
//! activation::forward(&Activation::Relu6, &x, &mut y)?;
//! assert_eq!(y, [0.0, 0.5, 2.0]);
//! let mut grad_x = [0.0; 3];
//! activation::backward(&Activation::Relu6, &x, &y, &[1.0; 3], &mut grad_x)?;
//! assert_eq!(grad_x, [0.0, 1.0, 1.0]);
//! # Ok::<(), mote_core::Error>(())
//! ```

pub mod log_softmax;
pub mod softmax;

use crate::math;
use mote_core::{Error, ErrorKind, Result, error::check_len};
use mote_simd::map::{Act, act_in_place};

/// An element-wise activation function.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Activation {
    /// `x` (no activation); derivative 1.
    Identity,
    /// `max(x, 0)`; derivative 1 for `x > 0`, else 0.
    Relu,
    /// `min(max(x, 0), 6)`; derivative 1 for `0 < x < 6`, else 0.
    Relu6,
    /// `x` for `x > 0`, else `alpha·x` (PyTorch default 0.01, Keras 0.3); derivative 1
    /// for `x > 0`, else `alpha`. `alpha` must be finite.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// `x` for `x > 0`, else `alpha·(eˣ − 1)` (default 1); derivative 1 for `x > 0`,
    /// else `alpha·eˣ` (= output + alpha). `alpha` must be finite.
    Elu {
        /// Scale of the negative part.
        alpha: f32,
    },
    /// `1/(1 + e⁻ˣ)`; derivative `y·(1 − y)` from the output.
    Sigmoid,
    /// `tanh(x)`; derivative `1 − y²` from the output.
    Tanh,
    /// GELU, exact (erf) form: `x·Φ(x) = ½·x·(1 + erf(x/√2))`; derivative
    /// `Φ(x) + x·φ(x)` with `φ` the standard normal density.
    Gelu,
    /// GELU, tanh approximation (PyTorch `approximate="tanh"`, the original BERT/GPT-2
    /// one): `½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, differentiated exactly.
    GeluTanh,
    /// SiLU / swish: `x·σ(x)`; derivative `σ(x)·(1 + x·(1 − σ(x)))`.
    Silu,
    /// Hard sigmoid, PyTorch's definition `relu6(x + 3)/6` (Keras 3 uses the same;
    /// Keras 2's was `clip(0.2·x + 0.5, 0, 1)`); derivative 1/6 for `−3 < x < 3`, else 0.
    HardSigmoid,
    /// Hard swish `x·relu6(x + 3)/6` (MobileNetV3); derivative 0 for `x < −3`,
    /// `(2x + 3)/6` for `−3 ≤ x ≤ 3`, 1 for `x > 3` (PyTorch's).
    HardSwish,
}

/// Module convention: the activation is the layer's parameters.
pub type Params = Activation;

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_CUBIC: f32 = 0.044_715;
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

impl Activation {
    /// Checks the parameters (the slopes of the leaky ReLU and ELU are finite).
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::LeakyRelu { alpha } | Self::Elu { alpha } if !alpha.is_finite() => {
                Err(Error::new(ErrorKind::InvalidFloat, "activation: alpha"))
            }
            _ => Ok(()),
        }
    }
}

#[inline]
fn relu6(x: f32) -> f32 {
    x.clamp(0.0, 6.0)
}

#[inline]
fn gelu_tanh_inner(x: f32) -> f32 {
    SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)
}

/// Calls `$body` with `$f` bound to the scalar function of `$act`, one closure per
/// variant so that the loop inside `$body` is monomorphised (no match per value).
macro_rules! with_function {
    ($act:expr, |$f:ident| $body:expr) => {
        match $act {
            Activation::Identity => {
                let $f = |x: f32| x;
                $body
            }
            Activation::Relu => {
                let $f = |x: f32| x.max(0.0);
                $body
            }
            Activation::Relu6 => {
                let $f = relu6;
                $body
            }
            Activation::LeakyRelu { alpha } => {
                let $f = move |x: f32| if x > 0.0 { x } else { alpha * x };
                $body
            }
            Activation::Elu { alpha } => {
                let $f = move |x: f32| if x > 0.0 { x } else { alpha * math::expm1(x) };
                $body
            }
            Activation::Sigmoid => {
                let $f = math::sigmoid;
                $body
            }
            Activation::Tanh => {
                let $f = math::tanh;
                $body
            }
            Activation::Gelu => {
                let $f = |x: f32| 0.5 * x * (1.0 + math::erf(x * core::f32::consts::FRAC_1_SQRT_2));
                $body
            }
            Activation::GeluTanh => {
                let $f = |x: f32| 0.5 * x * (1.0 + math::tanh(gelu_tanh_inner(x)));
                $body
            }
            Activation::Silu => {
                let $f = |x: f32| x * math::sigmoid(x);
                $body
            }
            Activation::HardSigmoid => {
                let $f = |x: f32| relu6(x + 3.0) * (1.0 / 6.0);
                $body
            }
            Activation::HardSwish => {
                let $f = |x: f32| x * relu6(x + 3.0) * (1.0 / 6.0);
                $body
            }
        }
    };
}

impl Activation {
    /// The piecewise-linear activations as [`mote_simd::map::Act`], whose vector paths
    /// give the same values (ReLU: `+0` for `−0` and NaN inputs; the clamp and the leaky
    /// ReLU bit for bit); `None` for the others.
    fn piecewise_linear(&self) -> Option<Act> {
        match *self {
            Self::Identity => Some(Act::Identity),
            Self::Relu => Some(Act::Relu),
            Self::Relu6 => Some(Act::RELU6),
            Self::LeakyRelu { alpha } => Some(Act::LeakyRelu { slope: alpha }),
            _ => None,
        }
    }
}

/// Forward: `output[i] = f(input[i])` (equal lengths). The piecewise-linear functions
/// (identity, ReLU, ReLU6, leaky ReLU) run on [`mote_simd::map::act_in_place`]'s vector
/// paths.
pub fn forward(act: &Activation, input: &[f32], output: &mut [f32]) -> Result<()> {
    act.validate()?;
    check_len("activation: output", input.len(), output.len())?;
    if let Some(a) = act.piecewise_linear() {
        output.copy_from_slice(input);
        return act_in_place(output, a);
    }
    with_function!(*act, |f| {
        for (y, &x) in output.iter_mut().zip(input) {
            *y = f(x);
        }
    });
    Ok(())
}

/// Forward in place: `data[i] = f(data[i])` (the piecewise-linear functions as for
/// [`forward`]).
pub fn forward_in_place(act: &Activation, data: &mut [f32]) -> Result<()> {
    act.validate()?;
    if let Some(a) = act.piecewise_linear() {
        return act_in_place(data, a);
    }
    with_function!(*act, |f| {
        for v in data.iter_mut() {
            *v = f(*v);
        }
    });
    Ok(())
}

/// Backward: `grad_input[i] += f′(input[i])·grad_output[i]`, where `output` is what
/// [`forward`] computed from `input` (all four slices of equal length).
pub fn backward(
    act: &Activation,
    input: &[f32],
    output: &[f32],
    grad_output: &[f32],
    grad_input: &mut [f32],
) -> Result<()> {
    act.validate()?;
    let n = input.len();
    check_len("activation: output", n, output.len())?;
    check_len("activation: grad_output", n, grad_output.len())?;
    check_len("activation: grad_input", n, grad_input.len())?;
    // Derivative from (x, y) for each variant; one monomorphised loop each.
    macro_rules! apply {
        (|$x:ident, $y:ident| $d:expr) => {
            for (((gi, &go), &$x), &$y) in grad_input
                .iter_mut()
                .zip(grad_output)
                .zip(input)
                .zip(output)
            {
                let _ = (&$x, &$y);
                *gi += go * $d;
            }
        };
    }
    match *act {
        Activation::Identity => apply!(|x, y| 1.0),
        Activation::Relu => apply!(|x, y| if x > 0.0 { 1.0 } else { 0.0 }),
        Activation::Relu6 => apply!(|x, y| if x > 0.0 && x < 6.0 { 1.0 } else { 0.0 }),
        Activation::LeakyRelu { alpha } => apply!(|x, y| if x > 0.0 { 1.0 } else { alpha }),
        Activation::Elu { alpha } => apply!(|x, y| if x > 0.0 { 1.0 } else { y + alpha }),
        Activation::Sigmoid => apply!(|x, y| y * (1.0 - y)),
        Activation::Tanh => apply!(|x, y| 1.0 - y * y),
        Activation::Gelu => apply!(|x, y| {
            let cdf = 0.5 * (1.0 + math::erf(x * core::f32::consts::FRAC_1_SQRT_2));
            cdf + x * FRAC_1_SQRT_2PI * math::exp(-0.5 * x * x)
        }),
        Activation::GeluTanh => apply!(|x, y| {
            let t = math::tanh(gelu_tanh_inner(x));
            let dinner = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * x * x);
            0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dinner
        }),
        Activation::Silu => apply!(|x, y| {
            let s = math::sigmoid(x);
            s * (1.0 + x * (1.0 - s))
        }),
        Activation::HardSigmoid => {
            apply!(|x, y| if x > -3.0 && x < 3.0 { 1.0 / 6.0 } else { 0.0 })
        }
        Activation::HardSwish => apply!(|x, y| if x < -3.0 {
            0.0
        } else if x <= 3.0 {
            (2.0 * x + 3.0) * (1.0 / 6.0)
        } else {
            1.0
        }),
    }
    Ok(())
}

/// Sizes of a tensor seen as `[outer][axis][inner]`, for the functions that work along
/// one axis ([`softmax`], [`log_softmax`]): element `(o, a, i)` is at
/// `(o·axis + a)·inner + i`.
///
/// For the last axis of a `[rows][cols]` or NHWC tensor, `inner = 1` ([`Axis::last`]);
/// for NHWC along the height, `outer = N`, `axis = H`, `inner = W·C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Axis {
    /// Product of the dimensions before the axis.
    pub outer: usize,
    /// Length of the axis.
    pub axis: usize,
    /// Product of the dimensions after the axis.
    pub inner: usize,
}

impl Axis {
    /// The last axis of a `[rows][cols]` tensor: `outer = rows`, `axis = cols`,
    /// `inner = 1`.
    pub const fn last(rows: usize, cols: usize) -> Self {
        Self {
            outer: rows,
            axis: cols,
            inner: 1,
        }
    }

    /// Validates the sizes (all non-zero) and returns the element count.
    pub fn checked_len(&self) -> Result<usize> {
        use mote_core::error::check_nonzero;
        check_nonzero("axis: outer", self.outer)?;
        check_nonzero("axis: axis", self.axis)?;
        check_nonzero("axis: inner", self.inner)?;
        self.outer
            .checked_mul(self.axis)
            .and_then(|v| v.checked_mul(self.inner))
            .ok_or(Error::new(ErrorKind::Overflow, "axis: length"))
    }

    /// Calls `f(lane_in, lane_out, offset)` for every lane along the axis, where a lane
    /// is the block `[axis·inner]` of one `outer` index and `offset` the `inner` index.
    fn for_each_lane<A, B>(&self, a: &[A], b: &mut [B], mut f: impl FnMut(&[A], &mut [B], usize)) {
        let block = self.axis * self.inner;
        for (x, y) in a.chunks_exact(block).zip(b.chunks_exact_mut(block)) {
            for i in 0..self.inner {
                f(x, y, i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_at_known_points() {
        let x = [-4.0, -1.0, 0.0, 1.0, 4.0, 7.0];
        let cases: [(Activation, [f32; 6]); 6] = [
            (Activation::Relu, [0.0, 0.0, 0.0, 1.0, 4.0, 7.0]),
            (Activation::Relu6, [0.0, 0.0, 0.0, 1.0, 4.0, 6.0]),
            (
                Activation::LeakyRelu { alpha: 0.5 },
                [-2.0, -0.5, 0.0, 1.0, 4.0, 7.0],
            ),
            (
                Activation::HardSigmoid,
                [0.0, 1.0 / 3.0, 0.5, 2.0 / 3.0, 1.0, 1.0],
            ),
            (
                Activation::HardSwish,
                [0.0, -1.0 / 3.0, 0.0, 2.0 / 3.0, 4.0, 7.0],
            ),
            (Activation::Identity, x),
        ];
        for (act, want) in cases {
            let mut y = [0.0; 6];
            forward(&act, &x, &mut y).unwrap();
            for (g, w) in y.iter().zip(want) {
                assert!((g - w).abs() < 1e-6, "{act:?}: {y:?}");
            }
            let mut z = x;
            forward_in_place(&act, &mut z).unwrap();
            assert_eq!(y, z);
        }
        let mut y = [0.0; 6];
        forward(&Activation::Gelu, &x, &mut y).unwrap();
        assert!((y[3] - 0.841_344_7).abs() < 1e-6);
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let bad = Activation::Elu { alpha: f32::NAN };
        assert!(forward(&bad, &[1.0], &mut [0.0]).is_err());
        assert!(forward(&Activation::Relu, &[1.0], &mut [0.0; 2]).is_err());
        let r = backward(&Activation::Relu, &[1.0], &[1.0], &[1.0], &mut [0.0; 2]);
        assert!(r.is_err());
        assert!(Axis::last(0, 3).checked_len().is_err());
        let huge = Axis {
            outer: usize::MAX,
            axis: 2,
            inner: 1,
        };
        assert!(huge.checked_len().is_err());
    }
}
