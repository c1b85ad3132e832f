//! Activation ranges from a representative data set: min-max, a percentile, or the
//! clipping range that minimises the expected quantisation error (MSE).

use super::graph::{FGraph, FKind};
use crate::model::Model;
use crate::{Error, Result};

/// How a tensor's range is chosen from the values seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// The smallest and largest value seen (TFLite's converter).
    MinMax,
    /// The given percentile at the top and its complement at the bottom (e.g. 99.99),
    /// so rare outliers do not stretch the scale.
    Percentile(f64),
    /// The range, shrunk from min-max, that minimises clipping plus rounding error
    /// over the histogram of values seen.
    Mse,
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "minmax" | "min-max" => Ok(Self::MinMax),
            "mse" => Ok(Self::Mse),
            p if p.starts_with("percentile") => {
                let v = p
                    .trim_start_matches("percentile")
                    .trim_start_matches([':', '=']);
                let v = if v.is_empty() {
                    99.99
                } else {
                    v.parse().map_err(|_| bad_method(s))?
                };
                if (50.0..=100.0).contains(&v) {
                    Ok(Self::Percentile(v))
                } else {
                    Err(bad_method(s))
                }
            }
            _ => Err(bad_method(s)),
        }
    }
}

fn bad_method(s: &str) -> Error {
    Error::spec(
        "--calibration",
        format!("'{s}' is not one of minmax, percentile[:P] (50 ≤ P ≤ 100), mse"),
    )
}

/// Histogram bins per tensor for the percentile and MSE methods.
const BINS: usize = 2048;
/// Samples traced at once.
const CHUNK: usize = 64;

/// Runs `f(tensor, values)` for every tensor of `graph` over `inputs` (normalised,
/// `samples` of them), chunk by chunk.
fn each_chunk(
    model: &Model,
    graph: &FGraph,
    inputs: &[f32],
    mut f: impl FnMut(usize, &[f32]),
) -> Result<()> {
    let n = model.input_len();
    for chunk in inputs.chunks(CHUNK * n) {
        let trace = model.trace_all(chunk)?;
        for (t, tensor) in graph.tensors.iter().enumerate() {
            match tensor.node {
                None => f(t, chunk),
                Some(node) => {
                    let values = trace.get(node).ok_or_else(|| Error::Mismatch {
                        detail: format!("calibration: no layer {node} in the model's trace"),
                    })?;
                    f(t, values)
                }
            }
        }
    }
    Ok(())
}

/// The `(min, max)` range of every tensor of `graph` over `inputs`.
pub fn ranges(
    model: &Model,
    graph: &FGraph,
    inputs: &[f32],
    method: Method,
) -> Result<Vec<(f32, f32)>> {
    if inputs.is_empty() {
        return Err(Error::Mismatch {
            detail: "calibration: no samples".into(),
        });
    }
    let mut minmax = vec![(f32::INFINITY, f32::NEG_INFINITY); graph.tensors.len()];
    each_chunk(model, graph, inputs, |t, values| {
        for &v in values.iter().filter(|v| v.is_finite()) {
            minmax[t].0 = minmax[t].0.min(v);
            minmax[t].1 = minmax[t].1.max(v);
        }
    })?;
    // Every range includes 0 (so zero is exactly representable) and is non-empty.
    for r in &mut minmax {
        *r = (r.0.min(0.0), r.1.max(0.0));
        if r.1.partial_cmp(&r.0) != Some(std::cmp::Ordering::Greater) {
            *r = (0.0, 1e-6);
        }
    }
    if method == Method::MinMax {
        return Ok(minmax);
    }
    let mut hist = vec![vec![0u64; BINS]; graph.tensors.len()];
    each_chunk(model, graph, inputs, |t, values| {
        let (lo, hi) = minmax[t];
        let w = (hi - lo) / BINS as f32;
        for &v in values.iter().filter(|v| v.is_finite()) {
            let b = (((v - lo) / w) as usize).min(BINS - 1);
            hist[t][b] += 1;
        }
    })?;
    Ok(minmax
        .iter()
        .zip(&hist)
        .map(|(&(lo, hi), h)| match method {
            Method::Percentile(p) => percentile(lo, hi, h, p),
            _ => mse(lo, hi, h),
        })
        .collect())
}

/// What an integer LSTM needs calibrated beyond its input and output tensors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LstmRange {
    /// The largest `|c|` of the cell state over every step (it sets the cell's
    /// power-of-two scale).
    pub cell: f32,
    /// The hidden state's range over every step (the recurrent input's quantisation,
    /// wider than the output's when only the last step is returned).
    pub hidden: (f32, f32),
}

/// For each operator of `graph`, the [`LstmRange`] of an LSTM (`None` for the others),
/// from the float LSTM run over the values its input takes on `inputs`.
pub fn lstm_ranges(
    model: &Model,
    graph: &FGraph,
    inputs: &[f32],
) -> Result<Vec<Option<LstmRange>>> {
    use mote_kernels::f32::recurrent::{Params, StateRef, Weights, lstm};
    let mut out: Vec<Option<LstmRange>> = vec![None; graph.ops.len()];
    let mut failed = None;
    each_chunk(model, graph, inputs, |t, values| {
        for (o, op) in graph.ops.iter().enumerate() {
            let FKind::Lstm {
                steps,
                inputs,
                units,
                w,
                u,
                b,
                ..
            } = &op.kind
            else {
                continue;
            };
            if op.input() != t || failed.is_some() {
                continue;
            }
            let batch = values.len() / (steps * inputs).max(1);
            let p = Params::new(batch, *steps, *inputs, *units).sequences(true);
            let weights = Weights {
                input: w,
                recurrent: u,
                bias: Some(b),
                recurrent_bias: None,
            };
            let run = || -> mote_core::Result<(f32, (f32, f32))> {
                let mut y = vec![0.0; p.output_len()?];
                let mut saved = vec![0.0; lstm::saved_len(&p)?];
                let cell = lstm::Cell::default();
                lstm::forward(
                    &p,
                    &cell,
                    values,
                    &weights,
                    StateRef::default(),
                    &mut y,
                    &mut saved,
                )?;
                let (cells, hs) = lstm::saved_states(&p, &saved)?;
                let c = cells.iter().fold(0f32, |m, v| m.max(v.abs()));
                let h = hs
                    .iter()
                    .fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
                Ok((c, h))
            };
            match run() {
                Ok((c, (lo, hi))) => {
                    let r = out[o].get_or_insert(LstmRange {
                        cell: 0.0,
                        hidden: (0.0, 0.0),
                    });
                    r.cell = r.cell.max(c);
                    r.hidden = (r.hidden.0.min(lo), r.hidden.1.max(hi));
                }
                Err(e) => failed = Some(format!("calibration: LSTM '{}': {e}", op.name)),
            }
        }
    })?;
    match failed {
        Some(detail) => Err(Error::Mismatch { detail }),
        None => Ok(out),
    }
}

/// The range between the `(100 − p)`-th and `p`-th percentiles (kept around 0).
fn percentile(lo: f32, hi: f32, h: &[u64], p: f64) -> (f32, f32) {
    let total: u64 = h.iter().sum();
    let w = (hi - lo) / h.len() as f32;
    let cut = ((1.0 - p / 100.0) * total as f64) as u64;
    let mut seen = 0;
    let mut low_bin = 0;
    for (i, &c) in h.iter().enumerate() {
        seen += c;
        if seen > cut {
            low_bin = i;
            break;
        }
    }
    let mut seen = 0;
    let mut high_bin = h.len() - 1;
    for (i, &c) in h.iter().enumerate().rev() {
        seen += c;
        if seen > cut {
            high_bin = i;
            break;
        }
    }
    let a = (lo + w * low_bin as f32).min(0.0);
    let b = (lo + w * (high_bin + 1) as f32).max(0.0);
    if b > a { (a, b) } else { (lo, hi) }
}

/// The range `α·[lo, hi]` (α from 0.2 to 1) minimising the expected squared error of
/// int8 quantisation over histogram `h`: clipping error of values outside plus
/// `Δ²/12` rounding error of values inside.
fn mse(lo: f32, hi: f32, h: &[u64]) -> (f32, f32) {
    let w = (hi - lo) as f64 / h.len() as f64;
    let centre = |i: usize| lo as f64 + w * (i as f64 + 0.5);
    let mut best = (f64::INFINITY, (lo, hi));
    for step in 20..=100 {
        let alpha = step as f64 / 100.0;
        let (a, b) = (alpha * lo as f64, alpha * hi as f64);
        let delta = (b - a) / 255.0;
        let err: f64 = h
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| {
                let x = centre(i);
                let e = if x < a {
                    (a - x).powi(2)
                } else if x > b {
                    (x - b).powi(2)
                } else {
                    delta * delta / 12.0
                };
                e * c as f64
            })
            .sum();
        if err < best.0 {
            best = (err, (a as f32, b as f32));
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse() {
        assert_eq!("minmax".parse::<Method>().unwrap(), Method::MinMax);
        assert_eq!("mse".parse::<Method>().unwrap(), Method::Mse);
        assert_eq!(
            "percentile".parse::<Method>().unwrap(),
            Method::Percentile(99.99)
        );
        assert_eq!(
            "percentile:99.9".parse::<Method>().unwrap(),
            Method::Percentile(99.9)
        );
        assert!("percentile:20".parse::<Method>().is_err());
        assert!("max".parse::<Method>().is_err());
    }

    #[test]
    fn percentile_drops_outliers_and_mse_shrinks_long_tails() {
        // 10 000 values in [0, 1) and one at 100.
        let mut h = vec![0u64; BINS];
        let w = 100.0 / BINS as f32;
        for i in 0..10_000 {
            h[((i as f32 / 10_000.0) / w) as usize] += 1;
        }
        h[BINS - 1] += 1;
        let (a, b) = percentile(0.0, 100.0, &h, 99.9);
        assert_eq!(a, 0.0);
        assert!(b < 2.0, "{b}");
        let (_, b) = mse(0.0, 100.0, &h);
        assert!(b < 100.0, "{b}");
    }
}
