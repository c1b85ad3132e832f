//! Copies of short runs of floats, the inner step of im2col and pooling.

/// `dst ← src` over their common length (the callers' slices are equal) for the
/// short runs of im2col and pooling: fixed 4-float moves inline instead of a `memcpy`
/// call per run, which costs more than a run of 3–24 floats.
#[inline(always)]
pub(crate) fn copy_run(dst: &mut [f32], src: &[f32]) {
    if dst.len() >= 64 {
        let n = dst.len().min(src.len());
        if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
            d.copy_from_slice(s);
        }
        return;
    }
    let mut d = dst.chunks_exact_mut(4);
    let mut s = src.chunks_exact(4);
    for (a, b) in (&mut d).zip(&mut s) {
        a.copy_from_slice(b);
    }
    let (d, s) = (d.into_remainder(), s.remainder());
    match (d, s) {
        ([d0], [s0]) => *d0 = *s0,
        ([d0, d1], [s0, s1]) => (*d0, *d1) = (*s0, *s1),
        ([d0, d1, d2], [s0, s1, s2]) => (*d0, *d1, *d2) = (*s0, *s1, *s2),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_length() {
        let src: [f32; 70] = core::array::from_fn(|i| i as f32);
        for n in 0..70 {
            let mut dst = [-1.0f32; 70];
            copy_run(&mut dst[..n], &src[..n]);
            assert_eq!(&dst[..n], &src[..n]);
            assert!(dst[n..].iter().all(|&v| v == -1.0));
        }
    }
}
