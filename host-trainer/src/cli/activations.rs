//! `mote activations MODEL INPUT --out DIR`: each layer's output for the first sample
//! as a PNG — image-shaped outputs as a grid of one tile per channel, flat outputs as a
//! strip — scaled per image to the full grey range.

use super::input;
use crate::train::checkpoint::Checkpoint;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Writes one PNG per layer into `out`; returns the paths written.
pub fn run(model: &Path, input_path: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let ck = Checkpoint::load(model)?;
    let net = ck.model()?;
    let (x, _) = input::read(input_path, net.input_len(), &ck.header.normalisation)?;
    let first = &x[..net.input_len()];
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut written = Vec::new();
    let mut layers = vec![("input".to_string(), net.spec.input.clone(), first.to_vec())];
    layers.extend(net.trace(first)?);
    for (i, (name, shape, values)) in layers.iter().enumerate() {
        let (w, h, pixels) = tile(shape, values);
        let file = out.join(format!("{i:02}_{}.png", name.replace('/', "_")));
        write_png(&file, w, h, &pixels)?;
        written.push(file);
    }
    Ok(written)
}

/// Lays the channels of `[h, w, c]` (or `[len, c]`, or `[n]`) out as tiles in a grid
/// separated by one dark pixel; returns width, height and 8-bit grey pixels.
pub fn tile(shape: &[usize], values: &[f32]) -> (usize, usize, Vec<u8>) {
    let (h, w, c) = match *shape {
        [h, w, c] => (h, w, c),
        [l, c] => (1, l, c),
        _ => (1, values.len(), 1),
    };
    let cols = (c as f64).sqrt().ceil().max(1.0) as usize;
    let rows = c.div_ceil(cols);
    let (tw, th) = (w + 1, h + 1);
    let (width, height) = (cols * tw + 1, rows * th + 1);
    let mut px = vec![0u8; width * height];
    for ch in 0..c {
        let vals: Vec<f32> = (0..h * w)
            .filter_map(|p| values.get(p * c + ch).copied())
            .collect();
        let lo = vals.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = vals.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let span = if hi > lo { hi - lo } else { 1.0 };
        let (ox, oy) = (1 + (ch % cols) * tw, 1 + (ch / cols) * th);
        for (p, v) in vals.iter().enumerate() {
            let (y, x) = (p / w, p % w);
            let g = ((v - lo) / span * 255.0).round().clamp(0.0, 255.0) as u8;
            if let Some(d) = px.get_mut((oy + y) * width + ox + x) {
                *d = g;
            }
        }
    }
    (width, height, px)
}

fn write_png(path: &Path, w: usize, h: usize, pixels: &[u8]) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let (w, h) = (
        u32::try_from(w).map_err(|_| Error::format(path, "image too wide"))?,
        u32::try_from(h).map_err(|_| Error::format(path, "image too tall"))?,
    );
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc
        .write_header()
        .map_err(|e| Error::format(path, e.to_string()))?;
    writer
        .write_image_data(pixels)
        .map_err(|e| Error::format(path, e.to_string()))?;
    writer
        .finish()
        .map_err(|e| Error::format(path, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_lay_channels_out_in_a_grid() {
        // 2×2 image with 4 channels: a 2×2 grid of 2×2 tiles with 1-pixel borders.
        let values: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let (w, h, px) = tile(&[2, 2, 4], &values);
        assert_eq!((w, h), (7, 7));
        // Channel 0 holds 0, 4, 8, 12: its minimum maps to 0 and maximum to 255.
        assert_eq!(px[7 + 1], 0);
        assert_eq!(px[2 * 7 + 2], 255);
    }
}
