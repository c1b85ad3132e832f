//! End-to-end training runs on small slices of the bundled data and on generated CSV
//! files: the loss goes down, the Rust builder and TOML agree, divergence stops with a
//! clear error and keeps the last good checkpoint, early stopping and transfer learning
//! do what they say.

use mote_trainer::model::Model;
use mote_trainer::progress::Mode;
use mote_trainer::train::checkpoint::Checkpoint;
use mote_trainer::train::{Options, Spec, run};
use std::fs;
use std::path::{Path, PathBuf};

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("mote-train-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    fn spec(&self, text: &str) -> PathBuf {
        let p = self.0.join("spec.toml");
        fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn mnist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist")
}

fn options(spec: PathBuf, out: PathBuf, data: PathBuf, epochs: usize, limit: usize) -> Options {
    Options {
        spec,
        data: Some(data),
        epochs: Some(epochs),
        batch: None,
        seed: None,
        threads: Some(2),
        out,
        resume: false,
        limit: Some(limit),
        progress: Mode::Quiet,
        device: Default::default(),
    }
}

const MLP: &str = r#"
[model]
input = [784]
[[model.layers]]
type = "dense"
units = 32
activation = "relu"
[[model.layers]]
type = "dense"
units = 10
[training]
batch = 32
seed = 3
optimizer = { kind = "adam", lr = 2e-3 }
"#;

#[test]
fn loss_goes_down_and_the_outputs_are_written() {
    let d = Dir::new("down");
    let out = d.0.join("out");
    let o = run(&options(d.spec(MLP), out.clone(), mnist(), 3, 1024)).unwrap();
    let ck = Checkpoint::load(&out.join("last.ckpt")).unwrap();
    let losses: Vec<f32> = ck.header.history.iter().map(|r| r.train_loss).collect();
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
    let acc = o.metrics.test_accuracy.unwrap();
    assert!(
        acc > 0.75,
        "test accuracy {acc} after 3 epochs on 1,024 images"
    );
    for f in [
        "last.ckpt",
        "best.ckpt",
        "history.csv",
        "curves.svg",
        "metrics.json",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    for key in [
        "test_accuracy",
        "test_loss",
        "val_accuracy",
        "train_loss",
        "epochs",
        "median_epoch_seconds",
        "params",
    ] {
        assert!(metrics.get(key).is_some(), "metrics.json lacks {key}");
    }
    assert_eq!(metrics["params"], 784 * 32 + 32 + 32 * 10 + 10);
    assert_eq!(
        fs::read_to_string(out.join("history.csv"))
            .unwrap()
            .lines()
            .count(),
        4
    );
}

#[test]
fn the_builder_and_toml_give_the_same_model() {
    let built = Model::builder(&[28, 28, 1])
        .conv2d(4, 3, Some("relu"))
        .max_pool2d(2)
        .flatten()
        .dropout(0.5)
        .dense(10, None)
        .spec();
    let toml = Spec::parse(
        r#"
[model]
input = [28, 28, 1]
[[model.layers]]
type = "conv2d"
filters = 4
kernel = 3
activation = "relu"
[[model.layers]]
type = "max_pool2d"
size = 2
[[model.layers]]
type = "flatten"
[[model.layers]]
type = "dropout"
rate = 0.5
[[model.layers]]
type = "dense"
units = 10
"#,
    )
    .unwrap();
    assert_eq!(built, toml.model);
    let (a, b) = (
        Model::new(built, 1).unwrap(),
        Model::new(toml.model, 1).unwrap(),
    );
    assert_eq!(a.params, b.params);
}

#[test]
fn divergence_stops_and_keeps_the_last_good_checkpoint() {
    let d = Dir::new("nan");
    let out = d.0.join("out");
    run(&options(d.spec(MLP), out.clone(), mnist(), 1, 256)).unwrap();
    let good = fs::read(out.join("last.ckpt")).unwrap();
    // The same model with an absurd learning rate: the loss overflows.
    let wild = MLP.replace("lr = 2e-3", "lr = 1e30");
    let mut o = options(d.spec(&wild), out.clone(), mnist(), 3, 256);
    o.resume = true;
    let e = run(&o).unwrap_err().to_string();
    assert!(
        e.contains("loss is") && e.contains("last good checkpoint"),
        "{e}"
    );
    assert_eq!(fs::read(out.join("last.ckpt")).unwrap(), good);
}

#[test]
fn early_stopping_ends_the_run() {
    let d = Dir::new("early");
    let spec = format!(
        "{MLP}validation_split = 0.25\nmonitor = \"val_loss\"\n\
         early_stopping = {{ patience = 1, min_delta = 100.0 }}\n"
    );
    let o = run(&options(d.spec(&spec), d.0.join("out"), mnist(), 10, 256)).unwrap();
    assert!(o.stopped_early);
    assert_eq!(o.epochs, 2);
}

#[test]
fn transfer_learning_freezes_what_it_is_told() {
    let d = Dir::new("transfer");
    let base = d.0.join("base");
    run(&options(d.spec(MLP), base.clone(), mnist(), 1, 256)).unwrap();
    let from = base.join("last.ckpt");
    let spec = format!(
        "{MLP}transfer = {{ from = {:?}, freeze_first = 1 }}\n",
        from.to_string_lossy()
    );
    let tuned = d.0.join("tuned");
    run(&options(d.spec(&spec), tuned.clone(), mnist(), 1, 256)).unwrap();
    let a = Checkpoint::load(&from).unwrap();
    let b = Checkpoint::load(&tuned.join("last.ckpt")).unwrap();
    // dense_0 (weights, bias) frozen; dense_1 trained further.
    assert_eq!(a.params[0], b.params[0]);
    assert_eq!(a.params[1], b.params[1]);
    assert_ne!(a.params[2], b.params[2]);
}

#[test]
fn a_csv_regression_learns_its_function() {
    let d = Dir::new("csv");
    let mut text = String::from("x1,x2,y\n");
    for i in 0..400 {
        let x1 = (i % 20) as f32 / 10.0 - 1.0;
        let x2 = (i / 20) as f32 / 10.0 - 1.0;
        text.push_str(&format!("{x1},{x2},{}\n", 2.0 * x1 - x2 + 0.5));
    }
    fs::write(d.0.join("train.csv"), &text).unwrap();
    fs::write(d.0.join("test.csv"), &text).unwrap();
    let spec = r#"
[model]
input = [2]
[[model.layers]]
type = "dense"
units = 1
[training]
batch = 16
loss = "mse"
optimizer = { kind = "sgd", lr = 0.1, momentum = 0.9 }
[data]
format = "csv"
regression = true
"#;
    let o = run(&options(
        d.spec(spec),
        d.0.join("out"),
        d.0.clone(),
        20,
        400,
    ))
    .unwrap();
    let loss = o.metrics.test_loss.unwrap();
    assert!(loss < 1e-4, "test mse {loss}");
    assert!(o.metrics.test_accuracy.is_none());
}

#[test]
fn penalties_shrink_weights_and_a_loose_norm_clip_changes_nothing() {
    let d = Dir::new("penalties");
    let final_weights = |spec: &str, out: &str| {
        let o = d.0.join(out);
        run(&options(d.spec(spec), o.clone(), mnist(), 2, 256)).unwrap();
        Checkpoint::load(&o.join("last.ckpt")).unwrap().params
    };
    let plain = final_weights(MLP, "plain");
    let norm = |w: &[f32]| w.iter().map(|x| x * x).sum::<f32>();
    // L2 on the first layer pulls its weights towards zero.
    let l2 = MLP.replacen("units = 32\n", "units = 32\nl2 = 0.05\n", 1);
    let shrunk = final_weights(&l2, "l2");
    assert!(norm(&shrunk[0]) < 0.9 * norm(&plain[0]));
    // Clipping the global norm at a bound it never reaches takes the other path
    // (sum, clip, step) and must give the same bits.
    let clipped = final_weights(&format!("{MLP}clip_norm = 1e9\n"), "clip");
    assert!(clipped == plain);
    // A tight clip changes the result.
    let tight = final_weights(&format!("{MLP}clip_norm = 1e-3\n"), "tight");
    assert!(tight != plain);
}
