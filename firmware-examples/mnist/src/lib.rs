//! The exported model and test data the `mnist` firmware embeds (see `build.rs`): the
//! `.mote` file, the generated Rust module, quantised test inputs, their labels, and the
//! host executor's outputs for them.

#![no_std]

include!(concat!(env!("OUT_DIR"), "/consts.rs"));

/// The `.mote` model, 16-byte aligned in flash.
pub static MODEL: &[u8] = mote_core::include_model!(concat!(env!("OUT_DIR"), "/model.mote"));
/// [`SAMPLES`] quantised inputs of [`INPUT_LEN`] int8 values, back to back.
pub static INPUTS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/inputs.bin"));
/// One label per input.
pub static LABELS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/labels.bin"));
/// The host executor's int8 outputs, [`OUTPUT_LEN`] per input.
pub static EXPECTED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/expected.bin"));

/// The model as generated Rust (`mote export --rust`): const weights, direct kernel calls.
#[allow(missing_docs, clippy::all)]
pub mod model {
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
}

/// The first index of the largest value (the rule the build script uses on the host).
pub fn argmax(v: &[i8]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}
