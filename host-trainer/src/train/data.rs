//! The data of a run as `[data]` describes it: which loader, which files, which
//! normalisation.

use super::config::DataSpec;
use crate::data::csv::{CsvOptions, LabelColumn, Task};
use crate::data::mnist::{self, Split};
use crate::data::normalise::Normalisation;
use crate::data::{Dataset, npy};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Loads the training set and, when one exists, the test set.
pub fn load(spec: &DataSpec, dir: Option<&Path>) -> Result<(Dataset, Option<Dataset>)> {
    let dir: PathBuf = dir
        .map(Path::to_path_buf)
        .or_else(|| spec.path.clone())
        .ok_or_else(|| Error::spec("data.path", "no data directory (give --data DIR)"))?;
    if !dir.is_dir() {
        return Err(Error::io(
            &dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such data directory"),
        ));
    }
    let classes = spec.classes;
    let task = if spec.regression {
        Task::Regression
    } else {
        Task::Classification { classes }
    };
    let (train, test) = match spec.format.as_str() {
        "mnist" | "idx" => {
            let c = classes.unwrap_or(10);
            let train = Dataset::from_images(mnist::load(&dir, Split::Train, c)?, c);
            let test = if exists_any(&dir, "test-images-idx3-ubyte") {
                Some(Dataset::from_images(mnist::load(&dir, Split::Test, c)?, c))
            } else {
                None
            };
            (train, test)
        }
        "csv" => {
            let label_column = match &spec.label_column {
                None => LabelColumn::Last,
                Some(s) => match s.parse::<usize>() {
                    Ok(i) => LabelColumn::Index(i),
                    Err(_) => LabelColumn::Name(s.clone()),
                },
            };
            let opts = CsvOptions {
                header: spec.header,
                label_column,
                task,
            };
            let train_path = dir.join(spec.train.as_deref().unwrap_or("train.csv"));
            let test_path = dir.join(spec.test.as_deref().unwrap_or("test.csv"));
            let mut train = crate::data::csv::load(&train_path, &opts)?;
            let mut test = if test_path.exists() {
                Some(crate::data::csv::load(&test_path, &opts)?)
            } else {
                None
            };
            if let Some(shape) = &spec.sample_shape {
                for ds in std::iter::once(&mut train).chain(test.as_mut()) {
                    reshape(ds, shape)?;
                }
            }
            if let Some(w) = spec.window {
                train = crate::data::window::sliding(&train, w, spec.horizon, "data.window")?;
                if let Some(t) = test.as_mut() {
                    *t = crate::data::window::sliding(t, w, spec.horizon, "data.window")?;
                }
            }
            (train, test)
        }
        "npy" => {
            let stem = |s: Option<&String>, d: &str| s.cloned().unwrap_or_else(|| d.to_string());
            let train_stem = stem(spec.train.as_ref(), "train");
            let test_stem = stem(spec.test.as_ref(), "test");
            let pair = |s: &str| {
                (
                    dir.join(format!("{s}_x.npy")),
                    dir.join(format!("{s}_y.npy")),
                )
            };
            let (tx, ty) = pair(&train_stem);
            let train = npy::load(&tx, &ty, task)?;
            let (sx, sy) = pair(&test_stem);
            let test = if sx.exists() {
                Some(npy::load(&sx, &sy, task)?)
            } else {
                None
            };
            (train, test)
        }
        other => {
            return Err(Error::spec(
                "data.format",
                format!("unknown format '{other}' (mnist, csv, npy)"),
            ));
        }
    };
    Ok((train, test))
}

fn exists_any(dir: &Path, name: &str) -> bool {
    dir.join(name).exists() || dir.join(format!("{name}.gz")).exists()
}

fn reshape(ds: &mut Dataset, shape: &[usize]) -> Result<()> {
    if shape.iter().product::<usize>() != ds.sample_len() {
        return Err(Error::spec(
            "data.sample_shape",
            format!(
                "{shape:?} does not hold the {} features of a row",
                ds.sample_len()
            ),
        ));
    }
    ds.sample_shape = shape.to_vec();
    Ok(())
}

/// The normalisation `[data] normalise` names, fitted on `train` where it needs fitting.
pub fn normalisation(spec: &DataSpec, train: &Dataset) -> Result<Normalisation> {
    let n = spec.normalise.as_str();
    if n == "none" {
        return Ok(Normalisation::None);
    }
    if n == "standardise" || n == "standardize" {
        return Ok(Normalisation::fit_standardise(train));
    }
    if let Some(f) = n.strip_prefix("scale:") {
        let factor: f32 = f
            .trim()
            .parse()
            .map_err(|_| Error::spec("data.normalise", format!("'{f}' is not a number")))?;
        if factor.is_finite() && factor != 0.0 {
            return Ok(Normalisation::Scale { factor });
        }
    }
    Err(Error::spec(
        "data.normalise",
        format!("'{n}' is not none, standardise or scale:<factor>"),
    ))
}
