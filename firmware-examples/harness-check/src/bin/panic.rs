//! Must fail: panics; mote-board's panic handler logs the message and exits with failure.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
// Links the panic handler, the fault handlers and the defmt logger.
use mote_board as _;

#[entry]
fn main() -> ! {
    defmt::info!("harness-check: panic: panicking on purpose");
    // Read the value through black_box so the compiler cannot see the panic coming.
    let divisor = core::hint::black_box(0_u32);
    panic!("deliberate panic, divisor = {}", divisor)
}
