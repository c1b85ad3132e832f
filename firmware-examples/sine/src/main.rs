//! `sine`: the classic tiny regression (TensorFlow Lite Micro's "hello world"), dense
//! 1 → 16 → 16 → 1 trained by `mote train examples/sine.toml`, run on the device from
//! generated Rust two ways: in int8 (`mote export --rust`), whose outputs must equal the
//! host executor's bit for bit, and in f32 on the FPU (`--rust-f32`), within 1e-5 of the
//! host's float model. Logs the error against sin(x) of both and the instructions per
//! inference; exits 0 when all hold, 1 otherwise. No interpreter is linked: the smallest
//! footprint.
//!
//! ```text
//! cargo run --release --bin sine                                   # Cortex-M4F, mps2-an386
//! cargo run --release --bin sine --target thumbv8m.main-none-eabihf # Cortex-M55, mps3-an547
//! ```

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use mote_board::{Stopwatch, exit};
use mote_bundle::f32_at;

mote_bundle::embed!(f32);

/// Largest |device − host| allowed for the f32 model: the host's kernels may fuse
/// multiply-adds (FMA) where the device's do not, so the last bits can differ.
const F32_TOLERANCE: f32 = 1e-5;

#[entry]
fn main() -> ! {
    mote_board::stack::paint();
    match run() {
        Ok(pass) => exit(pass),
        Err(e) => {
            defmt::error!("sine: {}", e);
            exit(false)
        }
    }
}

fn run() -> mote_core::Result<bool> {
    let Some(p) = cortex_m::Peripherals::take() else {
        defmt::error!("sine: core peripherals already taken");
        return Ok(false);
    };
    let watch = Stopwatch::new(p.SYST);
    defmt::info!(
        "sine on {=str}: {=usize} test points, {=u64} MACs per inference",
        mote_board::MACHINE,
        SAMPLES,
        MACS
    );
    let mut arena = model::Arena::new();
    let mut scratch = model_f32::Scratch::new();
    let output = mote_core::quant::QuantParams::new(model::OUTPUT_SCALE, model::OUTPUT_ZERO_POINT)?;
    let (mut differ, mut f32_worst) = (0usize, 0f32);
    let (mut int8_sq, mut f32_sq) = (0f32, 0f32);
    let (mut int8_instructions, mut f32_instructions) = (0u32, 0u32);
    for i in 0..SAMPLES {
        let q = [INPUTS.get(i).copied().unwrap_or(0) as i8];
        let mut y = [0i8];
        let t = watch.now();
        model::predict(&q, &mut y, &mut arena)?;
        int8_instructions = int8_instructions.max(watch.instructions_since(t));
        if EXPECTED.get(i).copied() != Some(y[0] as u8) {
            differ += 1;
            defmt::error!(
                "point {=usize}: int8 output {=i8}, host {}",
                i,
                y[0],
                EXPECTED.get(i)
            );
        }

        let x = [f32_at(INPUTS_F32, i)];
        let mut z = [0f32];
        let t = watch.now();
        model_f32::predict(&x, &mut z, &mut scratch)?;
        f32_instructions = f32_instructions.max(watch.instructions_since(t));
        f32_worst = f32_worst.max((z[0] - f32_at(EXPECTED_F32, i)).abs());

        let target = f32_at(TARGETS_F32, i);
        let y = output.dequantize(i32::from(y[0]));
        int8_sq += (y - target) * (y - target);
        f32_sq += (z[0] - target) * (z[0] - target);
        if i < 8 {
            defmt::info!(
                "x = {=f32}: sin {=f32}, int8 {=f32}, f32 {=f32}",
                x[0],
                target,
                y,
                z[0]
            );
        }
    }
    let n = SAMPLES as f32;
    defmt::info!(
        "mean squared error against sin(x): int8 {=f32}, f32 {=f32}; f32 vs host at most {=f32}",
        int8_sq / n,
        f32_sq / n,
        f32_worst
    );
    defmt::info!(
        "instructions per inference (largest): int8 {=u32}, f32 {=u32}",
        int8_instructions,
        f32_instructions
    );
    let pass = differ == 0 && f32_worst <= F32_TOLERANCE;
    if pass {
        defmt::info!(
            "sine: PASS: int8 bit-exact with the host executor and f32 within {=f32} of the host on {=usize} points",
            F32_TOLERANCE,
            SAMPLES
        );
    } else {
        defmt::error!(
            "sine: FAIL: {=usize} int8 outputs differ from the host; f32 off by up to {=f32}",
            differ,
            f32_worst
        );
    }
    defmt::info!(
        "stack high-water mark: {=usize} bytes",
        mote_board::stack::high_water()
    );
    Ok(pass)
}
