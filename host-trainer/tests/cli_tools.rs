//! The `mote` subcommands around a trained model: `summary`, `eval`, `predict`,
//! `activations` and `gradcheck`, run as a user would run them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `mote args…` from the repository root; asserts success, returns stdout.
fn mote(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mote {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

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
type = "flatten"
[[model.layers]]
type = "dense"
units = 10
[training]
batch = 32
seed = 1
optimizer = { kind = "adam", lr = 3e-3 }
[data]
format = "mnist"
path = "data/mnist"
"#;

#[test]
fn a_trained_model_can_be_inspected_evaluated_and_run() {
    let dir = std::env::temp_dir().join(format!("mote-tools-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("spec.toml");
    fs::write(&spec, SPEC).unwrap();
    let (spec, out) = (spec.to_str().unwrap(), dir.join("run"));
    let out_s = out.to_str().unwrap();

    let table = mote(&["summary", spec]);
    assert!(
        table.contains("conv2d_0") && table.contains("[13, 13, 4]"),
        "{table}"
    );
    assert!(table.contains("parameters: 6810"), "{table}");

    mote(&[
        "train",
        spec,
        "--epochs",
        "2",
        "--limit",
        "2000",
        "--threads",
        "2",
        "--quiet",
        "--out",
        out_s,
    ]);
    let ckpt = out.join("best.ckpt");
    let ckpt_s = ckpt.to_str().unwrap();

    let report = mote(&["eval", ckpt_s, "--json"]);
    let v: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(v["samples"], 2000);
    let acc = v["accuracy"].as_f64().unwrap();
    assert!(acc > 0.8, "accuracy {acc}");
    assert_eq!(v["confusion"].as_array().unwrap().len(), 10);

    // The first two test images, as raw IDX bytes in an .npy file of pixel values.
    let images = mote_trainer::data::mnist::load(
        &repo().join("data/mnist"),
        mote_trainer::data::mnist::Split::Test,
        10,
    )
    .unwrap();
    let npy = dir.join("two.npy");
    mote_trainer::data::npy::write_f32(&npy, &[2, 28, 28, 1], &images.pixels[..2 * 784]).unwrap();
    let preds = mote(&["predict", ckpt_s, npy.to_str().unwrap(), "--top", "3"]);
    let lines: Vec<&str> = preds.lines().collect();
    assert_eq!(lines.len(), 2, "{preds}");
    assert!(
        lines[0].starts_with("0: ") && lines[0].matches('(').count() == 3,
        "{preds}"
    );

    let pngs = dir.join("act");
    let listed = mote(&[
        "activations",
        ckpt_s,
        npy.to_str().unwrap(),
        "--out",
        pngs.to_str().unwrap(),
    ]);
    let files: Vec<&str> = listed.lines().collect();
    // Input, conv, relu, flatten, dense.
    assert_eq!(files.len(), 5, "{listed}");
    for f in files {
        let bytes = fs::read(f).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{f}");
    }

    let check = mote(&["gradcheck", spec, "--batch", "4"]);
    assert!(
        check.contains("worst layer") && check.contains("ok"),
        "{check}"
    );
    let _ = fs::remove_dir_all(&dir);
}
