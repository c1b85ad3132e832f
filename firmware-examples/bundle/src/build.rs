//! The build-script half (feature `build`): see [`embed`].

use std::env;
use std::fs;
use std::path::PathBuf;

use mote_core::DType;
use mote_core::format::{AlignedBytes, OpCode};
use mote_kernels::exec::{Interpreter, Model};

/// Reads the bundle (`$MOTE_FIRMWARE_BUNDLE`, else `<crate>/bundle`), checks the model,
/// runs the host executor on every quantised input and writes everything [`embed!`]
/// includes into `OUT_DIR`. Panics (failing the build) with a message naming the file
/// when the bundle is missing or inconsistent.
///
/// [`embed!`]: crate::embed
pub fn embed() {
    println!("cargo::rerun-if-env-changed=MOTE_FIRMWARE_BUNDLE");
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir =
        env::var_os("MOTE_FIRMWARE_BUNDLE").map_or_else(|| manifest.join("bundle"), PathBuf::from);
    let path = |name: &str| {
        let p = dir.join(name);
        println!("cargo::rerun-if-changed={}", p.display());
        p
    };
    let read = |name: &str| {
        fs::read(path(name)).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (MOTE_FIRMWARE_BUNDLE must name a directory written by \
                 `mote export CHECKPOINT --out model.mote --firmware DIR`)",
                dir.join(name).display()
            )
        })
    };
    let optional = |name: &str| fs::read(path(name)).unwrap_or_default();

    let raw = read("model.mote");
    let bytes = AlignedBytes::new(&raw);
    let model = Model::from_bytes(bytes.as_bytes()).unwrap_or_else(|e| panic!("model.mote: {e}"));
    let (input, output) = (
        model.input().expect("input"),
        model.output().expect("output"),
    );
    assert!(
        input.dtype == DType::I8 && output.dtype == DType::I8,
        "the firmware examples run int8 models (input {}, output {})",
        input.dtype.name(),
        output.dtype.name()
    );
    let inputs = read("inputs.bin");
    let labels = optional("labels.bin");
    let (n_in, n_out) = (input.len(), output.len());
    let samples = inputs.len() / n_in;
    assert!(
        samples > 0 && inputs.len() == samples * n_in,
        "inputs.bin is not whole samples of {n_in}"
    );
    assert!(
        labels.is_empty() || labels.len() == samples,
        "labels.bin must hold one label per input"
    );

    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut it = Interpreter::new(&model, &mut arena).expect("arena");
    let mut expected = Vec::with_capacity(samples * n_out);
    let mut correct = 0;
    for (i, x) in inputs.chunks_exact(n_in).enumerate() {
        for (d, &s) in it.input_i8().expect("int8 input").iter_mut().zip(x) {
            *d = s as i8;
        }
        it.invoke().expect("the host executor runs the model");
        let y = it.output_i8().expect("int8 output");
        if let Some(&label) = labels.get(i) {
            correct += usize::from(crate::argmax(y) == label as usize);
        }
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
            (OpCode::Lstm, Some(w)) => {
                // Every step: 4·hidden rows over the step's input and the hidden state.
                let x = view
                    .tensor(op.inputs().next().expect("input"))
                    .expect("tensor");
                let u = view
                    .tensor(op.input(2).expect("recurrent"))
                    .expect("tensor");
                let shape = mote_core::format::LstmShape::of(
                    &x,
                    &u,
                    &view.tensor(op.output).expect("tensor"),
                )
                .expect("LSTM shape");
                (shape.batch * shape.steps * w.dims()[0] * (shape.inputs + shape.hidden)) as u64
            }
            _ => 0,
        };
    }

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let write =
        |name: &str, data: &[u8]| fs::write(out.join(name), data).expect("write to OUT_DIR");
    write("model.mote", &raw);
    write("inputs.bin", &inputs);
    write("inputs_f32.bin", &optional("inputs_f32.bin"));
    write("expected.bin", &expected);
    write("expected_f32.bin", &optional("expected_f32.bin"));
    write("labels.bin", &labels);
    write("targets_f32.bin", &optional("targets_f32.bin"));
    // `include!` cannot take inner doc comments: make the modules' `//!` plain comments.
    let plain = |code: Vec<u8>| -> Vec<u8> {
        let text = String::from_utf8(code).expect("generated modules are UTF-8");
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                l.strip_prefix("//!")
                    .map_or_else(|| l.to_string(), |rest| format!("//{rest}"))
            })
            .collect();
        lines.join("\n").into_bytes()
    };
    write("model.rs", &plain(read("model.rs")));
    write("model_f32.rs", &plain(optional("model_f32.rs")));
    let consts = format!(
        "/// Test samples embedded.\npub const SAMPLES: usize = {samples};\n\
         /// Bytes of the `.mote` file.\npub const MODEL_BYTES: usize = {};\n\
         /// Bytes of arena the model needs.\npub const ARENA_BYTES: usize = {};\n\
         /// Elements of one input.\npub const INPUT_LEN: usize = {n_in};\n\
         /// Elements of one output.\npub const OUTPUT_LEN: usize = {n_out};\n\
         /// Multiply-accumulates per inference.\npub const MACS: u64 = {macs};\n\
         /// Samples the host executor classifies correctly (0 without labels).\npub const HOST_CORRECT: usize = {correct};\n\
         /// Where the bundle came from.\npub const BUNDLE: &str = {:?};\n",
        raw.len(),
        model.arena_bytes(),
        dir.display().to_string(),
    );
    write("consts.rs", consts.as_bytes());
}
