//! The arena memory planner: where each activation buffer lives in one arena.
//!
//! A model's activations do not all live at once: an op's output is needed from the op
//! that writes it until the last op that reads it. The planner is given, for every
//! buffer, its size and that lifetime (ops numbered in execution order), and returns an
//! offset for each inside one arena such that buffers alive at the same time never share
//! a byte. It runs at export time, on the host; the device only reads the offsets.
//!
//! The algorithm is the greedy one of TensorFlow Lite Micro's `GreedyMemoryPlanner`:
//! buffers sorted by size, largest first (ties: the one created earlier first), each put
//! at the lowest `align`-aligned offset where it does not overlap any already-placed
//! buffer whose lifetime meets its own. It is not optimal (the exact problem is NP-hard),
//! but it is fast, deterministic and within a few percent of the lower bound
//! ([`peak_live`]) on the feed-forward graphs of small models.
//!
//! On top of that, **in-place reuse**: a buffer may name ([`Buffer::reuse`]) a buffer it
//! may overwrite — an element-wise activation writing over its input, an add into one of
//! its inputs, a reshape. The hint is taken when it is legal (the donor dies at the op
//! that creates the new buffer, and the new one is no larger), and the two are then
//! planned as one region, at the same offset, whose lifetime is the union of theirs and
//! whose size is the larger. Chains (conv → relu → reshape) merge into one region.
//!
//! ```
//! use mote_core::plan::{Buffer, check, plan, plan_without_reuse, sum_of};
//!
//! // conv (op 0) → relu (op 1, in place) → max pool (op 2), int8, MNIST sizes.
//! let buffers = [
//!     Buffer::new(28 * 28, 0, 0),                  // 0: input, read by op 0
//!     Buffer::new(28 * 28 * 16, 0, 1),             // 1: conv output, read by op 1
//!     Buffer::new(28 * 28 * 16, 1, 2).reusing(1),  // 2: relu output, over buffer 1
//!     Buffer::new(14 * 14 * 16, 2, 2),             // 3: pool output
//! ];
//! let p = plan(&buffers, 16)?;
//! check(&buffers, &p, 16)?;
//! assert_eq!(p.offsets[1], p.offsets[2]); // relu runs in place
//! assert_eq!(p.arena_bytes, 12_544 + 3_136);
//! assert_eq!(plan_without_reuse(&buffers, 16)?.arena_bytes, 2 * 12_544);
//! assert_eq!(sum_of(&buffers, 16)?, 784 + 2 * 12_544 + 3_136);
//! # Ok::<(), mote_core::Error>(())
//! ```

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, ErrorKind, Result};

/// One buffer to place: `bytes` long, alive from op `first` to op `last` inclusive.
///
/// Ops are numbered in execution order; a model input has `first = 0`, an op's output
/// has `first` = that op's index, and `last` is the index of the last op that reads it
/// (for a model output, the last op of the model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Buffer {
    /// Size in bytes.
    pub bytes: usize,
    /// The op that creates it (0 for model inputs).
    pub first: usize,
    /// The last op that reads it; `first <= last`.
    pub last: usize,
    /// `Some(j)`: this buffer may take over buffer `j`'s storage in place (an
    /// element-wise activation writing over its input, an add into one of its inputs, a
    /// reshape). Legal only when `buffers[j].last == self.first` (`j` dies at the op that
    /// creates this one) and `self.bytes <= buffers[j].bytes`; the planner ignores the
    /// hint (plans normally) otherwise. See [`in_place`] for the exact rules.
    pub reuse: Option<usize>,
}

impl Buffer {
    /// A buffer of `bytes` alive from op `first` to op `last`, with no reuse hint.
    pub const fn new(bytes: usize, first: usize, last: usize) -> Self {
        Self {
            bytes,
            first,
            last,
            reuse: None,
        }
    }

    /// The same buffer, hinted to take over buffer `j`'s storage in place.
    pub const fn reusing(self, j: usize) -> Self {
        Self {
            reuse: Some(j),
            ..self
        }
    }
}

/// Where each buffer lives: `offsets[i]` is buffer `i`'s byte offset in an arena of
/// `arena_bytes` (a multiple of the alignment the plan was made for).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Plan {
    /// Byte offset of each buffer, in the order the buffers were given.
    pub offsets: Vec<usize>,
    /// Bytes the arena needs: every buffer's end, rounded up to the alignment.
    pub arena_bytes: usize,
}

/// Plans `buffers` greedily by size, merging legal in-place reuse ([`Buffer::reuse`])
/// into one region first. Every offset is a multiple of `align`.
///
/// # Errors
///
/// `Zero` / `Unsupported` when `align` is 0 / not a power of two; `ElementOutOfRange`
/// for a buffer with `first > last` or a `reuse` index past the end of `buffers`;
/// `Overflow` when the arena would not fit in `usize`.
pub fn plan(buffers: &[Buffer], align: usize) -> Result<Plan> {
    validate(buffers, align)?;
    let roots = roots(&in_place_unchecked(buffers));
    greedy(buffers, &roots, align)
}

/// The same greedy planner as [`plan`], with every reuse hint ignored: each buffer gets
/// its own region for its whole lifetime.
///
/// # Errors
///
/// As [`plan`].
pub fn plan_without_reuse(buffers: &[Buffer], align: usize) -> Result<Plan> {
    validate(buffers, align)?;
    let roots: Vec<usize> = (0..buffers.len()).collect();
    greedy(buffers, &roots, align)
}

/// Bytes an arena needs when nothing shares memory: the sum of the sizes, each rounded
/// up to `align`.
///
/// # Errors
///
/// As [`plan`].
pub fn sum_of(buffers: &[Buffer], align: usize) -> Result<usize> {
    validate(buffers, align)?;
    buffers.iter().try_fold(0usize, |sum, b| {
        sum.checked_add(align_up(b.bytes, align)?)
            .ok_or(Error::new(ErrorKind::Overflow, "plan::sum_of"))
    })
}

/// A lower bound on the arena any plan needs: the largest number of bytes alive at one
/// op. With `in_place`, the buffers joined by legal reuse count once (as the larger),
/// which is the bound for [`plan`]; without, for [`plan_without_reuse`]. Alignment
/// padding is not counted.
///
/// # Errors
///
/// `ElementOutOfRange` for a buffer with `first > last` or a `reuse` index past the end;
/// `Overflow` when the sum does not fit in `usize`.
pub fn peak_live(buffers: &[Buffer], in_place: bool) -> Result<usize> {
    validate(buffers, 1)?;
    let roots = if in_place {
        roots(&in_place_unchecked(buffers))
    } else {
        (0..buffers.len()).collect()
    };
    let groups = groups(buffers, &roots);
    // The peak is reached at the op where some region starts.
    let mut peak = 0usize;
    for g in groups.iter().filter(|g| g.bytes > 0) {
        let t = g.first;
        let live = groups
            .iter()
            .filter(|h| h.first <= t && t <= h.last)
            .try_fold(0usize, |sum, h| sum.checked_add(h.bytes))
            .ok_or(Error::new(ErrorKind::Overflow, "plan::peak_live"))?;
        peak = peak.max(live);
    }
    Ok(peak)
}

/// Which reuse hints the planner takes: `result[i] == Some(j)` when buffer `i` is
/// planned in place over buffer `j`.
///
/// A hint `buffers[i].reuse == Some(j)` is taken when `j != i`,
/// `buffers[j].last == buffers[i].first`, `buffers[i].bytes <= buffers[j].bytes`, no
/// buffer before `i` has already taken `j` (two outputs of one op cannot both overwrite
/// the same input), and it does not close a cycle of hints. Buffers joined by taken hints,
/// transitively, form one region.
///
/// # Errors
///
/// `ElementOutOfRange` for a buffer with `first > last` or a `reuse` index past the end.
pub fn in_place(buffers: &[Buffer]) -> Result<Vec<Option<usize>>> {
    validate(buffers, 1)?;
    Ok(in_place_unchecked(buffers))
}

/// Verifies a plan for `buffers`: one offset per buffer, every offset a multiple of
/// `align`, every region inside `arena_bytes`, and no two buffers whose lifetimes meet
/// sharing a byte — unless they are joined by legal in-place reuse (transitively, see
/// [`in_place`]) *and* start at the same offset (an in-place op writes element `k` over
/// element `k`, so a shifted overlap would corrupt its input).
///
/// # Errors
///
/// The input errors of [`plan`]; `LengthMismatch` when `offsets` has the wrong length;
/// `ElementOutOfRange` (at `"plan::check: offset not aligned"`, value: the remainder)
/// for a misaligned offset; `BufferTooSmall` when a region ends past `arena_bytes`;
/// `ElementOutOfRange` (at `"plan::check: overlap …"`, index: the higher of the two
/// buffers, value: its offset, min: where the lower one ends) for an illegal overlap;
/// `Overflow` when an offset plus a size overflows.
pub fn check(buffers: &[Buffer], plan: &Plan, align: usize) -> Result<()> {
    validate(buffers, align)?;
    let n = buffers.len();
    crate::error::check_len("plan::check: offsets", n, plan.offsets.len())?;
    let mut ends = Vec::with_capacity(n);
    for (i, (b, &off)) in buffers.iter().zip(&plan.offsets).enumerate() {
        if off % align != 0 {
            return Err(Error::element_out_of_range(
                "plan::check: offset not aligned",
                i,
                to_i64(off % align),
                0,
                0,
            ));
        }
        let end = off
            .checked_add(b.bytes)
            .ok_or(Error::new(ErrorKind::Overflow, "plan::check: offsets"))?;
        crate::error::check_capacity("plan::check: arena_bytes", end, plan.arena_bytes)?;
        ends.push(end);
    }
    let roots = roots(&in_place_unchecked(buffers));
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (&buffers[i], &buffers[j]);
            let (oa, ob) = (plan.offsets[i], plan.offsets[j]);
            let apart_in_time = a.last < b.first || b.last < a.first;
            let apart_in_memory = ends[i] <= ob || ends[j] <= oa;
            if a.bytes == 0 || b.bytes == 0 || apart_in_time || apart_in_memory {
                continue;
            }
            if roots[i] == roots[j] && oa == ob {
                continue; // legal in-place reuse
            }
            let (hi, lo) = if oa >= ob { (i, j) } else { (j, i) };
            return Err(Error::element_out_of_range(
                "plan::check: overlap with a buffer alive at the same time (must start at or after its end)",
                hi,
                to_i64(plan.offsets[hi]),
                to_i64(ends[lo]),
                i64::MAX,
            ));
        }
    }
    Ok(())
}

/// Rounds `x` up to a multiple of `align` (a power of two).
fn align_up(x: usize, align: usize) -> Result<usize> {
    x.checked_add(align - 1)
        .map(|y| y & !(align - 1))
        .ok_or(Error::new(ErrorKind::Overflow, "plan: align"))
}

fn to_i64(x: usize) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

/// Checks `align` and every buffer's lifetime and hint index.
fn validate(buffers: &[Buffer], align: usize) -> Result<()> {
    if align == 0 {
        return Err(Error::zero("plan: align"));
    }
    if !align.is_power_of_two() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "plan: align (must be a power of two)",
        ));
    }
    let n = buffers.len();
    for (i, b) in buffers.iter().enumerate() {
        if b.first > b.last {
            return Err(Error::element_out_of_range(
                "plan: buffers[].first (after last)",
                i,
                to_i64(b.first),
                0,
                to_i64(b.last),
            ));
        }
        if let Some(j) = b.reuse
            && j >= n
        {
            return Err(Error::element_out_of_range(
                "plan: buffers[].reuse",
                i,
                to_i64(j),
                0,
                to_i64(n - 1),
            ));
        }
    }
    Ok(())
}

/// [`in_place`] on validated buffers.
fn in_place_unchecked(buffers: &[Buffer]) -> Vec<Option<usize>> {
    let n = buffers.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut taken = vec![false; n];
    for (i, b) in buffers.iter().enumerate() {
        let Some(j) = b.reuse else { continue };
        let donor = &buffers[j];
        if j == i || taken[j] || donor.last != b.first || b.bytes > donor.bytes {
            continue;
        }
        // Taken hints form chains (each buffer has at most one donor and one taker);
        // refuse the hint if `i` is already up `j`'s chain. The walk ends because the
        // taken hints have no cycle.
        let mut k = j;
        let cycle = loop {
            if k == i {
                break true;
            }
            match parent[k] {
                Some(p) => k = p,
                None => break false,
            }
        };
        if !cycle {
            parent[i] = Some(j);
            taken[j] = true;
        }
    }
    parent
}

/// The region (root buffer) each buffer belongs to, from the taken hints.
fn roots(parent: &[Option<usize>]) -> Vec<usize> {
    (0..parent.len())
        .map(|mut k| {
            while let Some(p) = parent[k] {
                k = p;
            }
            k
        })
        .collect()
}

/// A region to place: buffers joined by in-place reuse.
#[derive(Clone, Copy)]
struct Group {
    bytes: usize,
    first: usize,
    last: usize,
    /// The lowest index of a member, for deterministic tie-breaking.
    index: usize,
}

/// One group per distinct root, indexed by root (non-roots hold placeholders with
/// `bytes == 0` and are never used).
fn groups(buffers: &[Buffer], roots: &[usize]) -> Vec<Group> {
    let mut groups: Vec<Group> = roots
        .iter()
        .map(|&r| Group {
            bytes: 0,
            first: buffers[r].first,
            last: buffers[r].last,
            index: r,
        })
        .collect();
    for (i, (b, &r)) in buffers.iter().zip(roots).enumerate() {
        let g = &mut groups[r];
        g.bytes = g.bytes.max(b.bytes);
        g.first = g.first.min(b.first);
        g.last = g.last.max(b.last);
        g.index = g.index.min(i);
    }
    groups
}

/// Greedy placement of the regions given by `roots`.
fn greedy(buffers: &[Buffer], roots: &[usize], align: usize) -> Result<Plan> {
    let n = buffers.len();
    let groups = groups(buffers, roots);
    let mut order: Vec<usize> = (0..n).filter(|&i| roots[i] == i).collect();
    order.sort_by_key(|&r| {
        let g = &groups[r];
        (core::cmp::Reverse(g.bytes), g.first, g.index)
    });

    let mut group_offset = vec![0usize; n];
    // Placed regions: (offset, end, root).
    let mut placed: Vec<(usize, usize, usize)> = Vec::with_capacity(order.len());
    let mut live: Vec<(usize, usize)> = Vec::with_capacity(order.len());
    let mut arena_end = 0usize;
    for &r in &order {
        let g = groups[r];
        if g.bytes == 0 {
            continue; // takes no memory; offset 0
        }
        live.clear();
        live.extend(
            placed
                .iter()
                .filter(|&&(_, _, q)| groups[q].first <= g.last && g.first <= groups[q].last)
                .map(|&(off, end, _)| (off, end)),
        );
        live.sort_unstable();
        // Lowest aligned gap: everything before `candidate` is taken by regions already
        // passed, and the rest start at or after the current one.
        let mut candidate = 0usize;
        for &(off, end) in &live {
            let top = candidate
                .checked_add(g.bytes)
                .ok_or(Error::new(ErrorKind::Overflow, "plan: arena"))?;
            if top <= off {
                break;
            }
            if end > candidate {
                candidate = align_up(end, align)?;
            }
        }
        let end = candidate
            .checked_add(g.bytes)
            .ok_or(Error::new(ErrorKind::Overflow, "plan: arena"))?;
        group_offset[r] = candidate;
        placed.push((candidate, end, r));
        arena_end = arena_end.max(end);
    }
    Ok(Plan {
        offsets: roots.iter().map(|&r| group_offset[r]).collect(),
        arena_bytes: align_up(arena_end, align)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// conv (op 0) → relu (op 1) → max pool (op 2), int8 MNIST sizes.
    fn conv_relu_pool(reuse: bool) -> [Buffer; 4] {
        let relu = Buffer::new(12_544, 1, 2);
        [
            Buffer::new(784, 0, 0),
            Buffer::new(12_544, 0, 1),
            if reuse { relu.reusing(1) } else { relu },
            Buffer::new(3_136, 2, 2),
        ]
    }

    #[test]
    fn chain_with_in_place_relu() {
        let b = conv_relu_pool(true);
        let p = plan(&b, 16).unwrap();
        check(&b, &p, 16).unwrap();
        assert_eq!(p.offsets, [12_544, 0, 0, 12_544]);
        assert_eq!(p.arena_bytes, 15_680);
        assert_eq!(in_place(&b).unwrap(), [None, None, Some(1), None]);
        assert_eq!(peak_live(&b, true).unwrap(), 15_680);

        let q = plan_without_reuse(&b, 16).unwrap();
        check(&b, &q, 16).unwrap();
        assert_eq!(q.offsets, [12_544, 0, 12_544, 0]);
        assert_eq!(q.arena_bytes, 25_088);
        assert_eq!(peak_live(&b, false).unwrap(), 25_088);
        // Without the hint, `plan` is `plan_without_reuse`.
        let c = conv_relu_pool(false);
        assert_eq!(plan(&c, 16).unwrap(), q);
        assert_eq!(sum_of(&b, 16).unwrap(), 784 + 2 * 12_544 + 3_136);
    }

    #[test]
    fn simultaneously_live_buffers_do_not_share() {
        let b = [Buffer::new(100, 0, 1), Buffer::new(50, 1, 2)];
        let p = plan(&b, 16).unwrap();
        assert_eq!(p.offsets, [0, 112]);
        assert_eq!(p.arena_bytes, 176);
        check(&b, &p, 16).unwrap();
        // Disjoint lifetimes share.
        let b = [Buffer::new(100, 0, 0), Buffer::new(50, 1, 1)];
        let p = plan(&b, 16).unwrap();
        assert_eq!(p.offsets, [0, 0]);
        assert_eq!(p.arena_bytes, 112);
    }

    #[test]
    fn alignment() {
        let b = [
            Buffer::new(3, 0, 0),
            Buffer::new(5, 0, 0),
            Buffer::new(7, 0, 0),
        ];
        let p = plan(&b, 8).unwrap();
        assert_eq!(p.offsets, [16, 8, 0]);
        assert_eq!(p.arena_bytes, 24);
        check(&b, &p, 8).unwrap();
        let p = plan(&b, 1).unwrap();
        assert_eq!(p.offsets, [12, 7, 0]);
        assert_eq!(p.arena_bytes, 15);
        assert_eq!(sum_of(&b, 8).unwrap(), 24);
        assert_eq!(sum_of(&b, 1).unwrap(), 15);
    }

    #[test]
    fn fills_the_lowest_gap() {
        // 0 (64 B) goes to 0 and 2 (48 B, alive with 0) above it; 1 lives only with 2
        // and fits in the gap below it; 3 lives with nothing.
        let b = [
            Buffer::new(64, 0, 1),
            Buffer::new(32, 2, 3),
            Buffer::new(48, 1, 3),
            Buffer::new(16, 5, 5),
        ];
        let p = plan(&b, 16).unwrap();
        check(&b, &p, 16).unwrap();
        assert_eq!(p.offsets, [0, 0, 64, 0]);
        assert_eq!(p.arena_bytes, 112);
    }

    #[test]
    fn illegal_hints_are_ignored() {
        let base = conv_relu_pool(false);
        let expected = plan_without_reuse(&base, 16).unwrap();
        // Donor does not die where the taker is created.
        let mut b = base;
        b[3].reuse = Some(1);
        assert_eq!(plan(&b, 16).unwrap(), expected);
        // Taker larger than the donor (pool output into the input).
        let mut b = base;
        b[1].reuse = Some(0);
        assert_eq!(plan(&b, 16).unwrap(), expected);
        // Itself.
        let mut b = base;
        b[2].reuse = Some(2);
        assert_eq!(plan(&b, 16).unwrap(), expected);
        assert_eq!(in_place(&b).unwrap(), [None; 4]);
    }

    #[test]
    fn one_taker_per_donor_and_no_cycles() {
        // Two outputs of op 1 both hint at its input: only the first takes it.
        let b = [
            Buffer::new(100, 0, 1),
            Buffer::new(100, 1, 2).reusing(0),
            Buffer::new(100, 1, 2).reusing(0),
        ];
        assert_eq!(in_place(&b).unwrap(), [None, Some(0), None]);
        let p = plan(&b, 4).unwrap();
        check(&b, &p, 4).unwrap();
        assert_eq!(p.offsets[0], p.offsets[1]);
        assert_ne!(p.offsets[1], p.offsets[2]);
        // A cycle of hints (both created and dead at op 3).
        let b = [
            Buffer::new(8, 3, 3).reusing(1),
            Buffer::new(8, 3, 3).reusing(0),
        ];
        assert_eq!(in_place(&b).unwrap(), [Some(1), None]);
        let p = plan(&b, 1).unwrap();
        check(&b, &p, 1).unwrap();
        assert_eq!(p.arena_bytes, 8);
    }

    #[test]
    fn chains_merge() {
        // conv → relu (in place) → reshape (in place) → dense.
        let b = [
            Buffer::new(40, 0, 0),
            Buffer::new(64, 0, 1),
            Buffer::new(64, 1, 2).reusing(1),
            Buffer::new(64, 2, 3).reusing(2),
            Buffer::new(10, 3, 3),
        ];
        let p = plan(&b, 16).unwrap();
        check(&b, &p, 16).unwrap();
        assert_eq!(p.offsets[1], p.offsets[2]);
        assert_eq!(p.offsets[2], p.offsets[3]);
        assert_eq!(p.arena_bytes, 64 + 48);
    }

    #[test]
    fn errors() {
        let ok = [Buffer::new(4, 0, 1)];
        assert_eq!(plan(&ok, 0).unwrap_err().kind, ErrorKind::Zero);
        assert_eq!(plan(&ok, 3).unwrap_err().kind, ErrorKind::Unsupported);
        assert_eq!(sum_of(&ok, 12).unwrap_err().kind, ErrorKind::Unsupported);
        let bad = [Buffer::new(4, 2, 1)];
        assert!(matches!(
            plan(&bad, 1).unwrap_err().kind,
            ErrorKind::ElementOutOfRange {
                index: 0,
                value: 2,
                min: 0,
                max: 1
            }
        ));
        let bad = [Buffer::new(4, 0, 1), Buffer::new(4, 1, 1).reusing(2)];
        assert!(matches!(
            plan_without_reuse(&bad, 1).unwrap_err().kind,
            ErrorKind::ElementOutOfRange {
                index: 1,
                value: 2,
                min: 0,
                max: 1
            }
        ));
        let huge = [Buffer::new(usize::MAX, 0, 0), Buffer::new(2, 0, 0)];
        assert_eq!(plan(&huge, 1).unwrap_err().kind, ErrorKind::Overflow);
        assert_eq!(sum_of(&huge, 1).unwrap_err().kind, ErrorKind::Overflow);
        assert_eq!(
            peak_live(&huge, false).unwrap_err().kind,
            ErrorKind::Overflow
        );
        let huge = [Buffer::new(usize::MAX - 2, 0, 0)];
        assert_eq!(plan(&huge, 16).unwrap_err().kind, ErrorKind::Overflow);
        assert_eq!(plan(&[], 16).unwrap(), Plan::default());
        assert_eq!(sum_of(&[], 16).unwrap(), 0);
        check(&[], &Plan::default(), 16).unwrap();
    }

    #[test]
    fn check_rejects_broken_plans() {
        let b = conv_relu_pool(true);
        let good = plan(&b, 16).unwrap();
        let broken = |f: &dyn Fn(&mut Plan)| {
            let mut p = good.clone();
            f(&mut p);
            check(&b, &p, 16).unwrap_err()
        };
        assert_eq!(
            broken(&|p| {
                p.offsets.pop();
            })
            .kind,
            ErrorKind::LengthMismatch {
                expected: 4,
                actual: 3
            }
        );
        assert!(matches!(
            broken(&|p| p.offsets[3] += 8).kind,
            ErrorKind::ElementOutOfRange {
                index: 3,
                value: 8,
                ..
            }
        ));
        assert!(matches!(
            broken(&|p| p.arena_bytes -= 16).kind,
            ErrorKind::BufferTooSmall {
                needed: 15_680,
                actual: 15_664
            }
        ));
        // Pool output on top of the relu output it reads.
        assert!(matches!(
            broken(&|p| p.offsets[3] = 16).kind,
            ErrorKind::ElementOutOfRange {
                index: 3,
                value: 16,
                min: 12_544,
                ..
            }
        ));
        // In place, but shifted.
        let e = broken(&|p| {
            p.offsets[2] = 16;
            p.arena_bytes += 16;
        });
        assert!(matches!(
            e.kind,
            ErrorKind::ElementOutOfRange { index: 2, .. }
        ));
        // Without the hint, sharing conv and relu outputs is an overlap.
        let c = conv_relu_pool(false);
        assert!(check(&c, &good, 16).is_err());
    }

    /// Random buffers whose hints are a mix of none, arbitrary (mostly illegal) and
    /// legal-looking ones.
    fn buffers() -> impl Strategy<Value = Vec<Buffer>> {
        prop::collection::vec(
            (0usize..300, 0usize..12, 0usize..6, 0u8..4, any::<usize>()),
            0..24,
        )
        .prop_map(|raw| {
            let n = raw.len();
            let mut b: Vec<Buffer> = raw
                .iter()
                .map(|&(bytes, first, len, _, _)| Buffer::new(bytes, first, first + len))
                .collect();
            for (i, &(_, _, _, kind, pick)) in raw.iter().enumerate() {
                match kind {
                    1 => b[i].reuse = Some(pick % n),
                    2 | 3 => {
                        let donors: Vec<usize> = (0..n)
                            .filter(|&j| j != i && b[j].last == b[i].first)
                            .collect();
                        if !donors.is_empty() {
                            let j = donors[pick % donors.len()];
                            b[i].reuse = Some(j);
                            if kind == 3 {
                                b[i].bytes = b[i].bytes.min(b[j].bytes);
                            }
                        }
                    }
                    _ => {}
                }
            }
            b
        })
    }

    fn aligns() -> impl Strategy<Value = usize> {
        prop::sample::select(vec![1usize, 2, 4, 8, 16])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn plans_are_valid_and_bounded(b in buffers(), align in aligns()) {
            let with = plan(&b, align).unwrap();
            let without = plan_without_reuse(&b, align).unwrap();
            check(&b, &with, align).unwrap();
            check(&b, &without, align).unwrap();
            let sum = sum_of(&b, align).unwrap();
            prop_assert!(with.arena_bytes <= sum);
            prop_assert!(without.arena_bytes <= sum);
            prop_assert!(peak_live(&b, true).unwrap() <= with.arena_bytes);
            prop_assert!(peak_live(&b, false).unwrap() <= without.arena_bytes);
            prop_assert_eq!(with.arena_bytes % align, 0);
            prop_assert_eq!(without.arena_bytes % align, 0);
            // Deterministic, and the same as without hints when none is taken.
            prop_assert_eq!(&plan(&b, align).unwrap(), &with);
            if in_place(&b).unwrap().iter().all(Option::is_none) {
                prop_assert_eq!(&with, &without);
            }
            // Taken hints share the offset.
            for (i, d) in in_place(&b).unwrap().into_iter().enumerate() {
                if let Some(j) = d {
                    prop_assert_eq!(with.offsets[i], with.offsets[j]);
                }
            }
        }

        #[test]
        fn broken_plans_fail_check(b in buffers(), align in aligns(), pick in any::<usize>()) {
            let b: Vec<Buffer> = b.into_iter().map(|x| Buffer { reuse: None, ..x }).collect();
            let good = plan_without_reuse(&b, align).unwrap();
            // Put one of two buffers alive together on top of the other.
            let pairs: Vec<(usize, usize)> = (0..b.len())
                .flat_map(|i| (0..b.len()).map(move |j| (i, j)))
                .filter(|&(i, j)| {
                    i != j && b[i].bytes > 0 && b[j].bytes > 0
                        && b[i].first <= b[j].last && b[j].first <= b[i].last
                })
                .collect();
            if !pairs.is_empty() {
                let (i, j) = pairs[pick % pairs.len()];
                let mut p = good.clone();
                p.offsets[j] = p.offsets[i];
                p.arena_bytes = p.arena_bytes.max(p.offsets[i] + b[i].bytes.max(b[j].bytes));
                prop_assert!(check(&b, &p, align).is_err());
            }
            // Shrink the arena below the highest end.
            let top = b.iter().zip(&good.offsets).map(|(x, &o)| o + x.bytes).max().unwrap_or(0);
            if top > 0 {
                let p = Plan { arena_bytes: top - 1, ..good.clone() };
                prop_assert!(check(&b, &p, align).is_err());
            }
            // Misalign one offset.
            if align > 1 && !b.is_empty() {
                let mut p = good.clone();
                let k = pick % b.len();
                p.offsets[k] += 1;
                p.arena_bytes += align;
                prop_assert!(check(&b, &p, align).is_err());
            }
        }

        #[test]
        fn bad_inputs_are_errors(b in buffers(), extra in 0usize..3) {
            let n = b.len();
            let mut bad = b.clone();
            bad.push(Buffer::new(1, 0, 0).reusing(n + 1 + extra));
            prop_assert!(plan(&bad, 4).is_err());
            prop_assert!(plan_without_reuse(&bad, 4).is_err());
            let mut bad = b;
            bad.push(Buffer::new(1, 3 + extra, 2));
            prop_assert!(plan(&bad, 4).is_err());
            prop_assert!(sum_of(&bad, 4).is_err());
        }
    }
}
