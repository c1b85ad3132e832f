//! The stack's high-water mark, by painting: [`paint`] fills the free stack (from the
//! end of static RAM up to just below the current stack pointer) with a pattern, and
//! [`high_water`] finds how much of it was overwritten since — the deepest the stack
//! has been, for the size report.

use core::ptr::{read_volatile, write_volatile};

unsafe extern "C" {
    /// End of `.data`/`.bss` (cortex-m-rt's `_stack_end`): the lowest address the stack
    /// may reach.
    static _stack_end: u32;
    /// The initial stack pointer: the top of the stack.
    static _stack_start: u32;
}

/// The fill pattern.
const PAINT: u32 = 0x5AA5_5AA5;
/// Bytes left unpainted below the stack pointer, for this function's own use.
const MARGIN: usize = 256;

fn bounds() -> (usize, usize) {
    (
        (&raw const _stack_end) as usize,
        (&raw const _stack_start) as usize,
    )
}

/// Paints the free stack. Call it first thing in `main`.
pub fn paint() {
    let (bottom, _) = bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let end = sp.saturating_sub(MARGIN) & !3;
    let mut p = bottom;
    while p < end {
        // SAFETY: `p` is 4-byte aligned and lies between the end of static RAM and the
        // stack pointer minus a margin: RAM that nothing uses yet (no heap, no other
        // thread); the stack grows down towards it and overwrites the pattern.
        unsafe { write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Bytes of stack used at the deepest point since [`paint`]: from the top of the stack
/// down to the lowest word that no longer holds the pattern.
pub fn high_water() -> usize {
    let (bottom, top) = bounds();
    let mut p = bottom;
    // SAFETY: `p` stays 4-byte aligned inside RAM between the end of static data and the
    // top of the stack; reading it has no side effects.
    while p < top && unsafe { read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    top - p
}
