//! The f32 dot product.

use crate::arch;
use mote_core::Result;
use mote_core::error::check_len;

/// `Σ a[i]·b[i]`.
///
/// Summation order: eight interleaved partial sums combined pairwise, then the last
/// `len mod 8` products in order (the scalar path's documented order); products are rounded
/// before addition. The error is that of a sum of `len` rounded products, with the
/// partial sums about `√8` times shorter than a sequential loop's.
///
/// ```
/// let a = [1.0, 2.0, 3.0];
/// assert_eq!(mote_simd::dot::sdot(&a, &[4.0, 5.0, 6.0])?, 32.0);
/// assert!(mote_simd::dot::sdot(&a, &[1.0]).is_err());
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` when the lengths differ.
pub fn sdot(a: &[f32], b: &[f32]) -> Result<f32> {
    check_len("dot: b", a.len(), b.len())?;
    Ok(arch::dot(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_product() {
        let a: [f32; 19] = core::array::from_fn(|i| i as f32);
        let b: [f32; 19] = core::array::from_fn(|i| (i % 3) as f32 - 1.0);
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        for len in 0..=19 {
            let want_len: f32 = a[..len].iter().zip(&b).map(|(x, y)| x * y).sum();
            assert_eq!(sdot(&a[..len], &b[..len]).unwrap(), want_len);
        }
        assert_eq!(sdot(&a, &b).unwrap(), want);
        assert!(sdot(&a, &b[..3]).is_err());
    }
}
