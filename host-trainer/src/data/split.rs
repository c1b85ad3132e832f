//! Operations on a [`Dataset`] as a whole: subsets, a seeded train/validation split,
//! truncation, and gathering a batch's inputs.
//!
//! Every operation checks its indices and the data set's own consistency (its fields
//! are public, so `inputs` may disagree with the targets) and reports a problem as an
//! [`Error::Mismatch`] instead of panicking.

use super::dataset::{Dataset, Targets};
use crate::error::{Error, Result};
use mote_core::rng::Rng;

/// `0..n` in an order drawn from `rng` (Fisher–Yates), e.g. one epoch's sample order.
pub fn shuffled_indices(n: usize, rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    order
}

impl Dataset {
    /// Checks that `inputs` holds `sample_len()` values for each target.
    fn check_consistent(&self) -> Result<()> {
        let want = self.len().checked_mul(self.sample_len());
        if want != Some(self.inputs.len()) {
            return Err(Error::Mismatch {
                detail: format!(
                    "the data set holds {} input values, not {} samples of shape {:?}",
                    self.inputs.len(),
                    self.len(),
                    self.sample_shape
                ),
            });
        }
        Ok(())
    }

    /// The samples at `indices`, in that order (repeats allowed), with their targets;
    /// an error if an index is out of range.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        let mut inputs = Vec::new();
        self.gather(indices, &mut inputs)?;
        let targets = match &self.targets {
            Targets::Classes { labels, classes } => Targets::Classes {
                labels: indices
                    .iter()
                    .map(|&i| {
                        labels
                            .get(i)
                            .copied()
                            .ok_or_else(|| out_of_range(i, self.len()))
                    })
                    .collect::<Result<_>>()?,
                classes: *classes,
            },
            Targets::Values { values, width } => {
                let mut out = Vec::with_capacity(indices.len().saturating_mul(*width));
                for &i in indices {
                    let row = i
                        .checked_mul(*width)
                        .and_then(|s| values.get(s..s.checked_add(*width)?))
                        .ok_or_else(|| out_of_range(i, self.len()))?;
                    out.extend_from_slice(row);
                }
                Targets::Values {
                    values: out,
                    width: *width,
                }
            }
        };
        Ok(Dataset {
            inputs,
            sample_shape: self.sample_shape.clone(),
            targets,
        })
    }

    /// Splits off a validation set: the samples are shuffled with a generator seeded by
    /// `seed`, then the last `round(fraction · len)` go to validation and the rest, in
    /// the shuffled order, to training. Returns `(training, validation)`.
    ///
    /// `fraction` must be in `[0, 1)` and must leave at least one training sample.
    pub fn split_validation(self, fraction: f32, seed: u64) -> Result<(Dataset, Dataset)> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(Error::Mismatch {
                detail: format!("the validation fraction {fraction} is not in [0, 1)"),
            });
        }
        self.check_consistent()?;
        let n = self.len();
        let k = ((f64::from(fraction) * n as f64).round() as usize).min(n);
        if n > 0 && k == n {
            return Err(Error::Mismatch {
                detail: format!(
                    "a validation fraction of {fraction} takes all {n} samples, leaving none \
                     to train on"
                ),
            });
        }
        let order = shuffled_indices(n, &mut Rng::new(seed));
        let (train, validation) = order.split_at(n - k);
        Ok((self.subset(train)?, self.subset(validation)?))
    }

    /// The first `n` samples (all of them if there are fewer).
    pub fn limit(self, n: usize) -> Dataset {
        let mut ds = self;
        let n = n.min(ds.len());
        let sample_len = ds.sample_len();
        ds.inputs.truncate(n.saturating_mul(sample_len));
        match &mut ds.targets {
            Targets::Classes { labels, .. } => labels.truncate(n),
            Targets::Values { values, width } => values.truncate(n.saturating_mul(*width)),
        }
        ds
    }

    /// Copies the inputs of the samples at `indices`, in that order, into `inputs`
    /// (cleared first, its allocation reused: one batch after another). An error if an
    /// index is out of range or the data set is inconsistent, leaving `inputs` partly
    /// filled.
    pub fn gather(&self, indices: &[usize], inputs: &mut Vec<f32>) -> Result<()> {
        inputs.clear();
        self.check_consistent()?;
        let n = self.len();
        let sample_len = self.sample_len();
        inputs.reserve(indices.len().saturating_mul(sample_len));
        for &i in indices {
            if i >= n {
                return Err(out_of_range(i, n));
            }
            // In range: i < n and inputs.len() == n · sample_len.
            let start = i * sample_len;
            let sample = self
                .inputs
                .get(start..start + sample_len)
                .ok_or_else(|| out_of_range(i, n))?;
            inputs.extend_from_slice(sample);
        }
        Ok(())
    }
}

fn out_of_range(i: usize, n: usize) -> Error {
    Error::Mismatch {
        detail: format!("sample index {i} is out of range: the data set has {n} samples"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` samples of shape `[2]`: sample `i` is `[i, 10 + i]`, class `i % 3`.
    fn classes(n: usize) -> Dataset {
        Dataset {
            inputs: (0..n).flat_map(|i| [i as f32, 10.0 + i as f32]).collect(),
            sample_shape: vec![2],
            targets: Targets::Classes {
                labels: (0..n).map(|i| i % 3).collect(),
                classes: 3,
            },
        }
    }

    fn values(n: usize) -> Dataset {
        Dataset {
            targets: Targets::Values {
                values: (0..n).flat_map(|i| [i as f32, -(i as f32)]).collect(),
                width: 2,
            },
            ..classes(n)
        }
    }

    #[test]
    fn subset_and_gather() {
        let ds = classes(5);
        let s = ds.subset(&[4, 0, 4]).unwrap();
        assert_eq!(s.inputs, [4.0, 14.0, 0.0, 10.0, 4.0, 14.0]);
        assert_eq!(
            s.targets,
            Targets::Classes {
                labels: vec![1, 0, 1],
                classes: 3
            }
        );
        let v = values(5).subset(&[3, 1]).unwrap();
        assert_eq!(
            v.targets,
            Targets::Values {
                values: vec![3.0, -3.0, 1.0, -1.0],
                width: 2
            }
        );
        assert!(ds.subset(&[]).unwrap().is_empty());
        let e = ds.subset(&[1, 5]).unwrap_err().to_string();
        assert!(e.contains("sample index 5 is out of range"), "{e}");
        assert!(values(5).subset(&[usize::MAX]).is_err());

        let mut buf = vec![99.0; 7];
        ds.gather(&[2, 1], &mut buf).unwrap();
        assert_eq!(buf, [2.0, 12.0, 1.0, 11.0]);
        assert!(ds.gather(&[usize::MAX], &mut buf).is_err());
        let mut broken = classes(5);
        broken.inputs.pop();
        let e = broken.gather(&[0], &mut buf).unwrap_err().to_string();
        assert!(e.contains("9 input values"), "{e}");
    }

    #[test]
    fn split_validation_is_seeded_and_partitions() {
        let (train, val) = classes(10).split_validation(0.25, 7).unwrap();
        // round(2.5) = 3 to validation.
        assert_eq!((train.len(), val.len()), (7, 3));
        let mut seen: Vec<usize> = train
            .inputs
            .chunks(2)
            .chain(val.inputs.chunks(2))
            .map(|s| s[0] as usize)
            .collect();
        // Inputs and labels stay together.
        let Targets::Classes { labels, .. } = &train.targets else {
            panic!()
        };
        for (s, &l) in train.inputs.chunks(2).zip(labels) {
            assert_eq!(s[0] as usize % 3, l);
        }
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        let again = classes(10).split_validation(0.25, 7).unwrap();
        assert_eq!(again, (train.clone(), val));
        let other = classes(10).split_validation(0.25, 8).unwrap();
        assert_ne!(other.0, train);
        // The split is the tail of the seeded shuffle.
        let order = shuffled_indices(10, &mut Rng::new(7));
        assert_eq!(train, classes(10).subset(&order[..7]).unwrap());

        let (t, v) = values(4).split_validation(0.0, 1).unwrap();
        assert_eq!((t.len(), v.len()), (4, 0));
        for bad in [1.0, -0.1, f32::NAN, 1.5] {
            let e = classes(4).split_validation(bad, 1).unwrap_err().to_string();
            assert!(e.contains("not in [0, 1)"), "{e}");
        }
        let e = classes(1).split_validation(0.9, 1).unwrap_err().to_string();
        assert!(e.contains("leaving none"), "{e}");
    }

    #[test]
    fn limit_takes_the_first_samples() {
        let ds = classes(5).limit(2);
        assert_eq!(ds.inputs, [0.0, 10.0, 1.0, 11.0]);
        assert_eq!(ds.len(), 2);
        let v = values(5).limit(1);
        assert_eq!(
            v.targets,
            Targets::Values {
                values: vec![0.0, 0.0],
                width: 2
            }
        );
        assert_eq!(classes(3).limit(usize::MAX), classes(3));
        assert!(classes(3).limit(0).is_empty());
    }

    #[test]
    fn shuffled_indices_is_a_seeded_permutation() {
        let a = shuffled_indices(50, &mut Rng::new(3));
        assert_eq!(a, shuffled_indices(50, &mut Rng::new(3)));
        assert_ne!(a, (0..50).collect::<Vec<_>>());
        let mut s = a.clone();
        s.sort();
        assert_eq!(s, (0..50).collect::<Vec<_>>());
        assert!(shuffled_indices(0, &mut Rng::new(3)).is_empty());
    }
}
