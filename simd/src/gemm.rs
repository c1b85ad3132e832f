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
//! cache-blocked as described in [`tune`](crate::tune): `B` is packed into a
//! `KC × NR` panel on the stack (no allocation, no caller scratch) and an `MR × NR`
//! register tile sweeps it down the rows of `A`, which is read in place.
//!
//! ## Exactness
//!
//! f32 throughout, products rounded before addition (no fused multiply-add on the
//! scalar path). In the blocked path each element of `C` sums its products in order of
//! `k` within each `KC` block, and adds the blocks to `C` in order; the matrix–vector
//! paths sum as [`sdot`](crate::dot::sdot) does (row dot products) or in order of `k`
//! (column sums). Results are deterministic for a given target and tile sizes.

use crate::arch::{self, Update};
use crate::tune::{KC, MC, MR, NR, NR_WIDE};
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
/// No allocation and no scratch: `B` panels are packed into a fixed stack buffer of
/// `KC·NR_WIDE` floats (2 KiB on bare-metal targets, 16 KiB elsewhere; see
/// [`tune`](crate::tune)).
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
    } else if n >= NR_WIDE && arch::wide() {
        blocked::<NR_WIDE>(alpha, a, b, beta, c);
    } else {
        blocked::<NR>(alpha, a, b, beta, c);
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

/// The cache-blocked product for `m, n ≥ 2`, `k ≥ 1` (see [`tune`](crate::tune)), with
/// `B` packed in panels `W` columns wide (`W`, or `NR_WIDE` on the paths that have it).
fn blocked<const W: usize>(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: MatMut<'_>) {
    const { assert!(W <= NR_WIDE) };
    let (m, k, n) = (c.rows, a.cols, c.cols);
    // Not initialised up front: zeroing 16 KiB would cost as much as a small product.
    // `pack_b` writes every element of the part a tile then reads.
    // Sized for the widest panel (W ≤ NR_WIDE): const generics cannot size arrays.
    let mut panel = [MaybeUninit::<f32>::uninit(); KC * NR_WIDE];
    for pc in (0..k).step_by(KC) {
        let kc = KC.min(k - pc);
        let update = if pc == 0 {
            first_update(beta)
        } else {
            Update::Accumulate
        };
        for ic in (0..m).step_by(MC) {
            let mc = MC.min(m - ic);
            for jc in (0..n).step_by(W) {
                let nr = W.min(n - jc);
                // SAFETY: kc ≤ KC and W ≤ NR_WIDE (every instantiation is NR or NR_WIDE).
                let panel = unsafe { panel.get_unchecked_mut(..kc * W) };
                pack_b::<W>(&b, pc, jc, nr, panel);
                // SAFETY: `pack_b` initialised all kc·W elements; MaybeUninit<f32> has
                // the layout of f32.
                let panel: &[f32] =
                    unsafe { core::slice::from_raw_parts(panel.as_ptr().cast::<f32>(), kc * W) };
                let mut ir = ic;
                while ir < ic + mc {
                    let r = MR.min(ic + mc - ir);
                    let a_at = ir * a.row_stride + pc * a.col_stride;
                    let c_at = ir * c.row_stride + jc * c.col_stride;
                    // SAFETY: rows ir..ir + r < m, columns pc..pc + kc ≤ k of A and
                    // jc..jc + nr ≤ n of C lie inside the checked views, so relative to
                    // `a_at` / `c_at` every element the tile touches is in bounds; the
                    // starts are in bounds because the tiles are not empty.
                    unsafe {
                        tile::<W>(
                            r,
                            a.data.get_unchecked(a_at..),
                            a.row_stride,
                            a.col_stride,
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
unsafe fn tile<const W: usize>(
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
