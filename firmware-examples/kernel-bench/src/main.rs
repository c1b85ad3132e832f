//! `kernel-bench`: instructions per multiply-accumulate of mote's int8 kernels on the
//! shapes CMSIS-NN's figures are measured with (docs/benchmarks.md, "Cortex-M int8
//! kernels"), each run twice in one binary — once forced onto the scalar path
//! (`mote_simd::isa::set_limit(Isa::Scalar)`), once on the best path compiled for the
//! core (the Arm DSP extension on the Cortex-M4F and on the Cortex-M55 built with
//! `+dsp`) — and the f32 GEMM (`mote_simd::gemm::sgemm`, 32×32×32) against a naive
//! triple loop.
//!
//! Instructions are counted with SysTick under QEMU's `-icount shift=0` (the runner's
//! setting), exact to one tick (40 instructions on the M4F board, 31.25 on the M55
//! one); small kernels are repeated to make that negligible. Inputs are deterministic
//! pseudo-random bytes computed at compile time (in flash). The scalar and SIMD outputs
//! of every int8 kernel must be identical (FNV-1a checksums compared); then it logs
//! `kernel-bench: PASS` and exits 0.
//!
//! ```text
//! cargo run --release -p kernel-bench                                    # Cortex-M4F, mps2-an386
//! cargo run --release -p kernel-bench --target thumbv8m.main-none-eabihf # Cortex-M55, mps3-an547
//! ```

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use mote_board::{Stopwatch, exit};
use mote_core::Result;
use mote_core::quant::{QuantizedMultiplier, Rounding};
use mote_kernels::int8;
use mote_simd::isa::{self, Isa};

/// `N` pseudo-random bytes (xorshift32 from `seed`), computed at compile time.
const fn bytes<const N: usize>(seed: u32) -> [i8; N] {
    let mut out = [0i8; N];
    let mut s = seed;
    let mut i = 0;
    while i < N {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        out[i] = (s >> 24) as u8 as i8;
        i += 1;
    }
    out
}

// Conv 1×1: 25×5×64 → 64.
static C1_X: [i8; 25 * 5 * 64] = bytes(1);
static C1_W: [i8; 64 * 64] = bytes(2);
// Depthwise 3×3, stride 1, padding 1: 25×5×64.
static DW_W: [i8; 9 * 64] = bytes(3);
// Conv 3×3 valid: 13×13×8 → 11×11×16.
static C3_X: [i8; 13 * 13 * 8] = bytes(4);
static C3_W: [i8; 16 * 9 * 8] = bytes(5);
// Fully connected 784 → 128 and 400 → 10.
static FC1_X: [i8; 784] = bytes(6);
static FC1_W: [i8; 128 * 784] = bytes(7);
static FC2_X: [i8; 400] = bytes(8);
static FC2_W: [i8; 10 * 400] = bytes(9);
// Softmax of 1000 values (the first 10 for the short row).
static SM_X: [i8; 1000] = bytes(10);
// Pooling 2×2 stride 2 over 26×26×8.
static POOL_X: [i8; 26 * 26 * 8] = bytes(11);

/// Marks the start of a measured region for QEMU's `markcount` plugin
/// (/work/shared/tools/qemu-insncount: exact per-region counts and per-PC profiles);
/// a NOP otherwise.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn bench_start() {
    cortex_m::asm::nop();
}

/// Marks the end of a measured region (see [`bench_start`]).
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn bench_stop() {
    // Two NOPs: a body of its own (identical functions would be folded into one).
    cortex_m::asm::nop();
    cortex_m::asm::nop();
}

/// FNV-1a over the bytes of an int8 buffer.
fn fnv(data: &[i8]) -> u32 {
    data.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b as u8)).wrapping_mul(0x0100_0193)
    })
}

#[entry]
fn main() -> ! {
    match run() {
        Ok(true) => {
            defmt::info!("kernel-bench: PASS");
            exit(true)
        }
        Ok(false) => {
            defmt::error!("kernel-bench: FAIL (scalar and SIMD outputs differ)");
            exit(false)
        }
        Err(e) => {
            defmt::error!("kernel-bench: {}", e);
            exit(false)
        }
    }
}

/// Logs one row: instructions per unit of work on each path and their ratio; returns
/// whether the two paths' outputs agree.
fn report(name: &str, unit: &str, work: u32, counts: [u32; 2], sums: [u32; 2]) -> bool {
    let per = |n: u32| n as f32 / work as f32;
    defmt::info!(
        "{=str}: scalar {=f32} instr/{=str} ({=u32}), {=str} {=f32} ({=u32}), scalar/{=str} {=f32}, outputs {=str}",
        name,
        per(counts[0]),
        unit,
        counts[0],
        isa::best().name(),
        per(counts[1]),
        counts[1],
        isa::best().name(),
        counts[0] as f32 / counts[1].max(1) as f32,
        if sums[0] == sums[1] {
            "identical"
        } else {
            "DIFFER"
        }
    );
    sums[0] == sums[1]
}

fn run() -> Result<bool> {
    let Some(p) = cortex_m::Peripherals::take() else {
        defmt::error!("kernel-bench: core peripherals already taken");
        return Ok(false);
    };
    let watch = Stopwatch::new(p.SYST);
    let best = isa::best();
    defmt::info!(
        "kernel-bench on {=str} ({=str}, {=str}): paths scalar and {=str}",
        mote_board::MACHINE,
        mote_board::core_name(mote_board::cpuid()),
        mote_board::TARGET,
        best.name()
    );

    // Per-channel multipliers around 1/2^11 .. 1/2^12 and biases, as a quantiser makes.
    let mut ms = [QuantizedMultiplier::ZERO; 128];
    for (i, m) in ms.iter_mut().enumerate() {
        *m = QuantizedMultiplier::from_real(0.0004 + 0.000_002 * i as f64)?;
    }
    let mut bias = [0i32; 128];
    for (i, b) in bias.iter_mut().enumerate() {
        *b = (i as i32 * 7919) % 4001 - 2000;
    }
    let (izp, ozp) = (-5, 3);
    let mut all_equal = true;
    let mut digest = 0u32;

    // Runs `$call` `$reps` times on each path, then reports `$out`'s checksums.
    macro_rules! bench {
        ($name:expr, $unit:expr, $work:expr, $reps:expr, $out:ident, $call:expr) => {{
            let (mut counts, mut sums) = ([0u32; 2], [0u32; 2]);
            for (i, path) in [Isa::Scalar, best].into_iter().enumerate() {
                isa::set_limit(path);
                $out.fill(0);
                let t = watch.now();
                bench_start();
                for _ in 0..$reps {
                    $call?;
                }
                bench_stop();
                counts[i] = watch.instructions_since(t) / $reps;
                sums[i] = fnv(&$out);
            }
            isa::clear_limit();
            all_equal &= report($name, $unit, $work, counts, sums);
            digest = digest.rotate_left(5) ^ sums[1];
        }};
    }

    // Conv 1×1, 25×5×64 → 64.
    {
        let p = int8::conv::Params::new(1, 25, 5, 64, 64, 1, 1);
        let q = int8::conv::Quant::new(izp, 0, ozp, &ms[..64], -128, 127);
        let mut y = [0i8; 25 * 5 * 64];
        bench!("conv 1x1 25x5x64->64", "MAC", 125 * 64 * 64, 1, y, {
            int8::conv::forward(&p, &q, &C1_X, &C1_W, Some(&bias[..64]), &mut y)
        });
    }
    // Depthwise 3×3, stride 1, padding 1, 25×5×64.
    {
        let p = int8::depthwise::Params {
            batch: 1,
            in_h: 25,
            in_w: 5,
            in_c: 64,
            multiplier: 1,
            out_h: 25,
            out_w: 5,
            kernel_h: 3,
            kernel_w: 3,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            pad_h: 1,
            pad_w: 1,
        };
        let q = int8::depthwise::Quant {
            input_zero_point: izp,
            output_zero_point: ozp,
            act_min: -128,
            act_max: 127,
            rounding: Rounding::Double,
        };
        let mut y = [0i8; 25 * 5 * 64];
        bench!("depthwise 3x3 s1 p1 25x5x64", "MAC", 125 * 64 * 9, 1, y, {
            int8::depthwise::forward(&p, &q, &ms[..64], &C1_X, &DW_W, Some(&bias[..64]), &mut y)
        });
    }
    // Conv 3×3 valid, 13×13×8 → 11×11×16.
    {
        let p = int8::conv::Params::new(1, 13, 13, 8, 16, 3, 3);
        let q = int8::conv::Quant::new(izp, 0, ozp, &ms[..16], -128, 127);
        let mut y = [0i8; 11 * 11 * 16];
        bench!("conv 3x3 13x13x8->11x11x16", "MAC", 121 * 16 * 72, 1, y, {
            int8::conv::forward(&p, &q, &C3_X, &C3_W, Some(&bias[..16]), &mut y)
        });
    }
    // Fully connected 784 → 128 and 400 → 10.
    {
        let p = int8::dense::Params::new(1, 784, 128);
        let q = int8::dense::Quant::new(izp, 0, ozp, &ms, -128, 127);
        let mut y = [0i8; 128];
        bench!("fully connected 784->128", "MAC", 784 * 128, 1, y, {
            int8::dense::forward(&p, &q, &FC1_X, &FC1_W, Some(&bias), &mut y)
        });
        let p = int8::dense::Params::new(1, 400, 10);
        let q = int8::dense::Quant::new(izp, 0, ozp, &ms[..10], -128, 127);
        let mut y = [0i8; 10];
        bench!("fully connected 400->10", "MAC", 4000, 10, y, {
            int8::dense::forward(&p, &q, &FC2_X, &FC2_W, Some(&bias[..10]), &mut y)
        });
    }
    // Softmax over 10 and 1000 values.
    {
        let scaling = mote_core::quant::softmax_scaling(1.0, 0.0625, 5, Rounding::Double)?;
        let mut y = [0i8; 10];
        let p = int8::softmax::Params {
            rows: 1,
            row_size: 10,
            scaling,
        };
        bench!("softmax 10", "element", 10, 10, y, {
            int8::softmax::softmax_s8(&p, &SM_X[..10], &mut y)
        });
        let mut y = [0i8; 1000];
        let p = int8::softmax::Params {
            rows: 1,
            row_size: 1000,
            scaling,
        };
        bench!("softmax 1000", "element", 1000, 1, y, {
            int8::softmax::softmax_s8(&p, &SM_X, &mut y)
        });
    }
    // Average and max pooling 2×2 stride 2 over 26×26×8.
    {
        let p = int8::pool::Params {
            batch: 1,
            input_h: 26,
            input_w: 26,
            channels: 8,
            output_h: 13,
            output_w: 13,
            kernel_h: 2,
            kernel_w: 2,
            stride_h: 2,
            stride_w: 2,
            pad_h: 0,
            pad_w: 0,
            act_min: -128,
            act_max: 127,
        };
        let mut y = [0i8; 13 * 13 * 8];
        bench!("avg pool 2x2 s2 26x26x8", "output", 13 * 13 * 8, 1, y, {
            int8::pool::avg_pool_s8(&p, &POOL_X, &mut y)
        });
        bench!("max pool 2x2 s2 26x26x8", "output", 13 * 13 * 8, 1, y, {
            int8::pool::max_pool_s8(&p, &POOL_X, &mut y)
        });
    }
    all_equal &= sgemm_vs_naive(&watch)?;
    defmt::info!("kernel-bench: digest {=u32:08x}", digest);
    Ok(all_equal)
}

/// f32 GEMM 32×32×32: `mote_simd::gemm::sgemm` against a naive triple loop; returns
/// whether they agree within 1e-4 relative.
fn sgemm_vs_naive(watch: &Stopwatch) -> Result<bool> {
    use mote_simd::gemm::{MatMut, MatRef, sgemm};
    const N: usize = 32;
    let mut a = [0.0f32; N * N];
    let mut b = [0.0f32; N * N];
    let src = bytes::<{ 2 * N * N }>(12);
    for (v, &s) in a.iter_mut().chain(b.iter_mut()).zip(&src) {
        *v = f32::from(s) / 64.0;
    }
    let (mut c, mut d) = ([0.0f32; N * N], [0.0f32; N * N]);
    let t = watch.now();
    sgemm(
        1.0,
        MatRef::new(&a, N, N, N, 1)?,
        MatRef::new(&b, N, N, N, 1)?,
        0.0,
        MatMut::new(&mut c, N, N, N, 1)?,
    )?;
    let fast = watch.instructions_since(t);
    let t = watch.now();
    naive(&a, &b, &mut d, N);
    let slow = watch.instructions_since(t);
    let macs = (N * N * N) as f32;
    let close = c
        .iter()
        .zip(&d)
        .all(|(x, y)| (x - y).abs() <= 1e-4 * (1.0 + y.abs()));
    defmt::info!(
        "f32 gemm 32x32x32: sgemm {=f32} instr/MAC ({=u32}), naive triple loop {=f32} ({=u32}), naive/sgemm {=f32}, results {=str}",
        fast as f32 / macs,
        fast,
        slow as f32 / macs,
        slow,
        slow as f32 / fast.max(1) as f32,
        if close { "agree" } else { "DIFFER" }
    );
    Ok(close)
}

/// `c ← a·b` for `n × n` row-major matrices, the textbook loop.
#[inline(never)]
fn naive(a: &[f32], b: &[f32], c: &mut [f32], n: usize) {
    for i in 0..n {
        for j in 0..n {
            let mut s = 0.0f32;
            for p in 0..n {
                s += a[i * n + p] * b[p * n + j];
            }
            c[i * n + j] = s;
        }
    }
}
