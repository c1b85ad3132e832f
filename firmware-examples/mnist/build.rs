//! Embeds a firmware bundle written by `mote export CKPT --out m.mote --firmware DIR`
//! (`model.mote`, `model.rs`, `inputs.bin`, `labels.bin`): from `$MOTE_FIRMWARE_BUNDLE`,
//! else this crate's `bundle/` (the bundled MNIST CNN). It runs the host executor on every
//! input and embeds those outputs too: the device must reproduce them bit for bit.

use std::env;
use std::fs;
use std::path::PathBuf;

use mote_core::DType;
use mote_core::format::{AlignedBytes, OpCode};
use mote_kernels::exec::{Interpreter, Model};

/// The first index of the largest value (the device uses the same rule).
fn argmax(v: &[i8]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=MOTE_FIRMWARE_BUNDLE");
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir =
        env::var_os("MOTE_FIRMWARE_BUNDLE").map_or_else(|| manifest.join("bundle"), PathBuf::from);
    let read = |name: &str| {
        let path = dir.join(name);
        println!("cargo::rerun-if-changed={}", path.display());
        fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (MOTE_FIRMWARE_BUNDLE must name a directory written by \
                 `mote export CHECKPOINT --out model.mote --firmware DIR`)",
                path.display()
            )
        })
    };
    let raw = read("model.mote");
    let bytes = AlignedBytes::new(&raw);
    let model = Model::from_bytes(bytes.as_bytes()).unwrap_or_else(|e| panic!("model.mote: {e}"));
    let (input, output) = (
        model.input().expect("input"),
        model.output().expect("output"),
    );
    assert!(
        input.dtype == DType::I8 && output.dtype == DType::I8,
        "this firmware runs int8 models (input {}, output {})",
        input.dtype.name(),
        output.dtype.name()
    );
    let inputs = read("inputs.bin");
    let labels = read("labels.bin");
    let (n_in, n_out) = (input.len(), output.len());
    let samples = inputs.len() / n_in;
    assert!(
        samples > 0 && inputs.len() == samples * n_in,
        "inputs.bin is not whole samples of {n_in}"
    );
    assert_eq!(
        labels.len(),
        samples,
        "labels.bin must hold one label per input"
    );

    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut it = Interpreter::new(&model, &mut arena).expect("arena");
    let mut expected = Vec::with_capacity(samples * n_out);
    let mut correct = 0;
    for (x, &label) in inputs.chunks_exact(n_in).zip(&labels) {
        for (d, &s) in it.input_i8().expect("int8 input").iter_mut().zip(x) {
            *d = s as i8;
        }
        it.invoke().expect("the host executor runs the model");
        let y = it.output_i8().expect("int8 output");
        correct += usize::from(argmax(y) == label as usize);
        expected.extend(y.iter().map(|&v| v as u8));
    }

    // Multiply-accumulates per inference, from the operators' shapes.
    let view = model.view();
    let mut macs = 0u64;
    for i in 0..view.op_count() {
        let op = view.op(i).expect("op");
        let out = view.tensor(op.output).expect("tensor").len() as u64;
        let w = op.input(1).map(|t| view.tensor(t).expect("tensor").shape);
        macs += match (op.code, w) {
            (OpCode::Conv2d, Some(w)) => out * (w.dims()[1] * w.dims()[2] * w.dims()[3]) as u64,
            (OpCode::DepthwiseConv2d, Some(w)) => out * (w.dims()[1] * w.dims()[2]) as u64,
            (OpCode::FullyConnected, Some(w)) => out * w.dims()[1] as u64,
            _ => 0,
        };
    }

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let write =
        |name: &str, data: &[u8]| fs::write(out.join(name), data).expect("write to OUT_DIR");
    write("model.mote", &raw);
    write("inputs.bin", &inputs);
    write("labels.bin", &labels);
    write("expected.bin", &expected);
    // `include!` cannot take inner doc comments: make the module's `//!` plain comments.
    let module = String::from_utf8(read("model.rs")).expect("model.rs is UTF-8");
    let module: String = module
        .lines()
        .map(|l| {
            l.strip_prefix("//!")
                .map_or_else(|| l.to_string(), |rest| format!("//{rest}"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    write("model.rs", module.as_bytes());
    let consts = format!(
        "/// Test samples embedded.\npub const SAMPLES: usize = {samples};\n\
         /// Bytes of the `.mote` file.\npub const MODEL_BYTES: usize = {};\n\
         /// Bytes of arena the model needs.\npub const ARENA_BYTES: usize = {};\n\
         /// Elements of one input.\npub const INPUT_LEN: usize = {n_in};\n\
         /// Elements of one output.\npub const OUTPUT_LEN: usize = {n_out};\n\
         /// Multiply-accumulates per inference.\npub const MACS: u64 = {macs};\n\
         /// Samples the host executor classifies correctly.\npub const HOST_CORRECT: usize = {correct};\n\
         /// Where the bundle came from.\npub const BUNDLE: &str = {:?};\n",
        raw.len(),
        model.arena_bytes(),
        dir.display().to_string(),
    );
    write("consts.rs", consts.as_bytes());
}
