//! How training reports its progress: a live progress bar for people at a terminal,
//! one JSON object per line for tools that drive the trainer, or nothing.
//!
//! Human output goes to stderr so stdout stays clean for piping; JSON lines go to
//! stdout because they are the program's output. Failing to write progress (a closed
//! pipe) never stops training, so write errors are ignored here.

use std::io::Write;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use crate::report::EpochRecord;

/// Where and how progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A progress bar per epoch on stderr and a summary line after each epoch.
    /// indicatif hides the bar itself when stderr is not a terminal; the summary
    /// lines are still printed.
    Bar,
    /// No progress output at all.
    Quiet,
    /// One JSON object per line on stdout: an `"event":"epoch"` object per epoch and
    /// `"event":"message"` objects for messages.
    JsonLines,
}

/// Template of the per-batch bar: epoch i/N, bar, batches done/total, loss and
/// accuracy (the message), time left.
const TEMPLATE: &str = "epoch {prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}";

/// Reports a training run's progress in the chosen [`Mode`].
#[derive(Debug)]
pub struct Progress {
    /// How progress is shown.
    mode: Mode,
    /// Epochs the run will train, for "epoch i/N".
    epochs_total: usize,
    /// The current epoch's bar, in [`Mode::Bar`] between `start_epoch` and
    /// `end_epoch`.
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A reporter for a run of `epochs_total` epochs.
    pub fn new(mode: Mode, epochs_total: usize) -> Self {
        Self {
            mode,
            epochs_total,
            bar: None,
        }
    }

    /// The mode progress is shown in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Starts epoch `epoch` (counting from 1) of `batches` batches: in
    /// [`Mode::Bar`], shows a fresh bar on stderr.
    pub fn start_epoch(&mut self, epoch: usize, batches: usize) {
        if self.mode != Mode::Bar {
            return;
        }
        if let Some(old) = self.bar.take() {
            old.finish_and_clear();
        }
        let style = ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(batches as u64), ProgressDrawTarget::stderr())
            .with_style(style)
            .with_prefix(format!("{epoch}/{}", self.epochs_total));
        self.bar = Some(bar);
    }

    /// Reports that `done` batches of the current epoch are finished, with the
    /// running mean loss and accuracy so far (Bar mode only; the other modes report
    /// per epoch).
    pub fn batch(&mut self, done: usize, running_loss: f32, running_acc: Option<f32>) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            bar.set_message(running_text(running_loss, running_acc));
        }
    }

    /// Ends the current epoch with its record: in [`Mode::Bar`] clears the bar and
    /// prints [`epoch_line`] to stderr; in [`Mode::JsonLines`] prints [`epoch_json`]
    /// to stdout.
    pub fn end_epoch(&mut self, record: &EpochRecord) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        match self.mode {
            Mode::Bar => {
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "{}",
                    epoch_line(record, self.epochs_total)
                );
            }
            Mode::JsonLines => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", epoch_json(record));
                let _ = out.flush();
            }
            Mode::Quiet => {}
        }
    }

    /// Reports a free-form message (e.g. "checkpoint saved"): a stderr line in
    /// [`Mode::Bar`], printed without garbling a bar being drawn; a
    /// `{"event":"message","text":…}` line on stdout in [`Mode::JsonLines`].
    pub fn message(&self, text: &str) {
        match self.mode {
            Mode::Bar => {
                let print = || {
                    let _ = writeln!(std::io::stderr().lock(), "{text}");
                };
                match &self.bar {
                    Some(bar) => bar.suspend(print),
                    None => print(),
                }
            }
            Mode::JsonLines => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", message_json(text));
                let _ = out.flush();
            }
            Mode::Quiet => {}
        }
    }
}

impl Drop for Progress {
    /// Clears a bar left open (e.g. training stopped by an error), so the terminal
    /// is not left with a half-drawn line.
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// `loss 0.1234  acc 96.12%`: the bar's message.
fn running_text(loss: f32, acc: Option<f32>) -> String {
    match acc {
        Some(a) => format!("loss {loss:.4}  acc {:.2}%", a * 100.0),
        None => format!("loss {loss:.4}"),
    }
}

/// The one-line summary of an epoch, e.g.
/// `epoch 3/10  loss 0.1234  acc 96.12%  val_loss 0.2000  val_acc 94.00%  lr 0.001  2.1s`.
///
/// Fields the record does not have are left out.
pub fn epoch_line(record: &EpochRecord, epochs_total: usize) -> String {
    let mut parts = vec![
        format!("epoch {}/{epochs_total}", record.epoch),
        format!("loss {:.4}", record.train_loss),
    ];
    if let Some(a) = record.train_accuracy {
        parts.push(format!("acc {:.2}%", a * 100.0));
    }
    if let Some(l) = record.val_loss {
        parts.push(format!("val_loss {l:.4}"));
    }
    if let Some(a) = record.val_accuracy {
        parts.push(format!("val_acc {:.2}%", a * 100.0));
    }
    parts.push(format!("lr {}", record.learning_rate));
    parts.push(format!("{:.1}s", record.seconds));
    parts.join("  ")
}

/// The record as one JSON line: its fields plus `"event":"epoch"`. Non-finite numbers
/// become `null`, since JSON has no NaN.
pub fn epoch_json(record: &EpochRecord) -> String {
    let mut obj = match serde_json::to_value(record) {
        Ok(Value::Object(obj)) => obj,
        // A plain struct of numbers always serialises to an object; keep the line
        // well-formed even so.
        _ => serde_json::Map::new(),
    };
    obj.insert("event".into(), Value::from("epoch"));
    Value::Object(obj).to_string()
}

/// A message as one JSON line: `{"event":"message","text":…}`.
pub fn message_json(text: &str) -> String {
    serde_json::json!({ "event": "message", "text": text }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> EpochRecord {
        EpochRecord {
            epoch: 3,
            train_loss: 0.123_44,
            train_accuracy: Some(0.961_2),
            val_loss: Some(0.2),
            val_accuracy: Some(0.94),
            learning_rate: 0.001,
            seconds: 2.14,
        }
    }

    #[test]
    fn line_with_all_fields() {
        assert_eq!(
            epoch_line(&record(), 10),
            "epoch 3/10  loss 0.1234  acc 96.12%  val_loss 0.2000  val_acc 94.00%  lr 0.001  2.1s"
        );
    }

    #[test]
    fn line_leaves_out_missing_fields() {
        let r = EpochRecord {
            train_accuracy: None,
            val_loss: None,
            val_accuracy: None,
            ..record()
        };
        assert_eq!(epoch_line(&r, 5), "epoch 3/5  loss 0.1234  lr 0.001  2.1s");
    }

    #[test]
    fn json_line_parses() {
        let line = epoch_json(&record());
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["event"], "epoch");
        assert_eq!(v["epoch"], 3);
        assert_eq!(v["val_loss"], 0.2f32 as f64);
        assert!((v["train_accuracy"].as_f64().unwrap() - 0.9612).abs() < 1e-6);
        assert_eq!(v["seconds"], 2.14);
        let r = EpochRecord {
            train_loss: f32::NAN,
            val_loss: None,
            ..record()
        };
        let v: Value = serde_json::from_str(&epoch_json(&r)).unwrap();
        assert_eq!(v["train_loss"], Value::Null);
        assert_eq!(v["val_loss"], Value::Null);
    }

    #[test]
    fn message_line_parses_and_escapes() {
        let v: Value = serde_json::from_str(&message_json("saved \"a\"\nb")).unwrap();
        assert_eq!(v["event"], "message");
        assert_eq!(v["text"], "saved \"a\"\nb");
    }

    #[test]
    fn running_text_format() {
        assert_eq!(running_text(0.5, Some(0.25)), "loss 0.5000  acc 25.00%");
        assert_eq!(running_text(0.5, None), "loss 0.5000");
    }

    #[test]
    fn bar_lifecycle_does_not_panic() {
        // Quiet prints nothing; Bar with a hidden target (tests have no terminal) must
        // still go through the whole lifecycle.
        for mode in [Mode::Quiet, Mode::Bar] {
            let mut p = Progress::new(mode, 2);
            p.start_epoch(1, 4);
            p.batch(2, 0.5, Some(0.5));
            p.message("halfway");
            p.end_epoch(&record());
            assert!(p.bar.is_none());
            p.start_epoch(2, 0);
            p.batch(0, f32::NAN, None);
            assert_eq!(p.bar.is_some(), mode == Mode::Bar);
        }
    }
}
