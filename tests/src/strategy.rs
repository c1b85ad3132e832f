//! proptest strategies shared by the kernel tests.

use proptest::prelude::*;

/// `len` values uniform in `[-range, range]`.
pub fn values(len: usize, range: f32) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-range..=range, len)
}

/// `len` values at least `gap / 2` apart: distinct multiples of `gap` centred on 0, in
/// random order, each with a jitter below `gap / 4`. For max-pool and other kernels whose
/// finite differences are wrong at ties.
pub fn tie_free(len: usize, gap: f32) -> impl Strategy<Value = Vec<f32>> {
    (
        Just((0..len).collect::<Vec<usize>>()).prop_shuffle(),
        prop::collection::vec(-0.25f32..0.25, len),
    )
        .prop_map(move |(perm, jitter)| {
            let half = len as f32 / 2.0;
            perm.iter()
                .zip(jitter)
                .map(|(&p, j)| (p as f32 - half + j) * gap)
                .collect()
        })
}
