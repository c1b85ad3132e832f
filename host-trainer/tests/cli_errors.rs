//! Bad inputs to the `mote` binary: each must end with exactly one `error:` line on
//! stderr and exit status 1, never a panic.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh directory under the system temp dir, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("mote-cli-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `mote args…`; asserts failure with one error line and returns that line.
fn fails(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "args {args:?}, stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_string()
}

const MLP: &str = r#"
[model]
input = [784]
[[model.layers]]
type = "dense"
units = 10
[training]
epochs = 1
"#;

fn write(path: &Path, text: &str) -> String {
    fs::write(path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// A gzip-free IDX pair: `n` 2×2 images and `n` labels.
fn write_idx(dir: &Path, stem: &str, n: u8, label: u8, truncate_images: bool) {
    let mut img = vec![0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, 28, 0, 0, 0, 28];
    img.extend(std::iter::repeat_n(7u8, n as usize * 784));
    if truncate_images {
        img.truncate(img.len() - 100);
    }
    fs::write(dir.join(format!("{stem}-images-idx3-ubyte")), img).unwrap();
    let mut lab = vec![0, 0, 8, 1, 0, 0, 0, n];
    lab.extend(std::iter::repeat_n(label, n as usize));
    fs::File::create(dir.join(format!("{stem}-labels-idx1-ubyte")))
        .unwrap()
        .write_all(&lab)
        .unwrap();
}

#[test]
fn missing_spec_file() {
    let line = fails(&["train", "no/such/spec.toml", "--data", "data/mnist"]);
    assert!(line.contains("no/such/spec.toml"), "{line}");
}

#[test]
fn missing_data_directory() {
    let d = Dir::new("nodata");
    let spec = write(&d.0.join("s.toml"), MLP);
    let out = d.0.join("out");
    let line = fails(&[
        "train",
        &spec,
        "--data",
        "no/such/dir",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(line.contains("no/such/dir"), "{line}");
}

#[test]
fn truncated_idx() {
    let d = Dir::new("trunc");
    write_idx(&d.0, "train", 4, 1, true);
    let spec = write(&d.0.join("s.toml"), MLP);
    let out = d.0.join("out");
    let line = fails(&[
        "train",
        &spec,
        "--data",
        d.0.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(line.contains("train-images-idx3-ubyte"), "{line}");
}

#[test]
fn labels_out_of_range() {
    let d = Dir::new("labels");
    write_idx(&d.0, "train", 4, 12, false);
    let spec = write(&d.0.join("s.toml"), MLP);
    let out = d.0.join("out");
    let line = fails(&[
        "train",
        &spec,
        "--data",
        d.0.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        line.contains("train-labels-idx1-ubyte") && line.contains("12"),
        "{line}"
    );
}

#[test]
fn csv_with_a_bad_row_names_file_and_line() {
    let d = Dir::new("csv");
    write(&d.0.join("train.csv"), "a,b,label\n1,2,0\n3,x,1\n");
    let spec = write(
        &d.0.join("s.toml"),
        "[model]\ninput = [2]\n[[model.layers]]\ntype = \"dense\"\nunits = 2\n[data]\nformat = \"csv\"\n",
    );
    let out = d.0.join("out");
    let line = fails(&[
        "train",
        &spec,
        "--data",
        d.0.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        line.contains("train.csv") && line.contains("line 3"),
        "{line}"
    );
}

#[test]
fn unknown_layer_type() {
    let d = Dir::new("unknown");
    let spec = write(
        &d.0.join("s.toml"),
        "[model]\ninput = [4]\n[[model.layers]]\ntype = \"densse\"\nunits = 2\n",
    );
    let line = fails(&["summary", &spec]);
    assert!(line.contains("densse") && line.contains("line 4"), "{line}");
}

#[test]
fn mismatched_shapes_name_the_layer() {
    let d = Dir::new("shapes");
    let spec = write(
        &d.0.join("s.toml"),
        "[model]\ninput = [8, 8, 1]\n[[model.layers]]\ntype = \"conv2d\"\nfilters = 2\nkernel = 3\n\
         [[model.layers]]\ntype = \"dense\"\nunits = 2\n",
    );
    let line = fails(&["summary", &spec]);
    assert!(line.contains("layer 1 (dense"), "{line}");
}

#[test]
fn unwritable_output_directory() {
    let d = Dir::new("unwritable");
    let spec = write(&d.0.join("s.toml"), MLP);
    let file = write(&d.0.join("a-file"), "x");
    let out = format!("{file}/out");
    let line = fails(&["train", &spec, "--data", "data/mnist", "--out", &out]);
    assert!(line.contains("a-file"), "{line}");
}

#[test]
fn corrupt_checkpoint() {
    let d = Dir::new("ckpt");
    let ck = d.0.join("bad.ckpt");
    fs::write(&ck, b"MOTECKPT\x01\x00\x00\x00garbage-garbage").unwrap();
    let line = fails(&["eval", ck.to_str().unwrap(), "--data", "data/mnist"]);
    assert!(line.contains("bad.ckpt"), "{line}");
}

/// `--device cuda` without a usable GPU (this build has no `cuda` feature, or the probe
/// finds no driver, library or device) stops before training with the reason; an
/// unknown device is refused; `--device auto` trains on the CPU after a one-line notice.
#[test]
fn device_without_a_gpu() {
    let d = Dir::new("device");
    let spec = write(&d.0.join("mlp.toml"), MLP);
    let out = d.0.join("run");
    let out = out.to_str().unwrap();
    let common = ["--data", "data/mnist", "--limit", "64", "--out", out];
    let probe = mote_trainer::device::select(mote_trainer::device::Request::Auto).unwrap();
    if matches!(probe.device, mote_trainer::device::Device::Cpu) {
        let mut args = vec!["train", spec.as_str(), "--device", "cuda"];
        args.extend(common);
        let line = fails(&args);
        assert!(line.starts_with("error: --device cuda: "), "{line}");
        assert!(!Path::new(out).join("last.ckpt").exists());
        let mut args = vec!["train", spec.as_str(), "--device", "auto", "--quiet"];
        args.extend(common);
        let run = Command::new(env!("CARGO_BIN_EXE_mote"))
            .args(&args)
            .current_dir(repo())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{stderr}");
        assert!(
            stderr.starts_with("--device auto: training on the CPU ("),
            "{stderr}"
        );
        assert!(Path::new(out).join("last.ckpt").exists());
    } else {
        eprintln!("skipped the no-GPU half: this machine has a usable GPU");
    }
    let mut args = vec!["train", spec.as_str(), "--device", "tpu"];
    args.extend(common);
    let line = fails(&args);
    assert!(
        line.contains("'tpu' is not one of cpu, cuda, auto"),
        "{line}"
    );
}
