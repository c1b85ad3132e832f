//! Early stopping with Keras's semantics: stop training once the validation metric has
//! not improved for `patience` epochs, so a run does not keep fitting noise.
//!
//! [`EarlyStopping`] holds the settings and [`EarlyStopState`] what a run has seen; the
//! state serialises, so a checkpoint can resume the count exactly.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Which direction of the metric is better.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Lower is better (a loss).
    Min,
    /// Higher is better (an accuracy).
    Max,
}

impl Mode {
    /// [`Mode::Min`], the default (for losses).
    pub fn min() -> Self {
        Self::Min
    }
}

/// Early-stopping settings (Keras's `EarlyStopping`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// Epochs without improvement after which training stops (0: at the first one).
    pub patience: usize,
    /// How much better than the best a metric must be to count as an improvement; its
    /// sign is ignored, as in Keras.
    #[serde(default)]
    pub min_delta: f32,
    /// Whether lower or higher metrics are better.
    #[serde(default = "Mode::min")]
    pub mode: Mode,
    /// Whether training should end with the weights of the best epoch rather than the
    /// last (see [`EarlyStopState::epoch_to_restore`]).
    #[serde(default)]
    pub restore_best: bool,
}

impl EarlyStopping {
    /// Checks the settings: `min_delta` must be finite (a NaN or infinite one would make
    /// every epoch a non-improvement).
    pub fn validate(&self) -> Result<()> {
        if self.min_delta.is_finite() {
            Ok(())
        } else {
            Err(Error::Mismatch {
                detail: format!(
                    "early stopping: min_delta {} must be finite",
                    self.min_delta
                ),
            })
        }
    }

    /// Whether `metric` improves on `best` by more than `min_delta`. A non-finite metric
    /// never does; any finite metric improves on no best at all.
    fn improves(&self, metric: f32, best: Option<f32>) -> bool {
        if !metric.is_finite() {
            return false;
        }
        let Some(best) = best else {
            return true;
        };
        let (metric, best, delta) = (
            f64::from(metric),
            f64::from(best),
            f64::from(self.min_delta.abs()),
        );
        match self.mode {
            Mode::Min => metric + delta < best,
            Mode::Max => metric - delta > best,
        }
    }
}

/// What [`EarlyStopState::update`] concluded from an epoch's metric.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A new best: keep going (and keep these weights if restoring the best).
    Improved,
    /// No improvement, but patience is not exhausted: keep going.
    NoImprovement,
    /// Patience is exhausted: stop training.
    Stop,
}

/// What early stopping has seen during a run; the default is a fresh run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct EarlyStopState {
    /// The best metric so far; `None` before the first finite one.
    pub best: Option<f32>,
    /// The epoch that produced `best` (0 before there is one).
    pub best_epoch: usize,
    /// Epochs since the last improvement.
    pub bad_epochs: usize,
}

impl EarlyStopState {
    /// Records `metric`, the validation metric of `epoch`, and says whether training
    /// goes on. An improvement means better than the best by more than `cfg.min_delta`;
    /// otherwise the bad-epoch count grows, and reaching `cfg.patience` means
    /// [`Verdict::Stop`]. A NaN or infinite metric never improves.
    pub fn update(&mut self, cfg: &EarlyStopping, epoch: usize, metric: f32) -> Verdict {
        if cfg.improves(metric, self.best) {
            self.best = Some(metric);
            self.best_epoch = epoch;
            self.bad_epochs = 0;
            return Verdict::Improved;
        }
        self.bad_epochs = self.bad_epochs.saturating_add(1);
        if self.bad_epochs >= cfg.patience {
            Verdict::Stop
        } else {
            Verdict::NoImprovement
        }
    }

    /// The epoch whose weights training should end with: the best one when
    /// `cfg.restore_best` is set and there has been a best, else `None` (keep the last).
    pub fn epoch_to_restore(&self, cfg: &EarlyStopping) -> Option<usize> {
        (cfg.restore_best && self.best.is_some()).then_some(self.best_epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(patience: usize, min_delta: f32, mode: Mode) -> EarlyStopping {
        EarlyStopping {
            patience,
            min_delta,
            mode,
            restore_best: true,
        }
    }

    fn verdicts(cfg: &EarlyStopping, metrics: &[f32]) -> (Vec<Verdict>, EarlyStopState) {
        let mut state = EarlyStopState::default();
        let v = metrics
            .iter()
            .enumerate()
            .map(|(e, &m)| state.update(cfg, e, m))
            .collect();
        (v, state)
    }

    use Verdict::{Improved as I, NoImprovement as N, Stop as S};

    #[test]
    fn min_mode_counts_bad_epochs_and_stops_at_patience() {
        let c = cfg(2, 0.0, Mode::Min);
        let (v, state) = verdicts(&c, &[1.0, 0.8, 0.9, 0.7, 0.7, 0.75]);
        // 0.7 again is not better than 0.7: bad 1, then 0.75: bad 2 = patience.
        assert_eq!(v, [I, I, N, I, N, S]);
        assert_eq!(
            state,
            EarlyStopState {
                best: Some(0.7),
                best_epoch: 3,
                bad_epochs: 2
            }
        );
        assert_eq!(state.epoch_to_restore(&c), Some(3));
    }

    #[test]
    fn min_delta_must_be_exceeded() {
        // Exactly representable: 0.75 + 0.25 = 1.0 is not < 1.0; 0.7 + 0.25 is.
        let c = cfg(5, 0.25, Mode::Min);
        let (v, state) = verdicts(&c, &[1.0, 0.75, 0.7]);
        assert_eq!(v, [I, N, I]);
        assert_eq!(state.best, Some(0.7));
        assert_eq!(state.bad_epochs, 0);
        // The sign of min_delta does not matter (Keras takes its absolute value).
        let (v, _) = verdicts(&cfg(5, -0.25, Mode::Min), &[1.0, 0.75, 0.7]);
        assert_eq!(v, [I, N, I]);
    }

    #[test]
    fn max_mode_for_accuracies() {
        let c = cfg(1, 0.125, Mode::Max);
        // 0.875 − 0.125 = 0.75 is not > 0.75: bad 1 = patience 1.
        let (v, state) = verdicts(&c, &[0.5, 0.75, 0.875]);
        assert_eq!(v, [I, I, S]);
        assert_eq!(state.best, Some(0.75));
        // 0.625 − 0.125 = 0.5 is not > 0.5 either.
        let (v, _) = verdicts(&c, &[0.5, 0.625]);
        assert_eq!(v, [I, S]);
    }

    #[test]
    fn nan_and_infinities_never_improve() {
        let c = cfg(3, 0.0, Mode::Min);
        let (v, state) = verdicts(&c, &[f32::NAN, f32::NEG_INFINITY, 2.0, f32::NAN]);
        assert_eq!(v, [N, N, I, N]);
        assert_eq!(state.best, Some(2.0));
        assert_eq!(state.best_epoch, 2);
        let c = cfg(2, 0.0, Mode::Max);
        let (v, state) = verdicts(&c, &[f32::NAN, f32::INFINITY]);
        assert_eq!(v, [N, S]);
        assert_eq!(state.best, None);
        assert_eq!(state.epoch_to_restore(&c), None);
    }

    #[test]
    fn patience_zero_stops_at_first_non_improvement() {
        let (v, _) = verdicts(&cfg(0, 0.0, Mode::Min), &[3.0, 2.0, 2.0]);
        assert_eq!(v, [I, I, S]);
    }

    #[test]
    fn restore_best_off_keeps_last_weights() {
        let c = EarlyStopping {
            restore_best: false,
            ..cfg(1, 0.0, Mode::Min)
        };
        let (_, state) = verdicts(&c, &[1.0, 2.0]);
        assert_eq!(state.epoch_to_restore(&c), None);
    }

    #[test]
    fn state_and_settings_round_trip_through_json() {
        let c = cfg(3, 0.01, Mode::Max);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"patience":3,"min_delta":0.01,"mode":"max","restore_best":true}"#
        );
        assert_eq!(serde_json::from_str::<EarlyStopping>(&json).unwrap(), c);

        let metrics = [0.5, 0.6, 0.55, 0.58, 0.6, 0.59];
        let (_, mut state) = verdicts(&c, &metrics[..3]);
        let mut resumed: EarlyStopState =
            serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        assert_eq!(resumed, state);
        for (e, &m) in metrics.iter().enumerate().skip(3) {
            assert_eq!(resumed.update(&c, e, m), state.update(&c, e, m));
        }
        assert_eq!(resumed.bad_epochs, 4);
    }

    #[test]
    fn validate_rejects_non_finite_min_delta() {
        assert!(cfg(1, 0.0, Mode::Min).validate().is_ok());
        for d in [f32::NAN, f32::INFINITY] {
            assert!(matches!(
                cfg(1, d, Mode::Min).validate(),
                Err(Error::Mismatch { .. })
            ));
        }
    }
}
