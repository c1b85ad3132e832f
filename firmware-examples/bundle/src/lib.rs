//! # mote-bundle
//!
//! How a firmware example embeds a model exported with `mote export CKPT --out m.mote
//! --firmware DIR`. Its build script calls [`build::embed`] (feature `build`), which reads
//! the bundle from `$MOTE_FIRMWARE_BUNDLE` or the crate's `bundle/` directory, validates
//! the model, runs the *host* executor on every embedded input, and writes the results to
//! `OUT_DIR`; the firmware then calls [`embed!`] to include them. The device must
//! reproduce the host's integer outputs bit for bit.

#![cfg_attr(not(feature = "build"), no_std)]

#[cfg(feature = "build")]
pub mod build;

/// Includes the bundle [`build::embed`] prepared, at the call site: the constants
/// (`SAMPLES`, `MODEL_BYTES`, `ARENA_BYTES`, `INPUT_LEN`, `OUTPUT_LEN`, `MACS`,
/// `HOST_CORRECT`, `BUNDLE`), the `.mote` file (`MODEL`, 16-byte aligned), the quantised
/// and raw inputs (`INPUTS`, `INPUTS_F32`), the host executor's outputs (`EXPECTED`), the
/// float model's (`EXPECTED_F32`), the targets (`LABELS` or `TARGETS_F32`, whichever the
/// bundle has; the other is empty) and the generated modules `model` (int8) and, when the
/// bundle has one, `model_f32` (feature of the call site's choosing: pass `f32`).
#[macro_export]
macro_rules! embed {
    () => {
        include!(concat!(env!("OUT_DIR"), "/consts.rs"));
        /// The `.mote` model, 16-byte aligned in flash.
        pub static MODEL: &[u8] =
            mote_core::include_model!(concat!(env!("OUT_DIR"), "/model.mote"));
        /// [`SAMPLES`] quantised inputs of [`INPUT_LEN`] values, back to back.
        pub static INPUTS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/inputs.bin"));
        /// The same inputs, raw, as little-endian f32.
        pub static INPUTS_F32: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/inputs_f32.bin"));
        /// The host executor's outputs, [`OUTPUT_LEN`] per input.
        pub static EXPECTED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/expected.bin"));
        /// The float model's outputs on the host, little-endian f32.
        pub static EXPECTED_F32: &[u8] =
            include_bytes!(concat!(env!("OUT_DIR"), "/expected_f32.bin"));
        /// One class label per input (classification bundles; else empty).
        pub static LABELS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/labels.bin"));
        /// Target values, little-endian f32 (regression bundles; else empty).
        pub static TARGETS_F32: &[u8] =
            include_bytes!(concat!(env!("OUT_DIR"), "/targets_f32.bin"));
        /// The model as generated Rust (`mote export --rust`).
        #[allow(missing_docs, clippy::all)]
        pub mod model {
            include!(concat!(env!("OUT_DIR"), "/model.rs"));
        }
    };
    (f32) => {
        $crate::embed!();
        /// The float model as generated Rust (`mote export --rust-f32`).
        #[allow(missing_docs, clippy::all)]
        pub mod model_f32 {
            include!(concat!(env!("OUT_DIR"), "/model_f32.rs"));
        }
    };
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

/// Element `i` of little-endian f32 data (0.0 past the end).
pub fn f32_at(bytes: &[u8], i: usize) -> f32 {
    match bytes.get(4 * i..4 * i + 4) {
        Some(&[a, b, c, d]) => f32::from_le_bytes([a, b, c, d]),
        _ => 0.0,
    }
}
