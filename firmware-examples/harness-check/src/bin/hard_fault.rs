//! Must fail: executes a permanently undefined instruction (`udf`). With UsageFault
//! disabled (the reset state) it escalates to a HardFault, which mote-board's handler
//! logs before exiting with failure.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
// Links the panic handler, the fault handlers and the defmt logger.
use mote_board as _;

#[entry]
fn main() -> ! {
    defmt::info!("harness-check: hard_fault: executing an undefined instruction on purpose");
    cortex_m::asm::udf()
}
