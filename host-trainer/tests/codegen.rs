//! `mote export --rust`: the generated module for a small model is the committed one
//! (`tests/generated/tiny.rs`, int8, and `tiny16.rs`, 16×8), and that committed module,
//! compiled into this test, gives the executor's outputs bit for bit.
//!
//! After a deliberate change to the generator or the exporter, regenerate with
//! `MOTE_BLESS=1 cargo test -p mote-trainer --test codegen` and review the diff.

use mote_core::rng::Rng;
use mote_kernels::exec::{Interpreter, Model as IntModel};
use mote_trainer::model::Model;
use mote_trainer::quant::{self, Options, Precision};
use std::path::PathBuf;

#[allow(dead_code)]
#[rustfmt::skip]
#[path = "generated/tiny.rs"]
mod tiny;

#[allow(dead_code)]
#[rustfmt::skip]
#[path = "generated/tiny16.rs"]
mod tiny16;

#[allow(dead_code)]
#[rustfmt::skip]
#[path = "generated/tiny_lstm.rs"]
mod tiny_lstm;

#[allow(dead_code)]
#[rustfmt::skip]
#[path = "generated/tiny_lstm16.rs"]
mod tiny_lstm16;

/// Height, width and channels of the test model's input.
const INPUT: [usize; 3] = [12, 12, 2];

/// conv2d (+ batch norm folded, + relu) → depthwise conv (+ relu) → residual block
/// (ADD, relu fused) → branch of a sigmoid 1×1 conv and a tanh (CONCATENATION) → max
/// pool → average pool → flatten → a standalone RELU → dense → softmax: every operator
/// the exporter writes.
fn tiny_model() -> Model {
    let spec = mote_trainer::train::Spec::parse(
        r#"
[model]
input = [12, 12, 2]
[[model.layers]]
type = "conv2d"
filters = 4
kernel = 3
[[model.layers]]
type = "batch_norm"
[[model.layers]]
type = "activation"
function = "relu"
[[model.layers]]
type = "depthwise_conv2d"
multiplier = 2
kernel = 3
padding = "same"
activation = "relu"
[[model.layers]]
type = "residual"
layers = [{ type = "conv2d", filters = 8, kernel = 3, padding = "same" }]
[[model.layers]]
type = "activation"
function = "relu"
[[model.layers]]
type = "branch"
paths = [
  [{ type = "conv2d", filters = 3, kernel = 1, activation = "sigmoid" }],
  [{ type = "activation", function = "tanh" }],
]
[[model.layers]]
type = "max_pool2d"
size = 2
[[model.layers]]
type = "avg_pool2d"
size = 2
stride = 1
[[model.layers]]
type = "flatten"
[[model.layers]]
type = "activation"
function = "relu"
[[model.layers]]
type = "dense"
units = 10
[[model.layers]]
type = "softmax"
"#,
    )
    .expect("the test spec parses");
    Model::new(spec.model, 7).expect("the test model builds")
}

/// An LSTM returning every step into one returning the last, then a dense layer: the
/// LSTM record and its scratch region.
fn tiny_lstm_model() -> Model {
    let spec = mote_trainer::train::Spec::parse(
        r#"
[model]
input = [6, 3]
[[model.layers]]
type = "lstm"
units = 5
return_sequences = true
[[model.layers]]
type = "lstm"
units = 4
[[model.layers]]
type = "dense"
units = 3
"#,
    )
    .expect("the LSTM spec parses");
    Model::new(spec.model, 5).expect("the LSTM model builds")
}

/// The `.mote` bytes of the LSTM test model.
fn export_lstm(precision: Precision) -> Vec<u8> {
    let model = tiny_lstm_model();
    let mut rng = Rng::new(2);
    let mut calib = vec![0f32; 32 * model.input_len()];
    rng.fill_uniform(&mut calib, -2.0, 2.0);
    let opts = Options {
        precision,
        ..Options::default()
    };
    let exported = quant::export(&model, &calib, Vec::new(), opts).expect("export");
    exported.bytes.as_bytes().to_vec()
}

/// `n` seeded random samples, uniform in `[-2, 2)`.
fn samples(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut x = vec![0f32; n * INPUT.iter().product::<usize>()];
    rng.fill_uniform(&mut x, -2.0, 2.0);
    x
}

/// The `.mote` bytes of the test model.
fn export(precision: Precision) -> Vec<u8> {
    let model = tiny_model();
    let affine = vec![(0.5, 0.25), (2.0, -0.5)];
    let opts = Options {
        precision,
        ..Options::default()
    };
    let exported = quant::export(&model, &samples(1, 16), affine, opts).expect("export");
    exported.bytes.as_bytes().to_vec()
}

/// `bytes` in a 16-byte-aligned buffer, as the executor needs them.
fn aligned(bytes: &[u8]) -> mote_core::format::AlignedBytes {
    mote_core::format::AlignedBytes::new(bytes)
}

/// Checks the generated module for the model `export` writes in `precision` against
/// `tests/generated/<file>`.
fn check_committed(export: fn(Precision) -> Vec<u8>, precision: Precision, file: &str) {
    let bytes = export(precision);
    assert_eq!(
        bytes,
        export(precision),
        "export is not deterministic: two exports of the same model differ"
    );
    let code = mote_trainer::codegen::rust_module(&bytes).expect("codegen");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/generated")
        .join(file);
    if std::env::var_os("MOTE_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &code).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != code {
        let line = committed
            .lines()
            .zip(code.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(code.lines().count()));
        panic!(
            "{} is not what `mote export --rust` generates now (first difference at line {}).\n\
             If the change is intended, regenerate it with\n\
             \n    MOTE_BLESS=1 cargo test -p mote-trainer --test codegen\n\n\
             and review the diff.",
            path.display(),
            line + 1
        );
    }
}

#[test]
fn generated_int8_module_is_committed() {
    check_committed(export, Precision::Int8, "tiny.rs");
}

#[test]
fn generated_int16_module_is_committed() {
    check_committed(export, Precision::Int16, "tiny16.rs");
}

#[test]
fn generated_lstm_modules_are_committed() {
    check_committed(export_lstm, Precision::Int8, "tiny_lstm.rs");
    check_committed(export_lstm, Precision::Int16, "tiny_lstm16.rs");
}

/// The generated LSTM module `$m` (activations `$t`, read and written through the
/// interpreter's `$input` and `$output`) gives the executor's outputs, for the model
/// exported in `$p`, on quantised inputs over the whole range.
macro_rules! lstm_module_matches_the_executor {
    ($m:ident, $t:ty, $input:ident, $output:ident, $p:expr, $seed:expr) => {{
        let bytes = aligned(&export_lstm($p));
        let model = IntModel::from_bytes(bytes.as_bytes()).unwrap();
        assert_eq!(model.arena_bytes(), $m::ARENA_BYTES);
        let mut exec_arena = vec![0u8; model.arena_bytes() + 16];
        let mut it = Interpreter::new(&model, &mut exec_arena).unwrap();
        let mut arena = $m::Arena::default();
        let mut rng = Rng::new($seed);
        let span = 1u32 << (8 * size_of::<$t>());
        for _ in 0..50 {
            let q: [$t; $m::INPUT_LEN] =
                core::array::from_fn(|_| (i64::from(rng.below(span)) - i64::from(span / 2)) as $t);
            it.$input().unwrap().copy_from_slice(&q);
            it.invoke().unwrap();
            let mut y = [0 as $t; $m::OUTPUT_LEN];
            $m::predict(&q, &mut y, &mut arena).unwrap();
            assert_eq!(&y[..], it.$output().unwrap());
        }
    }};
}

#[test]
fn generated_lstm_modules_match_the_executor() {
    lstm_module_matches_the_executor!(tiny_lstm, i8, input_i8, output_i8, Precision::Int8, 97);
    lstm_module_matches_the_executor!(
        tiny_lstm16,
        i16,
        input_i16,
        output_i16,
        Precision::Int16,
        96
    );
}

#[test]
fn generated_int8_module_matches_the_executor() {
    let bytes = aligned(&export(Precision::Int8));
    let model = IntModel::from_bytes(bytes.as_bytes()).unwrap();
    assert_eq!(model.arena_bytes(), tiny::ARENA_BYTES);
    let mut exec_arena = vec![0u8; model.arena_bytes() + 16];
    let mut it = Interpreter::new(&model, &mut exec_arena).unwrap();
    let mut arena = tiny::Arena::new();
    let mut rng = Rng::new(99);
    let raw = samples(3, 50);
    for x in raw.chunks_exact(tiny::INPUT_LEN) {
        // Quantised inputs, all of the int8 range.
        let q: [i8; tiny::INPUT_LEN] = core::array::from_fn(|_| rng.below(256) as i32 as i8);
        it.input_i8().unwrap().copy_from_slice(&q);
        it.invoke().unwrap();
        let mut y = [0i8; tiny::OUTPUT_LEN];
        tiny::predict(&q, &mut y, &mut arena).unwrap();
        assert_eq!(&y[..], it.output_i8().unwrap());

        // Raw inputs through the input transform and quantisation.
        it.set_input_f32(x).unwrap();
        it.invoke().unwrap();
        let mut want = [0f32; tiny::OUTPUT_LEN];
        it.output_f32(&mut want).unwrap();
        let mut got = [0f32; tiny::OUTPUT_LEN];
        tiny::predict_f32(x.try_into().unwrap(), &mut got, &mut arena).unwrap();
        assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits));
    }
}

#[test]
fn generated_int16_module_matches_the_executor() {
    let bytes = aligned(&export(Precision::Int16));
    let model = IntModel::from_bytes(bytes.as_bytes()).unwrap();
    assert_eq!(model.arena_bytes(), tiny16::ARENA_BYTES);
    let mut exec_arena = vec![0u8; model.arena_bytes() + 16];
    let mut it = Interpreter::new(&model, &mut exec_arena).unwrap();
    let mut arena = tiny16::Arena::default();
    let mut rng = Rng::new(98);
    let raw = samples(4, 50);
    for x in raw.chunks_exact(tiny16::INPUT_LEN) {
        let q: [i16; tiny16::INPUT_LEN] = core::array::from_fn(|_| rng.below(65536) as u16 as i16);
        it.input_i16().unwrap().copy_from_slice(&q);
        it.invoke().unwrap();
        let mut y = [0i16; tiny16::OUTPUT_LEN];
        tiny16::predict(&q, &mut y, &mut arena).unwrap();
        assert_eq!(&y[..], it.output_i16().unwrap());

        it.set_input_f32(x).unwrap();
        it.invoke().unwrap();
        let mut want = [0f32; tiny16::OUTPUT_LEN];
        it.output_f32(&mut want).unwrap();
        let mut got = [0f32; tiny16::OUTPUT_LEN];
        tiny16::predict_f32(x.try_into().unwrap(), &mut got, &mut arena).unwrap();
        assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits));
    }
}

#[test]
fn constants_of_the_generated_module() {
    let bytes = aligned(&export(Precision::Int8));
    let model = IntModel::from_bytes(bytes.as_bytes()).unwrap();
    let (input, output) = (model.input().unwrap(), model.output().unwrap());
    assert_eq!(tiny::INPUT_LEN, input.len());
    assert_eq!(tiny::OUTPUT_LEN, output.len());
    let (iq, oq) = (input.per_tensor().unwrap(), output.per_tensor().unwrap());
    assert_eq!(tiny::INPUT_SCALE.to_bits(), iq.scale().to_bits());
    assert_eq!(tiny::INPUT_ZERO_POINT, iq.zero_point());
    assert_eq!(tiny::OUTPUT_SCALE.to_bits(), oq.scale().to_bits());
    assert_eq!(tiny::OUTPUT_ZERO_POINT, oq.zero_point());
    assert_eq!(tiny::INPUT_TRANSFORM, [(0.5, 0.25), (2.0, -0.5)]);
    assert_eq!(core::mem::align_of::<tiny::Arena>(), 16);
}

#[test]
fn unsupported_operators_are_named() {
    use mote_core::dtype::DType;
    use mote_core::format::{ModelDef, OpCode, OpDef, PARAMS, QuantDef, TensorDef};
    // A depthwise convolution with one per-tensor multiplier: valid in the format, but
    // the kernel (and so the executor and the generator) want one per channel.
    let q = QuantDef::PerTensor {
        scale: 0.1,
        zero_point: 0,
    };
    let t = |name: &str, offset, data: Option<Vec<u8>>| TensorDef {
        name: name.into(),
        dtype: DType::I8,
        dims: vec![1, 1, 1, 2],
        data,
        arena_offset: offset,
        quant: q.clone(),
    };
    let def = ModelDef {
        tensors: vec![
            t("input", 0, None),
            t("dw", 16, None),
            t("w", 0, Some(vec![1, 2])),
        ],
        ops: vec![OpDef {
            code: OpCode::DepthwiseConv2d,
            inputs: vec![0, 2],
            output: 1,
            multipliers: vec![mote_core::quant::QuantizedMultiplier::new(1 << 30, 1).unwrap()],
            act_min: -128,
            act_max: 127,
            params: [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        }],
        input: 0,
        output: 1,
        arena_bytes: 32,
        input_affine: Vec::new(),
    };
    let _ = PARAMS;
    let bytes = aligned(&def.to_bytes().unwrap());
    mote_core::format::ModelView::from_bytes(bytes.as_bytes()).expect("a valid model");
    let e = mote_trainer::codegen::rust_module(bytes.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "export --rust: operator 0 (DEPTHWISE_CONV_2D): one multiplier per output channel"
        ),
        "{e}"
    );
}
