//! Per-batch image augmentation: random geometric and noise perturbations of HWC
//! images, drawn from the trainer's seeded [`Rng`] so that a run reproduces bit for bit.
//!
//! [`Augment::apply`] transforms each image of a batch in place, in this order: a
//! horizontal flip (with probability ½), a translation, a pad-and-crop, a rotation,
//! then additive gaussian noise. Pixels moved in from outside the image are 0. The
//! deterministic building blocks — [`shift_image`], [`flip_horizontal`],
//! [`rotate_image`] — are public so they can be tested and reused.

use crate::error::{Error, Result};
use mote_core::rng::Rng;
use serde::{Deserialize, Serialize};

/// Which random perturbations to apply to training images; the default applies none.
/// Stored in the training config (hence serde).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Augment {
    /// Random translation of up to ±`shift` pixels on each axis, zero fill.
    pub shift: usize,
    /// Mirror left–right with probability ½.
    pub flip_horizontal: bool,
    /// Random rotation by an angle uniform in ±`rotate_degrees` about the image centre,
    /// bilinear, zero fill.
    pub rotate_degrees: f32,
    /// Standard deviation of the gaussian noise added to every value.
    pub noise_std: f32,
    /// Pad by `n` zero pixels on each side, then crop a random window of the original
    /// size (equivalently, a zero-fill translation of up to ±`n` on each axis).
    pub crop: Option<usize>,
}

impl Augment {
    /// Whether `apply` leaves every batch unchanged (and draws nothing from the rng).
    pub fn is_identity(&self) -> bool {
        self.shift == 0
            && !self.flip_horizontal
            && self.rotate_degrees == 0.0
            && self.noise_std == 0.0
            && self.crop.unwrap_or(0) == 0
    }

    /// Augments, in place, each of the `batch.len() / (h·w·c)` images of `shape =
    /// [h, w, c]` in `batch`, with random choices drawn from `rng`. An error if `batch`
    /// is not a whole number of images or a setting is invalid (a non-finite angle, a
    /// negative or non-finite noise level).
    pub fn apply(&self, shape: [usize; 3], batch: &mut [f32], rng: &mut Rng) -> Result<()> {
        if !self.rotate_degrees.is_finite() || !self.noise_std.is_finite() || self.noise_std < 0.0 {
            return Err(Error::Mismatch {
                detail: format!(
                    "invalid augmentation: rotate_degrees {} must be finite and noise_std {} \
                     finite and ≥ 0",
                    self.rotate_degrees, self.noise_std
                ),
            });
        }
        let image_len = image_len(shape)?;
        if image_len == 0 || !batch.len().is_multiple_of(image_len) {
            if batch.is_empty() {
                return Ok(());
            }
            return Err(Error::Mismatch {
                detail: format!(
                    "a batch of {} values is not a whole number of {shape:?} images",
                    batch.len()
                ),
            });
        }
        if self.is_identity() {
            return Ok(());
        }
        let [h, w, _] = shape;
        let mut scratch = vec![0.0f32; image_len];
        // Offsets beyond the image size all give a blank image; cap them so that the
        // range arithmetic cannot overflow.
        let cap = |n: usize| isize::try_from(n.min(h.max(w))).unwrap_or(0);
        let shift = cap(self.shift);
        let crop = cap(self.crop.unwrap_or(0));
        let degrees = self.rotate_degrees.abs();
        for img in batch.chunks_exact_mut(image_len) {
            if self.flip_horizontal && rng.bernoulli(0.5) {
                flip_horizontal(shape, img)?;
            }
            for reach in [shift, crop] {
                if reach > 0 {
                    let mut offset = || rng.index(2 * reach as usize + 1) as isize - reach;
                    let (dy, dx) = (offset(), offset());
                    if (dy, dx) != (0, 0) {
                        shift_image(shape, img, dy, dx, &mut scratch)?;
                        img.copy_from_slice(&scratch);
                    }
                }
            }
            if degrees > 0.0 {
                let angle = rng.uniform(-degrees, degrees).to_radians();
                rotate_image(shape, img, angle, &mut scratch)?;
                img.copy_from_slice(&scratch);
            }
            if self.noise_std > 0.0 {
                for x in img.iter_mut() {
                    *x += self.noise_std * rng.normal();
                }
            }
        }
        Ok(())
    }
}

/// `h·w·c`, or an error if it overflows.
fn image_len([h, w, c]: [usize; 3]) -> Result<usize> {
    h.checked_mul(w)
        .and_then(|hw| hw.checked_mul(c))
        .ok_or_else(|| Error::Mismatch {
            detail: format!("image shape {:?} is too large", [h, w, c]),
        })
}

/// Checks that each buffer holds exactly one image of `shape`.
fn check_lens(shape: [usize; 3], lens: &[usize]) -> Result<usize> {
    let n = image_len(shape)?;
    match lens.iter().find(|&&l| l != n) {
        Some(l) => Err(Error::Mismatch {
            detail: format!("{l} values are not one {shape:?} image ({n} values)"),
        }),
        None => Ok(n),
    }
}

/// Writes `img` (HWC, `shape = [h, w, c]`) translated by `dy` rows down and `dx`
/// columns right into `out`: `out[y][x] = img[y − dy][x − dx]`, 0 where that is
/// outside the image. Both buffers must hold one image.
pub fn shift_image(
    shape: [usize; 3],
    img: &[f32],
    dy: isize,
    dx: isize,
    out: &mut [f32],
) -> Result<()> {
    check_lens(shape, &[img.len(), out.len()])?;
    out.fill(0.0);
    let [h, w, c] = shape;
    let row = w * c;
    // Slice lengths fit isize, so these conversions are exact.
    let (hi, wi) = (h as isize, w as isize);
    // Output columns [x0, x1) read source columns [x0 − dx, x1 − dx).
    let x0 = dx.clamp(0, wi);
    let x1 = wi.saturating_add(dx).clamp(0, wi);
    if x0 >= x1 {
        return Ok(());
    }
    let sx0 = (x0 - dx) as usize;
    let span = (x1 - x0) as usize * c;
    for y in 0..h {
        let Some(sy) = (y as isize)
            .checked_sub(dy)
            .filter(|sy| (0..hi).contains(sy))
        else {
            continue;
        };
        let dst_start = y * row + x0 as usize * c;
        let src_start = sy as usize * row + sx0 * c;
        if let (Some(d), Some(s)) = (
            out.get_mut(dst_start..dst_start + span),
            img.get(src_start..src_start + span),
        ) {
            d.copy_from_slice(s);
        }
    }
    Ok(())
}

/// Mirrors `img` (HWC, one image of `shape`) left–right in place.
pub fn flip_horizontal(shape: [usize; 3], img: &mut [f32]) -> Result<()> {
    check_lens(shape, &[img.len()])?;
    let [_, w, c] = shape;
    if c == 0 || w == 0 {
        return Ok(());
    }
    for row in img.chunks_exact_mut(w * c) {
        let (left, right) = row.split_at_mut(w / 2 * c);
        for (a, b) in left.chunks_exact_mut(c).zip(right.rchunks_exact_mut(c)) {
            a.swap_with_slice(b);
        }
    }
    Ok(())
}

/// Writes `img` (HWC, one image of `shape`) rotated by `radians` about its centre into
/// `out`, sampling bilinearly with 0 outside the image. Positive angles turn the image
/// anticlockwise as displayed (rows downwards); an angle of 0 copies it exactly.
pub fn rotate_image(shape: [usize; 3], img: &[f32], radians: f32, out: &mut [f32]) -> Result<()> {
    check_lens(shape, &[img.len(), out.len()])?;
    if radians == 0.0 {
        out.copy_from_slice(img);
        return Ok(());
    }
    let [h, w, c] = shape;
    let (sin, cos) = radians.sin_cos();
    let cy = (h as f32 - 1.0) / 2.0;
    let cx = (w as f32 - 1.0) / 2.0;
    let pixel = |y: isize, x: isize| -> Option<&[f32]> {
        let (y, x) = (usize::try_from(y).ok()?, usize::try_from(x).ok()?);
        if y >= h || x >= w {
            return None;
        }
        let start = (y * w + x) * c;
        img.get(start..start + c)
    };
    for (i, dst) in out.chunks_exact_mut(c.max(1)).enumerate() {
        let (y, x) = (i / w.max(1), i % w.max(1));
        let (ry, rx) = (y as f32 - cy, x as f32 - cx);
        // The inverse rotation: where in the source this output pixel comes from.
        let sx = cos * rx - sin * ry + cx;
        let sy = sin * rx + cos * ry + cy;
        let (fy, fx) = (sy.floor(), sx.floor());
        let (ty, tx) = (sy - fy, sx - fx);
        let (y0, x0) = (fy as isize, fx as isize);
        let corners = [
            (pixel(y0, x0), (1.0 - ty) * (1.0 - tx)),
            (pixel(y0, x0 + 1), (1.0 - ty) * tx),
            (pixel(y0 + 1, x0), ty * (1.0 - tx)),
            (pixel(y0 + 1, x0 + 1), ty * tx),
        ];
        dst.fill(0.0);
        for (src, weight) in corners {
            if let Some(src) = src {
                for (d, s) in dst.iter_mut().zip(src) {
                    *d += weight * s;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Vec<f32> {
        (1..=n).map(|i| i as f32).collect()
    }

    fn everything() -> Augment {
        Augment {
            shift: 2,
            flip_horizontal: true,
            rotate_degrees: 15.0,
            noise_std: 0.1,
            crop: Some(1),
        }
    }

    #[test]
    fn identity_leaves_data_and_rng_alone() {
        let a = Augment::default();
        assert!(a.is_identity());
        assert!(
            Augment {
                crop: Some(0),
                ..a.clone()
            }
            .is_identity()
        );
        assert!(!everything().is_identity());
        let mut batch = ramp(2 * 4 * 4 * 3);
        let mut rng = Rng::new(1);
        a.apply([4, 4, 3], &mut batch, &mut rng).unwrap();
        assert_eq!(batch, ramp(96));
        assert_eq!(rng, Rng::new(1));
    }

    #[test]
    fn shift_moves_pixels_by_known_amounts() {
        let img = ramp(9); // 3×3×1: 1 2 3 / 4 5 6 / 7 8 9
        let mut out = vec![f32::NAN; 9];
        let shifted = |dy, dx, out: &mut Vec<f32>| {
            shift_image([3, 3, 1], &img, dy, dx, out).unwrap();
            out.clone()
        };
        assert_eq!(shifted(0, 0, &mut out), img);
        assert_eq!(
            shifted(1, 0, &mut out),
            [0., 0., 0., 1., 2., 3., 4., 5., 6.]
        );
        assert_eq!(
            shifted(0, -1, &mut out),
            [2., 3., 0., 5., 6., 0., 8., 9., 0.]
        );
        assert_eq!(
            shifted(-1, 2, &mut out),
            [0., 0., 4., 0., 0., 7., 0., 0., 0.]
        );
        for (dy, dx) in [(3, 0), (0, -3), (isize::MAX, 0), (0, isize::MIN)] {
            assert_eq!(shifted(dy, dx, &mut out), [0.0; 9]);
        }
        // Channels move together.
        let rgb = ramp(2 * 2 * 2);
        let mut out = vec![0.0; 8];
        shift_image([2, 2, 2], &rgb, 0, 1, &mut out).unwrap();
        assert_eq!(out, [0., 0., 1., 2., 0., 0., 5., 6.]);
        assert!(shift_image([3, 3, 1], &img, 0, 0, &mut [0.0; 8]).is_err());
        assert!(shift_image([3, 3, 2], &img, 0, 0, &mut out).is_err());
    }

    #[test]
    fn random_shift_and_crop_are_bounded_translations() {
        for aug in [
            Augment {
                shift: 1,
                ..Default::default()
            },
            Augment {
                crop: Some(1),
                ..Default::default()
            },
        ] {
            let mut rng = Rng::new(5);
            let mut seen = std::collections::HashSet::new();
            for _ in 0..100 {
                let mut img = ramp(16);
                aug.apply([4, 4, 1], &mut img, &mut rng).unwrap();
                let mut out = vec![0.0; 16];
                let hit = (-1..=1)
                    .flat_map(|dy| (-1..=1).map(move |dx| (dy, dx)))
                    .find(|&(dy, dx)| {
                        shift_image([4, 4, 1], &ramp(16), dy, dx, &mut out).unwrap();
                        out == img
                    });
                seen.insert(hit.expect("a translation within ±1"));
            }
            assert_eq!(seen.len(), 9, "every offset in ±1 occurs");
        }
    }

    #[test]
    fn flip_twice_is_identity() {
        let mut img = ramp(2 * 3 * 2); // 2×3×2
        flip_horizontal([2, 3, 2], &mut img).unwrap();
        assert_eq!(img, [5., 6., 3., 4., 1., 2., 11., 12., 9., 10., 7., 8.]);
        flip_horizontal([2, 3, 2], &mut img).unwrap();
        assert_eq!(img, ramp(12));
        let mut even = ramp(4);
        flip_horizontal([1, 4, 1], &mut even).unwrap();
        assert_eq!(even, [4., 3., 2., 1.]);
        assert!(flip_horizontal([1, 4, 1], &mut [0.0; 3]).is_err());
        // Through apply: each image is flipped or not.
        let aug = Augment {
            flip_horizontal: true,
            ..Default::default()
        };
        let mut rng = Rng::new(9);
        let (mut flipped, mut kept) = (0, 0);
        for _ in 0..50 {
            let mut img = ramp(4);
            aug.apply([1, 4, 1], &mut img, &mut rng).unwrap();
            if img == [4., 3., 2., 1.] {
                flipped += 1;
            } else {
                assert_eq!(img, ramp(4));
                kept += 1;
            }
        }
        assert!(flipped > 10 && kept > 10, "{flipped} {kept}");
    }

    #[test]
    fn rotation() {
        let img = ramp(3 * 3 * 2);
        let mut out = vec![f32::NAN; 18];
        rotate_image([3, 3, 2], &img, 0.0, &mut out).unwrap();
        assert_eq!(out, img);
        let zero = Augment {
            rotate_degrees: 0.0,
            ..Default::default()
        };
        let mut batch = img.clone();
        zero.apply([3, 3, 2], &mut batch, &mut Rng::new(1)).unwrap();
        assert_eq!(batch, img);
        // A quarter turn anticlockwise: the right column becomes the top row.
        let img = ramp(9); // 1 2 3 / 4 5 6 / 7 8 9
        let mut out = vec![0.0; 9];
        rotate_image([3, 3, 1], &img, std::f32::consts::FRAC_PI_2, &mut out).unwrap();
        let want = [3., 6., 9., 2., 5., 8., 1., 4., 7.];
        for (g, w) in out.iter().zip(want) {
            assert!((g - w).abs() < 1e-4, "{out:?}");
        }
        // Half a pixel off the grid after 45°: corners fall outside and fill with 0.
        rotate_image([3, 3, 1], &img, std::f32::consts::FRAC_PI_4, &mut out).unwrap();
        assert!((out[4] - 5.0).abs() < 1e-5, "the centre stays: {out:?}");
        assert!(out[0] < 3.0, "{out:?}");
        assert!(rotate_image([3, 3, 1], &img, 1.0, &mut [0.0; 4]).is_err());
    }

    #[test]
    fn same_seed_same_output() {
        let shape = [5, 6, 3];
        let input = ramp(4 * 5 * 6 * 3);
        let run = |seed| {
            let mut batch = input.clone();
            everything()
                .apply(shape, &mut batch, &mut Rng::new(seed))
                .unwrap();
            batch
        };
        let a = run(11);
        assert_eq!(a, run(11));
        assert_ne!(a, run(12));
        assert_ne!(a, input);
        assert!(a.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn noise_has_the_requested_spread() {
        let aug = Augment {
            noise_std: 0.5,
            ..Default::default()
        };
        let mut batch = vec![1.0f32; 10_000];
        aug.apply([10, 10, 1], &mut batch, &mut Rng::new(2))
            .unwrap();
        let n = batch.len() as f32;
        let mean = batch.iter().sum::<f32>() / n;
        let var = batch.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n;
        assert!((mean - 1.0).abs() < 0.02, "{mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.02, "{var}");
    }

    #[test]
    fn bad_batches_and_settings_are_errors() {
        let mut rng = Rng::new(0);
        let e = everything()
            .apply([2, 2, 1], &mut [0.0; 7], &mut rng)
            .unwrap_err()
            .to_string();
        assert!(e.contains("7 values is not a whole number"), "{e}");
        assert!(
            everything()
                .apply([0, 2, 1], &mut [0.0; 3], &mut rng)
                .is_err()
        );
        assert!(everything().apply([0, 2, 1], &mut [], &mut rng).is_ok());
        assert!(
            everything()
                .apply([usize::MAX, 2, 1], &mut [0.0; 4], &mut rng)
                .is_err()
        );
        for bad in [
            Augment {
                noise_std: -1.0,
                ..Default::default()
            },
            Augment {
                rotate_degrees: f32::NAN,
                ..Default::default()
            },
        ] {
            let e = bad.apply([2, 2, 1], &mut [0.0; 4], &mut rng).unwrap_err();
            assert!(e.to_string().contains("invalid augmentation"), "{e}");
        }
        // Huge settings are capped, not overflowed.
        let huge = Augment {
            shift: usize::MAX,
            crop: Some(usize::MAX),
            ..Default::default()
        };
        huge.apply([2, 2, 1], &mut [1.0; 8], &mut rng).unwrap();
    }

    #[test]
    fn serde_round_trip() {
        let a = everything();
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Augment>(&json).unwrap(), a);
    }
}
