//! Must fail: logs a line, then exits with failure (QEMU exit status 1).

#![no_std]
#![no_main]

use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    defmt::info!("harness-check: exit_failure: reporting failure on purpose");
    mote_board::exit(false)
}
