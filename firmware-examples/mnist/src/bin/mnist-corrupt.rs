//! `mnist-corrupt`: the robustness check. Copies the embedded `.mote` model into RAM,
//! flips one bit in the middle of it, and hands it to the reader, which must reject it
//! with an error (the checksum catches it) — no HardFault, no hang. Logs the reader's
//! error and exits 1, as a firmware given a corrupted model should; `scripts/test.sh`
//! requires that status and that message.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use mnist::{MODEL, MODEL_BYTES};
use mote_board::exit;
use mote_kernels::exec::Model;

/// Model bytes at a 16-byte boundary, as the reader requires.
#[repr(C, align(16))]
struct Aligned([u8; MODEL_BYTES]);

#[entry]
fn main() -> ! {
    let mut copy = Aligned([0; MODEL_BYTES]);
    copy.0.copy_from_slice(MODEL);
    if let Some(b) = copy.0.get_mut(MODEL_BYTES / 2) {
        *b ^= 0x10;
    }
    match Model::from_bytes(&copy.0) {
        Err(e) => defmt::error!(
            "mnist-corrupt: the reader rejected the corrupted model: {}",
            e
        ),
        Ok(_) => defmt::error!("mnist-corrupt: FAIL: a corrupted model was accepted"),
    }
    exit(false)
}
