//! Loss and accuracy curves as an SVG image: two panels side by side, loss per epoch
//! on the left and accuracy per epoch on the right, each with the training series and
//! the validation series when the run has one.
//!
//! The SVG backend writes text as SVG `<text>` elements and lets the viewer's fonts
//! draw it, so titles, axis labels and legends need no font library here.
//! Non-finite values (a diverged loss) are left out of the lines rather than breaking
//! the scale.

use std::ops::Range;
use std::path::Path;

use plotters::prelude::*;

use super::{EpochRecord, write_atomic};
use crate::{Error, Result};

/// Size of the whole image, in pixels.
const SIZE: (u32, u32) = (1000, 420);

/// Colour of the training series.
const TRAIN: RGBColor = RGBColor(31, 119, 180);
/// Colour of the validation series.
const VAL: RGBColor = RGBColor(214, 39, 40);

/// One line of a panel: its legend label, colour and points.
struct Series {
    /// Legend text.
    label: &'static str,
    /// Line colour.
    color: RGBColor,
    /// `(epoch, value)` points, finite values only.
    points: Vec<(i64, f64)>,
}

/// The finite `(epoch, value)` points of one column of the history.
fn points(records: &[EpochRecord], value: impl Fn(&EpochRecord) -> Option<f64>) -> Vec<(i64, f64)> {
    records
        .iter()
        .filter_map(|r| {
            let v = value(r)?;
            let x = i64::try_from(r.epoch).ok()?;
            v.is_finite().then_some((x, v))
        })
        .collect()
}

/// The epoch axis: the records' epochs, widened by one on each side when there is
/// only one, so a single point sits inside the plot.
fn x_range(records: &[EpochRecord]) -> Range<i64> {
    let epochs = records.iter().filter_map(|r| i64::try_from(r.epoch).ok());
    let lo = epochs.clone().min().unwrap_or(0);
    let hi = epochs.max().unwrap_or(1);
    if lo < hi {
        lo..hi
    } else {
        lo.saturating_sub(1)..hi.saturating_add(1)
    }
}

/// The value axis for some series: their finite range padded by 5 %, widened when
/// flat, `0..1` when there are no points.
fn y_range(series: &[Series]) -> Range<f64> {
    let values = series.iter().flat_map(|s| s.points.iter().map(|&(_, y)| y));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    let span = hi - lo;
    let pad = if span > 0.0 && span.is_finite() {
        span * 0.05
    } else {
        lo.abs().max(1.0) * 0.05
    };
    (lo - pad)..(hi + pad)
}

/// Draws one panel: title, axes with labels, the series with a legend at `legend`
/// (placed where the curves usually are not: loss falls, accuracy rises).
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    y_desc: &str,
    x: Range<i64>,
    series: &[Series],
    legend: SeriesLabelPosition,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x, y_range(series))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .x_labels(10)
        .y_labels(8)
        .draw()?;
    for s in series {
        let style = s.color.stroke_width(2);
        let color = s.color;
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), style).point_size(3))?
            .label(s.label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    if !series.is_empty() {
        chart
            .configure_series_labels()
            .position(legend)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    Ok(())
}

/// The series of one panel: training always (it may have no points), validation when
/// any record has a value.
fn series_pair(
    records: &[EpochRecord],
    train_label: &'static str,
    train: impl Fn(&EpochRecord) -> Option<f64>,
    val_label: &'static str,
    val: impl Fn(&EpochRecord) -> Option<f64> + Copy,
) -> Vec<Series> {
    let mut out = vec![Series {
        label: train_label,
        color: TRAIN,
        points: points(records, train),
    }];
    if records.iter().any(|r| val(r).is_some()) {
        out.push(Series {
            label: val_label,
            color: VAL,
            points: points(records, val),
        });
    }
    out
}

/// The curves of `records` as SVG text (see the module docs for the layout).
///
/// Errs with [`Error::Format`] if plotters fails to draw; `path` is only used to name
/// the file in that message.
pub fn to_svg(path: &Path, records: &[EpochRecord]) -> Result<String> {
    let loss = series_pair(
        records,
        "train loss",
        |r| Some(f64::from(r.train_loss)),
        "validation loss",
        |r| r.val_loss.map(f64::from),
    );
    let acc = series_pair(
        records,
        "train accuracy",
        |r| r.train_accuracy.map(|a| f64::from(a) * 100.0),
        "validation accuracy",
        |r| r.val_accuracy.map(|a| f64::from(a) * 100.0),
    );
    let x = x_range(records);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let drawn = (|| {
            root.fill(&WHITE)?;
            let (left, right) = root.split_horizontally(SIZE.0 / 2);
            panel(
                &left,
                "Loss per epoch",
                "loss",
                x.clone(),
                &loss,
                SeriesLabelPosition::UpperRight,
            )?;
            panel(
                &right,
                "Accuracy per epoch",
                "accuracy (%)",
                x,
                &acc,
                SeriesLabelPosition::LowerRight,
            )?;
            root.present()
        })();
        drawn.map_err(|e| Error::format(path, format!("drawing the training curves: {e}")))?;
    }
    Ok(svg)
}

/// Writes the loss and accuracy curves of `records` to `path` as SVG, atomically.
///
/// Works for any number of epochs, including none or one, and skips non-finite
/// values.
pub fn write_svg(path: &Path, records: &[EpochRecord]) -> Result<()> {
    let svg = to_svg(path, records)?;
    write_atomic(path, svg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::super::test_dir::TestDir;
    use super::*;

    fn record(epoch: usize, loss: f32, val: bool) -> EpochRecord {
        EpochRecord {
            epoch,
            train_loss: loss,
            train_accuracy: Some(1.0 - loss / 4.0),
            val_loss: val.then_some(loss * 1.1),
            val_accuracy: val.then_some(0.9 - loss / 5.0),
            learning_rate: 1e-3,
            seconds: 1.0,
        }
    }

    /// Number of `<polyline` elements drawn in `color`: one per series of that colour
    /// plus one per legend sample line.
    fn polylines(svg: &str, color: &str) -> usize {
        svg.lines()
            .filter(|l| l.starts_with("<polyline") && l.contains(&format!("stroke=\"{color}\"")))
            .count()
    }

    fn check_valid(svg: &str) {
        assert!(svg.trim_start().starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        for text in [
            "Loss per epoch",
            "Accuracy per epoch",
            "epoch",
            "accuracy (%)",
        ] {
            assert!(svg.contains(text), "missing {text}");
        }
    }

    #[test]
    fn five_epochs_with_validation() {
        let dir = TestDir::new("curves5");
        let path = dir.path().join("curves.svg");
        let recs: Vec<_> = (1..=5).map(|e| record(e, 2.0 / e as f32, true)).collect();
        write_svg(&path, &recs).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        check_valid(&svg);
        for label in [
            "train loss",
            "validation loss",
            "train accuracy",
            "validation accuracy",
        ] {
            assert!(svg.contains(label), "missing legend {label}");
        }
        // Two train and two validation series, each with a legend sample.
        assert_eq!(polylines(&svg, "#1F77B4"), 4, "{svg}");
        assert_eq!(polylines(&svg, "#D62728"), 4, "{svg}");
        // Each series draws a point marker per epoch.
        assert!(svg.matches("<circle").count() >= 20, "{svg}");
    }

    #[test]
    fn single_epoch_without_validation() {
        let dir = TestDir::new("curves1");
        let path = dir.path().join("curves.svg");
        write_svg(&path, &[record(1, 0.7, false)]).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        check_valid(&svg);
        assert!(svg.contains("train loss"));
        assert!(!svg.contains("validation"), "no validation series expected");
        assert_eq!(polylines(&svg, "#D62728"), 0, "{svg}");
        assert!(svg.matches("<circle").count() >= 2, "{svg}");
    }

    #[test]
    fn non_finite_values_and_empty_history() {
        let mut recs: Vec<_> = (1..=4).map(|e| record(e, 1.0 / e as f32, true)).collect();
        recs[1].train_loss = f32::NAN;
        recs[2].val_loss = Some(f32::INFINITY);
        let svg = to_svg(Path::new("c.svg"), &recs).unwrap();
        check_valid(&svg);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        let all_nan: Vec<_> = (1..=3).map(|e| record(e, f32::NAN, false)).collect();
        check_valid(&to_svg(Path::new("c.svg"), &all_nan).unwrap());
        check_valid(&to_svg(Path::new("c.svg"), &[]).unwrap());
    }

    #[test]
    fn ranges() {
        assert_eq!(x_range(&[record(3, 1.0, false)]), 2..4);
        assert_eq!(x_range(&[record(0, 1.0, false)]), -1..1);
        let s = Series {
            label: "x",
            color: TRAIN,
            points: vec![(1, 2.0)],
        };
        let r = y_range(&[s]);
        assert!(r.start < 2.0 && r.end > 2.0);
        assert_eq!(y_range(&[]), 0.0..1.0);
    }
}
