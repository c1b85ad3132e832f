//! 2D upsampling (resizing) of NHWC images, nearest-neighbour and bilinear; forward and
//! backward.
//!
//! Input `[batch][height][width][channels]`, output `[batch][out_height][out_width]
//! [channels]`. Any output size is accepted (so downsampling works too); the common case
//! is an integer scale factor, [`Params::scaled`] (Keras `UpSampling2D`, PyTorch
//! `Upsample(scale_factor=s)`).
//!
//! ## Coordinate convention: half-pixel centres (`align_corners = false`)
//!
//! Output pixel `o` along an axis of `in` → `out` pixels maps to the source coordinate
//! `src = (o + ½)·in/out − ½`, the convention of PyTorch's default
//! (`align_corners=False`) and of TF2's `tf.image.resize` (`half_pixel_centers=True`),
//! which Keras `UpSampling2D` uses:
//! - **nearest** reads pixel `min(floor((o + ½)·in/out), in − 1)` (PyTorch's
//!   `nearest-exact`; for integer scale factors this is `floor(o / s)`, the same pixel
//!   PyTorch's `nearest` and Keras pick);
//! - **bilinear** clamps `src` below at 0, takes `i₀ = floor(src)`, `i₁ = min(i₀ + 1,
//!   in − 1)`, `λ = src − i₀`, and blends `(1 − λ)·x[i₀] + λ·x[i₁]` along each axis (edge
//!   pixels are replicated, as in both frameworks).
//!
//! The coordinates are computed in exact integer arithmetic (`src` is a fraction with
//! denominator `2·out`), so the weights do not depend on float rounding of the scale.
//!
//! Backward scatters each output gradient to the pixels (and with the weights) its
//! forward read, accumulating (`+=`) into `grad_input`. No scratch memory.

use mote_core::{Error, ErrorKind, Result, error::check_len, error::check_nonzero};

/// How output pixels are interpolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Mode {
    /// The nearest source pixel (half-pixel centres).
    Nearest,
    /// Bilinear interpolation between the four nearest source pixels (half-pixel
    /// centres, edges replicated).
    Bilinear,
}

/// Parameters of an upsampling layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Nearest or bilinear.
    pub mode: Mode,
    /// Images in the batch (N).
    pub batch: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Channels (C), resized independently.
    pub channels: usize,
    /// Output height.
    pub out_height: usize,
    /// Output width.
    pub out_width: usize,
}

impl Params {
    /// Upsampling by integer factors: output `height·scale_h × width·scale_w`.
    ///
    /// Errors: a zero factor, or a size that overflows.
    pub fn scaled(
        mode: Mode,
        batch: usize,
        height: usize,
        width: usize,
        channels: usize,
        scale_h: usize,
        scale_w: usize,
    ) -> Result<Self> {
        check_nonzero("upsample: scale_h", scale_h)?;
        check_nonzero("upsample: scale_w", scale_w)?;
        let over = Error::new(ErrorKind::Overflow, "upsample: scaled size");
        Ok(Self {
            mode,
            batch,
            height,
            width,
            channels,
            out_height: height.checked_mul(scale_h).ok_or(over)?,
            out_width: width.checked_mul(scale_w).ok_or(over)?,
        })
    }

    /// `(input length, output length)`, validated.
    fn lengths(&self) -> Result<(usize, usize)> {
        check_nonzero("upsample: batch", self.batch)?;
        check_nonzero("upsample: height", self.height)?;
        check_nonzero("upsample: width", self.width)?;
        check_nonzero("upsample: channels", self.channels)?;
        check_nonzero("upsample: out_height", self.out_height)?;
        check_nonzero("upsample: out_width", self.out_width)?;
        let over = Error::new(ErrorKind::Overflow, "upsample: size");
        let prod = |dims: &[usize]| {
            dims.iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .ok_or(over)
        };
        // The coordinate arithmetic forms (2·out + 1)·in; make sure it fits.
        prod(&[2, self.out_height.checked_add(1).ok_or(over)?, self.height])?;
        prod(&[2, self.out_width.checked_add(1).ok_or(over)?, self.width])?;
        let input = prod(&[self.batch, self.height, self.width, self.channels])?;
        let output = prod(&[self.batch, self.out_height, self.out_width, self.channels])?;
        Ok((input, output))
    }
}

/// Source pixels and weight of output position `o` along one axis of `input` → `output`
/// pixels: `(i₀, i₁, λ)`, the value being `(1 − λ)·x[i₀] + λ·x[i₁]`.
#[inline]
fn source(mode: Mode, o: usize, input: usize, output: usize) -> (usize, usize, f32) {
    let num = (2 * o + 1) * input;
    let den = 2 * output;
    match mode {
        Mode::Nearest => {
            let i = (num / den).min(input - 1);
            (i, i, 0.0)
        }
        Mode::Bilinear => {
            if num <= output {
                return (0, 0, 0.0);
            }
            let t = num - output;
            let i0 = (t / den).min(input - 1);
            let i1 = (i0 + 1).min(input - 1);
            let lambda = (t - i0 * den) as f32 / den as f32;
            (i0, i1, lambda)
        }
    }
}

/// Upsampling forward: `output` (`[batch][out_height][out_width][channels]`) from
/// `input` (`[batch][height][width][channels]`), see the [module docs](self).
pub fn forward(params: &Params, input: &[f32], output: &mut [f32]) -> Result<()> {
    let (in_len, out_len) = params.lengths()?;
    check_len("upsample: input", in_len, input.len())?;
    check_len("upsample: output", out_len, output.len())?;
    let p = *params;
    let c = p.channels;
    for (image, out_image) in input
        .chunks_exact(in_len / p.batch)
        .zip(output.chunks_exact_mut(out_len / p.batch))
    {
        for (oy, out_row) in out_image.chunks_exact_mut(p.out_width * c).enumerate() {
            let (y0, y1, fy) = source(p.mode, oy, p.height, p.out_height);
            let row0 = &image[y0 * p.width * c..(y0 + 1) * p.width * c];
            let row1 = &image[y1 * p.width * c..(y1 + 1) * p.width * c];
            for (ox, out_px) in out_row.chunks_exact_mut(c).enumerate() {
                let (x0, x1, fx) = source(p.mode, ox, p.width, p.out_width);
                match p.mode {
                    Mode::Nearest => out_px.copy_from_slice(&row0[x0 * c..(x0 + 1) * c]),
                    Mode::Bilinear => {
                        let a = &row0[x0 * c..(x0 + 1) * c];
                        let b = &row0[x1 * c..(x1 + 1) * c];
                        let d = &row1[x0 * c..(x0 + 1) * c];
                        let e = &row1[x1 * c..(x1 + 1) * c];
                        let (w00, w01) = ((1.0 - fy) * (1.0 - fx), (1.0 - fy) * fx);
                        let (w10, w11) = (fy * (1.0 - fx), fy * fx);
                        for ((((o, &a), &b), &d), &e) in
                            out_px.iter_mut().zip(a).zip(b).zip(d).zip(e)
                        {
                            *o = w00 * a + w01 * b + w10 * d + w11 * e;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Upsampling backward: accumulates into `grad_input` (input-shaped) the gradient given
/// `grad_output` (output-shaped): each output gradient goes to the source pixels its
/// forward read, times their weights.
pub fn backward(params: &Params, grad_output: &[f32], grad_input: &mut [f32]) -> Result<()> {
    let (in_len, out_len) = params.lengths()?;
    check_len("upsample: grad_output", out_len, grad_output.len())?;
    check_len("upsample: grad_input", in_len, grad_input.len())?;
    let p = *params;
    let c = p.channels;
    let row_len = p.width * c;
    for (grad_image, grad_out_image) in grad_input
        .chunks_exact_mut(in_len / p.batch)
        .zip(grad_output.chunks_exact(out_len / p.batch))
    {
        for (oy, grad_row) in grad_out_image.chunks_exact(p.out_width * c).enumerate() {
            let (y0, y1, fy) = source(p.mode, oy, p.height, p.out_height);
            for (ox, g) in grad_row.chunks_exact(c).enumerate() {
                let (x0, x1, fx) = source(p.mode, ox, p.width, p.out_width);
                let taps = [
                    (y0, x0, (1.0 - fy) * (1.0 - fx)),
                    (y0, x1, (1.0 - fy) * fx),
                    (y1, x0, fy * (1.0 - fx)),
                    (y1, x1, fy * fx),
                ];
                let used = if p.mode == Mode::Nearest { 1 } else { 4 };
                for &(y, x, weight) in &taps[..used] {
                    let at = y * row_len + x * c;
                    for (gi, &go) in grad_image[at..at + c].iter_mut().zip(g) {
                        *gi += weight * go;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_doubles() {
        let p = Params::scaled(Mode::Nearest, 1, 1, 2, 1, 2, 2).unwrap();
        let mut y = [0.0; 8];
        forward(&p, &[1.0, 2.0], &mut y).unwrap();
        assert_eq!(y, [1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
        let mut gx = [0.0; 2];
        backward(&p, &[1.0; 8], &mut gx).unwrap();
        assert_eq!(gx, [4.0, 4.0]);
    }

    #[test]
    fn bilinear_matches_pytorch() {
        // torch.nn.functional.interpolate(torch.tensor([[[[1., 2., 4.]]]]),
        //     scale_factor=(1, 2), mode="bilinear", align_corners=False)
        // = [1.0, 1.25, 1.75, 2.5, 3.5, 4.0]
        let p = Params::scaled(Mode::Bilinear, 1, 1, 3, 1, 1, 2).unwrap();
        let mut y = [0.0; 6];
        forward(&p, &[1.0, 2.0, 4.0], &mut y).unwrap();
        assert_eq!(y, [1.0, 1.25, 1.75, 2.5, 3.5, 4.0]);
        let mut gx = [0.0; 3];
        backward(&p, &[1.0; 6], &mut gx).unwrap();
        assert_eq!(gx, [2.0, 2.0, 2.0]);
    }

    #[test]
    fn invalid_parameters_are_errors() {
        assert!(Params::scaled(Mode::Nearest, 1, 1, 1, 1, 0, 1).is_err());
        assert!(Params::scaled(Mode::Nearest, 1, usize::MAX, 1, 1, 2, 1).is_err());
        let p = Params::scaled(Mode::Bilinear, 1, 2, 2, 1, 2, 2).unwrap();
        assert!(forward(&p, &[0.0; 4], &mut [0.0; 15]).is_err());
        assert!(forward(&p, &[0.0; 3], &mut [0.0; 16]).is_err());
        assert!(backward(&p, &[0.0; 16], &mut [0.0; 5]).is_err());
        let p = Params {
            out_width: usize::MAX,
            ..p
        };
        assert!(forward(&p, &[0.0; 4], &mut [0.0; 16]).is_err());
    }
}
