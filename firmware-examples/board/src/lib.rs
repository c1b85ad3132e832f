//! # mote-board
//!
//! What every mote firmware example shares, so that an example is only its `main`:
//!
//! - the memory layout of the emulated board (`memory.x`, written by `build.rs` for the
//!   target being built: `thumbv7em-none-eabihf` → QEMU `mps2-an386` (Cortex-M4F),
//!   `thumbv8m.main-none-eabihf` → QEMU `mps3-an547` (Cortex-M55));
//! - a [defmt] global logger over semihosting (the raw frames reach the host on QEMU's
//!   stdout, where `defmt-print` decodes them);
//! - [`exit`], which ends the program and hands its verdict to QEMU's exit status;
//! - a panic handler, a HardFault handler and a default exception handler that log what
//!   happened and exit with failure, so a failing firmware can never look like a passing
//!   one (nor hang: the QEMU runner has a timeout for the cases that hang anyway).
//!
//! An example links this crate with `use mote_board as _;` (or by calling any item in it).
//! Do not print with semihosting's own `println!` next to defmt: both write to the same
//! stdout, and the text would corrupt the defmt frames.

#![no_std]

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m_rt::{ExceptionFrame, exception};

pub mod stack;
// The defmt global logger.
use defmt_semihosting as _;

include!(concat!(env!("OUT_DIR"), "/board.rs"));

/// Ends the program: QEMU exits with status 0 when `ok`, 1 otherwise.
///
/// Uses semihosting `SYS_EXIT_EXTENDED` (falling back to `SYS_EXIT`), served by QEMU
/// or by a debug probe. On a board with no debugger attached, a semihosting call is a
/// breakpoint nothing catches: the core faults and locks up, which also stops it.
pub fn exit(ok: bool) -> ! {
    semihosting::process::exit(if ok { 0 } else { 1 })
}

/// Set by the first fatal error (panic or fault). A second one while the first is being
/// reported (say, a fault inside the logger) exits at once instead of logging again.
static FAILING: AtomicBool = AtomicBool::new(false);

/// Runs `report` (which logs what went wrong) unless a failure is already being
/// reported, then exits with failure.
fn fail(report: impl FnOnce()) -> ! {
    if !FAILING.swap(true, Ordering::Relaxed) {
        report();
    }
    exit(false)
}

/// Counts executed instructions with SysTick, which under QEMU's `-icount shift=0` (the
/// runner's setting) advances one core cycle per [`INSTRUCTIONS_PER_TICK`] instructions,
/// deterministically. (DWT's cycle counter is not emulated.) Spans up to 2^24 ticks
/// (about 670 million instructions on the M4F board) are measured exactly.
pub struct Stopwatch {
    _syst: cortex_m::peripheral::SYST,
}

impl Stopwatch {
    /// Starts SysTick free-running on the core clock.
    pub fn new(mut syst: cortex_m::peripheral::SYST) -> Self {
        syst.set_clock_source(cortex_m::peripheral::syst::SystClkSource::Core);
        syst.set_reload(0x00FF_FFFF);
        syst.clear_current();
        syst.enable_counter();
        Self { _syst: syst }
    }

    /// The current count, to pass to [`instructions_since`](Self::instructions_since).
    pub fn now(&self) -> u32 {
        cortex_m::peripheral::SYST::get_current()
    }

    /// Instructions executed since `start` (a [`now`](Self::now) value).
    pub fn instructions_since(&self, start: u32) -> u32 {
        // SysTick counts down and wraps at 2^24.
        let ticks = start.wrapping_sub(self.now()) & 0x00FF_FFFF;
        (ticks as f32 * INSTRUCTIONS_PER_TICK) as u32
    }
}

/// Value of the CPUID base register (System Control Block, `0xE000_ED00`): implementer,
/// variant, part number and revision of the core the program runs on.
pub fn cpuid() -> u32 {
    // SAFETY: `CPUID::PTR` is the fixed address of the CPUID block, present on every
    // Cortex-M core; `base` is a read-only register and reading it has no side effects.
    unsafe { (*cortex_m::peripheral::CPUID::PTR).base.read() }
}

/// Whether the floating-point unit is switched on (CPACR grants full access to
/// coprocessors 10 and 11; cortex-m-rt does this at reset for `*eabihf` targets).
pub fn fpu_enabled() -> bool {
    // SAFETY: `SCB::PTR` is the fixed address of the System Control Block, present on
    // every Armv7-M and Armv8-M Mainline core; reading CPACR has no side effects.
    let cpacr = unsafe { (*cortex_m::peripheral::SCB::PTR).cpacr.read() };
    (cpacr >> 20) & 0xf == 0xf
}

/// Name of the Arm core with the given CPUID value (from its part number), or
/// `"unknown core"`.
pub fn core_name(cpuid: u32) -> &'static str {
    match (cpuid >> 4) & 0xfff {
        0xc20 => "Cortex-M0",
        0xc60 => "Cortex-M0+",
        0xc23 => "Cortex-M3",
        0xc24 => "Cortex-M4",
        0xc27 => "Cortex-M7",
        0xd20 => "Cortex-M23",
        0xd21 => "Cortex-M33",
        0xd22 => "Cortex-M55",
        0xd23 => "Cortex-M85",
        _ => "unknown core",
    }
}

/// Logs the panic (message and location) and exits with failure.
#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    fail(|| defmt::error!("{}", defmt::Display2Format(info)))
}

// SAFETY: cortex-m-rt requires the HardFault handler to be an `unsafe fn`: it preempts
// everything, critical sections included, and may interrupt the defmt logger mid-frame.
// The only shared state it touches is that logger, whose lock is checked before its
// buffers are: a fault inside a log call makes the logger panic ("taken reentrantly")
// and the panic handler, seeing FAILING set, exits without logging. It never returns.
#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    fail(|| {
        // SAFETY: `SCB::PTR` is the fixed address of the System Control Block, present on
        // every Armv7-M and Armv8-M Mainline core; HFSR and CFSR are status registers
        // whose reads have no side effects.
        let (hfsr, cfsr) = unsafe {
            let scb = &*cortex_m::peripheral::SCB::PTR;
            (scb.hfsr.read(), scb.cfsr.read())
        };
        defmt::error!(
            "HardFault at pc={=u32:#010x} lr={=u32:#010x} (HFSR={=u32:#010x} CFSR={=u32:#010x})",
            frame.pc(),
            frame.lr(),
            hfsr,
            cfsr
        );
    })
}

// SAFETY: cortex-m-rt requires the default handler to be an `unsafe fn` because it also
// serves non-maskable exceptions (NMI); it touches only the defmt logger, under the same
// argument as the HardFault handler above, and never returns.
#[exception]
unsafe fn DefaultHandler(irqn: i16) -> ! {
    fail(|| defmt::error!("unexpected exception or interrupt (IRQn {=i16})", irqn))
}
