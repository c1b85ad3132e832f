//! Must fail: never finishes. Nothing in the firmware stops it; only the QEMU runner's
//! timeout does (`MOTE_QEMU_TIMEOUT`), and the runner then reports failure.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
// Links the panic handler, the fault handlers and the defmt logger.
use mote_board as _;

#[entry]
fn main() -> ! {
    defmt::info!("harness-check: hang: looping forever on purpose");
    loop {
        core::hint::spin_loop();
    }
}
