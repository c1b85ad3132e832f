//! f64 references of the non-linear layers: pooling, upsampling, batch and layer
//! normalisation, activations, softmax, element-wise operations and concatenation.
//!
//! Each is a direct loop over the definition, taking the kernel's own parameter struct
//! so that tests call both the same way. Output sizes and padding come from
//! `mote_core::padding` (tested on its own); everything else is recomputed here.

use mote_core::padding::conv_output;
use mote_kernels::f32::activation::{Activation, Axis};
use mote_kernels::f32::elementwise::{Broadcast, Op};
use mote_kernels::f32::{elementwise, pool, upsample};

/// Pooling over NHWC `x`; `None` when the window does not fit (the kernel must fail).
/// Padding taps are skipped; average divides by the in-bounds count; an empty window
/// gives 0.
pub fn pool(p: &pool::Params, x: &[f64]) -> Option<Vec<f64>> {
    let rows = conv_output(p.height, p.window_h, p.padding_h).ok()?;
    let cols = conv_output(p.width, p.window_w, p.padding_w).ok()?;
    let (h, w, c) = (p.height as isize, p.width as isize, p.channels);
    let mut out = Vec::new();
    for n in 0..p.batch {
        for oy in 0..rows.len {
            for ox in 0..cols.len {
                for ch in 0..c {
                    let mut taps = Vec::new();
                    for ky in 0..p.window_h.size {
                        let iy = (oy * p.window_h.stride + ky * p.window_h.dilation) as isize
                            - rows.pad_before as isize;
                        for kx in 0..p.window_w.size {
                            let ix = (ox * p.window_w.stride + kx * p.window_w.dilation) as isize
                                - cols.pad_before as isize;
                            if (0..h).contains(&iy) && (0..w).contains(&ix) {
                                let at = ((n as isize * h + iy) * w + ix) as usize * c + ch;
                                taps.push(x[at]);
                            }
                        }
                    }
                    out.push(if taps.is_empty() {
                        0.0
                    } else {
                        match p.kind {
                            pool::Kind::Max => taps.iter().copied().fold(f64::MIN, f64::max),
                            pool::Kind::Average => taps.iter().sum::<f64>() / taps.len() as f64,
                        }
                    });
                }
            }
        }
    }
    Some(out)
}

/// Global pooling: `[N][H][W][C]` → `[N][C]`.
pub fn global_pool(p: &pool::Global, x: &[f64]) -> Vec<f64> {
    let hw = p.height * p.width;
    let mut out = Vec::new();
    for n in 0..p.batch {
        for ch in 0..p.channels {
            let vals: Vec<f64> = (0..hw).map(|i| x[(n * hw + i) * p.channels + ch]).collect();
            out.push(match p.kind {
                pool::Kind::Max => vals.iter().copied().fold(f64::MIN, f64::max),
                pool::Kind::Average => vals.iter().sum::<f64>() / hw as f64,
            });
        }
    }
    out
}

/// Source coordinate of output `o` with half-pixel centres, in floating point:
/// `(o + ½)·in/out − ½`.
fn half_pixel(o: usize, input: usize, output: usize) -> f64 {
    (o as f64 + 0.5) * input as f64 / output as f64 - 0.5
}

/// Upsampling with half-pixel centres (PyTorch `align_corners=False`).
pub fn upsample(p: &upsample::Params, x: &[f64]) -> Vec<f64> {
    let c = p.channels;
    let px =
        |n: usize, y: usize, xx: usize, ch: usize| x[((n * p.height + y) * p.width + xx) * c + ch];
    // (i0, i1, λ) along one axis.
    let axis = |o: usize, input: usize, output: usize| -> (usize, usize, f64) {
        match p.mode {
            upsample::Mode::Nearest => {
                let i = ((half_pixel(o, input, output) + 0.5).floor() as usize).min(input - 1);
                (i, i, 0.0)
            }
            upsample::Mode::Bilinear => {
                let s = half_pixel(o, input, output).max(0.0);
                let i0 = (s.floor() as usize).min(input - 1);
                let i1 = (i0 + 1).min(input - 1);
                (i0, i1, s - i0 as f64)
            }
        }
    };
    let mut out = Vec::new();
    for n in 0..p.batch {
        for oy in 0..p.out_height {
            let (y0, y1, fy) = axis(oy, p.height, p.out_height);
            for ox in 0..p.out_width {
                let (x0, x1, fx) = axis(ox, p.width, p.out_width);
                for ch in 0..c {
                    let top = (1.0 - fx) * px(n, y0, x0, ch) + fx * px(n, y0, x1, ch);
                    let bottom = (1.0 - fx) * px(n, y1, x0, ch) + fx * px(n, y1, x1, ch);
                    out.push((1.0 - fy) * top + fy * bottom);
                }
            }
        }
    }
    out
}

/// Per-channel mean and biased variance of `rows × channels` values.
pub fn channel_moments(rows: usize, channels: usize, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mean: Vec<f64> = (0..channels)
        .map(|c| (0..rows).map(|r| x[r * channels + c]).sum::<f64>() / rows as f64)
        .collect();
    let var = (0..channels)
        .map(|c| {
            (0..rows)
                .map(|r| (x[r * channels + c] - mean[c]).powi(2))
                .sum::<f64>()
                / rows as f64
        })
        .collect();
    (mean, var)
}

/// `γ·(x − μ)/√(σ² + ε) + β` per channel of `rows × channels` values, with the given
/// per-channel statistics.
pub fn normalise_channels(
    x: &[f64],
    mean: &[f64],
    var: &[f64],
    gamma: &[f64],
    beta: &[f64],
    epsilon: f64,
) -> Vec<f64> {
    let c = mean.len();
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = i % c;
            gamma[ch] * (v - mean[ch]) / (var[ch] + epsilon).sqrt() + beta[ch]
        })
        .collect()
}

/// Training-mode batch norm: output with the batch's own mean and biased variance.
pub fn batch_norm_train(
    rows: usize,
    channels: usize,
    epsilon: f64,
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
) -> Vec<f64> {
    let (mean, var) = channel_moments(rows, channels, x);
    normalise_channels(x, &mean, &var, gamma, beta, epsilon)
}

/// Layer norm of each row of `rows × features` values over its features.
pub fn layer_norm(
    features: usize,
    epsilon: f64,
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(features) {
        let n = features as f64;
        let mean = row.iter().sum::<f64>() / n;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        for (i, &v) in row.iter().enumerate() {
            out.push(gamma[i] * (v - mean) / (var + epsilon).sqrt() + beta[i]);
        }
    }
    out
}

/// The error function in f64: its Maclaurin series for |x| < 3, else 1 − erfc by
/// the Laplace continued fraction (both well below 1e−12 off).
pub fn erf(x: f64) -> f64 {
    let a = x.abs();
    let value = if a < 3.0 {
        let (mut term, mut sum, mut n) = (a, a, 0.0f64);
        // term_n = (−1)ⁿ a^(2n+1) / n!; the series adds term_n / (2n + 1).
        loop {
            n += 1.0;
            term *= -a * a / n;
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if add.abs() <= 1e-17 * sum.abs() {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        let mut t = a;
        for k in (1..=80).rev() {
            t = a + (k as f64 / 2.0) / t;
        }
        1.0 - (-a * a).exp() / (std::f64::consts::PI.sqrt() * t)
    };
    value.copysign(x)
}

/// One activation in f64, by its definition.
pub fn activation_value(act: &Activation, x: f64) -> f64 {
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let relu6 = |v: f64| v.clamp(0.0, 6.0);
    match *act {
        Activation::Identity => x,
        Activation::Relu => x.max(0.0),
        Activation::Relu6 => relu6(x),
        Activation::LeakyRelu { alpha } => {
            if x > 0.0 {
                x
            } else {
                alpha as f64 * x
            }
        }
        Activation::Elu { alpha } => {
            if x > 0.0 {
                x
            } else {
                alpha as f64 * (x.exp() - 1.0)
            }
        }
        Activation::Sigmoid => sigmoid(x),
        Activation::Tanh => x.tanh(),
        Activation::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
        Activation::GeluTanh => {
            let k = (2.0 / std::f64::consts::PI).sqrt();
            0.5 * x * (1.0 + (k * (x + 0.044715 * x.powi(3))).tanh())
        }
        Activation::Silu => x * sigmoid(x),
        Activation::HardSigmoid => relu6(x + 3.0) / 6.0,
        Activation::HardSwish => x * relu6(x + 3.0) / 6.0,
    }
}

/// An activation applied to every value.
pub fn activation(act: &Activation, x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| activation_value(act, v)).collect()
}

/// Softmax along the axis of `[outer][axis][inner]` (plain exponentials of the
/// max-shifted values, the definition).
pub fn softmax(p: &Axis, x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for o in 0..p.outer {
        for i in 0..p.inner {
            let at = |a: usize| (o * p.axis + a) * p.inner + i;
            let m = (0..p.axis).map(|a| x[at(a)]).fold(f64::MIN, f64::max);
            let sum: f64 = (0..p.axis).map(|a| (x[at(a)] - m).exp()).sum();
            for a in 0..p.axis {
                out[at(a)] = (x[at(a)] - m).exp() / sum;
            }
        }
    }
    out
}

/// Log-softmax along the axis: `ln` of [`softmax`], computed as `x − m − ln Σ e^(x−m)`.
pub fn log_softmax(p: &Axis, x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for o in 0..p.outer {
        for i in 0..p.inner {
            let at = |a: usize| (o * p.axis + a) * p.inner + i;
            let m = (0..p.axis).map(|a| x[at(a)]).fold(f64::MIN, f64::max);
            let lse = m + (0..p.axis).map(|a| (x[at(a)] - m).exp()).sum::<f64>().ln();
            for a in 0..p.axis {
                out[at(a)] = x[at(a)] - lse;
            }
        }
    }
    out
}

/// `a ∘ b` with `b` broadcast as the params say.
pub fn elementwise(p: &elementwise::Params, a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .enumerate()
        .map(|(i, &x)| {
            let y = match p.broadcast {
                Broadcast::Same => b[i],
                Broadcast::Channels => b[i % b.len()],
                Broadcast::Scalar => b[0],
            };
            match p.op {
                Op::Add => x + y,
                Op::Sub => x - y,
                Op::Mul => x * y,
            }
        })
        .collect()
}

/// Concatenation along the last axis of `rows × channels[i]` inputs.
pub fn concat(rows: usize, channels: &[usize], inputs: &[Vec<f64>]) -> Vec<f64> {
    let mut out = Vec::new();
    for r in 0..rows {
        for (x, &c) in inputs.iter().zip(channels) {
            out.extend_from_slice(&x[r * c..(r + 1) * c]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_known_values() {
        // Values of Python's math.erf (correctly rounded doubles).
        for (x, want) in [
            (0.0, 0.0),
            (0.1, 0.1124629160182849),
            (1.0, 0.8427007929497149),
            (-2.5, -0.999593047982555),
            (2.999, 0.9999777698314002),
            (3.0, 0.9999779095030014),
            (3.5, 0.9999992569016276),
            (6.0, 1.0),
        ] {
            assert!((erf(x) - want).abs() < 1e-13, "erf({x}) = {}", erf(x));
        }
    }
}
