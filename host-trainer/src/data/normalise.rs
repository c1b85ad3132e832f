//! Input normalisation: fitted on the training set, stored in the checkpoint (hence
//! serde), and applied the same way to validation, test and inference inputs, so the
//! model always sees inputs on the scale it was trained on.

use super::dataset::Dataset;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The smallest standard deviation divided by: a constant channel becomes 0, not NaN.
pub const MIN_STD: f32 = 1e-6;

/// How inputs are rescaled before the model sees them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub enum Normalisation {
    /// Inputs are used as they are.
    #[default]
    None,
    /// Every value is multiplied by `factor` (e.g. `1/255` for raw pixel bytes).
    Scale {
        /// The multiplier.
        factor: f32,
    },
    /// Per channel (the last axis of the sample shape): `(x − mean[c]) / std[c]`.
    Standardise {
        /// Mean of each channel.
        mean: Vec<f32>,
        /// Standard deviation of each channel, at least [`MIN_STD`].
        std: Vec<f32>,
    },
}

impl Normalisation {
    /// Fits per-channel mean and (population) standard deviation on `ds`, the channel
    /// being the last axis of its sample shape (one channel for a scalar sample). An
    /// empty data set gives mean 0 and std 1, the identity.
    pub fn fit_standardise(ds: &Dataset) -> Normalisation {
        let channels = ds.sample_shape.last().copied().unwrap_or(1);
        let mut sum = vec![0.0f64; channels];
        let mut sq = vec![0.0f64; channels];
        let mut count = 0usize;
        if channels > 0 {
            for pixel in ds.inputs.chunks_exact(channels) {
                for ((s, q), &x) in sum.iter_mut().zip(&mut sq).zip(pixel) {
                    let x = f64::from(x);
                    *s += x;
                    *q += x * x;
                }
                count += 1;
            }
        }
        let (mean, std) = if count == 0 {
            (vec![0.0; channels], vec![1.0; channels])
        } else {
            let n = count as f64;
            sum.iter()
                .zip(&sq)
                .map(|(&s, &q)| {
                    let mean = s / n;
                    let var = (q / n - mean * mean).max(0.0);
                    (mean as f32, (var.sqrt() as f32).max(MIN_STD))
                })
                .unzip()
        };
        Normalisation::Standardise { mean, std }
    }

    /// Normalises every input of `ds` in place; an error if the normalisation does not
    /// fit its sample shape (a different channel count) or is itself invalid.
    pub fn apply(&self, ds: &mut Dataset) -> Result<()> {
        if let Self::Standardise { mean, .. } = self {
            let channels = ds.sample_shape.last().copied().unwrap_or(1);
            if channels != mean.len() {
                return Err(Error::Mismatch {
                    detail: format!(
                        "the normalisation has {} channels but samples of shape {:?} have {channels}",
                        mean.len(),
                        ds.sample_shape
                    ),
                });
            }
        }
        self.apply_sample(&mut ds.inputs)
    }

    /// Normalises one sample (or several back to back) in place: its length must be a
    /// multiple of the channel count, channels innermost.
    pub fn apply_sample(&self, sample: &mut [f32]) -> Result<()> {
        match self {
            Self::None => Ok(()),
            Self::Scale { factor } => {
                if !factor.is_finite() {
                    return Err(Error::Mismatch {
                        detail: format!("the normalisation scale factor {factor} is not finite"),
                    });
                }
                sample.iter_mut().for_each(|x| *x *= factor);
                Ok(())
            }
            Self::Standardise { mean, std } => {
                let channels = mean.len();
                if std.len() != channels || mean.iter().chain(std).any(|v| !v.is_finite()) {
                    return Err(Error::Mismatch {
                        detail: format!(
                            "invalid standardisation: {} means and {} standard deviations, \
                             all of which must be finite",
                            channels,
                            std.len()
                        ),
                    });
                }
                if channels == 0 || !sample.len().is_multiple_of(channels) {
                    return Err(Error::Mismatch {
                        detail: format!(
                            "{} input values are not a whole number of {channels}-channel pixels",
                            sample.len()
                        ),
                    });
                }
                let inv: Vec<f32> = std.iter().map(|s| 1.0 / s.max(MIN_STD)).collect();
                for pixel in sample.chunks_exact_mut(channels) {
                    for ((x, m), k) in pixel.iter_mut().zip(mean).zip(&inv) {
                        *x = (*x - m) * k;
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Targets;

    /// Two samples of 2×1×2 (HWC): channel 0 holds 1, 3, 5, 7; channel 1 is constant 4.
    fn image_set() -> Dataset {
        Dataset {
            inputs: vec![1.0, 4.0, 3.0, 4.0, 5.0, 4.0, 7.0, 4.0],
            sample_shape: vec![2, 1, 2],
            targets: Targets::Classes {
                labels: vec![0, 1],
                classes: 2,
            },
        }
    }

    #[test]
    fn standardise_per_channel() {
        let mut ds = image_set();
        let n = Normalisation::fit_standardise(&ds);
        let Normalisation::Standardise { mean, std } = &n else {
            panic!("{n:?}")
        };
        assert_eq!(mean, &[4.0, 4.0]);
        assert!((std[0] - 5.0f32.sqrt()).abs() < 1e-6, "{std:?}");
        assert_eq!(std[1], MIN_STD);
        n.apply(&mut ds).unwrap();
        let s = 5.0f32.sqrt();
        let want = [-3.0 / s, 0.0, -1.0 / s, 0.0, 1.0 / s, 0.0, 3.0 / s, 0.0];
        for (g, w) in ds.inputs.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{:?}", ds.inputs);
        }
        // One sample at inference gives the same values.
        let mut one = image_set().inputs[..4].to_vec();
        n.apply_sample(&mut one).unwrap();
        assert_eq!(one, ds.inputs[..4]);
    }

    #[test]
    fn scale_none_and_serde() {
        let mut ds = image_set();
        Normalisation::None.apply(&mut ds).unwrap();
        assert_eq!(ds, image_set());
        let scale = Normalisation::Scale { factor: 0.5 };
        scale.apply(&mut ds).unwrap();
        assert_eq!(ds.inputs[..2], [0.5, 2.0]);
        for n in [
            Normalisation::None,
            scale,
            Normalisation::fit_standardise(&image_set()),
        ] {
            let json = serde_json::to_string(&n).unwrap();
            assert_eq!(serde_json::from_str::<Normalisation>(&json).unwrap(), n);
        }
    }

    #[test]
    fn mismatches_are_errors() {
        let n = Normalisation::fit_standardise(&image_set());
        let mut vectors = Dataset {
            sample_shape: vec![8],
            inputs: vec![0.0; 8],
            ..image_set()
        };
        let e = n.apply(&mut vectors).unwrap_err().to_string();
        assert!(
            e.contains("2 channels but samples of shape [8] have 8"),
            "{e}"
        );
        let e = n.apply_sample(&mut [0.0; 3]).unwrap_err().to_string();
        assert!(e.contains("3 input values"), "{e}");
        let bad = Normalisation::Standardise {
            mean: vec![0.0],
            std: vec![],
        };
        assert!(bad.apply_sample(&mut [0.0]).is_err());
        let bad = Normalisation::Scale { factor: f32::NAN };
        assert!(bad.apply_sample(&mut [0.0]).is_err());
        // A deserialised zero std is floored rather than dividing by zero.
        let zero = Normalisation::Standardise {
            mean: vec![1.0],
            std: vec![0.0],
        };
        let mut x = [1.0, 1.0];
        zero.apply_sample(&mut x).unwrap();
        assert_eq!(x, [0.0, 0.0]);
    }

    #[test]
    fn fit_on_empty_or_scalar_samples() {
        let empty = Dataset {
            inputs: vec![],
            sample_shape: vec![3],
            targets: Targets::Classes {
                labels: vec![],
                classes: 1,
            },
        };
        assert_eq!(
            Normalisation::fit_standardise(&empty),
            Normalisation::Standardise {
                mean: vec![0.0; 3],
                std: vec![1.0; 3]
            }
        );
        let scalar = Dataset {
            inputs: vec![2.0, 4.0],
            sample_shape: vec![],
            ..empty
        };
        assert_eq!(
            Normalisation::fit_standardise(&scalar),
            Normalisation::Standardise {
                mean: vec![3.0],
                std: vec![1.0]
            }
        );
    }
}
