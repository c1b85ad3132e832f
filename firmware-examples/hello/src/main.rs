//! `hello`: the first mote firmware.
//!
//! Says where it runs, then computes mote-core's conformance digest (a fold of all of
//! mote-core's integer and float arithmetic over a seeded stream) and compares it with the
//! digest the host computed at build time. Equal: logs `hello: PASS` and exits 0. Different:
//! logs an error and exits 1, which makes `cargo run` (and the test command) fail.
//!
//! ```text
//! cargo run --release --bin hello                                   # Cortex-M4F, mps2-an386
//! cargo run --release --bin hello --target thumbv8m.main-none-eabihf # Cortex-M55, mps3-an547
//! ```

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use mote_core::conformance::{DEFAULT_ROUNDS, digest};

include!(concat!(env!("OUT_DIR"), "/host_digest.rs"));

#[entry]
fn main() -> ! {
    let cpuid = mote_board::cpuid();
    defmt::info!(
        "hello from mote {=str} on {=str} ({=str})",
        env!("CARGO_PKG_VERSION"),
        mote_board::MACHINE,
        mote_board::TARGET
    );
    defmt::info!(
        "core: {=str} (CPUID {=u32:#010x}), FPU on: {=bool}",
        mote_board::core_name(cpuid),
        cpuid,
        mote_board::fpu_enabled()
    );

    let device = digest(DEFAULT_ROUNDS);
    defmt::info!(
        "conformance digest device={=u32:08x} host={=u32:08x} ({=u32} rounds, host {=str})",
        device,
        HOST_DIGEST,
        DEFAULT_ROUNDS,
        HOST_TARGET
    );

    if device == HOST_DIGEST {
        defmt::info!("hello: PASS");
        mote_board::exit(true)
    } else {
        defmt::error!(
            "hello: FAIL: the device computes a different conformance digest than the host"
        );
        mote_board::exit(false)
    }
}
