//! Post-training quantisation end to end: every exportable layer kind (residual and
//! branch blocks, batch norm, depthwise, pools, logistic, tanh, softmax) exports, reads
//! back and tracks the float model in int8 and int16; `mote export`, `mote inspect` and
//! `mote eval model.mote` work on a checkpoint trained here.

use mote_core::rng::Rng;
use mote_trainer::cli;
use mote_trainer::model::Model;
use mote_trainer::progress::Mode;
use mote_trainer::quant::{self, Method, Options, Precision};
use mote_trainer::train::{self, Spec};
use std::fs;
use std::path::{Path, PathBuf};

const EVERY_LAYER: &str = r#"
[model]
input = [10, 10, 3]
[[model.layers]]
type = "conv2d"
filters = 8
kernel = 3
padding = "same"
[[model.layers]]
type = "batch_norm"
[[model.layers]]
type = "activation"
function = "relu"
[[model.layers]]
type = "residual"
layers = [
  { type = "conv2d", filters = 8, kernel = 3, padding = "same", activation = "relu" },
  { type = "conv2d", filters = 8, kernel = 3, padding = "same" },
]
[[model.layers]]
type = "activation"
function = "relu"
[[model.layers]]
type = "branch"
paths = [
  [ { type = "depthwise_conv2d", kernel = 3, padding = "same", activation = "relu6" } ],
  [ { type = "conv2d", filters = 4, kernel = 1, activation = "sigmoid" } ],
  [],
]
[[model.layers]]
type = "avg_pool2d"
size = 2
[[model.layers]]
type = "activation"
function = "tanh"
[[model.layers]]
type = "max_pool2d"
size = 2
padding = "same"
[[model.layers]]
type = "global_avg_pool"
[[model.layers]]
type = "dense"
units = 6
[[model.layers]]
type = "softmax"
"#;

fn every_layer_model() -> Model {
    let spec = Spec::parse(EVERY_LAYER).unwrap();
    Model::new(spec.model, 7).unwrap()
}

fn normal(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.normal()).collect()
}

/// Largest |float − integer| over the outputs of `samples`, and the top-1 agreement.
fn compare(model: &Model, bytes: &[u8], samples: &[f32]) -> (f32, f64) {
    let float = model.predict(samples, 64).unwrap();
    let int = quant::evaluate::predict(bytes, samples).unwrap();
    let k = model.output_len();
    let max = float
        .iter()
        .zip(&int)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    let argmax = |r: &[f32]| (0..r.len()).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap();
    let same = float
        .chunks_exact(k)
        .zip(int.chunks_exact(k))
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    (max, same as f64 / (float.len() / k) as f64)
}

#[test]
fn every_exportable_layer_tracks_the_float_model_in_int8_and_int16() {
    let model = every_layer_model();
    let mut rng = Rng::new(11);
    let calib = normal(&mut rng, 300 * model.input_len());
    let test = normal(&mut rng, 100 * model.input_len());
    for (precision, bound) in [(Precision::Int8, 0.01), (Precision::Int16, 0.001)] {
        let opts = Options {
            precision,
            ..Options::default()
        };
        let e = quant::export(&model, &calib, Vec::new(), opts).unwrap();
        // `fuzz/seed.sh` collects these as seeds for the reader's fuzz target.
        if let Some(dir) = std::env::var_os("MOTE_FUZZ_SEEDS") {
            let name = format!("seed-every-layer-{precision:?}.mote").to_lowercase();
            fs::write(Path::new(&dir).join(name), e.bytes.as_bytes()).unwrap();
        }
        let codes: Vec<_> = e.def.ops.iter().map(|o| o.code.name()).collect();
        for want in [
            "CONV_2D",
            "ADD",
            "DEPTHWISE_CONV_2D",
            "LOGISTIC",
            "CONCATENATION",
            "AVERAGE_POOL_2D",
            "TANH",
            "MAX_POOL_2D",
            "FULLY_CONNECTED",
            "SOFTMAX",
        ] {
            assert!(
                codes.contains(&want),
                "{precision:?}: no {want} in {codes:?}"
            );
        }
        // The batch norm and both ReLUs were folded or fused: no standalone op.
        assert!(!codes.contains(&"RELU"), "{codes:?}");
        let (max, agree) = compare(&model, e.bytes.as_bytes(), &test);
        // Softmax probabilities; measured 0.0038 (int8) and 0.00042 (int16) when written.
        assert!(max < bound, "{precision:?}: max probability error {max}");
        assert!(agree >= 0.95, "{precision:?}: top-1 agreement {agree}"); // measured 1.0
    }
}

#[test]
fn calibration_methods_and_plans_all_give_valid_models() {
    let model = every_layer_model();
    let mut rng = Rng::new(5);
    let calib = normal(&mut rng, 100 * model.input_len());
    for method in [Method::MinMax, Method::Percentile(99.9), Method::Mse] {
        for reuse in [true, false] {
            let opts = Options {
                method,
                reuse,
                ..Options::default()
            };
            let e = quant::export(&model, &calib, Vec::new(), opts).unwrap();
            let (max, _) = compare(&model, e.bytes.as_bytes(), &calib[..20 * model.input_len()]);
            // Measured 0.0029 (MSE) to 0.0032 (min-max, percentile) when written.
            assert!(max < 0.01, "{method:?} reuse {reuse}: {max}");
        }
    }
}

/// Two stacked LSTMs (every step, then the last; a forget bias) into a dense
/// classifier: the integer LSTM record in both schemes.
const LSTM_MODEL: &str = r#"
[model]
input = [12, 5]
[[model.layers]]
type = "lstm"
units = 10
return_sequences = true
forget_bias = 0.5
[[model.layers]]
type = "lstm"
units = 8
[[model.layers]]
type = "dense"
units = 4
[[model.layers]]
type = "softmax"
"#;

#[test]
fn lstm_models_export_and_track_the_float_model_in_int8_and_int16() {
    let spec = Spec::parse(LSTM_MODEL).unwrap();
    let model = Model::new(spec.model, 3).unwrap();
    let mut rng = Rng::new(21);
    let calib = normal(&mut rng, 300 * model.input_len());
    let test = normal(&mut rng, 200 * model.input_len());
    // Measured 0.0038 (int8) and 0.0013 (int16) max probability error, top-1 agreement
    // 0.965 and 1.0, when written (the untrained model's probabilities are close, so
    // int8 rounding flips a few of its near-ties).
    for (precision, bound, agreement) in [
        (Precision::Int8, 0.01, 0.93),
        (Precision::Int16, 0.003, 0.99),
    ] {
        let opts = Options {
            precision,
            ..Options::default()
        };
        let e = quant::export(&model, &calib, Vec::new(), opts).unwrap();
        if let Some(dir) = std::env::var_os("MOTE_FUZZ_SEEDS") {
            let name = format!("seed-lstm-{precision:?}.mote").to_lowercase();
            fs::write(Path::new(&dir).join(name), e.bytes.as_bytes()).unwrap();
        }
        let codes: Vec<_> = e.def.ops.iter().map(|o| o.code.name()).collect();
        assert_eq!(
            codes,
            [
                "UNIDIRECTIONAL_SEQUENCE_LSTM",
                "UNIDIRECTIONAL_SEQUENCE_LSTM",
                "FULLY_CONNECTED",
                "SOFTMAX"
            ],
            "{precision:?}"
        );
        let (max, agree) = compare(&model, e.bytes.as_bytes(), &test);
        assert!(max < bound, "{precision:?}: max probability error {max}");
        assert!(agree >= agreement, "{precision:?}: top-1 agreement {agree}");
    }
}

#[test]
fn recurrent_layers_without_an_integer_kernel_are_refused_by_name() {
    for (layer, what) in [
        ("type = \"gru\"\nunits = 4", "a 'gru' layer"),
        ("type = \"simple_rnn\"\nunits = 4", "a 'simple_rnn' layer"),
        (
            "type = \"lstm\"\nunits = 4\ngo_backwards = true",
            "a reversed (go_backwards) LSTM",
        ),
    ] {
        let text = format!("[model]\ninput = [6, 3]\n[[model.layers]]\nname = \"seq\"\n{layer}\n");
        let model = Model::new(Spec::parse(&text).unwrap().model, 1).unwrap();
        let calib = vec![0.5; 18 * 4];
        let err = quant::export(&model, &calib, Vec::new(), Options::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("'seq'") && msg.contains(what), "{msg}");
    }
}

#[test]
fn layers_without_an_integer_kernel_are_refused_by_name() {
    let spec = Spec::parse(
        r#"
[model]
input = [8]
[[model.layers]]
type = "dense"
units = 4
name = "hidden"
activation = "gelu"
"#,
    )
    .unwrap();
    let model = Model::new(spec.model, 1).unwrap();
    let calib = vec![0.5; 8 * 4];
    let err = quant::export(&model, &calib, Vec::new(), Options::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("'hidden") && msg.contains("Gelu"), "{msg}");
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn export_inspect_and_eval_from_a_trained_checkpoint() {
    let dir = Dir(std::env::temp_dir().join(format!("mote-export-{}", std::process::id())));
    let _ = fs::remove_dir_all(&dir.0);
    fs::create_dir_all(&dir.0).unwrap();
    let spec = dir.0.join("spec.toml");
    fs::write(
        &spec,
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
type = "dense"
units = 10
[training]
batch = 32
seed = 3
optimizer = { kind = "adam", lr = 3e-3 }
[data]
format = "mnist"
"#,
    )
    .unwrap();
    let mnist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist");
    let run = dir.0.join("run");
    let opts = train::Options {
        spec,
        data: Some(mnist.clone()),
        epochs: Some(1),
        batch: None,
        seed: None,
        threads: Some(2),
        out: run.clone(),
        resume: false,
        limit: Some(1000),
        progress: Mode::Quiet,
        device: Default::default(),
    };
    train::run(&opts).unwrap();
    let out = dir.0.join("m.mote");
    let args = cli::export::Args {
        checkpoint: run.join("best.ckpt"),
        data: Some(mnist.clone()),
        out: out.clone(),
        rust: None,
        rust_f32: None,
        method: Method::MinMax,
        int16: false,
        calib_samples: 200,
        report_samples: 20,
        firmware: Some(dir.0.join("fw")),
        firmware_samples: 5,
    };
    let text = cli::export::run(&args).unwrap();
    assert!(text.contains("per-layer error"), "{text}");
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(cli::export::json_path(&out)).unwrap()).unwrap();
    for key in [
        "params",
        "flash_bytes",
        "arena_bytes",
        "macs",
        "float_accuracy",
        "quantized_accuracy",
        "agreement",
        "layers",
    ] {
        assert!(!json[key].is_null(), "no {key} in {json}");
    }
    assert_eq!(
        json["flash_bytes"].as_u64().unwrap(),
        fs::metadata(&out).unwrap().len()
    );
    let fa = json["float_accuracy"].as_f64().unwrap();
    let qa = json["quantized_accuracy"].as_f64().unwrap();
    assert!(
        fa > 0.6 && (fa - qa).abs() < 0.02,
        "float {fa}, quantized {qa}"
    );

    // The firmware bundle: the same model, its Rust module, 5 quantised inputs, labels.
    let fw = dir.0.join("fw");
    assert_eq!(
        fs::read(fw.join("model.mote")).unwrap(),
        fs::read(&out).unwrap()
    );
    assert_eq!(fs::read(fw.join("inputs.bin")).unwrap().len(), 5 * 784);
    assert_eq!(fs::read(fw.join("labels.bin")).unwrap().len(), 5);
    assert!(
        fs::read_to_string(fw.join("model.rs"))
            .unwrap()
            .contains("pub fn predict(")
    );

    let inspect = cli::inspect::run(&out).unwrap();
    assert!(
        inspect.contains("CONV_2D") && inspect.contains("FULLY_CONNECTED"),
        "{inspect}"
    );
    // The integer executor on raw data (the model applies the training normalisation
    // itself) reproduces the export's quantised accuracy.
    let eval = cli::eval::run_mote(&out, Some(&mnist), "mnist", true).unwrap();
    let v: serde_json::Value = serde_json::from_str(eval.trim()).unwrap();
    assert!(
        (v["accuracy"].as_f64().unwrap() - qa).abs() < 1e-6,
        "{v} vs {qa}"
    );

    // A corrupted file is an error naming the file, not a panic.
    let mut bytes = fs::read(&out).unwrap();
    bytes[100] ^= 0x40;
    fs::write(&out, &bytes).unwrap();
    let err = cli::inspect::run(&out).unwrap_err().to_string();
    assert!(err.contains("m.mote") && err.contains("crc32"), "{err}");
}
