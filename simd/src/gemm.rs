//! `C ← α·A·B + β·C` on f32 matrices given as strided views (SGEMM).
//!
//! A matrix is a [`MatRef`] / [`MatMut`]: a slice, a number of rows and columns, and a
//! stride between rows and between columns, so element `(i, j)` is
//! `data[i·row_stride + j·col_stride]`. Row-major, column-major, sub-matrices and
//! transposes ([`MatRef::t`]) are all views of the same slice, never copies; this is
//! how the layer kernels map dense and convolution passes onto one GEMM:
//!
//! | pass | GEMM |
//! |---|---|
//! | dense forward `Y = X·Wᵀ` | `A = X` (row-major), `B = W.t()` |
//! | dense input gradient `dX += dY·W` | `A = dY`, `B = W` |
//! | dense weight gradient `dW += dYᵀ·X` | `A = dY.t()`, `B = X` |
//! | convolution (im2col) | `A = columns`, `B = W_group.t()`, `C` = output channels of the group |
//!
//! ```
//! use mote_simd::gemm::{MatMut, MatRef, sgemm};
//!
//! // Y (2×3) = X (2×4) · Wᵀ, with W stored [out = 3][in = 4].
//! let x = [1.0, 2.0, 3.0, 4.0, -1.0, 0.0, 1.0, 0.5];
//! let w = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
//! let mut y = [f32::NAN; 6]; // β = 0: never read
//! sgemm(
//!     1.0,
//!     MatRef::row_major(&x, 2, 4)?,
//!     MatRef::row_major(&w, 3, 4)?.t(),
//!     0.0,
//!     MatMut::row_major(&mut y, 2, 3)?,
//! )?;
//! assert_eq!(y, [1.0, 2.0, 10.0, -1.0, 0.0, 0.5]);
//! # Ok::<(), mote_core::Error>(())
//! ```
//!
//! ## How it runs
//!
//! `m = 1` or `n = 1` is a matrix–vector product (dot products when the matrix rows are
//! contiguous, scaled column sums when its columns are); everything else is
//! cache-blocked as described in [`tune`](crate::tune) (Goto's five loops): blocks of
//! `B` are packed into panels `NR` columns wide and, with the `std` feature, blocks of
//! `A` into micro-panels `MR` rows tall, in per-thread buffers kept between calls; an
//! `MR × NR` register tile of the path in use ([`isa`](crate::isa)) multiplies each
//! pair. Without `std` (bare metal) there is no allocation and no caller scratch: one
//! `KC × NR` panel of `B` lives on the stack and `A` is read in place.
//!
//! ## Exactness
//!
//! f32 throughout, products rounded before addition (no fused multiply-add on the
//! scalar path). In the blocked path each element of `C` sums its products in order of
//! `k` within each `KC` block, and adds the blocks to `C` in order; the matrix–vector
//! paths sum as [`sdot`](crate::dot::sdot) does (row dot products) or in order of `k`
//! (column sums). Results are deterministic for a given target, path and tile sizes;
//! the SIMD paths fuse each multiply-add (see the `arch` modules), so they differ from
//! the scalar path in the last bits, within `tests/tests/f32_linear.rs`'s tolerance
//! against an f64 reference.

mod packed;

pub use packed::{PackedB, sgemm_packed};

use crate::arch::{self, Update};
use crate::tune::{KC, MC, MR, NR, NR_MAX};
use core::mem::MaybeUninit;
use mote_core::error::{check_capacity, check_len};
use mote_core::{Error, ErrorKind, Result};

/// Elements a view of `rows × cols` with these strides spans: one past its last
/// element's index (0 for an empty view).
fn span(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> Result<usize> {
    if rows == 0 || cols == 0 {
        return Ok(0);
    }
    (rows - 1)
        .checked_mul(row_stride)
        .and_then(|r| (cols - 1).checked_mul(col_stride).map(|c| (r, c)))
        .and_then(|(r, c)| r.checked_add(c))
        .and_then(|last| last.checked_add(1))
        .ok_or(Error::new(ErrorKind::Overflow, "gemm: view"))
}

/// A read-only strided view of an f32 matrix: element `(i, j)` is
/// `data[i·row_stride + j·col_stride]`.
///
/// Construction checks that every element lies inside `data`; strides may be anything,
/// including 0 (a broadcast row or column).
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A `rows × cols` view of `data` with the given strides.
    ///
    /// Errors: `BufferTooSmall` when the last element lies outside `data`, `Overflow`
    /// when its index does not fit `usize`.
    pub fn new(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<Self> {
        check_capacity(
            "gemm: view",
            span(rows, cols, row_stride, col_stride)?,
            data.len(),
        )?;
        Ok(Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        })
    }

    /// A row-major `rows × cols` view (row stride `cols`, column stride 1).
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data, rows, cols, cols, 1)
    }

    /// The transpose: the same elements with rows and columns swapped.
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

/// A mutable strided view of an f32 matrix: element `(i, j)` is
/// `data[i·row_stride + j·col_stride]`.
///
/// Construction checks that every element lies inside `data` and that no two elements
/// share a memory location (so a GEMM writes each element once): either
/// `row_stride ≥ cols·col_stride` or `col_stride ≥ rows·row_stride`, with the stride of
/// any dimension longer than 1 non-zero (an empty view is always accepted).
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatMut<'a> {
    /// A `rows × cols` view of `data` with the given strides.
    ///
    /// Errors: `BufferTooSmall` when the last element lies outside `data`, `Overflow`
    /// when its index does not fit `usize`, `ShapeMismatch` when elements overlap.
    pub fn new(
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<Self> {
        check_capacity(
            "gemm: view",
            span(rows, cols, row_stride, col_stride)?,
            data.len(),
        )?;
        let distinct = if rows == 0 || cols == 0 {
            true
        } else if rows == 1 || cols == 1 {
            (rows <= 1 || row_stride != 0) && (cols <= 1 || col_stride != 0)
        } else {
            // span() succeeded, so these products do not overflow.
            (col_stride != 0 && row_stride >= cols * col_stride)
                || (row_stride != 0 && col_stride >= rows * row_stride)
        };
        if !distinct {
            return Err(Error::new(
                ErrorKind::ShapeMismatch,
                "gemm: output view overlaps itself",
            ));
        }
        Ok(Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        })
    }

    /// A row-major `rows × cols` view (row stride `cols`, column stride 1).
    pub fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data, rows, cols, cols, 1)
    }

    /// The transpose: the same elements with rows and columns swapped.
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

/// `C ← α·A·B + β·C` with `A` `m × k`, `B` `k × n`, `C` `m × n`.
///
/// Contract (as in BLAS and `matrixmultiply`):
/// - if `β = 0`, `C` is not read: NaN or garbage there does not propagate;
/// - if `α = 0` or `k = 0`, `A` and `B` are not read and `C ← β·C`;
/// - `m = 0` or `n = 0` is an empty product and does nothing.
///
/// No caller scratch. Without `std`, no allocation either: `B` panels are packed into a
/// stack buffer of `KC·NR_MAX` floats (2 KiB on bare-metal targets). With `std`, each
/// thread allocates its packing buffers (`KC·NC + MC·KC` floats, about 1.1 MiB) on its
/// first product and keeps them (see [`tune`](crate::tune)).
///
/// Errors: `LengthMismatch` when the dimensions disagree (`A` rows vs `C` rows, `A`
/// columns vs `B` rows, `B` columns vs `C` columns).
pub fn sgemm(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: MatMut<'_>) -> Result<()> {
    check_len("gemm: rows of A (rows of C)", c.rows, a.rows)?;
    check_len("gemm: rows of B (columns of A)", a.cols, b.rows)?;
    check_len("gemm: columns of B (columns of C)", c.cols, b.cols)?;
    let (m, k, n) = (c.rows, a.cols, c.cols);
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 || alpha == 0.0 {
        scale(c, beta);
        return Ok(());
    }
    if m == 1 {
        // Cᵀ (n × 1) = Bᵀ (n × k) · aᵀ.
        gemv(alpha, b.t(), a.data, a.col_stride, beta, c.t());
    } else if n == 1 {
        gemv(alpha, a, b.data, b.row_stride, beta, c);
    } else {
        match arch::gemm_shape(n) {
            #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
            arch::GemmShape::Avx512 => {
                use crate::tune::{MR_AVX512, NR_AVX512};
                blocked::<MR_AVX512, NR_AVX512>(alpha, a, b, beta, c)
            }
            #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
            arch::GemmShape::Avx2 => {
                use crate::tune::{MR_AVX2, NR_AVX2};
                blocked::<MR_AVX2, NR_AVX2>(alpha, a, b, beta, c)
            }
            #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
            arch::GemmShape::Neon => blocked::<MR, { crate::tune::NR_NEON }>(alpha, a, b, beta, c),
            arch::GemmShape::Base => blocked::<MR, NR>(alpha, a, b, beta, c),
        }
    }
    Ok(())
}

/// The `Update` of the first `k` block for this `β`.
fn first_update(beta: f32) -> Update {
    if beta == 0.0 {
        Update::Overwrite
    } else if beta == 1.0 {
        // `v + 1·c` and `c + v` are the same rounded sum.
        Update::Accumulate
    } else {
        Update::Scale(beta)
    }
}

/// `C ← β·C` (`C ← 0` without reading when `β = 0`).
fn scale(c: MatMut<'_>, beta: f32) {
    for i in 0..c.rows {
        for j in 0..c.cols {
            let at = i * c.row_stride + j * c.col_stride;
            // SAFETY: i < rows, j < cols: inside the view checked by `MatMut::new`.
            let x = unsafe { c.data.get_unchecked_mut(at) };
            *x = if beta == 0.0 { 0.0 } else { beta * *x };
        }
    }
}

/// `y ← α·M·v + β·y` for `M` `n × k`, `v` the `k` elements `v[p·vs]`, `y` the `n × 1`
/// matrix `c`. Preconditions (checked by `sgemm`): `M` and `c` agree, `v` covers `k`
/// elements at stride `vs`, `k ≥ 1`.
fn gemv(alpha: f32, m: MatRef<'_>, v: &[f32], vs: usize, beta: f32, c: MatMut<'_>) {
    let (n, k) = (m.rows, m.cols);
    let ys = c.row_stride;
    let y = c.data;
    if m.col_stride == 1 && vs == 1 {
        // Rows of M are contiguous: one dot product per output.
        // SAFETY: `v` spans k elements at stride 1 (the view of A or B it came from).
        let v = unsafe { v.get_unchecked(..k) };
        for j in 0..n {
            let start = j * m.row_stride;
            // SAFETY: row j of M spans start..start + k, inside M's checked view.
            let row = unsafe { m.data.get_unchecked(start..start + k) };
            let s = alpha * arch::dot(row, v);
            // SAFETY: j < n rows of the checked output view.
            let yj = unsafe { y.get_unchecked_mut(j * ys) };
            *yj = match first_update(beta) {
                Update::Overwrite => s,
                Update::Scale(beta) => s + beta * *yj,
                Update::Accumulate => *yj + s,
            };
        }
    } else if m.row_stride == 1 && ys == 1 {
        // Columns of M are contiguous: y ← β·y, then y += (α·v[p])·M[:, p] in order of p.
        // SAFETY: the output view has n elements at stride 1.
        let y = unsafe { y.get_unchecked_mut(..n) };
        if beta == 0.0 {
            y.fill(0.0);
        } else if beta != 1.0 {
            y.iter_mut().for_each(|x| *x *= beta);
        }
        for p in 0..k {
            let start = p * m.col_stride;
            // SAFETY: p < k: `v[p·vs]` and column p of M are inside their checked views.
            let (s, col) = unsafe {
                (
                    alpha * *v.get_unchecked(p * vs),
                    m.data.get_unchecked(start..start + n),
                )
            };
            for (yj, &mj) in y.iter_mut().zip(col) {
                *yj += s * mj;
            }
        }
    } else {
        for j in 0..n {
            let mut s = 0.0f32;
            for p in 0..k {
                // SAFETY: j < n, p < k: inside the checked views of M and v.
                s += unsafe {
                    *m.data.get_unchecked(j * m.row_stride + p * m.col_stride)
                        * *v.get_unchecked(p * vs)
                };
            }
            let s = alpha * s;
            // SAFETY: j < n rows of the checked output view.
            let yj = unsafe { y.get_unchecked_mut(j * ys) };
            *yj = if beta == 0.0 { s } else { s + beta * *yj };
        }
    }
}

/// The cache-blocked product for `m, n ≥ 2`, `k ≥ 1` (see [`tune`](crate::tune)) with
/// the shape `S` of one instruction-set path: `MR × W` register tiles, `B` packed in
/// panels `W` columns wide, `A` packed into `MR`-row micro-panels when there is room.
fn blocked<const MR: usize, const W: usize>(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
) {
    const { assert!(W <= NR_MAX && MR >= 1 && MR <= 8) };
    #[cfg(feature = "std")]
    {
        scratch::with(|bufs| blocked_in::<MR, W>(alpha, a, b, beta, c, bufs, None));
    }
    #[cfg(not(feature = "std"))]
    {
        // Not initialised up front: zeroing 16 KiB would cost as much as a small product.
        // The packing writes every element a tile then reads.
        let mut panel = [MaybeUninit::<f32>::uninit(); KC * NR_MAX];
        let bufs = Buffers {
            b: &mut panel,
            a: &mut [],
        };
        blocked_in::<MR, W>(alpha, a, b, beta, c, bufs, None);
    }
}

/// Where [`blocked`] packs `B` (`b`: room for `KC × NC` floats, `NC` a multiple of the
/// panel width, at least one panel) and `A` (`a`: room for `MC × KC` floats, or empty
/// to read `A` in place).
struct Buffers<'s> {
    b: &'s mut [MaybeUninit<f32>],
    a: &'s mut [MaybeUninit<f32>],
}

/// The loops of [`blocked`] (the five of Goto's GEMM): for each `KC` block of `k`, for
/// each `NC` block of columns, `B`'s block is packed once into panels `W` wide; for
/// each `MC` block of rows, `A`'s block is packed into micro-panels `MR` tall (when
/// there is room), then every panel meets every micro-panel in the register tile.
fn blocked_in<const MR: usize, const W: usize>(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
    bufs: Buffers<'_>,
    prepacked: Option<&[f32]>,
) {
    let (m, k, n) = (c.rows, a.cols, c.cols);
    // Prepacked `B` (see `packed`) holds every panel: one column block.
    let nc_max = match prepacked {
        Some(_) => n.div_ceil(W) * W,
        None => (bufs.b.len() / (KC * W)).max(1) * W,
    };
    // Packing A pays when each micro-panel then meets several panels of B; with one
    // panel (n ≤ W, as in most convolutions' GEMMs) it would be a copy for nothing.
    let pack_a = bufs.a.len() >= MC * KC && n > W;
    for pc in (0..k).step_by(KC) {
        let kc = KC.min(k - pc);
        let update = if pc == 0 {
            first_update(beta)
        } else {
            Update::Accumulate
        };
        for jc in (0..n).step_by(nc_max) {
            let nc = nc_max.min(n - jc);
            let panels = nc.div_ceil(W);
            let packed_b: &[f32] = match prepacked {
                // `packed::pack_b` laid out the `kc` rows from `pc` as all panels of
                // `kc × W` floats each, after the `pc` rows before them (checked length).
                Some(pre) => &pre[pc * nc_max..][..panels * kc * W],
                None => {
                    for q in 0..panels {
                        let nr = W.min(nc - q * W);
                        // SAFETY: q < panels ≤ nc_max / W and kc ≤ KC, so the panel lies
                        // inside `bufs.b` (KC·nc_max floats at least).
                        let dst = unsafe { bufs.b.get_unchecked_mut(q * kc * W..(q + 1) * kc * W) };
                        pack_b::<W>(&b, pc, jc + q * W, nr, dst);
                    }
                    // SAFETY: the loop above initialised all panels·kc·W elements;
                    // MaybeUninit<f32> has the layout of f32.
                    unsafe {
                        core::slice::from_raw_parts(bufs.b.as_ptr().cast::<f32>(), panels * kc * W)
                    }
                }
            };
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                let packed_a: Option<&[f32]> = if pack_a {
                    // SAFETY: mc ≤ MC, kc ≤ KC: the block fits `bufs.a`.
                    let dst = unsafe { bufs.a.get_unchecked_mut(..mc.div_ceil(MR) * MR * kc) };
                    pack_a_block::<MR>(&a, ic, mc, pc, dst);
                    // SAFETY: `pack_a_block` initialised every element of `dst`.
                    Some(unsafe {
                        core::slice::from_raw_parts(dst.as_ptr().cast::<f32>(), dst.len())
                    })
                } else {
                    None
                };
                for q in 0..panels {
                    let nr = W.min(nc - q * W);
                    // SAFETY: panel q of `packed_b` (above).
                    let panel = unsafe { packed_b.get_unchecked(q * kc * W..(q + 1) * kc * W) };
                    let jr = jc + q * W;
                    let mut ir = 0;
                    while ir < mc {
                        let r = MR.min(mc - ir);
                        let c_at = (ic + ir) * c.row_stride + jr * c.col_stride;
                        let (a_src, rsa, csa) = match packed_a {
                            // SAFETY: micro-panel ir / MR of the packed block: kc·MR
                            // floats from ir·kc, rows at stride 1, steps of k at MR.
                            Some(pa) => (unsafe { pa.get_unchecked(ir * kc..) }, 1, MR),
                            // SAFETY: row ic + ir < m, column pc < k of the checked view.
                            None => (
                                unsafe {
                                    a.data.get_unchecked(
                                        (ic + ir) * a.row_stride + pc * a.col_stride..,
                                    )
                                },
                                a.row_stride,
                                a.col_stride,
                            ),
                        };
                        // SAFETY: rows ic + ir..ic + ir + r < m and columns pc..pc + kc ≤ k
                        // of A (packed or in place) and columns jr..jr + nr ≤ n of C lie
                        // inside their views, so relative to the starts every element the
                        // tile touches is in bounds; the starts are in bounds because the
                        // tiles are not empty.
                        unsafe {
                            tile::<MR, W>(
                                r,
                                a_src,
                                rsa,
                                csa,
                                panel,
                                alpha,
                                update,
                                c.data.get_unchecked_mut(c_at..),
                                c.row_stride,
                                c.col_stride,
                                nr,
                            );
                        }
                        ir += r;
                    }
                }
            }
        }
    }
}

/// Packs rows `ic..ic + mc`, columns `pc..pc + kc` of `A` (`kc = dst.len() / (MR·⌈mc/MR⌉)`)
/// into micro-panels of `MR` rows: micro-panel `t` holds, for each `p < kc`, the `MR`
/// elements `A[ic + t·MR + i][pc + p]` contiguously (rows past `mc` zero). Every
/// element of `dst` is written.
fn pack_a_block<const MR: usize>(
    a: &MatRef<'_>,
    ic: usize,
    mc: usize,
    pc: usize,
    dst: &mut [MaybeUninit<f32>],
) {
    let (rs, cs) = (a.row_stride, a.col_stride);
    let kc = dst.len() / (mc.div_ceil(MR) * MR);
    for (t, micro) in dst.chunks_exact_mut(kc * MR).enumerate() {
        let rows = MR.min(mc - t * MR);
        let first = ic + t * MR;
        if cs == 1 && rows == MR {
            // Row-major A: the MR rows are MR contiguous streams; each step of k takes
            // one element of each and writes them side by side.
            let starts: [usize; MR] = core::array::from_fn(|i| (first + i) * rs + pc);
            for (p, lane) in micro.chunks_exact_mut(MR).enumerate() {
                for (d, &start) in lane.iter_mut().zip(&starts) {
                    // SAFETY: row first + i < m, column pc + p < k of the checked view.
                    d.write(unsafe { *a.data.get_unchecked(start + p) });
                }
            }
            continue;
        }
        if rs == 1 && rows == MR {
            // Column-major A (a transposed row-major matrix, as for `dYᵀ·X`): each step
            // of k's MR elements lie side by side; one copy each.
            for (p, lane) in micro.chunks_exact_mut(MR).enumerate() {
                let start = first + (pc + p) * cs;
                // SAFETY: rows first..first + MR ≤ m, column pc + p < k of the checked
                // view, with row stride 1.
                let src = unsafe { a.data.get_unchecked(start..start + MR) };
                lane.iter_mut().zip(src).for_each(|(d, &v)| {
                    d.write(v);
                });
            }
            continue;
        }
        for (p, lane) in micro.chunks_exact_mut(MR).enumerate() {
            for (i, d) in lane.iter_mut().enumerate() {
                d.write(if i < rows {
                    // SAFETY: row first + i < m, column pc + p < k of the checked view.
                    unsafe { *a.data.get_unchecked((first + i) * rs + (pc + p) * cs) }
                } else {
                    0.0
                });
            }
        }
    }
}

/// The packing buffers of the host build: one pair per thread, allocated on first use
/// and kept (`KC × NC` and `MC × KC` floats, see [`tune`](crate::tune)).
#[cfg(feature = "std")]
mod scratch {
    extern crate std;
    use super::Buffers;
    use crate::tune::{KC, MC, NC};
    use core::cell::RefCell;
    use core::mem::MaybeUninit;
    use std::boxed::Box;
    use std::vec::Vec;

    type Pair = (Box<[MaybeUninit<f32>]>, Box<[MaybeUninit<f32>]>);

    std::thread_local! {
        static BUFFERS: RefCell<Option<Pair>> = const { RefCell::new(None) };
    }

    fn fresh(len: usize) -> Box<[MaybeUninit<f32>]> {
        let mut v = Vec::with_capacity(len);
        v.resize(len, MaybeUninit::uninit());
        v.into_boxed_slice()
    }

    /// Runs `f` with this thread's buffers (fresh ones if `f` re-enters, which only a
    /// GEMM inside a GEMM could do).
    pub(super) fn with(f: impl FnOnce(Buffers<'_>)) {
        let taken = BUFFERS.with(|cell| cell.try_borrow_mut().ok().and_then(|mut b| b.take()));
        let (mut b, mut a) = taken.unwrap_or_else(|| (fresh(KC * NC), fresh(MC * KC)));
        f(Buffers {
            b: &mut b,
            a: &mut a,
        });
        BUFFERS.with(|cell| {
            if let Ok(mut slot) = cell.try_borrow_mut() {
                *slot = Some((b, a));
            }
        });
    }
}

/// Packs rows `pc..pc + kc` (`kc = panel.len() / W`), columns `jc..jc + nr` of `B` into
/// `panel` as `kc` rows of `W` contiguous floats, columns `nr..W` zero. Every element
/// of `panel` is written.
fn pack_b<const W: usize>(
    b: &MatRef<'_>,
    pc: usize,
    jc: usize,
    nr: usize,
    panel: &mut [MaybeUninit<f32>],
) {
    let (rs, cs) = (b.row_stride, b.col_stride);
    let kc = panel.len() / W;
    if rs == 1 && nr == W {
        // Column-major B (a transposed row-major matrix, as for `x·Wᵀ`): read each of
        // the W columns contiguously and scatter it into its lane of the panel, instead
        // of gathering every row from W places.
        for j in 0..W {
            let start = pc + (jc + j) * cs;
            // SAFETY: rows pc..pc + kc ≤ k, column jc + j < n of the checked view, with
            // row stride 1.
            let col = unsafe { b.data.get_unchecked(start..start + kc) };
            for (dst, &v) in panel.chunks_exact_mut(W).zip(col) {
                // SAFETY: j < W = the chunk's length.
                unsafe { dst.get_unchecked_mut(j) }.write(v);
            }
        }
        return;
    }
    for (p, dst) in panel.chunks_exact_mut(W).enumerate() {
        let start = (pc + p) * rs + jc * cs;
        if cs == 1 && nr == W {
            // SAFETY: row pc + p < k, columns jc..jc + W ≤ n of the checked view.
            let src = unsafe { b.data.get_unchecked(start..start + W) };
            dst.iter_mut().zip(src).for_each(|(d, &s)| {
                d.write(s);
            });
        } else {
            for (j, d) in dst.iter_mut().enumerate() {
                d.write(if j < nr {
                    // SAFETY: row pc + p < k, column jc + j < n of the checked view.
                    unsafe { *b.data.get_unchecked(start + j * cs) }
                } else {
                    0.0
                });
            }
        }
    }
}

/// Calls the `r`-row register tile (`1 ≤ r ≤ MR`).
///
/// # Safety
///
/// As for [`arch::tile`] with `R = r`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn tile<const MR: usize, const W: usize>(
    r: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    panel: &[f32],
    alpha: f32,
    update: Update,
    c: &mut [f32],
    rsc: usize,
    csc: usize,
    nr: usize,
) {
    macro_rules! partial {
        ($($rows:literal)*) => {$(
            // `$rows < MR` is a constant: arms for tiles taller than MR vanish.
            if $rows < MR && r == $rows {
                // SAFETY: forwarded from the caller.
                unsafe { arch::tile::<$rows, W>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr) };
                return;
            }
        )*};
    }
    partial!(1 2 3 4 5 6 7);
    // SAFETY: forwarded from the caller (r = MR).
    unsafe { arch::tile::<MR, W>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f32], b: &[f32]) -> [f32; 64] {
        let mut c = [0.0f32; 64];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * k + p] * b[p * n + j];
                }
            }
        }
        c
    }

    #[test]
    fn small_products_match_naive() {
        // Integer-valued inputs: every path is exact.
        let a: [f32; 40] = core::array::from_fn(|i| (i % 7) as f32 - 3.0);
        let b: [f32; 40] = core::array::from_fn(|i| (i % 5) as f32 - 2.0);
        for (m, n, k) in [
            (1, 5, 8),
            (5, 1, 8),
            (2, 2, 1),
            (5, 8, 5),
            (3, 13, 3),
            (8, 5, 5),
        ] {
            let mut c = [f32::NAN; 64];
            sgemm(
                1.0,
                MatRef::row_major(&a, m, k).unwrap(),
                MatRef::row_major(&b, k, n).unwrap(),
                0.0,
                MatMut::row_major(&mut c, m, n).unwrap(),
            )
            .unwrap();
            assert_eq!(c[..m * n], naive(m, n, k, &a, &b)[..m * n], "{m}x{n}x{k}");
        }
    }

    #[test]
    fn alpha_beta_and_empty() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let mut c = [1.0, 1.0, 1.0, 1.0];
        let eye = [1.0, 0.0, 0.0, 1.0];
        fn v(c: &mut [f32]) -> MatMut<'_> {
            MatMut::row_major(c, 2, 2).unwrap()
        }
        fn r(x: &[f32]) -> MatRef<'_> {
            MatRef::row_major(x, 2, 2).unwrap()
        }
        sgemm(2.0, r(&a), r(&eye), 0.5, v(&mut c)).unwrap();
        assert_eq!(c, [2.5, 4.5, 6.5, 8.5]);
        sgemm(0.0, r(&a), r(&eye), 2.0, v(&mut c)).unwrap();
        assert_eq!(c, [5.0, 9.0, 13.0, 17.0]);
        // k = 0 with β = 0 zeroes C without reading it.
        let mut c = [f32::NAN; 4];
        let empty: [f32; 0] = [];
        sgemm(
            1.0,
            MatRef::row_major(&empty, 2, 0).unwrap(),
            MatRef::row_major(&empty, 0, 2).unwrap(),
            0.0,
            v(&mut c),
        )
        .unwrap();
        assert_eq!(c, [0.0; 4]);
    }

    #[test]
    fn invalid_views_and_dimensions() {
        let x = [0.0f32; 6];
        let mut y = [0.0f32; 6];
        assert!(MatRef::new(&x, 2, 3, 3, 1).is_ok());
        assert!(MatRef::new(&x, 2, 4, 3, 1).is_err());
        assert!(MatRef::new(&x, 2, 2, usize::MAX, 1).is_err());
        assert!(MatMut::new(&mut y, 2, 3, 1, 1).is_err()); // overlapping
        assert!(MatMut::new(&mut y, 2, 3, 0, 1).is_err());
        assert!(MatMut::new(&mut y, 2, 3, 1, 2).is_ok()); // column-major
        let a = MatRef::row_major(&x, 2, 3).unwrap();
        let e = sgemm(1.0, a, a, 0.0, MatMut::row_major(&mut y, 2, 3).unwrap());
        assert_eq!(
            e.unwrap_err().kind,
            ErrorKind::LengthMismatch {
                expected: 3,
                actual: 2
            }
        );
    }
}
