//! The linear layers and the GEMM under them against their f64 references: GEMM and dot
//! product, dense, convolution (2-D and 1-D, grouped, both paths), depthwise and
//! transposed convolution, forward and backward, plus invalid parameters.
//!
//! Tolerances. Forward passes on values uniform in [−1, 1] are compared with
//! `abs = 1e-6·K` for sums of `K` products: the rounding of such a sum is about
//! `K·u·|partial sums|` with `u = 6e-8` and partial sums of order 1 (the bound is met
//! with a wide margin for random signs). Gradients are checked by central finite
//! differences of the f64 reference (relative error ≤ 1e-3) on values of the grid of
//! sixteenths in [−1, 1]: every product and partial sum of those is exact in f32, so the
//! check tests the gradient formula and indexing alone, never f32 rounding of tiny
//! gradients; the same exactness lets the im2col and direct paths be compared bit for
//! bit.

use mote_core::padding::{Padding, Window};
use mote_core::rng::Rng;
use mote_kernels::f32::{conv, conv_transpose, dense, depthwise};
use mote_simd::dot::sdot;
use mote_simd::gemm::{MatMut, MatRef, sgemm};
use mote_tests::check::{assert_close, assert_gradient, dot, widen};
use mote_tests::config;
use mote_tests::reference::linear as reference;
use mote_tests::strategy::values;
use proptest::prelude::*;

// ---- strategies ---------------------------------------------------------------------

/// Values on the grid of sixteenths in [−1, 1] (see the module docs).
fn grid(len: usize) -> BoxedStrategy<Vec<f32>> {
    prop::collection::vec((-16i32..=16).prop_map(|v| v as f32 / 16.0), len).boxed()
}

/// Grid values when `exact`, else uniform in [−1, 1].
fn vals(len: usize, exact: bool) -> BoxedStrategy<Vec<f32>> {
    if exact {
        grid(len)
    } else {
        values(len, 1.0).boxed()
    }
}

fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![
        Just(Padding::Valid),
        Just(Padding::Same),
        (0usize..3, 0usize..3).prop_map(|(before, after)| Padding::Explicit { before, after }),
    ]
}

fn window(max_size: usize) -> impl Strategy<Value = Window> {
    (1..=max_size, 1usize..=3, 1usize..=2).prop_map(|(size, stride, dilation)| Window {
        size,
        stride,
        dilation,
    })
}

/// A kernel's parameters with input, weights, bias and an upstream gradient.
#[derive(Debug, Clone)]
struct Case<P> {
    p: P,
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    g: Vec<f32>,
}

impl<P> Case<P> {
    fn wide(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        (
            widen(&self.x),
            widen(&self.w),
            widen(&self.b),
            widen(&self.g),
        )
    }
}

/// Values for `p` given its `(input, weights, bias, output)` lengths.
fn case<P: Clone + core::fmt::Debug + 'static>(
    params: impl Strategy<Value = P>,
    lens: fn(&P) -> [usize; 4],
    exact: bool,
) -> impl Strategy<Value = Case<P>> {
    params.prop_flat_map(move |p| {
        let [x, w, b, y] = lens(&p);
        (
            Just(p),
            vals(x, exact),
            vals(w, exact),
            vals(b, exact),
            vals(y, exact),
        )
            .prop_map(|(p, x, w, b, g)| Case { p, x, w, b, g })
    })
}

fn conv_params(max_hw: usize, max_c: usize) -> impl Strategy<Value = conv::Params> {
    (
        (1usize..=2, 1..=max_hw, 1..=max_hw),
        (1..=max_c, 1..=max_c, 1usize..=3),
        (window(4), window(4), padding(), padding()),
    )
        .prop_map(
            |((batch, in_h, in_w), (cg, og, groups), (wh, ww, ph, pw))| conv::Params {
                batch,
                in_h,
                in_w,
                in_c: cg * groups,
                out_c: og * groups,
                window_h: wh,
                window_w: ww,
                padding_h: ph,
                padding_w: pw,
                groups,
            },
        )
        .prop_filter("valid convolution", |p| p.output_shape().is_ok())
}

fn conv_lens(p: &conv::Params) -> [usize; 4] {
    let ok = |r: mote_core::Result<usize>| r.unwrap_or(0);
    [
        ok(p.input_len()),
        ok(p.weights_len()),
        p.out_c,
        ok(p.output_len()),
    ]
}

fn conv1d_params() -> impl Strategy<Value = conv::Params1d> {
    (
        1usize..=2,
        1usize..=9,
        1usize..=3,
        1usize..=3,
        1usize..=2,
        window(5),
        padding(),
    )
        .prop_map(
            |(batch, len, cg, og, groups, window, padding)| conv::Params1d {
                batch,
                len,
                in_c: cg * groups,
                out_c: og * groups,
                window,
                padding,
                groups,
            },
        )
        .prop_filter("valid convolution", |p| p.output_positions().is_ok())
}

fn conv1d_lens(p: &conv::Params1d) -> [usize; 4] {
    conv_lens(&p.to_2d())
}

fn depthwise_params(max_hw: usize, max_c: usize) -> impl Strategy<Value = depthwise::Params> {
    (
        (1usize..=2, 1..=max_hw, 1..=max_hw, 1..=max_c, 1usize..=3),
        (window(4), window(4), padding(), padding()),
    )
        .prop_map(
            |((batch, in_h, in_w, channels, multiplier), (wh, ww, ph, pw))| depthwise::Params {
                batch,
                in_h,
                in_w,
                channels,
                multiplier,
                window_h: wh,
                window_w: ww,
                padding_h: ph,
                padding_w: pw,
            },
        )
        .prop_filter("valid convolution", |p| p.output_shape().is_ok())
}

fn depthwise_lens(p: &depthwise::Params) -> [usize; 4] {
    let ok = |r: mote_core::Result<usize>| r.unwrap_or(0);
    [
        ok(p.input_len()),
        ok(p.weights_len()),
        p.channels * p.multiplier,
        ok(p.output_len()),
    ]
}

fn transpose_params(max_hw: usize) -> impl Strategy<Value = conv_transpose::Params> {
    (
        (1usize..=2, 1..=max_hw, 1..=max_hw, 1usize..=3, 1usize..=3),
        (
            window(4),
            window(4),
            padding(),
            padding(),
            0usize..3,
            0usize..3,
        ),
    )
        .prop_map(
            |((batch, in_h, in_w, in_c, out_c), (wh, ww, ph, pw, oph, opw))| {
                conv_transpose::Params {
                    batch,
                    in_h,
                    in_w,
                    in_c,
                    out_c,
                    window_h: wh,
                    window_w: ww,
                    padding_h: ph,
                    padding_w: pw,
                    output_padding_h: oph,
                    output_padding_w: opw,
                }
            },
        )
        .prop_filter("valid transposed convolution", |p| p.output_shape().is_ok())
}

fn transpose_lens(p: &conv_transpose::Params) -> [usize; 4] {
    let ok = |r: mote_core::Result<usize>| r.unwrap_or(0);
    [
        ok(p.input_len()),
        ok(p.weights_len()),
        p.out_c,
        ok(p.output_len()),
    ]
}

fn dense_params() -> impl Strategy<Value = dense::Params> {
    (1usize..=5, 1usize..=40, 1usize..=20).prop_map(|(b, i, o)| dense::Params::new(b, i, o))
}

fn dense_lens(p: &dense::Params) -> [usize; 4] {
    [
        p.batch * p.inputs,
        p.outputs * p.inputs,
        p.outputs,
        p.batch * p.outputs,
    ]
}

/// Absolute tolerance for sums of `k` products of values in [−1, 1] (module docs).
fn tol(k: usize) -> f64 {
    1e-6 * k as f64
}

/// `buf − 1`: gradients are accumulated onto buffers of ones to check the `+=`.
fn minus_one(buf: &[f32]) -> Vec<f32> {
    buf.iter().map(|v| v - 1.0).collect()
}

/// Checks gradients `[dx, dw, db]` (accumulated onto ones) of a linear layer `y =
/// reference(x, w, b)` against finite differences of `g·y`.
#[allow(clippy::type_complexity)]
fn check_gradients(
    what: &str,
    [dx, dw, db]: [&[f32]; 3],
    (x, w, b, g): (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>),
    reference: &dyn Fn(&[f64], &[f64], &[f64]) -> Vec<f64>,
) {
    let (dx, dw, db) = (minus_one(dx), minus_one(dw), minus_one(db));
    assert_gradient(
        &format!("{what}: input"),
        &dx,
        &mut |v| dot(&g, &reference(v, &w, &b)),
        &x,
        1e-3,
    );
    assert_gradient(
        &format!("{what}: weights"),
        &dw,
        &mut |v| dot(&g, &reference(&x, v, &b)),
        &w,
        1e-3,
    );
    assert_gradient(
        &format!("{what}: bias"),
        &db,
        &mut |v| dot(&g, &reference(&x, &w, v)),
        &b,
        1e-3,
    );
}

// ---- GEMM and dot ---------------------------------------------------------------------

/// A matrix stored row- or column-major with a padded leading dimension and an offset.
#[derive(Debug, Clone, Copy)]
struct Layout {
    col_major: bool,
    pad: usize,
    offset: usize,
}

fn layout() -> impl Strategy<Value = Layout> {
    (any::<bool>(), 0usize..3, 0usize..3).prop_map(|(col_major, pad, offset)| Layout {
        col_major,
        pad,
        offset,
    })
}

/// Storage for a `rows × cols` matrix in `layout`, filled with `fill` and then the
/// elements; returns the buffer and the strides.
fn store(
    layout: Layout,
    rows: usize,
    cols: usize,
    fill: f32,
    elem: &mut dyn FnMut(usize, usize) -> f32,
) -> (Vec<f32>, usize, usize) {
    let (rs, cs) = if layout.col_major {
        (1, rows + layout.pad)
    } else {
        (cols + layout.pad, 1)
    };
    let len = layout.offset + rows.max(1) * cols.max(1) + layout.pad * rows.max(cols) + 1;
    let mut buf = vec![fill; len];
    for i in 0..rows {
        for j in 0..cols {
            buf[layout.offset + i * rs + j * cs] = elem(i, j);
        }
    }
    (buf, rs, cs)
}

/// Runs `sgemm` on random `m × k` and `k × n` matrices in the given layouts against the
/// f64 reference. With `β = 0`, `C` starts as NaN, which must not propagate.
#[allow(clippy::too_many_arguments)]
fn check_gemm(
    (m, k, n): (usize, usize, usize),
    la: Layout,
    lb: Layout,
    lc: Layout,
    alpha: f32,
    beta: f32,
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    let (a, ars, acs) = store(la, m, k, f32::NAN, &mut |_, _| rng.uniform(-1.0, 1.0));
    let (b, brs, bcs) = store(lb, k, n, f32::NAN, &mut |_, _| rng.uniform(-1.0, 1.0));
    let c0 = if beta == 0.0 { f32::NAN } else { 0.0 };
    let (mut c, crs, ccs) = store(lc, m, n, f32::INFINITY, &mut |_, _| {
        if beta == 0.0 {
            c0
        } else {
            rng.uniform(-1.0, 1.0)
        }
    });
    let at = |buf: &[f32], rs: usize, cs: usize, off: usize, i: usize, j: usize| {
        buf[off + i * rs + j * cs] as f64
    };
    let want = reference::gemm(
        (m, k, n),
        alpha as f64,
        |i, p| at(&a, ars, acs, la.offset, i, p),
        |p, j| at(&b, brs, bcs, lb.offset, p, j),
        beta as f64,
        |i, j| at(&c, crs, ccs, lc.offset, i, j),
    );
    let untouched = c.clone();
    sgemm(
        alpha,
        MatRef::new(&a[la.offset..], m, k, ars, acs).unwrap(),
        MatRef::new(&b[lb.offset..], k, n, brs, bcs).unwrap(),
        beta,
        MatMut::new(&mut c[lc.offset..], m, n, crs, ccs).unwrap(),
    )
    .unwrap();
    let got: Vec<f32> = (0..m * n)
        .map(|e| c[lc.offset + (e / n) * crs + (e % n) * ccs])
        .collect();
    let scale = (alpha.abs() + beta.abs()) as f64;
    assert_close("gemm", &got, &want, tol(k + 1) * scale, 1e-6);
    // Nothing outside the view was written.
    let ld = if lc.col_major { ccs } else { crs }.max(1);
    for (i, (&after, &before)) in c.iter().zip(&untouched).enumerate() {
        let inside = i.checked_sub(lc.offset).is_some_and(|e| {
            let (major, minor) = (e / ld, e % ld);
            let (r, q) = if lc.col_major {
                (minor, major)
            } else {
                (major, minor)
            };
            r < m && q < n
        });
        if !inside {
            assert!(
                after.to_bits() == before.to_bits(),
                "gemm wrote outside C at {i}"
            );
        }
    }
}

fn scalar() -> impl Strategy<Value = f32> {
    prop_oneof![Just(0.0f32), Just(1.0f32), -2.0f32..2.0]
}

proptest! {
    #![proptest_config(config(256))]

    /// Random small shapes (tiles with every remainder, matrix–vector cases, empty
    /// products), every layout, α and β including 0 and 1.
    #[test]
    fn gemm_matches_reference(
        m in 0usize..=13, k in 0usize..=20, n in 0usize..=19,
        la in layout(), lb in layout(), lc in layout(),
        alpha in scalar(), beta in scalar(), seed in any::<u64>(),
    ) {
        check_gemm((m, k, n), la, lb, lc, alpha, beta, seed);
    }

    #[test]
    fn dot_matches_reference(a in values(70, 1.0), b in values(70, 1.0), len in 0usize..=70) {
        let want: f64 = widen(&a[..len]).iter().zip(widen(&b[..len])).map(|(x, y)| x * y).sum();
        let got = sdot(&a[..len], &b[..len]).unwrap();
        assert_close("dot", &[got], &[want], tol(len), 0.0);
        prop_assert!(sdot(&a[..len], &b[..len / 2]).is_err() || len == 0);
    }

    /// Dimensions, strides and lengths mostly inconsistent: `Err` or `Ok`, never a panic.
    #[test]
    fn gemm_never_panics(
        dims in prop::collection::vec(0usize..6, 12),
        strides in prop::collection::vec(prop_oneof![0usize..8, Just(usize::MAX / 2)], 6),
        lens in prop::collection::vec(0usize..40, 3),
    ) {
        let a = vec![1.0; lens[0]];
        let b = vec![1.0; lens[1]];
        let mut c = vec![1.0; lens[2]];
        let ra = MatRef::new(&a, dims[0], dims[1], strides[0], strides[1]);
        let rb = MatRef::new(&b, dims[2], dims[3], strides[2], strides[3]);
        let rc = MatMut::new(&mut c, dims[4], dims[5], strides[4], strides[5]);
        if let (Ok(ra), Ok(rb), Ok(rc)) = (ra, rb, rc) {
            let consistent = ra.rows() == rc.rows() && ra.cols() == rb.rows() && rb.cols() == rc.cols();
            prop_assert_eq!(sgemm(0.5, ra, rb, 0.0, rc).is_ok(), consistent);
        }
    }
}

/// The small random shapes of `gemm_matches_reference` (up to the widest tile, 32
/// columns), on every path this CPU has in turn.
#[test]
fn gemm_matches_reference_on_every_path() {
    use proptest::test_runner::TestRunner;
    mote_tests::paths::for_each_path(|_| {
        let shapes = (0usize..=13, 0usize..=20, 0usize..=40);
        let views = (layout(), layout(), layout());
        let factors = (scalar(), scalar(), any::<u64>());
        let mut runner = TestRunner::new(config(64));
        let outcome = runner.run(
            &(shapes, views, factors),
            |((m, k, n), (la, lb, lc), (alpha, beta, seed))| {
                check_gemm((m, k, n), la, lb, lc, alpha, beta, seed);
                Ok(())
            },
        );
        if let Err(e) = outcome {
            panic!("{e}");
        }
    });
}

/// Shapes crossing the `KC`, `MC` and `NC` blocks and the register tiles of every path
/// in every direction, on every path this CPU has.
#[test]
fn gemm_across_blocks() {
    mote_tests::paths::for_each_path(|_| gemm_across_blocks_on_this_path());
}

fn gemm_across_blocks_on_this_path() {
    let row = Layout {
        col_major: false,
        pad: 0,
        offset: 0,
    };
    let col = Layout {
        col_major: true,
        pad: 1,
        offset: 2,
    };
    let shapes = [
        (130, 600, 19),
        (3, 513, 70),
        (67, 257, 9),
        (64, 784, 128),
        (1, 700, 33),
        (33, 700, 1),
        (200, 40, 1100),
        (7, 9, 1030),
        (97, 3, 33),
    ];
    for (i, &shape) in shapes.iter().enumerate() {
        for (la, lb, lc) in [
            (row, row, row),
            (row, col, row),
            (col, row, col),
            (col, col, row),
        ] {
            check_gemm(shape, la, lb, lc, 1.0, 0.5, i as u64);
            check_gemm(shape, la, lb, lc, -1.5, 0.0, i as u64 + 100);
        }
    }
}

// ---- dense ------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn dense_forward_matches_reference(c in case(dense_params(), dense_lens, false), with_bias in any::<bool>()) {
        let (x, w, b, _) = c.wide();
        let bias = with_bias.then_some(c.b.as_slice());
        let want = reference::dense(&c.p, &x, &w, with_bias.then_some(b.as_slice()));
        let mut y = vec![f32::NAN; want.len()];
        dense::forward(&c.p, &c.x, &c.w, bias, &mut y).unwrap();
        assert_close("dense", &y, &want, tol(c.p.inputs + 1), 1e-6);
    }

    #[test]
    fn dense_backward_matches_finite_differences(c in case(dense_params(), dense_lens, true)) {
        let (mut dx, mut dw, mut db) = (vec![1.0; c.x.len()], vec![1.0; c.w.len()], vec![1.0; c.b.len()]);
        dense::backward(&c.p, &c.x, &c.w, &c.g, Some(&mut dx), Some(&mut dw), Some(&mut db)).unwrap();
        check_gradients("dense", [&dx, &dw, &db], c.wide(), &|x, w, b| reference::dense(&c.p, x, w, Some(b)));
    }
}

// ---- convolution ------------------------------------------------------------------------

/// Runs both forward paths of a 2-D convolution.
fn conv_both(p: &conv::Params, x: &[f32], w: &[f32], b: Option<&[f32]>) -> (Vec<f32>, Vec<f32>) {
    let len = p.output_len().unwrap();
    let mut scratch = vec![f32::NAN; conv::scratch_len(p)];
    let (mut y, mut yd) = (vec![f32::NAN; len], vec![f32::NAN; len]);
    conv::forward(p, x, w, b, &mut y, &mut scratch).unwrap();
    conv::forward_direct(p, x, w, b, &mut yd).unwrap();
    (y, yd)
}

/// Runs both backward paths of a 2-D convolution; gradients accumulated onto ones.
fn conv_backward_both(c: &Case<conv::Params>) -> [[Vec<f32>; 3]; 2] {
    conv_backward_with(c, conv::scratch_len(&c.p))
}

/// [`conv_backward_both`] with `scratch` floats of scratch for the im2col path.
fn conv_backward_with(c: &Case<conv::Params>, scratch: usize) -> [[Vec<f32>; 3]; 2] {
    let mut scratch = vec![f32::NAN; scratch];
    let run = |direct: bool, scratch: &mut [f32]| {
        let (mut dx, mut dw, mut db) = (
            vec![1.0; c.x.len()],
            vec![1.0; c.w.len()],
            vec![1.0; c.b.len()],
        );
        let (gx, gw, gb) = (Some(&mut dx[..]), Some(&mut dw[..]), Some(&mut db[..]));
        if direct {
            conv::backward_direct(&c.p, &c.x, &c.w, &c.g, gx, gw, gb).unwrap();
        } else {
            conv::backward(&c.p, &c.x, &c.w, &c.g, gx, gw, gb, scratch).unwrap();
        }
        [dx, dw, db]
    };
    [run(false, &mut scratch), run(true, &mut scratch)]
}

proptest! {
    #![proptest_config(config(128))]

    /// Both paths against the reference, with and without bias; stride, dilation,
    /// padding, groups, 1×1 windows and windows larger than the input (SAME/explicit).
    #[test]
    fn conv2d_forward_matches_reference(c in case(conv_params(6, 3), conv_lens, false), with_bias in any::<bool>()) {
        let (x, w, b, _) = c.wide();
        let want = reference::conv2d(&c.p, &x, &w, with_bias.then_some(b.as_slice()));
        let (y, yd) = conv_both(&c.p, &c.x, &c.w, with_bias.then_some(c.b.as_slice()));
        let k = c.p.window_h.size * c.p.window_w.size * c.p.in_c / c.p.groups + 1;
        assert_close("conv2d im2col", &y, &want, tol(k), 1e-6);
        assert_close("conv2d direct", &yd, &want, tol(k), 1e-6);
    }

    /// On exactly representable sums both paths equal the reference, bit for bit.
    #[test]
    fn conv2d_paths_agree_exactly(c in case(conv_params(6, 3), conv_lens, true)) {
        let (x, w, b, _) = c.wide();
        let want = reference::conv2d(&c.p, &x, &w, Some(&b));
        let (y, yd) = conv_both(&c.p, &c.x, &c.w, Some(&c.b));
        assert_close("conv2d im2col", &y, &want, 0.0, 0.0);
        prop_assert_eq!(y, yd);
        let [im2col, direct] = conv_backward_both(&c);
        prop_assert_eq!(im2col, direct);
    }

    /// Scratch for several images (and a part of one more) makes the im2col path work
    /// on chunks of images in one GEMM; on exact sums it gives the same bits.
    #[test]
    fn conv2d_chunked_scratch_agrees(c in case(conv_params(6, 3), conv_lens, true), images in 2usize..5) {
        let one = conv::scratch_len(&c.p);
        let many = one * images + one / 2;
        let len = c.p.output_len().unwrap();
        let (mut y1, mut y2) = (vec![f32::NAN; len], vec![f32::NAN; len]);
        conv::forward(&c.p, &c.x, &c.w, Some(&c.b), &mut y1, &mut vec![f32::NAN; one]).unwrap();
        conv::forward(&c.p, &c.x, &c.w, Some(&c.b), &mut y2, &mut vec![f32::NAN; many]).unwrap();
        prop_assert_eq!(y1, y2);
        prop_assert_eq!(conv_backward_with(&c, one)[0].clone(), conv_backward_with(&c, many)[0].clone());

        // Backward straight after forward reuses forward's columns: same gradients.
        let mut scratch = vec![f32::NAN; one * c.p.batch];
        let mut y3 = vec![f32::NAN; len];
        conv::forward(&c.p, &c.x, &c.w, Some(&c.b), &mut y3, &mut scratch).unwrap();
        let (mut dx, mut dw, mut db) = (vec![1.0; c.x.len()], vec![1.0; c.w.len()], vec![1.0; c.b.len()]);
        conv::backward_after_forward(
            &c.p, &c.x, &c.w, &c.g, Some(&mut dx), Some(&mut dw), Some(&mut db), &mut scratch,
        )
        .unwrap();
        prop_assert_eq!([dx, dw, db], conv_backward_with(&c, one)[0].clone());
    }

    #[test]
    fn conv2d_backward_matches_finite_differences(c in case(conv_params(5, 2), conv_lens, true)) {
        let [im2col, direct] = conv_backward_both(&c);
        for (path, [dx, dw, db]) in [("im2col", im2col), ("direct", direct)] {
            check_gradients(&format!("conv2d {path}"), [&dx, &dw, &db], c.wide(), &|x, w, b| {
                reference::conv2d(&c.p, x, w, Some(b))
            });
        }
    }

    #[test]
    fn conv1d_matches_reference(c in case(conv1d_params(), conv1d_lens, false)) {
        let (x, w, b, _) = c.wide();
        let want = reference::conv1d(&c.p, &x, &w, Some(&b));
        let mut scratch = vec![f32::NAN; conv::scratch_len_1d(&c.p)];
        let (mut y, mut yd) = (vec![f32::NAN; want.len()], vec![f32::NAN; want.len()]);
        conv::forward_1d(&c.p, &c.x, &c.w, Some(&c.b), &mut y, &mut scratch).unwrap();
        conv::forward_1d_direct(&c.p, &c.x, &c.w, Some(&c.b), &mut yd).unwrap();
        let k = c.p.window.size * c.p.in_c / c.p.groups + 1;
        assert_close("conv1d im2col", &y, &want, tol(k), 1e-6);
        assert_close("conv1d direct", &yd, &want, tol(k), 1e-6);
    }

    #[test]
    fn conv1d_backward_matches_finite_differences(c in case(conv1d_params(), conv1d_lens, true)) {
        let mut scratch = vec![f32::NAN; conv::scratch_len_1d(&c.p)];
        for direct in [false, true] {
            let (mut dx, mut dw, mut db) = (vec![1.0; c.x.len()], vec![1.0; c.w.len()], vec![1.0; c.b.len()]);
            let (gx, gw, gb) = (Some(&mut dx[..]), Some(&mut dw[..]), Some(&mut db[..]));
            if direct {
                conv::backward_1d_direct(&c.p, &c.x, &c.w, &c.g, gx, gw, gb).unwrap();
            } else {
                conv::backward_1d(&c.p, &c.x, &c.w, &c.g, gx, gw, gb, &mut scratch).unwrap();
            }
            check_gradients("conv1d", [&dx, &dw, &db], c.wide(), &|x, w, b| reference::conv1d(&c.p, x, w, Some(b)));
        }
    }
}

// ---- depthwise --------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn depthwise_forward_matches_reference(c in case(depthwise_params(7, 19), depthwise_lens, false), with_bias in any::<bool>()) {
        let (x, w, b, _) = c.wide();
        let want = reference::depthwise(&c.p, &x, &w, with_bias.then_some(b.as_slice()));
        let mut y = vec![f32::NAN; want.len()];
        depthwise::forward(&c.p, &c.x, &c.w, with_bias.then_some(c.b.as_slice()), &mut y).unwrap();
        let k = c.p.window_h.size * c.p.window_w.size + 1;
        assert_close("depthwise", &y, &want, tol(k), 1e-6);
    }

    #[test]
    fn depthwise_backward_matches_finite_differences(c in case(depthwise_params(5, 4), depthwise_lens, true)) {
        let (mut dx, mut dw, mut db) = (vec![1.0; c.x.len()], vec![1.0; c.w.len()], vec![1.0; c.b.len()]);
        depthwise::backward(&c.p, &c.x, &c.w, &c.g, Some(&mut dx), Some(&mut dw), Some(&mut db)).unwrap();
        check_gradients("depthwise", [&dx, &dw, &db], c.wide(), &|x, w, b| reference::depthwise(&c.p, x, w, Some(b)));
    }
}

// ---- transposed convolution -------------------------------------------------------------

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn conv_transpose_forward_matches_reference(c in case(transpose_params(5), transpose_lens, false), with_bias in any::<bool>()) {
        let (x, w, b, _) = c.wide();
        let want = reference::conv_transpose(&c.p, &x, &w, with_bias.then_some(b.as_slice()));
        let bias = with_bias.then_some(c.b.as_slice());
        let mut scratch = vec![f32::NAN; conv_transpose::scratch_len(&c.p)];
        let (mut y, mut yd) = (vec![f32::NAN; want.len()], vec![f32::NAN; want.len()]);
        conv_transpose::forward(&c.p, &c.x, &c.w, bias, &mut y, &mut scratch).unwrap();
        conv_transpose::forward_direct(&c.p, &c.x, &c.w, bias, &mut yd).unwrap();
        // An output receives at most kernel_h·kernel_w·in_c products.
        let k = c.p.window_h.size * c.p.window_w.size * c.p.in_c + 1;
        assert_close("conv_transpose im2col", &y, &want, tol(k), 1e-6);
        assert_close("conv_transpose direct", &yd, &want, tol(k), 1e-6);
    }

    #[test]
    fn conv_transpose_backward_matches_finite_differences(c in case(transpose_params(4), transpose_lens, true)) {
        let mut scratch = vec![f32::NAN; conv_transpose::scratch_len(&c.p)];
        let mut results = Vec::new();
        for direct in [false, true] {
            let (mut dx, mut dw, mut db) = (vec![1.0; c.x.len()], vec![1.0; c.w.len()], vec![1.0; c.b.len()]);
            let (gx, gw, gb) = (Some(&mut dx[..]), Some(&mut dw[..]), Some(&mut db[..]));
            if direct {
                conv_transpose::backward_direct(&c.p, &c.x, &c.w, &c.g, gx, gw, gb).unwrap();
            } else {
                conv_transpose::backward(&c.p, &c.x, &c.w, &c.g, gx, gw, gb, &mut scratch).unwrap();
            }
            check_gradients("conv_transpose", [&dx, &dw, &db], c.wide(), &|x, w, b| {
                reference::conv_transpose(&c.p, x, w, Some(b))
            });
            results.push([dx, dw, db]);
        }
        prop_assert_eq!(&results[0], &results[1]);
    }
}

// ---- invalid parameters -----------------------------------------------------------------

/// A size that is usually small, sometimes zero, sometimes huge.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0usize..6, 1 => Just(usize::MAX), 1 => Just(usize::MAX / 3 + 1)]
}

/// Padding whose explicit amounts may be huge.
fn any_padding() -> impl Strategy<Value = Padding> {
    prop_oneof![
        Just(Padding::Valid),
        Just(Padding::Same),
        (size(), size()).prop_map(|(before, after)| Padding::Explicit { before, after }),
    ]
}

fn any_window() -> impl Strategy<Value = Window> {
    (size(), size(), size()).prop_map(|(size, stride, dilation)| Window {
        size,
        stride,
        dilation,
    })
}

/// Windows for transposed convolutions: huge strides, but size and dilation small.
/// mote-core's `conv_transpose_output` adds the output padding to `(in − 1)·stride +
/// extent` unchecked, which overflows (a panic in debug builds) when the extent is
/// within 3 of `usize::MAX`; that is core's to fix, so these tests avoid it.
fn any_transpose_window() -> impl Strategy<Value = Window> {
    (0usize..6, size(), 0usize..4).prop_map(|(size, stride, dilation)| Window {
        size,
        stride,
        dilation,
    })
}

/// Buffers of random small lengths.
fn buffers() -> impl Strategy<Value = Vec<Vec<f32>>> {
    prop::collection::vec(
        prop_oneof![0usize..80, Just(0)].prop_map(|len| vec![0.5f32; len]),
        8,
    )
}

proptest! {
    #![proptest_config(config(512))]

    /// Random, mostly invalid parameters and lengths for every kernel: a result, never
    /// a panic.
    #[test]
    fn invalid_parameters_never_panic(
        dims in prop::collection::vec(size(), 6),
        windows in (any_window(), any_window()),
        t_windows in (any_transpose_window(), any_transpose_window()),
        paddings in (any_padding(), any_padding()),
        output_padding in (size(), size()),
        mut bufs in buffers(),
    ) {
        let [b0, b1, b2, b3, b4, b5, b6, b7] = &mut bufs[..] else { unreachable!() };
        let conv2d = conv::Params {
            batch: dims[0], in_h: dims[1], in_w: dims[2], in_c: dims[3], out_c: dims[4],
            window_h: windows.0, window_w: windows.1, padding_h: paddings.0, padding_w: paddings.1,
            groups: dims[5],
        };
        let _ = conv::forward(&conv2d, b0, b1, Some(b2), b3, b4);
        let _ = conv::forward_direct(&conv2d, b0, b1, None, b3);
        let _ = conv::backward(&conv2d, b0, b1, b2, Some(b3), Some(b5), Some(b6), b7);
        let _ = conv::backward_direct(&conv2d, b0, b1, b2, Some(b3), Some(b5), None);
        let _ = conv::scratch_len(&conv2d);
        let conv1d = conv::Params1d {
            batch: dims[0], len: dims[1], in_c: dims[3], out_c: dims[4], window: windows.1,
            padding: paddings.1, groups: dims[5],
        };
        let _ = conv::forward_1d(&conv1d, b0, b1, Some(b2), b3, b4);
        let _ = conv::backward_1d_direct(&conv1d, b0, b1, b2, Some(b3), Some(b5), Some(b6));
        let dw = depthwise::Params {
            batch: dims[0], in_h: dims[1], in_w: dims[2], channels: dims[3], multiplier: dims[4],
            window_h: windows.0, window_w: windows.1, padding_h: paddings.0, padding_w: paddings.1,
        };
        let _ = depthwise::forward(&dw, b0, b1, Some(b2), b3);
        let _ = depthwise::backward(&dw, b0, b1, b2, Some(b3), Some(b5), Some(b6));
        let ct = conv_transpose::Params {
            batch: dims[0], in_h: dims[1], in_w: dims[2], in_c: dims[3], out_c: dims[4],
            window_h: t_windows.0, window_w: t_windows.1, padding_h: paddings.0, padding_w: paddings.1,
            output_padding_h: output_padding.0, output_padding_w: output_padding.1,
        };
        let _ = conv_transpose::forward(&ct, b0, b1, Some(b2), b3, b4);
        let _ = conv_transpose::forward_direct(&ct, b0, b1, None, b3);
        let _ = conv_transpose::backward(&ct, b0, b1, b2, Some(b3), Some(b5), Some(b6), b7);
        let _ = conv_transpose::backward_direct(&ct, b0, b1, b2, None, Some(b5), Some(b6));
        let _ = conv_transpose::scratch_len(&ct);
        let d = dense::Params::new(dims[0], dims[1], dims[2]);
        let _ = dense::forward(&d, b0, b1, Some(b2), b3);
        let _ = dense::backward(&d, b0, b1, b2, Some(b3), Some(b5), Some(b6));
    }
}

/// Specific invalid parameters give the documented errors.
#[test]
fn invalid_parameters_are_errors() {
    use mote_core::ErrorKind;
    let p = conv::Params::new(1, 5, 5, 4, 4, 3, 3);
    let (x, w, mut y) = (vec![0.0; 100], vec![0.0; 144], vec![0.0; 36]);
    let mut scratch = vec![0.0; conv::scratch_len(&p)];
    assert!(conv::forward(&p, &x, &w, None, &mut y, &mut scratch).is_ok());
    let kind = |r: mote_core::Result<()>| r.unwrap_err().kind;
    assert_eq!(
        kind(conv::forward(
            &p.with_stride(0, 1),
            &x,
            &w,
            None,
            &mut y,
            &mut scratch
        )),
        ErrorKind::Zero
    );
    assert_eq!(
        kind(conv::forward_direct(
            &p.with_dilation(1, 0),
            &x,
            &w,
            None,
            &mut y
        )),
        ErrorKind::Zero
    );
    assert_eq!(
        kind(conv::forward_direct(
            &p.with_groups(3),
            &x,
            &w,
            None,
            &mut y
        )),
        ErrorKind::ShapeMismatch
    );
    assert_eq!(
        kind(conv::forward_direct(
            &p.with_groups(0),
            &x,
            &w,
            None,
            &mut y
        )),
        ErrorKind::Zero
    );
    assert!(matches!(
        kind(conv::forward_direct(
            &conv::Params::new(1, 2, 5, 4, 4, 3, 3),
            &x,
            &w,
            None,
            &mut y
        )),
        ErrorKind::WindowTooLarge { .. }
    ));
    assert!(matches!(
        kind(conv::forward(&p, &x, &w, None, &mut y, &mut scratch[1..])),
        ErrorKind::BufferTooSmall { .. }
    ));
    assert!(matches!(
        kind(conv::forward_direct(&p, &x[1..], &w, None, &mut y)),
        ErrorKind::LengthMismatch { .. }
    ));
    assert!(matches!(
        kind(conv::forward_direct(&p, &x, &w, Some(&[0.0; 3]), &mut y)),
        ErrorKind::LengthMismatch { .. }
    ));
    assert!(matches!(
        kind(conv::forward_direct(&p, &x, &w, None, &mut y[1..])),
        ErrorKind::LengthMismatch { .. }
    ));
    let mut short = vec![0.0; 143];
    assert!(matches!(
        kind(conv::backward_direct(
            &p,
            &x,
            &w,
            &y,
            None,
            Some(&mut short),
            None
        )),
        ErrorKind::LengthMismatch { .. }
    ));
    // Transposed: output padding must stay below the stride; SAME forbids it.
    let t = conv_transpose::Params::new(1, 3, 3, 2, 2, 3, 3).with_stride(2, 2);
    assert!(t.with_output_padding(1, 1).output_shape().is_ok());
    assert!(t.with_output_padding(2, 0).output_shape().is_err());
    assert!(
        t.with_padding(Padding::Same)
            .with_output_padding(1, 0)
            .output_shape()
            .is_err()
    );
    assert_eq!(
        depthwise::Params::new(1, 3, 3, 2, 0, 1, 1)
            .output_shape()
            .unwrap_err()
            .kind,
        ErrorKind::Zero
    );
    assert_eq!(dense::Params::new(2, 0, 3).batch, 2);
    assert_eq!(
        kind(dense::forward(
            &dense::Params::new(2, 0, 3),
            &[],
            &[],
            None,
            &mut [0.0; 6]
        )),
        ErrorKind::Zero
    );
}

/// Scratch sizes: the documented formula, and none for 1×1 stride-1 unpadded windows.
#[test]
fn scratch_lengths() {
    let p = conv::Params::new(2, 28, 28, 16, 8, 3, 3).with_padding(Padding::Same);
    assert_eq!(conv::scratch_len(&p), 28 * 28 * 9 * 16);
    assert_eq!(conv::scratch_len(&p.with_groups(4)), 28 * 28 * 9 * 4);
    assert_eq!(
        conv::scratch_len(&conv::Params::new(1, 5, 5, 3, 3, 1, 1)),
        0
    );
    assert_eq!(
        conv::scratch_len(&conv::Params::new(1, 5, 5, 3, 3, 1, 1).with_stride(2, 2)),
        9 * 3
    );
    let t = conv_transpose::Params::new(1, 4, 4, 3, 5, 3, 3).with_stride(2, 2);
    assert_eq!(conv_transpose::scratch_len(&t), 4 * 4 * 9 * 5);
}
