//! Learning-rate schedules with PyTorch's semantics, resumable from a checkpoint.
//!
//! A [`Scheduler`] answers one question: which learning rate does the current epoch use?
//! Training asks [`Scheduler::lr`] before an epoch and calls [`Scheduler::end_epoch`]
//! after it (with the validation metric, which [`Schedule::ReduceOnPlateau`] needs).
//! Epochs count from 0, and epoch 0 uses `base_lr` (or the warm-up's first rate).
//!
//! The closed-form schedules follow PyTorch's `StepLR`, `ExponentialLR` and
//! `CosineAnnealingLR` (the closed form, held at `eta_min` after `t_max`);
//! [`Schedule::ReduceOnPlateau`] follows `ReduceLROnPlateau(mode="min",
//! threshold_mode="rel")`; [`Warmup`] follows `LinearLR(start_factor, end_factor=1,
//! total_iters=epochs)` chained with the schedule by `SequentialLR(milestones=[epochs])`.
//!
//! Everything a run has accumulated lives in [`SchedulerState`], which serialises, so a
//! checkpoint can store it and [`Scheduler::restore`] can continue the run exactly.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// PyTorch's `ReduceLROnPlateau.eps`: a reduction smaller than this is not applied.
const PLATEAU_EPS: f64 = 1e-8;

/// How the learning rate changes from epoch to epoch (after any warm-up).
///
/// `e` below is the schedule's own epoch counter: the epoch number minus the warm-up's
/// length, so the schedule starts at `e = 0` with `base_lr` when the warm-up ends.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// `base_lr` throughout.
    Constant,
    /// `base_lr · gamma^⌊e / step_size⌋`: decay by `gamma` every `step_size` epochs.
    Step {
        /// Epochs between decays; at least 1.
        step_size: usize,
        /// The decay factor, in (0, 1].
        gamma: f32,
    },
    /// `base_lr · gamma^e`: decay by `gamma` every epoch.
    Exponential {
        /// The decay factor, in (0, 1].
        gamma: f32,
    },
    /// `eta_min + (base_lr − eta_min)·(1 + cos(π·e / t_max))/2` for `e ≤ t_max`, then
    /// `eta_min`: half a cosine from `base_lr` down to `eta_min`.
    Cosine {
        /// Epochs the descent takes; at least 1.
        t_max: usize,
        /// The floor, in [0, base_lr].
        eta_min: f32,
    },
    /// Multiply the rate by `factor` when the validation metric (lower is better) has not
    /// improved for more than `patience` epochs.
    ///
    /// A metric improves when it is below `best · (1 − threshold)`; a non-finite metric
    /// never improves. After a reduction, `cooldown` epochs pass before bad epochs count
    /// again. The rate never goes below `min_lr`, and a reduction smaller than 1e-8 is
    /// skipped, as in PyTorch.
    ReduceOnPlateau {
        /// The reduction factor, in (0, 1).
        factor: f32,
        /// Bad epochs tolerated; the next one reduces the rate.
        patience: usize,
        /// The relative improvement needed, in [0, 1).
        threshold: f32,
        /// Epochs after a reduction during which bad epochs are not counted.
        cooldown: usize,
        /// The lowest rate, in [0, base_lr].
        min_lr: f32,
    },
}

/// A linear warm-up before the [`Schedule`]: epoch `e < epochs` uses
/// `base_lr · (start_factor + (1 − start_factor)·e / epochs)`, and epoch `epochs` starts
/// the schedule at `base_lr`.
///
/// It keeps the first updates small while optimiser statistics (e.g. Adam's moments)
/// are still unreliable.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Warmup {
    /// Epochs the warm-up lasts; at least 1.
    pub epochs: usize,
    /// The fraction of `base_lr` epoch 0 uses, in (0, 1].
    pub start_factor: f32,
}

/// What a [`Scheduler`] has accumulated during a run: store it in a checkpoint and give
/// it to [`Scheduler::restore`] to continue with identical rates.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SchedulerState {
    /// The current epoch (counted from 0, warm-up included).
    pub epoch: usize,
    /// Plateau: the best metric so far; `None` before the first (finite) one.
    pub best: Option<f32>,
    /// Plateau: epochs since the last improvement (reset by a reduction and in cooldown).
    pub bad_epochs: usize,
    /// Plateau: cooldown epochs left after the last reduction.
    pub cooldown_left: usize,
    /// Plateau: the current rate after warm-up (`base_lr` until the first reduction);
    /// the closed-form schedules compute theirs from `epoch` and leave it alone.
    pub plateau_lr: f32,
}

/// A learning-rate schedule, its optional warm-up and its progress through a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Scheduler {
    base_lr: f32,
    schedule: Schedule,
    warmup: Option<Warmup>,
    state: SchedulerState,
}

fn invalid(detail: String) -> Error {
    Error::Mismatch { detail }
}

/// `x` is finite and in [lo, hi].
fn within(x: f32, lo: f32, hi: f32) -> bool {
    x.is_finite() && x >= lo && x <= hi
}

impl Scheduler {
    /// A scheduler at epoch 0, after checking the settings: `base_lr` finite and positive;
    /// every `gamma` in (0, 1]; `step_size` and `t_max` at least 1; `eta_min` and `min_lr`
    /// in [0, base_lr]; `factor` in (0, 1); `threshold` in [0, 1); the warm-up at least
    /// one epoch long with `start_factor` in (0, 1].
    pub fn new(base_lr: f32, schedule: Schedule, warmup: Option<Warmup>) -> Result<Self> {
        if !(base_lr.is_finite() && base_lr > 0.0) {
            return Err(invalid(format!(
                "learning rate {base_lr} must be finite and positive"
            )));
        }
        match schedule {
            Schedule::Constant => {}
            Schedule::Step { step_size, gamma } => {
                if step_size == 0 {
                    return Err(invalid(
                        "step schedule: step_size must be at least 1".into(),
                    ));
                }
                check_gamma("step", gamma)?;
            }
            Schedule::Exponential { gamma } => check_gamma("exponential", gamma)?,
            Schedule::Cosine { t_max, eta_min } => {
                if t_max == 0 {
                    return Err(invalid("cosine schedule: t_max must be at least 1".into()));
                }
                if !within(eta_min, 0.0, base_lr) {
                    return Err(invalid(format!(
                        "cosine schedule: eta_min {eta_min} must be in [0, {base_lr}] (the learning rate)"
                    )));
                }
            }
            Schedule::ReduceOnPlateau {
                factor,
                threshold,
                min_lr,
                ..
            } => {
                if !(factor.is_finite() && factor > 0.0 && factor < 1.0) {
                    return Err(invalid(format!(
                        "reduce-on-plateau schedule: factor {factor} must be in (0, 1)"
                    )));
                }
                if !(threshold.is_finite() && (0.0..1.0).contains(&threshold)) {
                    return Err(invalid(format!(
                        "reduce-on-plateau schedule: threshold {threshold} must be in [0, 1)"
                    )));
                }
                if !within(min_lr, 0.0, base_lr) {
                    return Err(invalid(format!(
                        "reduce-on-plateau schedule: min_lr {min_lr} must be in [0, {base_lr}] (the learning rate)"
                    )));
                }
            }
        }
        if let Some(w) = warmup {
            if w.epochs == 0 {
                return Err(invalid("warm-up: epochs must be at least 1".into()));
            }
            if !(w.start_factor.is_finite() && w.start_factor > 0.0 && w.start_factor <= 1.0) {
                return Err(invalid(format!(
                    "warm-up: start_factor {} must be in (0, 1]",
                    w.start_factor
                )));
            }
        }
        Ok(Self {
            base_lr,
            schedule,
            warmup,
            state: SchedulerState {
                epoch: 0,
                best: None,
                bad_epochs: 0,
                cooldown_left: 0,
                plateau_lr: base_lr,
            },
        })
    }

    /// The learning rate the schedule starts from.
    pub fn base_lr(&self) -> f32 {
        self.base_lr
    }

    /// The schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The warm-up, if there is one.
    pub fn warmup(&self) -> Option<Warmup> {
        self.warmup
    }

    /// The current epoch, counted from 0 (warm-up included).
    pub fn epoch(&self) -> usize {
        self.state.epoch
    }

    fn warmup_epochs(&self) -> usize {
        self.warmup.map_or(0, |w| w.epochs)
    }

    /// The learning rate for the current epoch.
    pub fn lr(&self) -> f32 {
        let epoch = self.state.epoch;
        let base = f64::from(self.base_lr);
        if let Some(w) = self.warmup
            && epoch < w.epochs
        {
            let start = f64::from(w.start_factor);
            let progress = epoch as f64 / w.epochs as f64;
            return (base * (start + (1.0 - start) * progress)) as f32;
        }
        let e = epoch - self.warmup_epochs();
        match self.schedule {
            Schedule::Constant => self.base_lr,
            Schedule::Step { step_size, gamma } => {
                let decays = (e / step_size) as f64;
                (base * f64::from(gamma).powf(decays)) as f32
            }
            Schedule::Exponential { gamma } => (base * f64::from(gamma).powf(e as f64)) as f32,
            Schedule::Cosine { t_max, eta_min } => {
                if e >= t_max {
                    eta_min
                } else {
                    let floor = f64::from(eta_min);
                    let angle = std::f64::consts::PI * e as f64 / t_max as f64;
                    (floor + (base - floor) * (1.0 + angle.cos()) / 2.0) as f32
                }
            }
            Schedule::ReduceOnPlateau { .. } => self.state.plateau_lr,
        }
    }

    /// Ends the current epoch and moves to the next.
    ///
    /// `val_metric` (lower is better) drives [`Schedule::ReduceOnPlateau`]: with `None`
    /// the epoch changes nothing but the counter. Metrics of warm-up epochs are ignored,
    /// since a rising rate says nothing about a plateau. The other schedules ignore it.
    pub fn end_epoch(&mut self, val_metric: Option<f32>) {
        let in_warmup = self.state.epoch < self.warmup_epochs();
        if let (
            false,
            Some(metric),
            Schedule::ReduceOnPlateau {
                factor,
                patience,
                threshold,
                cooldown,
                min_lr,
            },
        ) = (in_warmup, val_metric, &self.schedule)
        {
            let s = &mut self.state;
            let improved = metric.is_finite()
                && s.best.is_none_or(|best| {
                    f64::from(metric) < f64::from(best) * (1.0 - f64::from(*threshold))
                });
            if improved {
                s.best = Some(metric);
                s.bad_epochs = 0;
            } else {
                s.bad_epochs = s.bad_epochs.saturating_add(1);
            }
            if s.cooldown_left > 0 {
                s.cooldown_left -= 1;
                s.bad_epochs = 0;
            }
            if s.bad_epochs > *patience {
                let old = f64::from(s.plateau_lr);
                let new = (old * f64::from(*factor)).max(f64::from(*min_lr));
                if old - new > PLATEAU_EPS {
                    s.plateau_lr = new as f32;
                }
                s.cooldown_left = *cooldown;
                s.bad_epochs = 0;
            }
        }
        self.state.epoch = self.state.epoch.saturating_add(1);
    }

    /// What the run has accumulated, for a checkpoint.
    pub fn state(&self) -> &SchedulerState {
        &self.state
    }

    /// Continues a run from `state` (from [`Scheduler::state`] of a scheduler with the
    /// same settings). Refuses a state no such scheduler could reach: a plateau rate that
    /// is not in (0, base_lr], or a best metric that is not finite.
    pub fn restore(&mut self, state: SchedulerState) -> Result<()> {
        if !(state.plateau_lr.is_finite()
            && state.plateau_lr > 0.0
            && state.plateau_lr <= self.base_lr)
        {
            return Err(invalid(format!(
                "scheduler state: learning rate {} must be in (0, {}] (the base rate)",
                state.plateau_lr, self.base_lr
            )));
        }
        if let Some(best) = state.best
            && !best.is_finite()
        {
            return Err(invalid(format!(
                "scheduler state: best metric {best} must be finite"
            )));
        }
        self.state = state;
        Ok(())
    }
}

fn check_gamma(schedule: &str, gamma: f32) -> Result<()> {
    if gamma.is_finite() && gamma > 0.0 && gamma <= 1.0 {
        Ok(())
    } else {
        Err(invalid(format!(
            "{schedule} schedule: gamma {gamma} must be in (0, 1]"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rates of `epochs` consecutive epochs, feeding `metrics[i]` after epoch i.
    fn run(s: &mut Scheduler, metrics: &[Option<f32>]) -> Vec<f32> {
        metrics
            .iter()
            .map(|m| {
                let lr = s.lr();
                s.end_epoch(*m);
                lr
            })
            .collect()
    }

    fn assert_close(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-6 * w.abs().max(1e-3),
                "epoch {i}: got {g}, want {w} ({got:?})"
            );
        }
    }

    fn plateau() -> Schedule {
        Schedule::ReduceOnPlateau {
            factor: 0.5,
            patience: 1,
            threshold: 0.1,
            cooldown: 1,
            min_lr: 0.2,
        }
    }

    #[test]
    fn constant() {
        let mut s = Scheduler::new(0.01, Schedule::Constant, None).unwrap();
        assert_close(&run(&mut s, &[None; 5]), &[0.01; 5]);
    }

    #[test]
    fn step() {
        let mut s = Scheduler::new(
            0.1,
            Schedule::Step {
                step_size: 3,
                gamma: 0.5,
            },
            None,
        )
        .unwrap();
        assert_close(
            &run(&mut s, &[None; 8]),
            &[0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025],
        );
    }

    #[test]
    fn exponential() {
        let mut s = Scheduler::new(1.0, Schedule::Exponential { gamma: 0.9 }, None).unwrap();
        assert_close(&run(&mut s, &[None; 4]), &[1.0, 0.9, 0.81, 0.729]);
    }

    #[test]
    fn cosine_descends_then_holds_eta_min() {
        let mut s = Scheduler::new(
            1.0,
            Schedule::Cosine {
                t_max: 4,
                eta_min: 0.0,
            },
            None,
        )
        .unwrap();
        // (1 + cos(πe/4))/2: 1, (1 + √2/2)/2, 1/2, (1 − √2/2)/2, 0.
        assert_close(
            &run(&mut s, &[None; 7]),
            &[1.0, 0.853_553_4, 0.5, 0.146_446_6, 0.0, 0.0, 0.0],
        );
        let mut s = Scheduler::new(
            0.5,
            Schedule::Cosine {
                t_max: 2,
                eta_min: 0.1,
            },
            None,
        )
        .unwrap();
        assert_close(&run(&mut s, &[None; 4]), &[0.5, 0.3, 0.1, 0.1]);
    }

    #[test]
    fn warmup_then_schedule_from_its_own_epoch_zero() {
        let warmup = Warmup {
            epochs: 4,
            start_factor: 0.2,
        };
        let step = Schedule::Step {
            step_size: 2,
            gamma: 0.5,
        };
        let mut s = Scheduler::new(1.0, step, Some(warmup)).unwrap();
        assert_close(
            &run(&mut s, &[None; 9]),
            &[0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 0.5, 0.5, 0.25],
        );
    }

    #[test]
    fn reduce_on_plateau_follows_pytorch() {
        // Traced by hand through ReduceLROnPlateau.step (and checked against PyTorch
        // 2.x with the same settings): bad epochs counted when the metric is not below
        // best·0.9, reduction when they exceed patience 1, one cooldown epoch after it,
        // floor 0.2, and no reduction smaller than 1e-8.
        let mut s = Scheduler::new(1.0, plateau(), None).unwrap();
        let metrics = [
            Some(10.0),     // best 10
            Some(9.5),      // bad 1
            Some(9.2),      // bad 2 > 1: lr 0.5, cooldown 1
            Some(9.1),      // bad 1, cleared by cooldown
            Some(9.05),     // bad 1
            Some(9.0),      // 9.0 is not < 9.0: bad 2: lr 0.25
            Some(5.0),      // best 5 (cooldown ends)
            Some(f32::NAN), // bad 1
            None,           // nothing
            Some(6.0),      // bad 2: lr max(0.125, 0.2) = 0.2
            Some(7.0),      // bad 1, cleared by cooldown
            Some(7.0),      // bad 1
            Some(7.0),      // bad 2: max(0.1, 0.2) = 0.2, no change
            None,
        ];
        assert_close(
            &run(&mut s, &metrics),
            &[
                1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2,
            ],
        );
        assert_eq!(s.state().best, Some(5.0));
        assert_eq!(s.epoch(), metrics.len());
    }

    #[test]
    fn plateau_ignores_missing_metrics_and_warmup_epochs() {
        let warmup = Warmup {
            epochs: 2,
            start_factor: 0.5,
        };
        let mut s = Scheduler::new(1.0, plateau(), Some(warmup)).unwrap();
        // Warm-up metrics (worse and worse) do not count; then best 1, bad 1, 2 → 0.5.
        let lrs = run(
            &mut s,
            &[
                Some(1.0),
                Some(2.0),
                Some(1.0),
                None,
                None,
                Some(1.0),
                Some(1.0),
            ],
        );
        assert_close(&lrs, &[0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0]);
        assert_close(&[s.lr()], &[0.5]);
    }

    #[test]
    fn restore_mid_run_continues_identically() {
        let warmup = Some(Warmup {
            epochs: 3,
            start_factor: 0.1,
        });
        let schedules = [
            Schedule::Step {
                step_size: 2,
                gamma: 0.7,
            },
            Schedule::Exponential { gamma: 0.95 },
            Schedule::Cosine {
                t_max: 6,
                eta_min: 0.01,
            },
            plateau(),
        ];
        let metric = |e: usize| Some([3.0, 2.0, 2.5, 2.4, 2.6, 1.0, 1.5, 1.4, 1.3, 1.2][e % 10]);
        for schedule in schedules {
            let mut original = Scheduler::new(1.0, schedule.clone(), warmup).unwrap();
            for e in 0..7 {
                original.end_epoch(metric(e));
            }
            let json = serde_json::to_string(original.state()).unwrap();
            let mut resumed = Scheduler::new(1.0, schedule.clone(), warmup).unwrap();
            assert_ne!(resumed.lr(), original.lr(), "{schedule:?}: state matters");
            resumed
                .restore(serde_json::from_str(&json).unwrap())
                .unwrap();
            assert_eq!(resumed, original);
            for e in 7..20 {
                assert_eq!(resumed.lr(), original.lr(), "{schedule:?}, epoch {e}");
                resumed.end_epoch(metric(e));
                original.end_epoch(metric(e));
            }
        }
    }

    #[test]
    fn schedules_serialise_tagged_by_kind() {
        let json = serde_json::to_string(&Schedule::Step {
            step_size: 3,
            gamma: 0.5,
        })
        .unwrap();
        assert_eq!(json, r#"{"kind":"step","step_size":3,"gamma":0.5}"#);
        let back: Schedule = serde_json::from_str(
            r#"{"kind":"reduce_on_plateau","factor":0.1,"patience":10,"threshold":0.0001,"cooldown":0,"min_lr":0.0}"#,
        )
        .unwrap();
        assert_eq!(
            back,
            Schedule::ReduceOnPlateau {
                factor: 0.1,
                patience: 10,
                threshold: 1e-4,
                cooldown: 0,
                min_lr: 0.0
            }
        );
        let constant: Schedule = serde_json::from_str(r#"{"kind":"constant"}"#).unwrap();
        assert_eq!(constant, Schedule::Constant);
    }

    #[test]
    fn invalid_settings_are_errors() {
        let bad: [(f32, Schedule, Option<Warmup>); 14] = [
            (0.0, Schedule::Constant, None),
            (f32::NAN, Schedule::Constant, None),
            (f32::INFINITY, Schedule::Constant, None),
            (
                0.1,
                Schedule::Step {
                    step_size: 0,
                    gamma: 0.5,
                },
                None,
            ),
            (
                0.1,
                Schedule::Step {
                    step_size: 1,
                    gamma: 0.0,
                },
                None,
            ),
            (0.1, Schedule::Exponential { gamma: 1.5 }, None),
            (0.1, Schedule::Exponential { gamma: f32::NAN }, None),
            (
                0.1,
                Schedule::Cosine {
                    t_max: 0,
                    eta_min: 0.0,
                },
                None,
            ),
            (
                0.1,
                Schedule::Cosine {
                    t_max: 5,
                    eta_min: 0.2,
                },
                None,
            ),
            (
                0.1,
                Schedule::ReduceOnPlateau {
                    factor: 1.0,
                    patience: 1,
                    threshold: 0.0,
                    cooldown: 0,
                    min_lr: 0.0,
                },
                None,
            ),
            (
                0.1,
                Schedule::ReduceOnPlateau {
                    factor: 0.5,
                    patience: 1,
                    threshold: 1.0,
                    cooldown: 0,
                    min_lr: 0.0,
                },
                None,
            ),
            (
                0.1,
                Schedule::ReduceOnPlateau {
                    factor: 0.5,
                    patience: 1,
                    threshold: 0.0,
                    cooldown: 0,
                    min_lr: -1.0,
                },
                None,
            ),
            (
                0.1,
                Schedule::Constant,
                Some(Warmup {
                    epochs: 0,
                    start_factor: 0.5,
                }),
            ),
            (
                0.1,
                Schedule::Constant,
                Some(Warmup {
                    epochs: 3,
                    start_factor: 0.0,
                }),
            ),
        ];
        for (lr, schedule, warmup) in bad {
            let r = Scheduler::new(lr, schedule.clone(), warmup);
            assert!(
                matches!(r, Err(Error::Mismatch { .. })),
                "{lr} {schedule:?} {warmup:?}: {r:?}"
            );
        }
        assert!(Scheduler::new(0.1, Schedule::Exponential { gamma: 1.0 }, None).is_ok());
    }

    #[test]
    fn restore_refuses_unreachable_states() {
        let mut s = Scheduler::new(0.1, plateau_low_floor(), None).unwrap();
        let good = s.state().clone();
        for lr in [0.0, -0.1, 0.2, f32::NAN] {
            let state = SchedulerState {
                plateau_lr: lr,
                ..good.clone()
            };
            assert!(s.restore(state).is_err(), "{lr}");
        }
        let state = SchedulerState {
            best: Some(f32::INFINITY),
            ..good.clone()
        };
        assert!(s.restore(state).is_err());
        assert_eq!(s.state(), &good);
    }

    fn plateau_low_floor() -> Schedule {
        Schedule::ReduceOnPlateau {
            factor: 0.5,
            patience: 0,
            threshold: 0.0,
            cooldown: 0,
            min_lr: 0.0,
        }
    }
}
