//! One training run from start (or checkpoint) to metrics; see the [module docs](super).

use super::checkpoint::{Checkpoint, Header, TensorInfo};
use super::config::Spec;
use super::evaluate::{Evaluation, evaluate};
use super::objective::{BatchTargets, Objective};
use super::optimizer::{Optimizer, Rule, TensorRule};
use super::parallel::{Workers, mix};
use crate::data::normalise::Normalisation;
use crate::data::{Dataset, Targets};
use crate::early_stop::{EarlyStopState, Verdict};
use crate::model::Model;
use crate::progress::{Mode, Progress};
use crate::report::{self, EpochRecord, RunMetrics};
use crate::schedule::{Schedule, Scheduler};
use crate::{Error, Result};
use mote_core::rng::Rng;
use mote_kernels::optim::{clip, penalty};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What the command line sets; `None` leaves the spec's value.
#[derive(Debug, Clone)]
pub struct Options {
    /// The spec file.
    pub spec: PathBuf,
    /// Data directory.
    pub data: Option<PathBuf>,
    /// Epochs.
    pub epochs: Option<usize>,
    /// Batch size.
    pub batch: Option<usize>,
    /// Seed.
    pub seed: Option<u64>,
    /// Threads.
    pub threads: Option<usize>,
    /// Output directory.
    pub out: PathBuf,
    /// Continue from `out/last.ckpt`.
    pub resume: bool,
    /// Train on the first `n` training samples only.
    pub limit: Option<usize>,
    /// How progress is shown.
    pub progress: Mode,
    /// Where to train (`--device`).
    pub device: crate::device::Request,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The metrics written to `metrics.json`.
    pub metrics: RunMetrics,
    /// Epochs completed.
    pub epochs: usize,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
}

/// The files a run writes into its output directory.
pub struct Paths {
    /// Latest checkpoint.
    pub last: PathBuf,
    /// Checkpoint of the best monitored metric.
    pub best: PathBuf,
    /// One row per epoch.
    pub history: PathBuf,
    /// Loss and accuracy curves.
    pub curves: PathBuf,
    /// Final metrics.
    pub metrics: PathBuf,
}

impl Paths {
    /// The files under `out`.
    pub fn new(out: &Path) -> Self {
        Self {
            last: out.join("last.ckpt"),
            best: out.join("best.ckpt"),
            history: out.join("history.csv"),
            curves: out.join("curves.svg"),
            metrics: out.join("metrics.json"),
        }
    }
}

/// The prepared data of a run.
pub struct Prepared {
    /// Training samples.
    pub train: Dataset,
    /// Validation samples (empty without a validation split).
    pub val: Option<Dataset>,
    /// Test samples.
    pub test: Option<Dataset>,
    /// The normalisation fitted on `train` and applied to all three.
    pub normalisation: Normalisation,
    /// `[h, w, c]` of the samples as the files hold them, when they are images (the
    /// model may see them flattened; augmentation works on the images).
    pub image: Option<[usize; 3]>,
}

/// Loads, limits, splits and normalises the data of `spec` for a model with `input`.
pub fn prepare(spec: &Spec, data_dir: Option<&Path>, limit: Option<usize>) -> Result<Prepared> {
    let (mut train, mut test) = super::data::load(&spec.data, data_dir)?;
    if let Some(n) = limit {
        train = train.limit(n);
    }
    let t = &spec.training;
    let (mut train, mut val) = if t.validation_split > 0.0 {
        let (a, b) = train.split_validation(t.validation_split, mix(&[t.seed, 0x5eed]))?;
        (a, Some(b))
    } else {
        (train, None)
    };
    let normalisation = super::data::normalisation(&spec.data, &train)?;
    let image = image_shape(&train.sample_shape);
    for ds in std::iter::once(&mut train)
        .chain(val.as_mut())
        .chain(test.as_mut())
    {
        normalisation.apply(ds)?;
        fit_shape(ds, &spec.model.input)?;
    }
    if train.is_empty() {
        return Err(Error::Mismatch {
            detail: "no training samples left after the validation split".into(),
        });
    }
    Ok(Prepared {
        train,
        val,
        test,
        normalisation,
        image,
    })
}

/// Gives samples the model's input shape when they hold the same number of values (an
/// MNIST image as a 784-vector); errors otherwise.
pub fn fit_shape(ds: &mut Dataset, input: &[usize]) -> Result<()> {
    let want: usize = input.iter().product();
    if ds.sample_len() != want {
        return Err(Error::Mismatch {
            detail: format!(
                "data samples of shape {:?} do not fit model.input {input:?}",
                ds.sample_shape
            ),
        });
    }
    ds.sample_shape = input.to_vec();
    Ok(())
}

/// The last layer's kind, which decides how `cross_entropy` reads the outputs.
pub fn last_kind(model: &Model) -> &'static str {
    let mut kind = "";
    if let Some(crate::model::graph::Node::Layer { layer, .. }) = model.seq.nodes.last() {
        kind = layer.kind();
    }
    kind
}

/// The threads to use: the option, the spec, or every core.
pub fn thread_count(opt: Option<usize>, spec: Option<usize>) -> usize {
    opt.or(spec)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Trains as `opts` and the spec say; see the [module docs](super).
pub fn run(opts: &Options) -> Result<Outcome> {
    let mut spec = Spec::load(&opts.spec)?;
    let t = &mut spec.training;
    if let Some(e) = opts.epochs {
        t.epochs = e;
    }
    if let Some(b) = opts.batch {
        t.batch = b;
    }
    if let Some(s) = opts.seed {
        t.seed = s;
    }
    spec.validate()?;
    let selected = crate::device::select(opts.device)?;
    if let Some(notice) = &selected.notice {
        eprintln!("{notice}");
    }
    crate::device::check_trainable(&selected.device)?;
    let threads = thread_count(opts.threads, spec.training.threads);
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let paths = Paths::new(&opts.out);
    // Fail on an unwritable directory now, not after the first epoch.
    report::write_atomic(&opts.out.join(".write-test"), b"ok")?;
    let _ = std::fs::remove_file(opts.out.join(".write-test"));

    let data = prepare(&spec, opts.data.as_deref(), opts.limit)?;
    let t = spec.training.clone();
    let mut model = Model::new(spec.model.clone(), t.seed)?;
    let objective = Objective::new(&t.loss, t.label_smoothing, last_kind(&model))?;
    objective.check_targets(&data.train.targets, model.output_len())?;
    let classes = match &data.train.targets {
        Targets::Classes { classes, .. } => Some(*classes),
        Targets::Values { .. } => None,
    };

    let rule = Rule::from_spec(&t.optimizer)?;
    let sizes: Vec<usize> = model.params.iter().map(|p| p.data.len()).collect();
    let mut optimizer = Optimizer::new(rule, &sizes);
    let mut scheduler = Scheduler::new(
        t.optimizer.lr,
        t.schedule.clone().unwrap_or(Schedule::Constant),
        t.warmup,
    )
    .map_err(|e| Error::spec("training.schedule", e.to_string()))?;
    let mut early = EarlyStopState::default();
    let mut history: Vec<EpochRecord> = Vec::new();
    let mut best: Option<(usize, f32)> = None;
    let mut start_epoch = 0;
    let mut trainable = vec![true; model.params.len()];

    if let Some(tr) = &t.transfer {
        transfer(&mut model, tr, &mut trainable)?;
    }
    if opts.resume {
        let ck = Checkpoint::load(&paths.last)?;
        if ck.header.spec.model != spec.model {
            return Err(Error::Mismatch {
                detail: format!(
                    "{}: the checkpoint's model differs from {}'s",
                    paths.last.display(),
                    opts.spec.display()
                ),
            });
        }
        restore(&mut model, &ck, &mut optimizer)?;
        if let Some(s) = &ck.header.scheduler {
            scheduler
                .restore(s.clone())
                .map_err(|e| Error::format(&paths.last, e.to_string()))?;
        }
        early = ck.header.early_stop.clone().unwrap_or_default();
        history = ck.header.history.clone();
        best = ck.header.best;
        start_epoch = ck.header.epoch;
    }

    let rules: Vec<TensorRule> = model
        .params
        .iter()
        .zip(&trainable)
        .map(|(p, &trainable)| TensorRule {
            trainable,
            l1: p.l1,
            l2: p.l2,
        })
        .collect();
    // The same without penalties, for the clip-norm path that adds them itself.
    let bare: Vec<TensorRule> = rules
        .iter()
        .map(|r| TensorRule {
            l1: 0.0,
            l2: 0.0,
            ..*r
        })
        .collect();
    let pool = super::parallel::Pool::new(threads)?;
    let mut workers = Workers::new(&model, threads);
    let mut progress = Progress::new(opts.progress, t.epochs);
    let batches = data.train.len().div_ceil(t.batch);
    let in_len = model.input_len();
    let augment = t.augment.clone().filter(|a| !a.is_identity());
    if augment.is_some() && data.image.is_none() {
        return Err(Error::spec(
            "training.augment",
            format!(
                "augmentation needs image samples [h, w, c]; the data has {:?}",
                data.train.sample_shape
            ),
        ));
    }
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    let mut inputs = Vec::with_capacity(t.batch * in_len);
    let mut labels = Vec::with_capacity(t.batch);
    let mut values = Vec::new();
    let mut stopped_early = false;
    let header = |epoch: usize,
                  optimizer: &Optimizer,
                  scheduler: &Scheduler,
                  early: &EarlyStopState,
                  history: &[EpochRecord],
                  best: Option<(usize, f32)>,
                  model: &Model| Header {
        spec: spec.clone(),
        epoch,
        step: optimizer.step,
        scheduler: Some(scheduler.state().clone()),
        early_stop: Some(early.clone()),
        history: history.to_vec(),
        normalisation: data.normalisation.clone(),
        classes,
        best,
        params: infos(&model.params),
        buffers: infos(&model.buffers),
        optimizer: optimizer.state.iter().map(Vec::len).collect(),
    };

    for epoch in start_epoch..t.epochs {
        let started = Instant::now();
        let lr = scheduler.lr();
        let mut rng = Rng::new(mix(&[t.seed, epoch as u64, 1]));
        // Each epoch's order depends on (seed, epoch) alone, so a resumed run sees the
        // same batches as an uninterrupted one.
        order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
        if t.shuffle {
            rng.shuffle(&mut order);
        }
        progress.start_epoch(epoch + 1, batches);
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        for (b, idx) in order.chunks(t.batch).enumerate() {
            if idx.len() < 2 && seen > 0 {
                // A final batch of one sample has no batch statistics; skip it.
                continue;
            }
            data.train.gather(idx, &mut inputs)?;
            if let (Some(a), Some(shape)) = (&augment, data.image) {
                a.apply(shape, &mut inputs, &mut rng)?;
            }
            let targets = match &data.train.targets {
                Targets::Classes { labels: all, .. } => {
                    labels.clear();
                    labels.extend(idx.iter().map(|&i| all[i]));
                    BatchTargets::Classes(&labels)
                }
                Targets::Values { values: all, width } => {
                    values.clear();
                    for &i in idx {
                        values.extend_from_slice(&all[i * width..(i + 1) * width]);
                    }
                    BatchTargets::Values(&values)
                }
            };
            let seed = mix(&[t.seed, epoch as u64, b as u64, 2]);
            let stats = workers.step(&mut model, &objective, &inputs, targets, seed, &pool)?;
            let mut batch_loss =
                stats.loss_sum / f64::from(objective.denominator(stats.rows, model.output_len()));
            batch_loss += penalties(&model)?;
            if !batch_loss.is_finite() {
                return Err(Error::Training(format!(
                    "epoch {}, batch {}: the loss is {batch_loss}; training stopped{}",
                    epoch + 1,
                    b + 1,
                    if start_epoch < epoch || paths.last.exists() {
                        format!(", last good checkpoint kept at {}", paths.last.display())
                    } else {
                        String::new()
                    }
                )));
            }
            let mut params: Vec<&mut [f32]> = model
                .params
                .iter_mut()
                .map(|p| p.data.as_mut_slice())
                .collect();
            if let Some(n) = t.clip_norm {
                // The global norm needs every gradient first: sum, add the penalties,
                // clip, then step with nothing left to add.
                workers.reduce(&pool)?;
                let grads = workers.grads_mut();
                for ((p, g), r) in params.iter().zip(grads.iter_mut()).zip(&rules) {
                    add_penalty_grads(r, p, g)?;
                    if let Some(v) = t.clip_value {
                        clip::by_value(v, g)?;
                    }
                }
                clip::by_global_norm(n, grads)?;
                optimizer.update(
                    lr,
                    &mut params,
                    &mut workers.pass_grads(),
                    &bare,
                    None,
                    &pool,
                )?;
            } else {
                let mut grads = workers.pass_grads();
                optimizer.update(lr, &mut params, &mut grads, &rules, t.clip_value, &pool)?;
            }
            loss_sum += batch_loss * stats.rows as f64;
            correct += stats.correct;
            seen += stats.rows;
            let acc = objective
                .is_classification()
                .then(|| correct as f32 / seen as f32);
            progress.batch(b + 1, (loss_sum / seen as f64) as f32, acc);
        }
        let train_loss = (loss_sum / seen.max(1) as f64) as f32;
        let train_accuracy = objective
            .is_classification()
            .then(|| correct as f32 / seen.max(1) as f32);
        let val = match &data.val {
            Some(v) => Some(evaluate(&model, v, &objective, 256, &pool)?),
            None => None,
        };
        let record = EpochRecord {
            epoch: epoch + 1,
            train_loss,
            train_accuracy,
            val_loss: val.as_ref().map(|v| v.loss),
            val_accuracy: val.as_ref().and_then(|v| v.accuracy),
            learning_rate: lr,
            seconds: started.elapsed().as_secs_f64(),
        };
        let monitored = monitor(&t.monitor, &record);
        scheduler.end_epoch(monitored.map(|(v, _)| v));
        progress.end_epoch(&record);
        history.push(record);
        let improved = match (monitored, best) {
            (Some((v, higher)), Some((_, b))) => {
                v.is_finite() && if higher { v > b } else { v < b }
            }
            (Some((v, _)), None) => v.is_finite(),
            (None, _) => false,
        };
        if improved {
            best = monitored.map(|(v, _)| (epoch + 1, v));
        }
        let verdict = match (&t.early_stopping, monitored) {
            (Some(cfg), Some((v, _))) => Some(early.update(cfg, epoch + 1, v)),
            _ => None,
        };
        let ck = Checkpoint {
            header: header(
                epoch + 1,
                &optimizer,
                &scheduler,
                &early,
                &history,
                best,
                &model,
            ),
            params: model.params.iter().map(|p| p.data.clone()).collect(),
            buffers: model.buffers.iter().map(|p| p.data.clone()).collect(),
            optimizer: optimizer.state.clone(),
        };
        ck.save(&paths.last)?;
        if improved || (monitored.is_none() && epoch + 1 == t.epochs) {
            ck.save(&paths.best)?;
        }
        report::write_csv(&paths.history, &history)?;
        report::write_svg(&paths.curves, &history)?;
        if verdict == Some(Verdict::Stop) {
            progress.message(&format!(
                "early stopping after epoch {}: {} has not improved for {} epochs",
                epoch + 1,
                t.monitor,
                t.early_stopping.as_ref().map_or(0, |c| c.patience)
            ));
            stopped_early = true;
            break;
        }
    }

    let restore_best = t.early_stopping.as_ref().is_some_and(|c| c.restore_best);
    if restore_best && paths.best.exists() {
        let ck = Checkpoint::load(&paths.best)?;
        let mut scratch = optimizer.clone();
        restore(&mut model, &ck, &mut scratch)?;
        progress.message(&format!(
            "restored the weights of epoch {}",
            ck.header.epoch
        ));
    }
    let test: Option<Evaluation> = match &data.test {
        Some(ts) => Some(evaluate(&model, ts, &objective, 256, &pool)?),
        None => None,
    };
    let last = history.last();
    let seconds: Vec<f64> = history.iter().map(|r| r.seconds).collect();
    let mut extra = serde_json::Map::new();
    extra.insert("seed".into(), t.seed.into());
    extra.insert("threads".into(), threads.into());
    extra.insert("batch".into(), t.batch.into());
    extra.insert("stopped_early".into(), stopped_early.into());
    if let Some((e, v)) = best {
        extra.insert("best_epoch".into(), e.into());
        extra.insert(format!("best_{}", t.monitor), f64::from(v).into());
    }
    let metrics = RunMetrics {
        test_accuracy: test.as_ref().and_then(|e| e.accuracy),
        test_loss: test.as_ref().map(|e| e.loss),
        val_accuracy: last.and_then(|r| r.val_accuracy),
        train_loss: last.map_or(f32::NAN, |r| r.train_loss),
        epochs: history.len(),
        median_epoch_seconds: report::median(&seconds),
        params: model.param_count(),
        extra,
    };
    report::write_metrics_json(&paths.metrics, &metrics)?;
    Ok(Outcome {
        metrics,
        epochs: history.len(),
        stopped_early,
    })
}

/// `[h, w, c]` when samples are images (augmentation applies only to those).
fn image_shape(shape: &[usize]) -> Option<[usize; 3]> {
    match *shape {
        [h, w, c] => Some([h, w, c]),
        _ => None,
    }
}

/// The monitored value of `record` and whether higher is better.
fn monitor(name: &str, r: &EpochRecord) -> Option<(f32, bool)> {
    match name {
        "val_loss" => r.val_loss.map(|v| (v, false)),
        "val_accuracy" => r.val_accuracy.map(|v| (v, true)),
        "train_loss" => Some((r.train_loss, false)),
        "train_accuracy" => r.train_accuracy.map(|v| (v, true)),
        _ => None,
    }
}

/// The value of the L1/L2 penalties on the weights.
fn penalties(model: &Model) -> Result<f64> {
    let mut total = 0.0f64;
    for t in &model.params {
        if t.l1 > 0.0 {
            total += f64::from(penalty::l1(t.l1, &t.data)?);
        }
        if t.l2 > 0.0 {
            total += f64::from(penalty::l2(t.l2, &t.data)?);
        }
    }
    Ok(total)
}

/// Adds a tensor's L1/L2 penalty gradients.
fn add_penalty_grads(r: &TensorRule, p: &[f32], g: &mut [f32]) -> Result<()> {
    if r.l1 > 0.0 {
        penalty::l1_grad(r.l1, p, g)?;
    }
    if r.l2 > 0.0 {
        penalty::l2_grad(r.l2, p, g)?;
    }
    Ok(())
}

fn infos(ts: &[crate::model::layer::Tensor]) -> Vec<TensorInfo> {
    ts.iter()
        .map(|t| TensorInfo {
            name: t.name.clone(),
            shape: t.shape.clone(),
        })
        .collect()
}

/// Copies a checkpoint's tensors into `model` and its optimiser state into
/// `optimizer`.
pub fn restore(model: &mut Model, ck: &Checkpoint, optimizer: &mut Optimizer) -> Result<()> {
    ck.copy_into(model)?;
    if ck.optimizer.len() == optimizer.state.len()
        && ck
            .optimizer
            .iter()
            .zip(&optimizer.state)
            .all(|(a, b)| a.len() == b.len())
    {
        optimizer.state.clone_from(&ck.optimizer);
        optimizer.step = ck.header.step;
        Ok(())
    } else {
        Err(Error::Mismatch {
            detail: "checkpoint optimizer state does not match the spec's optimizer".into(),
        })
    }
}

/// Loads the weights of a checkpoint wherever name and shape match and freezes layers.
fn transfer(model: &mut Model, tr: &super::config::Transfer, trainable: &mut [bool]) -> Result<()> {
    let ck = Checkpoint::load(&tr.from)?;
    let mut loaded = 0;
    for (dst, (info, src)) in model
        .params
        .iter_mut()
        .chain(model.buffers.iter_mut())
        .flat_map(|d| {
            let pos = ck
                .header
                .params
                .iter()
                .zip(&ck.params)
                .chain(ck.header.buffers.iter().zip(&ck.buffers))
                .find(|(i, _)| i.name == d.name && i.shape == d.shape);
            pos.map(|p| (d, p))
        })
    {
        if src.len() == dst.data.len() {
            dst.data.copy_from_slice(src);
            loaded += 1;
        }
        let _ = info;
    }
    if loaded == 0 {
        return Err(Error::Mismatch {
            detail: format!(
                "{}: no tensor matches the model by name and shape",
                tr.from.display()
            ),
        });
    }
    for (t, on) in model.params.iter().zip(trainable.iter_mut()) {
        let layer = t.name.split('/').next().unwrap_or("");
        if t.layer < tr.freeze_first || tr.freeze.iter().any(|n| n == layer) {
            *on = false;
        }
    }
    Ok(())
}
