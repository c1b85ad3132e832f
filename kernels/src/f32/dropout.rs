//! Inverted dropout: at training, each value is zeroed with probability `rate` and the
//! kept ones are scaled by `1/(1 − rate)`, so the expected output equals the input and
//! inference is the identity (PyTorch `Dropout`, Keras `Dropout`).
//!
//! The mask is drawn from a caller-owned [`Rng`] (seeded, so a run reproduces bit for
//! bit on every target) into a caller-provided `u8` buffer, one byte per value: 1 kept,
//! 0 dropped. Each value consumes one 32-bit output of the generator, and value `i` is
//! dropped when `rng.bernoulli(rate)` is true, in order. Backward reuses the mask.
//! A byte mask costs a quarter of an f32 one; a bit mask would save more but cost a
//! shift and mask per value in both passes.
//!
//! `rate = 1` drops everything (the output is all zeros and no gradient passes), like
//! PyTorch's `p = 1`.

use mote_core::rng::Rng;
use mote_core::{Error, ErrorKind, Result, error::check_len};

/// Parameters of a dropout layer.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Probability that a value is dropped, in `[0, 1]`.
    pub rate: f32,
}

impl Params {
    /// Validates `rate` and returns the scale `1/(1 − rate)` of kept values (0 when
    /// everything is dropped).
    pub fn scale(&self) -> Result<f32> {
        if !(0.0..=1.0).contains(&self.rate) {
            return Err(Error::new(ErrorKind::InvalidFloat, "dropout: rate"));
        }
        Ok(if self.rate < 1.0 {
            1.0 / (1.0 - self.rate)
        } else {
            0.0
        })
    }
}

/// Draws a fresh mask: `mask[i] = 0` with probability `rate`, else 1, one generator
/// output per value.
pub fn draw_mask(params: &Params, rng: &mut Rng, mask: &mut [u8]) -> Result<()> {
    params.scale()?;
    for m in mask {
        *m = u8::from(!rng.bernoulli(params.rate));
    }
    Ok(())
}

/// Training forward: draws the mask into `mask` (see [`draw_mask`]) and writes
/// `output[i] = input[i]·mask[i]/(1 − rate)`. `input`, `output` and `mask` have the
/// same length.
pub fn forward_train(
    params: &Params,
    rng: &mut Rng,
    input: &[f32],
    output: &mut [f32],
    mask: &mut [u8],
) -> Result<()> {
    let scale = params.scale()?;
    check_len("dropout: output", input.len(), output.len())?;
    check_len("dropout: mask", input.len(), mask.len())?;
    draw_mask(params, rng, mask)?;
    apply(scale, input, mask, output);
    Ok(())
}

/// Inference forward: the identity, `output = input` (equal lengths).
pub fn forward_inference(input: &[f32], output: &mut [f32]) -> Result<()> {
    check_len("dropout: output", input.len(), output.len())?;
    output.copy_from_slice(input);
    Ok(())
}

/// Backward: `grad_input[i] += grad_output[i]·mask[i]/(1 − rate)`, with the mask of the
/// matching [`forward_train`] (all lengths equal).
pub fn backward(
    params: &Params,
    mask: &[u8],
    grad_output: &[f32],
    grad_input: &mut [f32],
) -> Result<()> {
    let scale = params.scale()?;
    check_len("dropout: mask", grad_output.len(), mask.len())?;
    check_len("dropout: grad_input", grad_output.len(), grad_input.len())?;
    for ((gi, &go), &m) in grad_input.iter_mut().zip(grad_output).zip(mask) {
        if m != 0 {
            *gi += go * scale;
        }
    }
    Ok(())
}

/// `output[i] = input[i]·scale` where the mask is set, else 0.
fn apply(scale: f32, input: &[f32], mask: &[u8], output: &mut [f32]) {
    for ((y, &x), &m) in output.iter_mut().zip(input).zip(mask) {
        *y = if m != 0 { x * scale } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_values_are_scaled() {
        let p = Params { rate: 0.5 };
        let x = [1.0f32; 64];
        let mut y = [0.0; 64];
        let mut mask = [0u8; 64];
        forward_train(&p, &mut Rng::new(1), &x, &mut y, &mut mask).unwrap();
        for (&v, &m) in y.iter().zip(&mask) {
            assert_eq!(v, if m == 1 { 2.0 } else { 0.0 });
        }
        assert!(mask.contains(&0) && mask.contains(&1));
    }

    #[test]
    fn rate_bounds() {
        let mut rng = Rng::new(1);
        let mut y = [5.0; 4];
        let mut mask = [9u8; 4];
        forward_train(
            &Params { rate: 0.0 },
            &mut rng,
            &[1.0; 4],
            &mut y,
            &mut mask,
        )
        .unwrap();
        assert_eq!((y, mask), ([1.0; 4], [1; 4]));
        forward_train(
            &Params { rate: 1.0 },
            &mut rng,
            &[1.0; 4],
            &mut y,
            &mut mask,
        )
        .unwrap();
        assert_eq!((y, mask), ([0.0; 4], [0; 4]));
        for rate in [-0.1, 1.5, f32::NAN] {
            let r = forward_train(&Params { rate }, &mut rng, &[1.0; 4], &mut y, &mut mask);
            assert!(r.is_err());
        }
        assert!(forward_inference(&[1.0; 3], &mut y).is_err());
    }
}
