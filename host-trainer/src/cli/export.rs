//! `mote export CHECKPOINT --out model.mote`: post-training quantisation of a trained
//! model, its arena plan, its accuracy against the float model and its per-layer
//! error; writes the `.mote` file and a JSON report beside it (`model.mote.json`).

use crate::data::{Dataset, Targets};
use crate::metrics::argmax;
use crate::quant::{self, Method, Options, Precision};
use crate::report::write_atomic;
use crate::train::checkpoint::Checkpoint;
use crate::train::session::fit_shape;
use crate::{Error, Result};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// What to export and how.
#[derive(Debug, Clone)]
pub struct Args {
    /// The checkpoint.
    pub checkpoint: PathBuf,
    /// Data directory for calibration and evaluation (default: the spec's).
    pub data: Option<PathBuf>,
    /// The `.mote` file to write.
    pub out: PathBuf,
    /// Also write a Rust module here.
    pub rust: Option<PathBuf>,
    /// Also write the float model as a Rust module here (dense models).
    pub rust_f32: Option<PathBuf>,
    /// Calibration method.
    pub method: Method,
    /// int16 activations.
    pub int16: bool,
    /// Training samples used for calibration.
    pub calib_samples: usize,
    /// Test samples used for the per-layer error table.
    pub report_samples: usize,
    /// Also write a firmware bundle here: `model.mote`, `model.rs`, the first
    /// `firmware_samples` test inputs quantised as the model takes them (`inputs.bin`)
    /// and their labels (`labels.bin`, one byte each).
    pub firmware: Option<PathBuf>,
    /// Test samples in the firmware bundle.
    pub firmware_samples: usize,
}

/// The first `n` samples of `ds` (all when fewer).
fn head(ds: &Dataset, n: usize) -> Vec<f32> {
    let len = ds.sample_len();
    ds.inputs[..(n * len).min(ds.inputs.len())].to_vec()
}

/// Top-1 accuracy of `outputs` (rows of `classes`) against `labels`.
fn accuracy(outputs: &[f32], labels: &[usize], classes: usize) -> f64 {
    let right = outputs
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, l)| argmax(row) == **l)
        .count();
    right as f64 / labels.len().max(1) as f64
}

/// Runs the export; returns the report text.
pub fn run(args: &Args) -> Result<String> {
    let ck = Checkpoint::load(&args.checkpoint)?;
    let model = ck.model()?;
    let spec = &ck.header.spec;
    let (mut train_raw, test) = crate::train::data::load(&spec.data, args.data.as_deref())?;
    fit_shape(&mut train_raw, &spec.model.input)?;
    let mut calib = train_raw.clone();
    ck.header.normalisation.apply(&mut calib)?;
    let calib = head(&calib, args.calib_samples.max(1));
    let channels = spec.model.input.last().copied().unwrap_or(1);
    let affine = quant::input_affine(&ck.header.normalisation, channels)?;
    let opts = Options {
        method: args.method,
        precision: if args.int16 {
            Precision::Int16
        } else {
            Precision::Int8
        },
        reuse: true,
    };
    let exported = quant::export(&model, &calib, affine.clone(), opts)?;
    let bytes = exported.bytes.as_bytes();
    let mut no_reuse = exported.def.clone();
    quant::arena::assign(&mut no_reuse, false)?;
    let (bufs, _) = quant::arena::buffers(&exported.def);
    let activations_sum = mote_core::plan::sum_of(&bufs, quant::arena::ALIGN)?;

    // Accuracy on the test split, float and integer.
    let mut json = serde_json::json!({
        "model": args.checkpoint.display().to_string(),
        "params": model.param_count(),
        "flash_bytes": bytes.len(),
        "arena_bytes": exported.def.arena_bytes,
        "arena_bytes_without_reuse": no_reuse.arena_bytes,
        "activation_bytes_sum": activations_sum,
        "macs": exported.macs,
        "precision": if args.int16 { "int16x8" } else { "int8" },
        "calibration": format!("{:?}", args.method),
        "calibration_samples": calib.len() / model.input_len().max(1),
    });
    let mut text = String::new();
    let _ = writeln!(text, "wrote {} ({} bytes)", args.out.display(), bytes.len());
    let _ = writeln!(text, "params       {}", model.param_count());
    let _ = writeln!(text, "flash        {} bytes (.mote file)", bytes.len());
    let _ = writeln!(
        text,
        "arena        {} bytes (without in-place reuse {}, all activations {})",
        exported.def.arena_bytes, no_reuse.arena_bytes, activations_sum
    );
    let _ = writeln!(text, "MACs         {}", exported.macs);
    if let Some(mut test) = test {
        fit_shape(&mut test, &spec.model.input)?;
        if let Some(dir) = &args.firmware {
            let n = args.firmware_samples.min(test.len());
            let mut normalised = test.clone();
            ck.header.normalisation.apply(&mut normalised)?;
            let f32_module = crate::codegen::rust_module_f32(&model, &affine).ok();
            write_bundle(dir, bytes, &model, f32_module, &test, &normalised, n)?;
            let _ = writeln!(
                text,
                "wrote the firmware bundle {} ({n} test samples)",
                dir.display()
            );
            json["firmware"] = dir.display().to_string().into();
        }
        let raw = test.inputs.clone();
        ck.header.normalisation.apply(&mut test)?;
        let float_out = model.predict(&test.inputs, 256)?;
        let int_out = quant::evaluate::predict(bytes, &raw)?;
        let classes = model.output_len();
        if let Targets::Classes { labels, .. } = &test.targets {
            let fa = accuracy(&float_out, labels, classes);
            let qa = accuracy(&int_out, labels, classes);
            let same = float_out
                .chunks_exact(classes)
                .zip(int_out.chunks_exact(classes))
                .filter(|(a, b)| argmax(a) == argmax(b))
                .count() as f64
                / labels.len().max(1) as f64;
            json["test_samples"] = labels.len().into();
            json["float_accuracy"] = fa.into();
            json["quantized_accuracy"] = qa.into();
            json["agreement"] = same.into();
            let _ = writeln!(
                text,
                "accuracy     float {:.2}%  quantized {:.2}%  ({:+.2} points)  top-1 agreement {:.2}%  on {} test samples",
                100.0 * fa,
                100.0 * qa,
                100.0 * (qa - fa),
                100.0 * same,
                labels.len()
            );
        } else {
            let mse = |o: &[f32], t: &[f32]| {
                o.iter()
                    .zip(t)
                    .map(|(a, b)| ((a - b) as f64).powi(2))
                    .sum::<f64>()
                    / t.len().max(1) as f64
            };
            if let Targets::Values { values, .. } = &test.targets {
                json["float_mse"] = mse(&float_out, values).into();
                json["quantized_mse"] = mse(&int_out, values).into();
                let _ = writeln!(
                    text,
                    "test MSE     float {:.6}  quantized {:.6}",
                    mse(&float_out, values),
                    mse(&int_out, values)
                );
            }
        }
        let n = args.report_samples.min(test.len());
        let len = test.sample_len();
        let errors = quant::evaluate::layer_errors(
            &model,
            &exported.graph,
            bytes,
            &raw[..n * len],
            &test.inputs[..n * len],
        )?;
        let _ = writeln!(
            text,
            "\nper-layer error on {n} test samples (integer output dequantised vs the float layer):"
        );
        let w = errors.iter().map(|e| e.code.len()).fold(18, usize::max);
        let _ = writeln!(
            text,
            "{:>3}  {:<w$} {:<34} {:>10} {:>5} {:>10} {:>9} {:>8}",
            "op", "operator", "layers", "scale", "zp", "rmse", "rel", "max LSB"
        );
        for e in &errors {
            let _ = writeln!(
                text,
                "{:>3}  {:<w$} {:<34} {:>10.3e} {:>5} {:>10.3e} {:>8.2}% {:>8.1}",
                e.op,
                e.code,
                e.name,
                e.scale,
                e.zero_point,
                e.rmse,
                100.0 * e.relative,
                e.max_lsb
            );
        }
        json["layers"] = errors
            .iter()
            .map(|e| serde_json::json!({"op": e.op, "operator": e.code, "name": e.name, "scale": e.scale, "zero_point": e.zero_point, "rmse": e.rmse, "relative_error": e.relative, "max_error_lsb": e.max_lsb}))
            .collect();
    }
    write_atomic(&args.out, bytes)?;
    if let Some(rust) = &args.rust_f32 {
        let code = crate::codegen::rust_module_f32(&model, &affine)?;
        write_atomic(rust, code.as_bytes())?;
        let _ = writeln!(text, "wrote {}", rust.display());
    }
    if let Some(rust) = &args.rust {
        let code = crate::codegen::rust_module(bytes)?;
        write_atomic(rust, code.as_bytes())?;
        let _ = writeln!(text, "wrote {}", rust.display());
        json["rust"] = rust.display().to_string().into();
    }
    let json_path = json_path(&args.out);
    write_atomic(
        &json_path,
        serde_json::to_string_pretty(&json)
            .map_err(|e| Error::Mismatch {
                detail: e.to_string(),
            })?
            .as_bytes(),
    )?;
    let _ = writeln!(text, "wrote {}", json_path.display());
    Ok(text)
}

/// Writes the firmware bundle for `bytes` with the first `n` samples of `test` (raw,
/// and `normalised` as the float model sees them): the model, its Rust module (and the
/// float one, `f32_module`, when the model has one), the inputs quantised
/// (`inputs.bin`) and raw (`inputs_f32.bin`), the float model's outputs
/// (`expected_f32.bin`), and the targets (`labels.bin`, one byte each, or
/// `targets_f32.bin`).
fn write_bundle(
    dir: &Path,
    bytes: &[u8],
    net: &crate::model::Model,
    f32_module: Option<String>,
    test: &Dataset,
    normalised: &Dataset,
    n: usize,
) -> Result<()> {
    use mote_kernels::exec::{Interpreter, Model};
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let model = Model::from_bytes(bytes)?;
    let mut arena = crate::quant::evaluate::arena_for(&model)?;
    let mut it = Interpreter::new(&model, &mut arena)?;
    let len = test.sample_len();
    let raw = &test.inputs[..n * len];
    let mut inputs = Vec::new();
    for x in raw.chunks_exact(len) {
        it.set_input_f32(x)?;
        match model.input()?.dtype {
            mote_core::DType::I8 => inputs.extend(it.input_i8()?.iter().map(|&v| v as u8)),
            _ => inputs.extend(it.input_i16()?.iter().flat_map(|v| v.to_le_bytes())),
        }
    }
    let floats = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let expected = net.predict(&normalised.inputs[..n * len], 64)?;
    write_atomic(&dir.join("model.mote"), bytes)?;
    write_atomic(
        &dir.join("model.rs"),
        crate::codegen::rust_module(bytes)?.as_bytes(),
    )?;
    let f32_path = dir.join("model_f32.rs");
    match f32_module {
        Some(code) => write_atomic(&f32_path, code.as_bytes())?,
        None if f32_path.exists() => {
            std::fs::remove_file(&f32_path).map_err(|e| Error::io(&f32_path, e))?
        }
        None => {}
    }
    write_atomic(&dir.join("inputs.bin"), &inputs)?;
    write_atomic(&dir.join("inputs_f32.bin"), &floats(raw))?;
    write_atomic(&dir.join("expected_f32.bin"), &floats(&expected))?;
    match &test.targets {
        Targets::Classes { labels, .. } => {
            let labels: Vec<u8> = labels.iter().take(n).map(|&l| l.min(255) as u8).collect();
            write_atomic(&dir.join("labels.bin"), &labels)
        }
        Targets::Values { values, .. } => {
            let per = values.len() / test.len().max(1);
            write_atomic(&dir.join("targets_f32.bin"), &floats(&values[..n * per]))
        }
    }
}

/// `model.mote` → `model.mote.json`.
pub fn json_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}
