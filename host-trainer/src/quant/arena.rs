//! Placing a model's activations in one arena: tensor lifetimes from the execution
//! order, then the planner.

use crate::Result;
use mote_core::format::{ModelDef, OpCode};
use mote_core::plan::{self, Buffer};

/// Bytes every arena tensor is aligned to (the format requires 16).
pub const ALIGN: usize = 16;

/// The planner's buffers for `def`'s arena tensors: tensor `t` alive from the op that
/// writes it (0 for the input) to the last op that reads it (the end for the output);
/// an LSTM's scratch lives through its operator; a reshape may take over its input's
/// bytes. Returns the buffers and, for each, its
/// tensor index.
pub fn buffers(def: &ModelDef) -> (Vec<Buffer>, Vec<usize>) {
    let arena: Vec<usize> = (0..def.tensors.len())
        .filter(|&t| def.tensors[t].data.is_none())
        .collect();
    let index_of = |t: usize| arena.iter().position(|&a| a == t);
    let end = def.ops.len().saturating_sub(1);
    let mut bufs: Vec<Buffer> = arena
        .iter()
        .map(|&t| Buffer {
            bytes: def.tensors[t].bytes(),
            first: 0,
            last: 0,
            reuse: None,
        })
        .collect();
    for (i, op) in def.ops.iter().enumerate() {
        if let Some(b) = index_of(op.output) {
            bufs[b].first = i;
            bufs[b].last = bufs[b].last.max(i);
        }
        for &t in &op.inputs {
            if let Some(b) = index_of(t) {
                bufs[b].last = bufs[b].last.max(i);
            }
        }
    }
    // An LSTM's scratch is alive during its operator only.
    for (i, op) in def.ops.iter().enumerate() {
        let scratch = usize::try_from(op.params[0]).ok().and_then(index_of);
        if let (OpCode::Lstm, Some(b)) = (op.code, scratch) {
            bufs[b].first = i;
            bufs[b].last = i;
        }
    }
    if let Some(b) = index_of(def.output) {
        bufs[b].last = end;
    }
    for op in def.ops.iter().filter(|op| op.code == OpCode::Reshape) {
        if let (Some(o), Some(&x)) = (index_of(op.output), op.inputs.first()) {
            bufs[o].reuse = index_of(x);
        }
    }
    (bufs, arena)
}

/// Plans `def`'s arena (with in-place reuse when `reuse`), setting every arena
/// tensor's offset and the arena size.
pub fn assign(def: &mut ModelDef, reuse: bool) -> Result<()> {
    let (bufs, tensors) = buffers(def);
    let p = if reuse {
        plan::plan(&bufs, ALIGN)?
    } else {
        plan::plan_without_reuse(&bufs, ALIGN)?
    };
    for (&t, &offset) in tensors.iter().zip(&p.offsets) {
        def.tensors[t].arena_offset = offset;
    }
    def.arena_bytes = p.arena_bytes;
    Ok(())
}
