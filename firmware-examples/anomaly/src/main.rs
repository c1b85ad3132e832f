//! `anomaly`: anomaly detection on the device with a dense autoencoder, 32 → 16 → 8 →
//! 16 → 32, trained by `mote train examples/anomaly.toml` on normal windows of a
//! synthetic vibration sensor (scripts/anomaly-data.py). For each embedded test window
//! (half normal, half with a fault: spikes, a frequency change, a dropout, strong noise)
//! it runs the float model from generated Rust (`model_f32::predict`, on the FPU),
//! computes the reconstruction error (mean squared error over the 32 samples) and flags
//! the window anomalous above `THRESHOLD`, the largest error on held-out normal windows
//! (scripts/anomaly-threshold.py). Logs each flag, the confusion counts, precision and
//! recall against the labels, and the instructions per window; exits 0 when every output
//! is within 1e-5 of the host's float model and precision and recall reach the bars
//! below, 1 otherwise.
//!
//! ```text
//! cargo run --release --bin anomaly                                   # Cortex-M4F, mps2-an386
//! cargo run --release --bin anomaly --target thumbv8m.main-none-eabihf # Cortex-M55, mps3-an547
//! ```

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use mote_board::{Stopwatch, exit};
use mote_bundle::f32_at;

mote_bundle::embed!(f32);
include!(concat!(env!("OUT_DIR"), "/anomaly.rs"));

/// Largest |device − host| allowed for an output: the host's kernels may fuse
/// multiply-adds (FMA) where the device's do not, so the last bits can differ.
const F32_TOLERANCE: f32 = 1e-5;

/// Precision the device must reach: flagged windows that are anomalous, in percent.
const MIN_PRECISION_PERCENT: usize = 95;

/// Recall the device must reach: anomalous windows that are flagged, in percent.
const MIN_RECALL_PERCENT: usize = 95;

#[entry]
fn main() -> ! {
    mote_board::stack::paint();
    match run() {
        Ok(pass) => exit(pass),
        Err(e) => {
            defmt::error!("anomaly: {}", e);
            exit(false)
        }
    }
}

/// `part` of `whole` in percent, rounded down (0 when `whole` is 0).
fn percent(part: usize, whole: usize) -> usize {
    (100 * part).checked_div(whole).unwrap_or(0)
}

fn run() -> mote_core::Result<bool> {
    let Some(p) = cortex_m::Peripherals::take() else {
        defmt::error!("anomaly: core peripherals already taken");
        return Ok(false);
    };
    let watch = Stopwatch::new(p.SYST);
    defmt::info!(
        "anomaly on {=str}: {=usize} test windows of {=usize} samples, threshold {=f32}, {=u64} MACs per window",
        mote_board::MACHINE,
        SAMPLES,
        model_f32::INPUT_LEN,
        THRESHOLD,
        MACS
    );
    if ANOMALY_LABELS.len() != SAMPLES {
        defmt::error!(
            "anomaly: FAIL: {=usize} labels for {=usize} windows",
            ANOMALY_LABELS.len(),
            SAMPLES
        );
        return Ok(false);
    }
    let mut scratch = model_f32::Scratch::new();
    let mut x = [0f32; model_f32::INPUT_LEN];
    let mut z = [0f32; model_f32::OUTPUT_LEN];
    let (mut tp, mut fp, mut fn_, mut tn) = (0usize, 0usize, 0usize, 0usize);
    let mut worst = 0f32;
    let (mut most, mut total) = (0u32, 0u64);
    let (mut normal_max, mut anomalous_min) = (0f32, f32::INFINITY);
    for i in 0..SAMPLES {
        for (j, v) in x.iter_mut().enumerate() {
            *v = f32_at(INPUTS_F32, i * model_f32::INPUT_LEN + j);
        }
        let t = watch.now();
        model_f32::predict(&x, &mut z, &mut scratch)?;
        let mut sq = 0f32;
        for (a, b) in z.iter().zip(&x) {
            sq += (a - b) * (a - b);
        }
        let error = sq / model_f32::OUTPUT_LEN as f32;
        let flagged = error > THRESHOLD;
        let spent = watch.instructions_since(t);
        most = most.max(spent);
        total += u64::from(spent);

        for (j, v) in z.iter().enumerate() {
            worst = worst.max((v - f32_at(EXPECTED_F32, i * model_f32::OUTPUT_LEN + j)).abs());
        }
        let anomalous = ANOMALY_LABELS.get(i).copied() == Some(1);
        if anomalous {
            anomalous_min = anomalous_min.min(error);
        } else {
            normal_max = normal_max.max(error);
        }
        match (flagged, anomalous) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => tn += 1,
        }
        if flagged {
            defmt::info!(
                "window {=usize}: reconstruction error {=f32} > {=f32}: ANOMALY ({=str})",
                i,
                error,
                THRESHOLD,
                if anomalous {
                    "labelled anomalous"
                } else {
                    "false alarm: labelled normal"
                }
            );
        } else if anomalous {
            defmt::info!(
                "window {=usize}: reconstruction error {=f32}: missed (labelled anomalous)",
                i,
                error
            );
        }
    }
    let (precision, recall) = (percent(tp, tp + fp), percent(tp, tp + fn_));
    defmt::info!(
        "confusion: {=usize} true positives, {=usize} false positives, {=usize} false negatives, {=usize} true negatives",
        tp,
        fp,
        fn_,
        tn
    );
    defmt::info!(
        "precision {=usize} % ({=usize}/{=usize}), recall {=usize} % ({=usize}/{=usize}); largest normal error {=f32}, smallest anomalous {=f32}",
        precision,
        tp,
        tp + fp,
        recall,
        tp,
        tp + fn_,
        normal_max,
        anomalous_min
    );
    defmt::info!(
        "instructions per window (model + error): largest {=u32}, mean {=u64}; f32 vs host at most {=f32}",
        most,
        total / SAMPLES.max(1) as u64,
        worst
    );
    defmt::info!(
        "stack high-water mark: {=usize} bytes",
        mote_board::stack::high_water()
    );
    let pass = worst <= F32_TOLERANCE
        && precision >= MIN_PRECISION_PERCENT
        && recall >= MIN_RECALL_PERCENT;
    if pass {
        defmt::info!(
            "anomaly: PASS: outputs within {=f32} of the host on {=usize} windows; precision {=usize} % >= {=usize} %, recall {=usize} % >= {=usize} %",
            F32_TOLERANCE,
            SAMPLES,
            precision,
            MIN_PRECISION_PERCENT,
            recall,
            MIN_RECALL_PERCENT
        );
    } else {
        defmt::error!(
            "anomaly: FAIL: outputs off the host by up to {=f32} (tolerance {=f32}); precision {=usize} % (bar {=usize} %), recall {=usize} % (bar {=usize} %)",
            worst,
            F32_TOLERANCE,
            precision,
            MIN_PRECISION_PERCENT,
            recall,
            MIN_RECALL_PERCENT
        );
    }
    Ok(pass)
}
