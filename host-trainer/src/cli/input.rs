//! Samples to run a model on, from a file: `.npy` (any numeric dtype), PNG images
//! (8-bit grey or RGB, scaled to `[0, 1]`) or IDX (u8 scaled to `[0, 1]`).

use crate::data::normalise::Normalisation;
use crate::data::{idx, npy};
use crate::{Error, Result};
use std::path::Path;

/// Reads `path` as samples of `sample_len` values and normalises them as the model was
/// trained; returns the values and the number of samples.
pub fn read(path: &Path, sample_len: usize, norm: &Normalisation) -> Result<(Vec<f32>, usize)> {
    let name = path.to_string_lossy().to_lowercase();
    let mut values = if name.ends_with(".npy") {
        npy::read(path)?.data
    } else if name.ends_with(".png") {
        png_pixels(path)?
    } else {
        let a = idx::read(path)?;
        let scale = if a.element == idx::ElementType::U8 {
            1.0 / 255.0
        } else {
            1.0
        };
        a.to_f32().into_iter().map(|v| v * scale).collect()
    };
    if sample_len == 0 || values.is_empty() || values.len() % sample_len != 0 {
        return Err(Error::format(
            path,
            format!(
                "{} values are not a whole number of samples of {sample_len}",
                values.len()
            ),
        ));
    }
    let n = values.len() / sample_len;
    for s in values.chunks_exact_mut(sample_len) {
        norm.apply_sample(s)?;
    }
    Ok((values, n))
}

fn png_pixels(path: &Path) -> Result<Vec<f32>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| Error::format(path, e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| Error::format(path, "image too large"))?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| Error::format(path, e.to_string()))?;
    let bytes = &buf[..info.buffer_size()];
    let scale = 1.0 / 255.0;
    Ok(match info.color_type {
        png::ColorType::Grayscale => bytes.iter().map(|&b| f32::from(b) * scale).collect(),
        png::ColorType::GrayscaleAlpha => bytes
            .iter()
            .step_by(2)
            .map(|&b| f32::from(b) * scale)
            .collect(),
        png::ColorType::Rgb => bytes.iter().map(|&b| f32::from(b) * scale).collect(),
        png::ColorType::Rgba => bytes
            .chunks_exact(4)
            .flat_map(|p| p[..3].iter().map(|&b| f32::from(b) * scale))
            .collect(),
        png::ColorType::Indexed => {
            return Err(Error::format(path, "indexed PNG was not expanded"));
        }
    })
}
