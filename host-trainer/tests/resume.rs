//! `--resume` continues a run exactly: two epochs, then two more from the checkpoint,
//! give the same weights, optimiser state and history as four epochs in one go — with
//! dropout, batch norm, augmentation, a schedule and two threads all in play.

use mote_trainer::progress::Mode;
use mote_trainer::train::checkpoint::Checkpoint;
use mote_trainer::train::{Options, run};
use std::fs;
use std::path::{Path, PathBuf};

const SPEC: &str = r#"
[model]
input = [28, 28, 1]

[[model.layers]]
type = "conv2d"
filters = 4
kernel = 3
stride = 2
activation = "relu"

[[model.layers]]
type = "batch_norm"

[[model.layers]]
type = "flatten"

[[model.layers]]
type = "dropout"
rate = 0.25

[[model.layers]]
type = "dense"
units = 10

[training]
batch = 32
seed = 5
validation_split = 0.25
optimizer = { kind = "adam", lr = 3e-3 }
schedule = { kind = "step", step_size = 1, gamma = 0.5 }
augment = { shift = 1, noise_std = 0.05 }
"#;

fn options(dir: &Path, out: &str, epochs: usize, resume: bool) -> Options {
    Options {
        spec: dir.join("spec.toml"),
        data: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist")),
        epochs: Some(epochs),
        batch: None,
        seed: None,
        threads: Some(2),
        out: dir.join(out),
        resume,
        limit: Some(256),
        progress: Mode::Quiet,
        device: Default::default(),
    }
}

#[test]
fn resume_matches_an_uninterrupted_run() {
    let dir: PathBuf = std::env::temp_dir().join(format!("mote-resume-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("spec.toml"), SPEC).unwrap();

    run(&options(&dir, "whole", 4, false)).unwrap();
    run(&options(&dir, "split", 2, false)).unwrap();
    let halfway = Checkpoint::load(&dir.join("split/last.ckpt")).unwrap();
    assert_eq!(halfway.header.epoch, 2);
    run(&options(&dir, "split", 4, true)).unwrap();

    let a = Checkpoint::load(&dir.join("whole/last.ckpt")).unwrap();
    let b = Checkpoint::load(&dir.join("split/last.ckpt")).unwrap();
    assert_eq!(b.header.epoch, 4);
    // Compared without printing megabytes of floats on failure.
    assert!(a.params == b.params, "weights differ");
    assert!(a.buffers == b.buffers, "running statistics differ");
    assert!(a.optimizer == b.optimizer, "optimizer state differs");
    assert_eq!(a.header.step, b.header.step);
    let losses = |c: &Checkpoint| {
        c.header
            .history
            .iter()
            .map(|r| r.train_loss)
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&a), losses(&b));
    // The run learned something and the weights moved after the resume.
    assert!(halfway.params != b.params);
    let _ = fs::remove_dir_all(&dir);
}
