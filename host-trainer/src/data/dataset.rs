//! A data set held in memory: samples of one shape and their targets, whatever file
//! format they came from. Training, evaluation and the data-set operations (split,
//! shuffle, normalise, batch) all work on this one type.

/// What a sample is labelled with.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// One class index per sample, each `< classes`.
    Classes {
        /// The class of each sample.
        labels: Vec<usize>,
        /// Number of classes.
        classes: usize,
    },
    /// `width` real values per sample (regression).
    Values {
        /// `[sample][width]`.
        values: Vec<f32>,
        /// Values per sample.
        width: usize,
    },
}

/// Samples and their targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// `[sample][features…]`, `sample_len()` values each.
    pub inputs: Vec<f32>,
    /// Shape of one sample: `[h, w, c]` for images (NHWC without N), `[n]` for vectors.
    pub sample_shape: Vec<usize>,
    /// One target per sample.
    pub targets: Targets,
}

impl Dataset {
    /// Values per sample.
    pub fn sample_len(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        match &self.targets {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values { values, width } => values.len().checked_div(*width).unwrap_or(0),
        }
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Dataset {
    /// Wraps MNIST-style images (`rows × cols × 1`) labelled with `classes` classes.
    pub fn from_images(images: super::mnist::Images, classes: usize) -> Self {
        Self {
            inputs: images.pixels,
            sample_shape: vec![images.rows, images.cols, 1],
            targets: Targets::Classes {
                labels: images.labels,
                classes,
            },
        }
    }
}
