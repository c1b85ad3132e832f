//! Sliding windows over a time series: each row of a data set is one time step, and a
//! sample becomes `window` consecutive steps, `[window, features]`, labelled with the
//! target `horizon` steps after the window's last — one-step (or h-step) forecasting.
//!
//! A step's features are its row's features followed by its target values, so the
//! history of the forecast variable is an input (the usual univariate setup: the series
//! itself is the target column). Rows must be in time order; each file is its own
//! series (a test file continuing the training series gives an honest hold-out).

use super::{Dataset, Targets};
use crate::{Error, Result};

/// The windows of `series` (a regression data set whose samples are flat rows):
/// `len − window − horizon + 1` samples of shape `[window, features + targets]`.
///
/// Errors: a zero `window` or `horizon`, a classification data set, a sample that is
/// not a flat row, or a series too short for one window.
pub fn sliding(series: &Dataset, window: usize, horizon: usize, at: &str) -> Result<Dataset> {
    if window == 0 || horizon == 0 {
        return Err(Error::spec(at, "window and horizon must be at least 1"));
    }
    let Targets::Values { values, width } = &series.targets else {
        return Err(Error::spec(
            at,
            "windows need a regression data set (regression = true)",
        ));
    };
    let &[features] = series.sample_shape.as_slice() else {
        return Err(Error::spec(
            at,
            format!(
                "windows need flat rows, got samples of shape {:?}",
                series.sample_shape
            ),
        ));
    };
    let rows = series.len();
    let Some(count) = rows.checked_sub(window + horizon - 1).filter(|&n| n > 0) else {
        return Err(Error::spec(
            at,
            format!("{rows} rows cannot hold a window of {window} and a horizon of {horizon}"),
        ));
    };
    let step = features + width;
    let mut inputs = Vec::with_capacity(count * window * step);
    let mut targets = Vec::with_capacity(count * width);
    for start in 0..count {
        for r in start..start + window {
            inputs.extend_from_slice(&series.inputs[r * features..(r + 1) * features]);
            inputs.extend_from_slice(&values[r * width..(r + 1) * width]);
        }
        let t = start + window + horizon - 1;
        targets.extend_from_slice(&values[t * width..(t + 1) * width]);
    }
    Ok(Dataset {
        inputs,
        sample_shape: vec![window, step],
        targets: Targets::Values {
            values: targets,
            width: *width,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize) -> Dataset {
        Dataset {
            inputs: (0..n).map(|i| i as f32 * 10.0).collect(),
            sample_shape: vec![1],
            targets: Targets::Values {
                values: (0..n).map(|i| i as f32).collect(),
                width: 1,
            },
        }
    }

    #[test]
    fn windows_hold_features_then_history_and_the_next_target() {
        let w = sliding(&series(5), 2, 1, "data.window").unwrap();
        assert_eq!(w.sample_shape, vec![2, 2]);
        assert_eq!(w.len(), 3);
        assert_eq!(&w.inputs[..4], &[0.0, 0.0, 10.0, 1.0]);
        let Targets::Values { values, .. } = &w.targets else {
            panic!("targets")
        };
        assert_eq!(values, &vec![2.0, 3.0, 4.0]);
        let h2 = sliding(&series(5), 2, 2, "data.window").unwrap();
        assert_eq!(h2.len(), 2);
    }

    #[test]
    fn bad_windows_are_errors() {
        assert!(sliding(&series(5), 0, 1, "w").is_err());
        assert!(sliding(&series(5), 5, 1, "w").is_err());
        assert!(sliding(&series(5), 2, 0, "w").is_err());
        let classes = Dataset {
            inputs: vec![0.0; 4],
            sample_shape: vec![1],
            targets: Targets::Classes {
                labels: vec![0; 4],
                classes: 2,
            },
        };
        assert!(sliding(&classes, 2, 1, "w").is_err());
    }
}
