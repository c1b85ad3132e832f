//! Computes mote-core's conformance digest on the host (this build script runs on the
//! build machine) and hands it to the firmware as a constant: the device must compute
//! the same value, bit for bit.

use std::env;
use std::fs;
use std::path::PathBuf;

use mote_core::conformance::{DEFAULT_ROUNDS, digest};

fn main() {
    // mote-core is a build dependency: cargo reruns this script when it changes.
    println!("cargo::rerun-if-changed=build.rs");
    let host = digest(DEFAULT_ROUNDS);
    let host_target = env::var("HOST").unwrap_or_else(|_| String::from("unknown"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    let code = format!(
        "/// `mote_core::conformance::digest(DEFAULT_ROUNDS)` computed on the build host.\n\
         pub const HOST_DIGEST: u32 = {host:#010x};\n\
         /// Target triple of the build host that computed [`HOST_DIGEST`].\n\
         pub const HOST_TARGET: &str = {host_target:?};\n"
    );
    fs::write(out.join("host_digest.rs"), code).expect("write host_digest.rs");
}
