//! Embeds the firmware bundle (`$MOTE_FIRMWARE_BUNDLE`, else `bundle/`: the autoencoder
//! of examples/anomaly.toml) through mote-bundle, and the two files
//! scripts/anomaly-threshold.py adds to it: `threshold.txt` (the detection threshold,
//! chosen on held-out normal windows) and `anomaly_labels.bin` (one byte per test
//! window, 1 = anomalous). Writes `anomaly.rs` (`THRESHOLD`, `ANOMALY_LABELS`) to
//! `OUT_DIR`.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    mote_bundle::build::embed();
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir =
        env::var_os("MOTE_FIRMWARE_BUNDLE").map_or_else(|| manifest.join("bundle"), PathBuf::from);
    let read = |name: &str| {
        let p = dir.join(name);
        println!("cargo::rerun-if-changed={}", p.display());
        fs::read(&p).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run scripts/anomaly-threshold.py CHECKPOINT BUNDLE_DIR after \
                 `mote export … --firmware BUNDLE_DIR`)",
                p.display()
            )
        })
    };
    let text = String::from_utf8(read("threshold.txt")).expect("threshold.txt is UTF-8");
    let threshold: f32 = text
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("threshold.txt: '{}': {e}", text.trim()));
    assert!(
        threshold.is_finite() && threshold > 0.0,
        "threshold.txt: {threshold} is not a positive threshold"
    );
    let labels = read("anomaly_labels.bin");
    assert!(
        labels.iter().all(|&l| l <= 1),
        "anomaly_labels.bin: labels are 0 (normal) or 1 (anomalous)"
    );
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("anomaly_labels.bin"), &labels).expect("write to OUT_DIR");
    let code = format!(
        "/// Reconstruction MSE above which a window is anomalous (`threshold.txt`).\n\
         pub const THRESHOLD: f32 = {threshold:?};\n\
         /// One label per embedded test window: 0 normal, 1 anomalous.\n\
         pub static ANOMALY_LABELS: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/anomaly_labels.bin\"));\n"
    );
    fs::write(out.join("anomaly.rs"), code).expect("write to OUT_DIR");
}
