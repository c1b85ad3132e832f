//! Concatenation along the last axis (channels): inputs `[rows][C₁]`, `[rows][C₂]`, …
//! become `[rows][C₁ + C₂ + …]`, with `rows = N·H·W` for NHWC tensors (the inputs agree
//! on N, H and W). Backward splits the gradient back into the inputs' shapes. No scratch
//! memory.

use mote_core::error::{check_len, check_nonzero};
use mote_core::{Error, ErrorKind, Result};

/// Parameters of a concatenation: the row count and the channels of each input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params<'a> {
    /// Positions shared by all inputs: `N·H·W`.
    pub rows: usize,
    /// Channels of each input, in output order; all non-zero, at least one input.
    pub channels: &'a [usize],
}

impl Params<'_> {
    /// Validates and returns the output channels `Σ Cᵢ` and the output length.
    pub fn output_channels(&self) -> Result<(usize, usize)> {
        check_nonzero("concat: rows", self.rows)?;
        check_nonzero("concat: inputs", self.channels.len())?;
        let over = Error::new(ErrorKind::Overflow, "concat: channels");
        let mut total = 0usize;
        for &c in self.channels {
            check_nonzero("concat: channels", c)?;
            total = total.checked_add(c).ok_or(over)?;
        }
        Ok((total, total.checked_mul(self.rows).ok_or(over)?))
    }
}

/// Forward: `output[r][offset_i + j] = inputs[i][r][j]`, with `offset_i` the channels
/// of the inputs before `i`. `inputs[i]` holds `rows·channels[i]` values, `output`
/// `rows·Σ channels`.
pub fn forward(params: &Params<'_>, inputs: &[&[f32]], output: &mut [f32]) -> Result<()> {
    let (total, out_len) = params.output_channels()?;
    check_len("concat: inputs", params.channels.len(), inputs.len())?;
    for (x, &c) in inputs.iter().zip(params.channels) {
        check_len("concat: input", params.rows * c, x.len())?;
    }
    check_len("concat: output", out_len, output.len())?;
    let mut offset = 0;
    for (x, &c) in inputs.iter().zip(params.channels) {
        for (out_row, in_row) in output.chunks_exact_mut(total).zip(x.chunks_exact(c)) {
            out_row[offset..offset + c].copy_from_slice(in_row);
        }
        offset += c;
    }
    Ok(())
}

/// Backward (split): `grad_inputs[i][r][j] += grad_output[r][offset_i + j]` for every
/// input whose gradient is wanted (`Some`); `grad_inputs` has one entry per input.
pub fn backward(
    params: &Params<'_>,
    grad_output: &[f32],
    grad_inputs: &mut [Option<&mut [f32]>],
) -> Result<()> {
    let (total, out_len) = params.output_channels()?;
    check_len("concat: grad_output", out_len, grad_output.len())?;
    check_len(
        "concat: grad_inputs",
        params.channels.len(),
        grad_inputs.len(),
    )?;
    for (g, &c) in grad_inputs.iter().zip(params.channels) {
        if let Some(g) = g {
            check_len("concat: grad_input", params.rows * c, g.len())?;
        }
    }
    let mut offset = 0;
    for (g, &c) in grad_inputs.iter_mut().zip(params.channels) {
        if let Some(g) = g {
            for (d_row, g_row) in g.chunks_exact_mut(c).zip(grad_output.chunks_exact(total)) {
                for (d, &v) in d_row.iter_mut().zip(&g_row[offset..offset + c]) {
                    *d += v;
                }
            }
        }
        offset += c;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_and_split() {
        let p = Params {
            rows: 2,
            channels: &[1, 2],
        };
        let mut out = [0.0; 6];
        forward(&p, &[&[1.0, 2.0], &[3.0, 4.0, 5.0, 6.0]], &mut out).unwrap();
        assert_eq!(out, [1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
        let mut g1 = [0.0; 2];
        let mut grads = [Some(&mut g1[..]), None];
        backward(&p, &out, &mut grads).unwrap();
        assert_eq!(g1, [1.0, 2.0]);
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let p = Params {
            rows: 2,
            channels: &[1, 0],
        };
        assert!(forward(&p, &[&[0.0; 2], &[]], &mut [0.0; 2]).is_err());
        let p = Params {
            rows: 2,
            channels: &[1, 1],
        };
        assert!(forward(&p, &[&[0.0; 2]], &mut [0.0; 4]).is_err());
        assert!(forward(&p, &[&[0.0; 2], &[0.0; 3]], &mut [0.0; 4]).is_err());
        assert!(backward(&p, &[0.0; 4], &mut [None]).is_err());
        assert!(backward(&p, &[0.0; 4], &mut [None, Some(&mut [0.0; 1][..])]).is_err());
    }
}
