//! Fuzzes the `.mote` reader and the executor: any input is copied to a 16-byte-aligned
//! buffer and validated by `ModelView::from_bytes`; a model it accepts is run once by
//! the interpreter over an arena of exactly `arena_bytes()` filled with input-derived
//! bytes. Neither may panic, read out of bounds or hang.
//!
//! Most byte strings fail the CRC-32, so when the input starts with the magic and is
//! long enough the target also tries it with the checksum recomputed (and the size field
//! set to the length), which lets mutations reach the record and graph checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mote_core::format::{AlignedBytes, HEADER, MAGIC, crc32};
use mote_kernels::exec::{Interpreter, Model};

/// Largest arena the target allocates (a mutated header may ask for 4 GiB, which is
/// valid but not worth running; libFuzzer would report it as an out-of-memory crash).
const MAX_ARENA: usize = 256 * 1024;

fn read_and_run(bytes: &[u8]) {
    let aligned = AlignedBytes::new(bytes);
    let Ok(model) = Model::from_bytes(aligned.as_bytes()) else {
        return;
    };
    let view = model.view();
    for i in 0..view.tensor_count() {
        let t = view.tensor(i).expect("tensor of an accepted model");
        let _ = view.data(&t);
    }
    for i in 0..view.op_count() {
        view.op(i).expect("op of an accepted model");
    }
    let n = model.arena_bytes();
    if n > MAX_ARENA {
        return;
    }
    let mut fill: Vec<u8> = bytes.iter().rev().copied().cycle().take(n).collect();
    fill.resize(n, 0x5A);
    let mut arena = AlignedBytes::new(&fill);
    let mut it = Interpreter::new(&model, arena.as_bytes_mut()).expect("arena of arena_bytes()");
    let _ = it.invoke();
}

fuzz_target!(|data: &[u8]| {
    read_and_run(data);
    if data.len() >= HEADER && data[..8] == MAGIC {
        let mut fixed = data.to_vec();
        fixed[16..20].copy_from_slice(&(data.len() as u32).to_le_bytes());
        let c = crc32(&fixed[24..]);
        fixed[20..24].copy_from_slice(&c.to_le_bytes());
        read_and_run(&fixed);
    }
});
