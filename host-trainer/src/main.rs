//! The `mote` command-line tool. Every error ends the process with one line on stderr
//! and exit status 1; checkpoints already written are never touched by a failure.

use clap::{Parser, Subcommand};
use mote_trainer::progress::Mode;
use mote_trainer::train::{self, Options};
use mote_trainer::{Result, cli};
use std::path::PathBuf;
use std::process::ExitCode;

/// Train, quantise and export neural networks for microcontrollers.
#[derive(Parser)]
#[command(name = "mote", version = mote_trainer::VERSION, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model from a spec (TOML); writes checkpoints, history.csv, curves.svg
    /// and metrics.json into --out.
    Train {
        /// The spec file.
        spec: PathBuf,
        /// Data directory (overrides [data] path).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Epochs (overrides the spec).
        #[arg(long)]
        epochs: Option<usize>,
        /// Batch size (overrides the spec).
        #[arg(long)]
        batch: Option<usize>,
        /// Seed (overrides the spec).
        #[arg(long)]
        seed: Option<u64>,
        /// Worker threads (default: the spec's, else every core).
        #[arg(long)]
        threads: Option<usize>,
        /// Output directory (default: runs/<spec name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Continue from <out>/last.ckpt.
        #[arg(long)]
        resume: bool,
        /// Train on the first N samples only (to check that the loss goes down).
        #[arg(long)]
        limit: Option<usize>,
        /// No progress output.
        #[arg(long, conflicts_with = "json")]
        quiet: bool,
        /// Progress as JSON lines on stdout.
        #[arg(long)]
        json: bool,
        /// Where to train: cpu, cuda (an NVIDIA GPU; needs a build with the `cuda`
        /// feature) or auto (the GPU when one is usable, else the CPU with a notice).
        #[arg(long, default_value = "cpu")]
        device: String,
    },
    /// Evaluate a checkpoint, or an exported .mote model (run by the integer
    /// executor), on the test split of a data set.
    Eval {
        /// The checkpoint or .mote file.
        model: PathBuf,
        /// Data directory (default: the one in the checkpoint's spec; required for a
        /// .mote model).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Format of the data directory for a .mote model (mnist, csv, npy).
        #[arg(long, default_value = "mnist")]
        format: String,
        /// Worker threads.
        #[arg(long)]
        threads: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Quantise a checkpoint to an integer model: writes the .mote file and a JSON
    /// report beside it (params, flash, arena, MACs, float and quantised accuracy).
    Export {
        /// The checkpoint.
        checkpoint: PathBuf,
        /// The .mote file to write.
        #[arg(long)]
        out: PathBuf,
        /// Data directory for calibration (training split) and evaluation (test split);
        /// default: the one in the checkpoint's spec.
        #[arg(long, alias = "data")]
        calib: Option<PathBuf>,
        /// Also write a Rust module with const weights and a direct predict().
        #[arg(long)]
        rust: Option<PathBuf>,
        /// Also write the float model as a Rust module (f32 on the FPU; dense models).
        #[arg(long)]
        rust_f32: Option<PathBuf>,
        /// int16 activations (the 16x8 scheme) instead of int8.
        #[arg(long)]
        int16: bool,
        /// Calibration: minmax, percentile[:P] or mse.
        #[arg(long, default_value = "minmax")]
        calibration: String,
        /// Training samples used for calibration.
        #[arg(long, default_value_t = 1000)]
        calib_samples: usize,
        /// Test samples used for the per-layer error table.
        #[arg(long, default_value_t = 200)]
        report_samples: usize,
        /// Also write a firmware bundle into this directory: model.mote, model.rs,
        /// quantised test inputs (inputs.bin) and labels (labels.bin).
        #[arg(long)]
        firmware: Option<PathBuf>,
        /// Test samples in the firmware bundle.
        #[arg(long, default_value_t = 100)]
        firmware_samples: usize,
    },
    /// Validate a .mote file and print its header, operators and tensors.
    Inspect {
        /// The .mote file.
        model: PathBuf,
    },
    /// Print the layer table (output shapes, parameters, MACs, activation memory) of a
    /// spec or a checkpoint.
    Summary {
        /// A spec (.toml) or a checkpoint.
        model: PathBuf,
    },
    /// Run a checkpoint on samples from a file (.npy, .png or IDX).
    Predict {
        /// The checkpoint.
        model: PathBuf,
        /// The samples.
        input: PathBuf,
        /// Classes to show per sample.
        #[arg(long, default_value_t = 1)]
        top: usize,
        /// Also write every output to this .npy file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compare analytic gradients with finite differences on a small batch.
    Gradcheck {
        /// The spec file.
        spec: PathBuf,
        /// Check on samples of this data directory (default: random normal inputs).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Samples in the batch.
        #[arg(long, default_value_t = 4)]
        batch: usize,
        /// Entries checked per tensor.
        #[arg(long, default_value_t = 16)]
        per_tensor: usize,
    },
    /// Write each layer's output for the first sample of INPUT as PNG images.
    Activations {
        /// The checkpoint.
        model: PathBuf,
        /// The samples (.npy, .png or IDX).
        input: PathBuf,
        /// Directory for the images.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the digest of mote-core's arithmetic that a device build must reproduce.
    Conformance {
        /// Rounds of arithmetic folded into the digest.
        #[arg(long, default_value_t = mote_core::conformance::DEFAULT_ROUNDS)]
        rounds: u32,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Train {
            spec,
            data,
            epochs,
            batch,
            seed,
            threads,
            out,
            resume,
            limit,
            quiet,
            json,
            device,
        } => {
            let device = device.parse()?;
            let out = out.unwrap_or_else(|| {
                let stem = spec
                    .file_stem()
                    .map_or("run".into(), |s| s.to_string_lossy().to_string());
                PathBuf::from("runs").join(stem)
            });
            let progress = if quiet {
                Mode::Quiet
            } else if json {
                Mode::JsonLines
            } else {
                Mode::Bar
            };
            let outcome = train::run(&Options {
                spec,
                data,
                epochs,
                batch,
                seed,
                threads,
                out: out.clone(),
                resume,
                limit,
                progress,
                device,
            })?;
            if !quiet && !json {
                let m = &outcome.metrics;
                let pct = |v: Option<f32>| v.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v));
                eprintln!(
                    "done: {} epochs, test accuracy {}, test loss {}, median {:.2} s/epoch; wrote {}",
                    outcome.epochs,
                    pct(m.test_accuracy),
                    m.test_loss.map_or("-".into(), |v| format!("{v:.4}")),
                    m.median_epoch_seconds,
                    out.display()
                );
            }
        }
        Command::Eval {
            model,
            data,
            format,
            threads,
            json,
        } => {
            if cli::eval::is_mote(&model)? {
                print!(
                    "{}",
                    cli::eval::run_mote(&model, data.as_deref(), &format, json)?
                );
                return Ok(());
            }
            let threads = train::session::thread_count(threads, None);
            print!(
                "{}",
                cli::eval::run(&model, data.as_deref(), threads, json)?
            );
        }
        Command::Export {
            checkpoint,
            out,
            calib,
            rust,
            rust_f32,
            int16,
            calibration,
            calib_samples,
            report_samples,
            firmware,
            firmware_samples,
        } => {
            let args = cli::export::Args {
                firmware,
                firmware_samples,
                checkpoint,
                data: calib,
                out,
                rust,
                rust_f32,
                method: calibration.parse()?,
                int16,
                calib_samples,
                report_samples,
            };
            print!("{}", cli::export::run(&args)?);
        }
        Command::Inspect { model } => print!("{}", cli::inspect::run(&model)?),
        Command::Summary { model } => print!("{}", cli::summary::run(&model)?),
        Command::Predict {
            model,
            input,
            top,
            out,
        } => print!(
            "{}",
            cli::predict::run(&model, &input, top, out.as_deref())?
        ),
        Command::Gradcheck {
            spec,
            data,
            batch,
            per_tensor,
        } => print!(
            "{}",
            cli::gradcheck::run(&spec, data.as_deref(), batch, per_tensor)?
        ),
        Command::Activations { model, input, out } => {
            for p in cli::activations::run(&model, &input, &out)? {
                println!("{}", p.display());
            }
        }
        Command::Conformance { rounds } => {
            println!("{:08x}", mote_core::conformance::digest(rounds));
        }
    }
    Ok(())
}
