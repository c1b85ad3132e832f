//! The int8 transposed convolution against every golden set of `transpose_conv2d_s8`:
//! every output element must be equal.

use mote_core::quant::{QuantizedMultiplier, Rounding};
use mote_kernels::int8::conv_transpose::{Params, Quant, forward};
use mote_tests::golden;

#[test]
fn transpose_conv_s8_golden_bit_exact() {
    let sets = golden::sets("transpose_conv2d_s8");
    for set in &sets {
        assert_eq!(
            set.json["requantize"], "int32_double_rounding",
            "{}",
            set.name
        );
        assert_eq!(set.int("weights_zero_point"), 0, "{}", set.name);
        assert_eq!(
            (set.int("dilation_h"), set.int("dilation_w")),
            (1, 1),
            "{}",
            set.name
        );
        let u = |k: &str| set.int(k) as usize;
        let p = Params {
            batch: u("batch"),
            in_h: u("input_h"),
            in_w: u("input_w"),
            in_c: u("input_c"),
            out_h: u("output_h"),
            out_w: u("output_w"),
            out_c: u("output_c"),
            kernel_h: u("kernel_h"),
            kernel_w: u("kernel_w"),
            stride_h: u("stride_h"),
            stride_w: u("stride_w"),
            pad_h: u("pad_h"),
            pad_w: u("pad_w"),
        };
        let q = Quant {
            input_zero_point: set.int("input_zero_point") as i32,
            output_zero_point: set.int("output_zero_point") as i32,
            act_min: set.int("act_min") as i32,
            act_max: set.int("act_max") as i32,
            rounding: Rounding::Double,
        };
        let multipliers: Vec<QuantizedMultiplier> = set
            .ints("multiplier")
            .into_iter()
            .zip(set.ints("shift"))
            .map(|(m, s)| QuantizedMultiplier::new(m as i32, s as i32).unwrap())
            .collect();
        let input: Vec<i8> = set.ints("input").iter().map(|&v| v as i8).collect();
        let weights: Vec<i8> = set.ints("weights").iter().map(|&v| v as i8).collect();
        let bias: Option<Vec<i32>> = (!set.json["bias_was_null"].as_bool().unwrap_or(false))
            .then(|| set.ints("bias").iter().map(|&v| v as i32).collect());
        let expected: Vec<i8> = set
            .ints("expected_output")
            .iter()
            .map(|&v| v as i8)
            .collect();
        let mut out = vec![0i8; p.output_len().unwrap()];
        forward(
            &p,
            &q,
            &multipliers,
            &input,
            &weights,
            bias.as_deref(),
            &mut out,
        )
        .unwrap_or_else(|e| panic!("{}: {e:?}", set.name));
        assert_eq!(out, expected, "{}", set.name);
    }
    println!(
        "transpose_conv2d_s8: {} of {} golden files pass",
        sets.len(),
        sets.len()
    );
}
