//! Upsampling (nearest, bilinear; integer factors and arbitrary sizes) against the f64
//! reference, backward against finite differences, and invalid parameters.

use mote_kernels::f32::upsample::{self, Mode, Params};
use mote_tests::check::{SUM_FLOOR, assert_gradient_floored};
use mote_tests::check::{assert_close, dot, widen};
use mote_tests::config;
use mote_tests::reference::layers as reference;
use mote_tests::strategy::values;
use proptest::prelude::*;

proptest! {
    #![proptest_config(config(512))]

    /// Upsampling by integer factors and to arbitrary sizes (downsampling included).
    #[test]
    fn upsample_matches_reference(
        (p, x, g) in (
            prop_oneof![Just(Mode::Nearest), Just(Mode::Bilinear)],
            1usize..3, 1usize..6, 1usize..6, 1usize..4, 1usize..10, 1usize..10, any::<bool>(),
        ).prop_flat_map(|(mode, batch, h, w, c, oh, ow, integer)| {
            let p = if integer {
                Params::scaled(mode, batch, h, w, c, 1 + oh % 3, 1 + ow % 3).unwrap()
            } else {
                Params { mode, batch, height: h, width: w, channels: c,
                                   out_height: oh, out_width: ow }
            };
            let out = batch * p.out_height * p.out_width * c;
            (Just(p), values(batch * h * w * c, 1.0), values(out, 1.0))
        })
    ) {
        let out = p.batch * p.out_height * p.out_width * p.channels;
        let mut y = vec![f32::NAN; out];
        upsample::forward(&p, &x, &mut y).unwrap();
        // At most 4 products of magnitude ≤ 1 with weights summing to 1.
        assert_close("upsample", &y, &reference::upsample(&p, &widen(&x)), 1e-6, 1e-6);
        let mut gx = vec![0.0; x.len()];
        upsample::backward(&p, &g, &mut gx).unwrap();
        let g64 = widen(&g);
        assert_gradient_floored("upsample: grad_input", &gx,
            &mut |x| dot(&g64, &reference::upsample(&p, x)), &widen(&x), 1e-3, SUM_FLOOR);
    }

    /// Arbitrary (mostly invalid) parameters and lengths: an `Err` or `Ok`, never a panic.
    #[test]
    fn never_panics(
        dims in prop::collection::vec(0usize..5, 6), lens in prop::collection::vec(0usize..200, 3),
        huge in any::<usize>(), which in 0usize..8, bilinear in any::<bool>(),
    ) {
        let mut d = dims;
        if which < 6 {
            d[which] = huge;
        }
        let mode = if bilinear { Mode::Bilinear } else { Mode::Nearest };
        let p = Params { mode, batch: d[0], height: d[1], width: d[2], channels: d[3],
                         out_height: d[4], out_width: d[5] };
        let x = vec![0.5f32; lens[0]];
        let mut y = vec![0.0f32; lens[1]];
        let mut gx = vec![0.0f32; lens[2]];
        let _ = upsample::forward(&p, &x, &mut y);
        let _ = upsample::backward(&p, &y.clone(), &mut gx);
        let _ = Params::scaled(mode, d[0], d[1], d[2], d[3], d[4], d[5]);
        // With the exact lengths, whatever the sizes.
        if which >= 6 && d.iter().all(|&v| v > 0) {
            let (n_in, n_out) = (d[0] * d[1] * d[2] * d[3], d[0] * d[4] * d[5] * d[3]);
            let x = vec![0.5f32; n_in];
            let mut y = vec![0.0f32; n_out];
            upsample::forward(&p, &x, &mut y).unwrap();
            upsample::backward(&p, &y.clone(), &mut vec![0.0; n_in]).unwrap();
        }
    }
}
