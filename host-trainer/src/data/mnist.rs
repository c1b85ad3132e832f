//! An MNIST-style split: an IDX image file (`n × rows × cols`, u8) and an IDX label file
//! (`n`, u8), as f32 pixels scaled to `[0, 1]` and class labels checked against the
//! number of classes.

use super::idx;
use crate::error::{Error, Result};
use std::path::Path;

/// Which half of the bundled split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `train-images-idx3-ubyte.gz` / `train-labels-idx1-ubyte.gz`.
    Train,
    /// `test-images-idx3-ubyte.gz` / `test-labels-idx1-ubyte.gz`.
    Test,
}

impl Split {
    fn stem(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Test => "test",
        }
    }
}

/// Labelled images: `len()` samples of `rows × cols` pixels in `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    /// Pixels, `[sample][row][col]`, scaled from 0–255 to `[0, 1]`.
    pub pixels: Vec<f32>,
    /// One class label per sample, each `< classes`.
    pub labels: Vec<usize>,
    /// Rows of an image.
    pub rows: usize,
    /// Columns of an image.
    pub cols: usize,
}

impl Images {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Loads `<dir>/<split>-images-idx3-ubyte[.gz]` and `<dir>/<split>-labels-idx1-ubyte[.gz]`
/// (the `.gz` file wins when both exist) with labels in `0..classes`.
pub fn load(dir: &Path, split: Split, classes: usize) -> Result<Images> {
    let find = |name: String| {
        let gz = dir.join(format!("{name}.gz"));
        if gz.exists() { gz } else { dir.join(name) }
    };
    let images_path = find(format!("{}-images-idx3-ubyte", split.stem()));
    let labels_path = find(format!("{}-labels-idx1-ubyte", split.stem()));
    load_files(&images_path, &labels_path, classes)
}

/// Loads an image file and a label file (see the [module docs](self)).
pub fn load_files(images_path: &Path, labels_path: &Path, classes: usize) -> Result<Images> {
    let images = idx::read(images_path)?;
    let labels = idx::read(labels_path)?;
    let (&[n, rows, cols], idx::ElementType::U8) = (&images.dims[..], images.element) else {
        return Err(Error::format(
            images_path,
            format!(
                "expected u8 images n×rows×cols, found {:?} with dimensions {:?}",
                images.element, images.dims
            ),
        ));
    };
    let (&[m], idx::ElementType::U8) = (&labels.dims[..], labels.element) else {
        return Err(Error::format(
            labels_path,
            format!(
                "expected u8 labels of rank 1, found {:?} with dimensions {:?}",
                labels.element, labels.dims
            ),
        ));
    };
    if n != m {
        return Err(Error::Mismatch {
            detail: format!(
                "{} holds {n} images but {} holds {m} labels",
                images_path.display(),
                labels_path.display()
            ),
        });
    }
    if let Some((i, &l)) = labels
        .bytes
        .iter()
        .enumerate()
        .find(|&(_, &l)| l as usize >= classes)
    {
        return Err(Error::format(
            labels_path,
            format!(
                "label {l} of sample {i} (byte {}) is not below the {classes} classes",
                8 + i
            ),
        ));
    }
    Ok(Images {
        pixels: images.bytes.iter().map(|&p| p as f32 / 255.0).collect(),
        labels: labels.bytes.iter().map(|&l| l as usize).collect(),
        rows,
        cols,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn bundled() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/mnist")
    }

    #[test]
    fn loads_the_bundled_split() {
        let train = load(&bundled(), Split::Train, 10).unwrap();
        assert_eq!((train.len(), train.rows, train.cols), (8000, 28, 28));
        assert_eq!(train.pixels.len(), 8000 * 28 * 28);
        assert!(train.pixels.iter().all(|p| (0.0..=1.0).contains(p)));
        let test = load(&bundled(), Split::Test, 10).unwrap();
        assert_eq!(test.len(), 2000);
        // Every digit occurs in both halves.
        for d in 0..10 {
            assert!(train.labels.contains(&d) && test.labels.contains(&d));
        }
    }

    #[test]
    fn bad_inputs_are_one_line_errors() {
        let dir = std::env::temp_dir().join(format!("mote-mnist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, code: u8, dims: &[u32], body: &[u8]| {
            let mut v = vec![0, 0, code, dims.len() as u8];
            for d in dims {
                v.extend_from_slice(&d.to_be_bytes());
            }
            v.extend_from_slice(body);
            std::fs::write(dir.join(name), v).unwrap();
            dir.join(name)
        };
        let images = write("i", 0x08, &[2, 1, 2], &[0, 255, 10, 20]);
        let labels = write("l", 0x08, &[2], &[3, 12]);
        let e = load_files(&images, &labels, 10).unwrap_err().to_string();
        assert!(e.contains("label 12 of sample 1"), "{e}");
        let labels3 = write("l3", 0x08, &[3], &[1, 2, 3]);
        let e = load_files(&images, &labels3, 10).unwrap_err().to_string();
        assert!(e.contains("2 images but") && e.contains("3 labels"), "{e}");
        let flat = write("f", 0x08, &[4], &[0, 1, 2, 3]);
        assert!(
            load_files(&flat, &labels, 10)
                .unwrap_err()
                .to_string()
                .contains("n×rows×cols")
        );
        let ok = write("ok", 0x08, &[2], &[3, 9]);
        let got = load_files(&images, &ok, 10).unwrap();
        assert_eq!(got.pixels, [0.0, 1.0, 10.0 / 255.0, 20.0 / 255.0]);
        assert!(
            load(&dir, Split::Train, 10)
                .unwrap_err()
                .to_string()
                .contains("train-images")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
