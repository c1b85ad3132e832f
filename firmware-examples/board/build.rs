//! Picks the emulated board for the target being built: writes its `memory.x` (read by
//! cortex-m-rt's `link.x`) into OUT_DIR, puts OUT_DIR on the link search path, and writes
//! the board's names as Rust constants for `lib.rs`.

use std::env;
use std::fs;
use std::path::PathBuf;

/// One emulated board: QEMU machine, core, and memory map.
struct Board {
    machine: &'static str,
    cpu: &'static str,
    /// Nanoseconds per core clock cycle (SysTick tick): under `-icount shift=0`, the
    /// instructions one SysTick tick stands for.
    tick_ns: f32,
    memory_x: &'static str,
}

/// Cortex-M4F on QEMU `-machine mps2-an386`: 4 MiB code at 0x0, 4 MiB data at 0x2000_0000.
const MPS2_AN386: Board = Board {
    machine: "mps2-an386",
    cpu: "cortex-m4",
    tick_ns: 40.0, // 25 MHz
    memory_x: "\
/* Arm MPS2 AN386 (Cortex-M4F) as emulated by QEMU. Written by mote-board's build.rs. */
MEMORY
{
  FLASH : ORIGIN = 0x00000000, LENGTH = 4M
  RAM   : ORIGIN = 0x20000000, LENGTH = 4M
}
",
};

/// Cortex-M55 on QEMU `-machine mps3-an547`: 512 KiB ITCM at 0x0, 512 KiB DTCM at 0x2000_0000.
const MPS3_AN547: Board = Board {
    machine: "mps3-an547",
    cpu: "cortex-m55",
    tick_ns: 31.25, // 32 MHz
    memory_x: "\
/* Arm MPS3 AN547 (Cortex-M55) as emulated by QEMU. Written by mote-board's build.rs. */
MEMORY
{
  FLASH : ORIGIN = 0x00000000, LENGTH = 512K
  RAM   : ORIGIN = 0x20000000, LENGTH = 512K
}
",
};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let target = env::var("TARGET").expect("cargo sets TARGET for build scripts");
    let board = match target.as_str() {
        "thumbv7em-none-eabihf" => MPS2_AN386,
        "thumbv8m.main-none-eabihf" => MPS3_AN547,
        other => panic!(
            "mote-board has no board for target `{other}`: build for \
             thumbv7em-none-eabihf (Cortex-M4F, mps2-an386) or \
             thumbv8m.main-none-eabihf (Cortex-M55, mps3-an547)"
        ),
    };

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    fs::write(out.join("memory.x"), board.memory_x).expect("write memory.x");
    let consts = format!(
        "/// QEMU machine this build targets (`-machine`).\n\
         pub const MACHINE: &str = {machine:?};\n\
         /// QEMU CPU this build targets (`-cpu`).\n\
         pub const CPU: &str = {cpu:?};\n\
         /// Rust target triple of this build.\n\
         pub const TARGET: &str = {target:?};\n\
         /// Instructions per SysTick tick under QEMU's `-icount shift=0` (1 ns each).\n\
         pub const INSTRUCTIONS_PER_TICK: f32 = {tick:?};\n",
        machine = board.machine,
        cpu = board.cpu,
        tick = board.tick_ns,
    );
    fs::write(out.join("board.rs"), consts).expect("write board.rs");
    println!("cargo::rustc-link-search={}", out.display());
}
