//! Properties of shapes, windows and padding: output sizes agree with the window
//! arithmetic, transposed convolution inverts convolution, and invalid parameters give
//! errors, never panics.

use mote_core::Shape;
use mote_core::padding::{Padding, Window, conv_output, conv_transpose_output};
use mote_tests::config;
use proptest::prelude::*;

fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![
        Just(Padding::Valid),
        Just(Padding::Same),
        (0usize..6, 0usize..6).prop_map(|(before, after)| Padding::Explicit { before, after }),
    ]
}

fn window() -> impl Strategy<Value = Window> {
    (1usize..8, 1usize..5, 1usize..4).prop_map(|(size, stride, dilation)| Window {
        size,
        stride,
        dilation,
    })
}

proptest! {
    #![proptest_config(config(2_000))]

    /// The last window fits in the padded input and one more would not.
    #[test]
    fn conv_output_is_the_number_of_fitting_windows(input in 1usize..64, w in window(), p in padding()) {
        let extent = (w.size - 1) * w.dilation + 1;
        match conv_output(input, w, p) {
            Ok(d) => {
                prop_assert!(d.len >= 1);
                let padded = input + d.pad_before + d.pad_after;
                prop_assert!((d.len - 1) * w.stride + extent <= padded);
                if p != Padding::Same {
                    prop_assert!(d.len * w.stride + extent > padded);
                } else {
                    prop_assert_eq!(d.len, input.div_ceil(w.stride));
                    prop_assert!(d.pad_after - d.pad_before <= 1);
                }
            }
            Err(_) => {
                let (b, a) = match p { Padding::Explicit { before, after } => (before, after), _ => (0, 0) };
                prop_assert!(p != Padding::Same && input + b + a < extent);
            }
        }
    }

    /// Convolving the output of a transposed convolution with the same window gives back
    /// the original length, for output padding below the stride (PyTorch also allows
    /// output padding up to the dilation; those extra outputs receive no input).
    #[test]
    fn transpose_inverts_conv(input in 1usize..40, w in window(), p in padding(), op in 0usize..4) {
        let op = op % w.stride;
        if let Ok(t) = conv_transpose_output(input, w, p, op) {
            let back = conv_output(t.len, w, p).unwrap();
            prop_assert_eq!(back.len, input);
        }
    }

    /// Arbitrary (often invalid) parameters return a result without panicking.
    #[test]
    fn never_panics(
        input in any::<usize>(), size in any::<usize>(), stride in any::<usize>(),
        dilation in any::<usize>(), before in any::<usize>(), after in any::<usize>(), op in any::<usize>(),
    ) {
        let w = Window { size, stride, dilation };
        for p in [Padding::Valid, Padding::Same, Padding::Explicit { before, after }] {
            let _ = conv_output(input, w, p);
            let _ = conv_transpose_output(input, w, p, op);
        }
        let dims = [input % 1024, size, stride];
        let _ = Shape::new(&dims).map(|s| (s.len(), s.strides(), s.flatten(1)));
    }

    #[test]
    fn offsets_are_row_major(dims in prop::collection::vec(1usize..6, 0..=4), seed in any::<u64>()) {
        let shape = Shape::new(&dims).unwrap();
        let mut rng = mote_core::rng::Rng::new(seed);
        let index: Vec<usize> = dims.iter().map(|&d| rng.index(d)).collect();
        let strides = shape.strides();
        let expected: usize = index.iter().zip(strides).map(|(i, s)| i * s).sum();
        prop_assert_eq!(shape.offset(&index), Some(expected));
        prop_assert!(expected < shape.len());
    }
}
