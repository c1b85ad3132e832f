//! The x86-64 register tile, written once for every vector width: `x86_tile!` stamps
//! out `tile::<R, V>` (an `R × W` tile, `W = lanes·V`, with the contract of
//! [`scalar::tile`](super::scalar::tile)) from six primitives of one instruction set —
//! how AVX2 (`__m256`) and AVX-512 (`__m512`) share the loop, the edge handling and the
//! `C` update, and differ only in the intrinsics named.
//!
//! Each row keeps `V` accumulators; a step of `k` loads the panel's `V` vectors once
//! and feeds each broadcast element of `A` into `V` fused multiply-adds, so every
//! product is added unrounded and results differ from the scalar path's in the last
//! bits (each accumulator still sums its `k` products in order `p = 0, 1, …`). Full
//! vectors of a row-contiguous `C` are read and written as vectors; partial ones (the
//! right edge, or a strided `C`) go through a lane array.

/// See the module documentation.
macro_rules! x86_tile {
    (
        $(#[$doc:meta])*
        features = $features:literal,
        vector = $vec:ty,
        lanes = $lanes:literal,
        zero = $zero:ident,
        load = $load:ident,
        store = $store:ident,
        splat = $splat:ident,
        fmadd = $fmadd:ident,
        mul = $mul:ident,
        add = $add:ident $(,)?
    ) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        #[target_feature(enable = $features)]
        pub(crate) unsafe fn tile<const R: usize, const V: usize>(
            a: &[f32],
            rsa: usize,
            csa: usize,
            panel: &[f32],
            alpha: f32,
            update: $crate::arch::Update,
            c: &mut [f32],
            rsc: usize,
            csc: usize,
            nr: usize,
        ) {
            use $crate::arch::Update;
            use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            const L: usize = $lanes;
            let w = L * V;
            debug_assert!(nr <= w && panel.len() % w == 0);
            let mut acc: [[$vec; V]; R] = [[$zero(); V]; R];
            let kc = panel.len() / w;
            if csc == 1 {
                // Ask for the tile's rows of C now, so that the update after the long
                // k loop does not wait on them (rows of a wide C often share cache sets).
                for i in 0..R {
                    let row = c.as_ptr().wrapping_add(i * rsc);
                    _mm_prefetch::<_MM_HINT_T0>(row.cast());
                    _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(w - 1).cast());
                }
            }
            if rsa == 1 && csa == R {
                // `A` packed by the GEMM (micro-panels of R rows): both operands are
                // contiguous streams, walked with pointers and constant offsets.
                debug_assert!(kc * R <= a.len());
                let (mut pa, mut pb) = (a.as_ptr(), panel.as_ptr());
                // One step of k: the panel row's V vectors, R broadcasts, R·V FMAs.
                let mut step = |pa: *const f32, pb: *const f32| {
                    let mut bv: [$vec; V] = [$zero(); V];
                    for (v, lane) in bv.iter_mut().enumerate() {
                        // SAFETY: `pb` points at the current row of L·V panel floats.
                        *lane = unsafe { $load(pb.add(L * v)) };
                    }
                    for (i, acc_i) in acc.iter_mut().enumerate() {
                        // SAFETY: `pa` points at the current step's R floats of A
                        // (kc·R ≤ a.len() by the caller's contract).
                        let ai = $splat(unsafe { *pa.add(i) });
                        for (x, &bj) in acc_i.iter_mut().zip(&bv) {
                            *x = $fmadd(ai, bj, *x);
                        }
                    }
                };
                // Four steps per iteration: the loop's bookkeeping once per 4·R·V FMAs.
                for _ in 0..kc / 4 {
                    // SAFETY: steps s < 4 of the current four, inside both streams;
                    // the pointers then move at most one past their ends.
                    unsafe {
                        step(pa, pb);
                        step(pa.add(R), pb.add(w));
                        step(pa.add(2 * R), pb.add(2 * w));
                        step(pa.add(3 * R), pb.add(3 * w));
                        pa = pa.add(4 * R);
                        pb = pb.add(4 * w);
                    }
                }
                for _ in 0..kc % 4 {
                    step(pa, pb);
                    // SAFETY: one step along both streams, at most one past their ends.
                    unsafe {
                        pa = pa.add(R);
                        pb = pb.add(w);
                    }
                }
            } else {
            let mut col = 0;
            for b in panel.chunks_exact(w) {
                let mut bv: [$vec; V] = [$zero(); V];
                for (v, lane) in bv.iter_mut().enumerate() {
                    // SAFETY: `b` holds L·V floats; vector v reads L of them from L·v.
                    *lane = unsafe { $load(b.as_ptr().add(L * v)) };
                }
                for (i, acc_i) in acc.iter_mut().enumerate() {
                    let at = i * rsa + col;
                    debug_assert!(at < a.len());
                    // SAFETY: `i·rsa + p·csa` with i < R, p < kc is in bounds by the
                    // caller's contract.
                    let ai = $splat(unsafe { *a.get_unchecked(at) });
                    for (x, &bj) in acc_i.iter_mut().zip(&bv) {
                        *x = $fmadd(ai, bj, *x);
                    }
                }
                col += csa;
            }
            }
            let scale = $splat(alpha);
            for (i, acc_i) in acc.iter().enumerate() {
                let row = i * rsc;
                for (v, x) in acc_i.iter().enumerate() {
                    let v0 = L * v;
                    if v0 >= nr {
                        break;
                    }
                    let x = $mul(*x, scale);
                    if csc == 1 && v0 + L <= nr {
                        debug_assert!(row + v0 + L <= c.len());
                        // SAFETY: i < R, columns v0..v0 + L ≤ nr: in bounds by the
                        // caller's contract.
                        let p = unsafe { c.as_mut_ptr().add(row + v0) };
                        // SAFETY: `p` points at L in-bounds floats (above).
                        let out = match update {
                            Update::Overwrite => x,
                            Update::Scale(beta) => unsafe { $fmadd($load(p), $splat(beta), x) },
                            Update::Accumulate => unsafe { $add($load(p), x) },
                        };
                        // SAFETY: as for the loads.
                        unsafe { $store(p, out) };
                        continue;
                    }
                    let mut lanes = [0.0f32; L];
                    // SAFETY: `lanes` holds L floats.
                    unsafe { $store(lanes.as_mut_ptr(), x) };
                    for (j, &y) in lanes.iter().enumerate().take(nr - v0) {
                        let at = row + (v0 + j) * csc;
                        debug_assert!(at < c.len());
                        // SAFETY: i < R, v0 + j < nr: in bounds by the caller's contract.
                        let cij = unsafe { c.get_unchecked_mut(at) };
                        *cij = match update {
                            Update::Overwrite => y,
                            Update::Scale(beta) => y + beta * *cij,
                            Update::Accumulate => *cij + y,
                        };
                    }
                }
            }
        }
    };
}

pub(crate) use x86_tile;
