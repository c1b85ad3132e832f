//! `B` packed once for many products: a recurrent layer multiplies every time step's
//! state by the same weights, and repacking them per step cost about a fifth of an
//! LSTM's training time.

use super::{MatMut, MatRef, blocked_in, pack_b};
use crate::arch::{self, GemmShape};
use crate::tune::{KC, MR};
use core::mem::MaybeUninit;
use mote_core::Result;
use mote_core::error::{check_capacity, check_len};

/// A `k × n` matrix `B` in the panel layout of the path in use, ready for
/// [`sgemm_packed`]: for each block of `KC` rows, every panel of `W` columns (the
/// tile's width) as `kc × W` floats, columns past `n` zero.
#[derive(Debug, Clone, Copy)]
pub struct PackedB<'s> {
    data: &'s [f32],
    k: usize,
    n: usize,
    shape: GemmShape,
}

/// The panel width of `shape`.
fn width(shape: GemmShape) -> usize {
    match shape {
        #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
        GemmShape::Avx512 => crate::tune::NR_AVX512,
        #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
        GemmShape::Avx2 => crate::tune::NR_AVX2,
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        GemmShape::Neon => crate::tune::NR_NEON,
        GemmShape::Base => crate::tune::NR,
    }
}

impl<'s> PackedB<'s> {
    /// Floats [`pack`](Self::pack) needs for a `k × n` matrix on the path in use
    /// (`k · ⌈n / W⌉ · W`; 0 on overflow).
    pub fn len(k: usize, n: usize) -> usize {
        let w = width(arch::gemm_shape(n));
        n.div_ceil(w)
            .checked_mul(w)
            .and_then(|v| v.checked_mul(k))
            .unwrap_or(0)
    }

    /// Packs `b` into `buf` (at least [`len`](Self::len) floats).
    ///
    /// ```
    /// use mote_simd::gemm::{MatMut, MatRef, PackedB, sgemm, sgemm_packed};
    /// let (a, w) = ([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, 0.5, 2.0, 1.0, -1.0]);
    /// let wt = MatRef::row_major(&w, 3, 2)?.t(); // B = Wᵀ, 2 × 3
    /// let mut buf = vec![0.0; PackedB::len(2, 3)];
    /// let b = PackedB::pack(wt, &mut buf)?;
    /// let (mut y, mut want) = ([0.0; 6], [0.0; 6]);
    /// sgemm_packed(1.0, MatRef::row_major(&a, 2, 2)?, &b, 0.0, MatMut::row_major(&mut y, 2, 3)?)?;
    /// sgemm(1.0, MatRef::row_major(&a, 2, 2)?, wt, 0.0, MatMut::row_major(&mut want, 2, 3)?)?;
    /// assert_eq!(y, want);
    /// # Ok::<(), mote_core::Error>(())
    /// ```
    ///
    /// Errors: `BufferTooSmall` when `buf` is shorter than [`len`](Self::len), or
    /// `Overflow` when that length overflows.
    pub fn pack(b: MatRef<'_>, buf: &'s mut [f32]) -> Result<Self> {
        let (k, n) = (b.rows, b.cols);
        let shape = arch::gemm_shape(n);
        let w = width(shape);
        let need = Self::len(k, n);
        if need == 0 && k != 0 && n != 0 {
            return Err(mote_core::Error::new(
                mote_core::ErrorKind::Overflow,
                "gemm: packed B",
            ));
        }
        check_capacity("gemm: packed B", need, buf.len())?;
        let buf = &mut buf[..need];
        let row = n.div_ceil(w) * w;
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            let block = &mut buf[pc * row..][..kc * row];
            for (q, panel) in block.chunks_exact_mut(kc * w).enumerate() {
                let nr = w.min(n - q * w);
                // SAFETY: MaybeUninit<f32> has the layout of f32, and every f32 is a
                // valid (initialised) MaybeUninit<f32>; `pack_b` only writes.
                let panel: &mut [MaybeUninit<f32>] = unsafe {
                    core::slice::from_raw_parts_mut(panel.as_mut_ptr().cast(), panel.len())
                };
                pack_with(shape, &b, pc, q * w, nr, panel);
            }
        }
        Ok(Self {
            data: buf,
            k,
            n,
            shape,
        })
    }

    /// Rows of `B`.
    pub fn rows(&self) -> usize {
        self.k
    }

    /// Columns of `B`.
    pub fn cols(&self) -> usize {
        self.n
    }
}

/// [`pack_b`] with the panel width of `shape`.
fn pack_with(
    shape: GemmShape,
    b: &MatRef<'_>,
    pc: usize,
    jc: usize,
    nr: usize,
    panel: &mut [MaybeUninit<f32>],
) {
    match shape {
        #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
        GemmShape::Avx512 => pack_b::<{ crate::tune::NR_AVX512 }>(b, pc, jc, nr, panel),
        #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
        GemmShape::Avx2 => pack_b::<{ crate::tune::NR_AVX2 }>(b, pc, jc, nr, panel),
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        GemmShape::Neon => pack_b::<{ crate::tune::NR_NEON }>(b, pc, jc, nr, panel),
        GemmShape::Base => pack_b::<{ crate::tune::NR }>(b, pc, jc, nr, panel),
    }
}

/// `C ← α·A·B + β·C` as [`sgemm`](super::sgemm) computes it on its blocked path (the
/// same bits when `sgemm` takes that path, i.e. for `m, n ≥ 2` on the same
/// instruction-set path), with `B` packed beforehand.
///
/// Errors: `LengthMismatch` when the dimensions disagree.
pub fn sgemm_packed(
    alpha: f32,
    a: MatRef<'_>,
    b: &PackedB<'_>,
    beta: f32,
    c: MatMut<'_>,
) -> Result<()> {
    check_len("gemm: rows of A (rows of C)", c.rows, a.rows)?;
    check_len("gemm: rows of B (columns of A)", a.cols, b.k)?;
    check_len("gemm: columns of B (columns of C)", c.cols, b.n)?;
    if c.rows == 0 || c.cols == 0 {
        return Ok(());
    }
    if b.k == 0 || alpha == 0.0 {
        super::scale(c, beta);
        return Ok(());
    }
    // `b` is not read: its panels are.
    let unused = MatRef {
        data: &[],
        rows: b.k,
        cols: b.n,
        row_stride: 0,
        col_stride: 0,
    };
    let pre = Some(b.data);
    macro_rules! run {
        ($mr:expr, $w:expr) => {{
            #[cfg(feature = "std")]
            super::scratch::with(|bufs| {
                blocked_in::<{ $mr }, { $w }>(alpha, a, unused, beta, c, bufs, pre)
            });
            #[cfg(not(feature = "std"))]
            blocked_in::<{ $mr }, { $w }>(
                alpha,
                a,
                unused,
                beta,
                c,
                super::Buffers {
                    b: &mut [],
                    a: &mut [],
                },
                pre,
            );
        }};
    }
    match b.shape {
        #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
        GemmShape::Avx512 => run!(crate::tune::MR_AVX512, crate::tune::NR_AVX512),
        #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
        GemmShape::Avx2 => run!(crate::tune::MR_AVX2, crate::tune::NR_AVX2),
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        GemmShape::Neon => run!(MR, crate::tune::NR_NEON),
        GemmShape::Base => run!(MR, crate::tune::NR),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::gemm::sgemm;
    use std::vec;
    use std::vec::Vec;

    /// The same bits as `sgemm`'s blocked path, for `B` row- and column-major, `k` over
    /// one `KC` block, `n` not a multiple of the panel width, every `β` case.
    #[test]
    fn packed_products_are_sgemm_bit_for_bit() {
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
        };
        for &(m, k, n) in &[
            (2, 1, 2),
            (3, 5, 7),
            (9, 300, 33),
            (64, 64, 256),
            (5, 17, 100),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| next()).collect();
            let c0: Vec<f32> = (0..m * n).map(|_| next()).collect();
            for transposed in [false, true] {
                let bv = if transposed {
                    MatRef::row_major(&b, n, k).unwrap().t()
                } else {
                    MatRef::row_major(&b, k, n).unwrap()
                };
                let mut buf = vec![f32::NAN; PackedB::len(k, n)];
                let packed = PackedB::pack(bv, &mut buf).unwrap();
                assert_eq!((packed.rows(), packed.cols()), (k, n));
                for beta in [0.0, 1.0, 0.5] {
                    let (mut want, mut got) = (c0.clone(), c0.clone());
                    let av = MatRef::row_major(&a, m, k).unwrap();
                    sgemm(
                        1.5,
                        av,
                        bv,
                        beta,
                        MatMut::row_major(&mut want, m, n).unwrap(),
                    )
                    .unwrap();
                    let c = MatMut::row_major(&mut got, m, n).unwrap();
                    sgemm_packed(1.5, av, &packed, beta, c).unwrap();
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{m}×{k}×{n} t={transposed} β={beta}"
                    );
                }
            }
        }
    }

    #[test]
    fn shapes_are_checked() {
        let b = [0.0f32; 6];
        let mut small = [0.0f32; 1];
        let bv = MatRef::row_major(&b, 2, 3).unwrap();
        assert!(PackedB::pack(bv, &mut small).is_err());
        let mut buf = vec![0.0; PackedB::len(2, 3)];
        let p = PackedB::pack(bv, &mut buf).unwrap();
        let a = [0.0f32; 6];
        let mut c = [0.0f32; 6];
        let wrong = MatRef::row_major(&a, 2, 3).unwrap();
        let c = MatMut::row_major(&mut c, 2, 3).unwrap();
        assert!(sgemm_packed(1.0, wrong, &p, 0.0, c).is_err());
    }
}
