//! `mnist`: an exported MNIST model on the device, run two ways — the `.mote` file by the
//! executor (`mote_kernels::exec`) and the generated Rust module (`mote export --rust`) —
//! over the embedded test digits. Every output must equal the host executor's (computed
//! at build time) bit for bit, and the generated module's the executor's; the accuracy
//! must be the host's. Logs each prediction, the accuracy and the instructions per
//! inference (SysTick under QEMU's `-icount`), then exits 0 (all equal) or 1.
//!
//! ```text
//! cargo run --release --bin mnist                                   # Cortex-M4F, mps2-an386
//! cargo run --release --bin mnist --target thumbv8m.main-none-eabihf # Cortex-M55, mps3-an547
//! MOTE_FIRMWARE_BUNDLE=DIR cargo run --release --bin mnist           # a model of your own
//! ```

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use mnist::{
    ARENA_BYTES, EXPECTED, HOST_CORRECT, INPUT_LEN, INPUTS, LABELS, MACS, MODEL, MODEL_BYTES,
    OUTPUT_LEN, SAMPLES, argmax, model,
};
use mote_board::{Stopwatch, exit};
use mote_kernels::exec::{Interpreter, Model};

#[entry]
fn main() -> ! {
    mote_board::stack::paint();
    match run() {
        Ok(pass) => exit(pass),
        Err(e) => {
            defmt::error!("mnist: {}", e);
            exit(false)
        }
    }
}

/// The median of `v` (sorted in place).
fn median(v: &mut [u32]) -> u32 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn run() -> mote_core::Result<bool> {
    let Some(p) = cortex_m::Peripherals::take() else {
        defmt::error!("mnist: core peripherals already taken");
        return Ok(false);
    };
    let watch = Stopwatch::new(p.SYST);
    defmt::info!(
        "mnist on {=str} ({=str}): {=usize} digits, model {=usize} bytes, arena {=usize} bytes, {=u64} MACs",
        mote_board::MACHINE,
        mote_board::TARGET,
        SAMPLES,
        MODEL_BYTES,
        ARENA_BYTES,
        MACS
    );
    let net = Model::from_bytes(MODEL)?;
    let mut arena = [0u8; ARENA_BYTES + 16];
    let mut it = Interpreter::new(&net, &mut arena)?;
    let mut generated_arena = model::Arena::new();
    let (mut correct, mut differ_host, mut differ_generated) = (0usize, 0usize, 0usize);
    let mut exec_instructions = [0u32; SAMPLES];
    let mut generated_instructions = [0u32; SAMPLES];
    for i in 0..SAMPLES {
        let x = INPUTS
            .get(i * INPUT_LEN..(i + 1) * INPUT_LEN)
            .unwrap_or(&[]);
        for (d, &s) in it.input_i8()?.iter_mut().zip(x) {
            *d = s as i8;
        }
        let t = watch.now();
        it.invoke()?;
        exec_instructions[i] = watch.instructions_since(t);
        let y = it.output_i8()?;
        let want = EXPECTED
            .get(i * OUTPUT_LEN..(i + 1) * OUTPUT_LEN)
            .unwrap_or(&[]);
        if y.len() != want.len() || y.iter().zip(want).any(|(&a, &b)| a as u8 != b) {
            differ_host += 1;
            defmt::error!("digit {=usize}: device {} host {}", i, y, want);
        }

        let mut input = [0i8; model::INPUT_LEN];
        for (d, &s) in input.iter_mut().zip(x) {
            *d = s as i8;
        }
        let mut output = [0i8; model::OUTPUT_LEN];
        let t = watch.now();
        model::predict(&input, &mut output, &mut generated_arena)?;
        generated_instructions[i] = watch.instructions_since(t);
        if output[..] != y[..] {
            differ_generated += 1;
            defmt::error!("digit {=usize}: generated {} executor {}", i, output, y);
        }

        let label = LABELS.get(i).copied().unwrap_or(u8::MAX);
        let predicted = argmax(y);
        correct += usize::from(predicted == label as usize);
        defmt::info!(
            "digit {=usize}: label {=u8}, predicted {=usize}",
            i,
            label,
            predicted
        );
    }
    let exec = median(&mut exec_instructions);
    let generated = median(&mut generated_instructions);
    defmt::info!(
        "accuracy {=usize}/{=usize} on the device, {=usize}/{=usize} on the host",
        correct,
        SAMPLES,
        HOST_CORRECT,
        SAMPLES
    );
    defmt::info!(
        "instructions per inference (median of {=usize}): executor {=u32} ({=f32} per MAC), generated {=u32} ({=f32} per MAC)",
        SAMPLES,
        exec,
        exec as f32 / MACS as f32,
        generated,
        generated as f32 / MACS as f32
    );
    let pass = differ_host == 0 && differ_generated == 0 && correct == HOST_CORRECT;
    if pass {
        defmt::info!(
            "mnist: PASS: every output equals the host executor's, bit for bit, on {=usize} digits (executor and generated module)",
            SAMPLES
        );
    } else {
        defmt::error!(
            "mnist: FAIL: {=usize} digits differ from the host, {=usize} between executor and generated module",
            differ_host,
            differ_generated
        );
    }
    defmt::info!(
        "stack high-water mark: {=usize} bytes",
        mote_board::stack::high_water()
    );
    Ok(pass)
}
