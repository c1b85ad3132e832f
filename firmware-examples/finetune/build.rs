//! Sizes the firmware's static buffers from the model the `mnist` crate embeds (the
//! bundle in `$MOTE_FIRMWARE_BUNDLE`, else `../mnist/bundle/`, as mnist's build script
//! picks it): writes `FEATURES`, the element count of the input of the model's last
//! FULLY_CONNECTED operator, to `OUT_DIR/features.rs`. The firmware checks it again
//! against the model it runs.

use std::env;
use std::fs;
use std::path::PathBuf;

use mote_core::format::{AlignedBytes, ModelView, OpCode};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=MOTE_FIRMWARE_BUNDLE");
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = env::var_os("MOTE_FIRMWARE_BUNDLE")
        .map_or_else(|| manifest.join("../mnist/bundle"), PathBuf::from);
    let path = dir.join("model.mote");
    println!("cargo::rerun-if-changed={}", path.display());
    let raw = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = AlignedBytes::new(&raw);
    let view = ModelView::from_bytes(bytes.as_bytes())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fc = (0..view.op_count())
        .rev()
        .map(|i| view.op(i).expect("a validated model's op"))
        .find(|op| op.code == OpCode::FullyConnected)
        .unwrap_or_else(|| panic!("{}: no FULLY_CONNECTED operator", path.display()));
    let input = fc.input(0).expect("FULLY_CONNECTED has an input");
    let features = view
        .tensor(input)
        .expect("a validated model's tensor")
        .len();

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let consts = format!(
        "/// Elements of the input of the model's last FULLY_CONNECTED operator: the\n\
         /// features the head is trained on (computed by `build.rs`).\n\
         pub const FEATURES: usize = {features};\n"
    );
    fs::write(out.join("features.rs"), consts).expect("write to OUT_DIR");
}
