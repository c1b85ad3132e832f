//! The int8 and int16 depthwise convolutions against every golden set of
//! `depthwise_conv2d_s8` and `depthwise_conv2d_s16`: every output element must be equal.

use mote_core::quant::{QuantizedMultiplier, Rounding};
use mote_kernels::{int8, int16};
use mote_tests::golden::{self, Set};

fn params(set: &Set) -> int8::depthwise::Params {
    let u = |k: &str| set.int(k) as usize;
    let p = int8::depthwise::Params {
        batch: u("batch"),
        in_h: u("input_h"),
        in_w: u("input_w"),
        in_c: u("input_c"),
        multiplier: u("ch_mult"),
        out_h: u("output_h"),
        out_w: u("output_w"),
        kernel_h: u("kernel_h"),
        kernel_w: u("kernel_w"),
        stride_h: u("stride_h"),
        stride_w: u("stride_w"),
        dilation_h: u("dilation_h"),
        dilation_w: u("dilation_w"),
        pad_h: u("pad_h"),
        pad_w: u("pad_w"),
    };
    assert_eq!(p.out_c().unwrap(), u("output_c"), "{}", set.name);
    assert_eq!(set.int("weights_zero_point"), 0, "{}", set.name);
    p
}

fn multipliers(set: &Set) -> Vec<QuantizedMultiplier> {
    set.ints("multiplier")
        .into_iter()
        .zip(set.ints("shift"))
        .map(|(m, s)| QuantizedMultiplier::new(m as i32, s as i32).unwrap())
        .collect()
}

fn bias(set: &Set) -> Option<Vec<i64>> {
    (!set.json["bias_was_null"].as_bool().unwrap_or(false)).then(|| set.ints("bias"))
}

#[test]
fn depthwise_s8_golden_bit_exact() {
    let sets = golden::sets("depthwise_conv2d_s8");
    for set in &sets {
        assert_eq!(
            set.json["requantize"], "int32_double_rounding",
            "{}",
            set.name
        );
        let p = params(set);
        let q = int8::depthwise::Quant {
            input_zero_point: set.int("input_zero_point") as i32,
            output_zero_point: set.int("output_zero_point") as i32,
            act_min: set.int("act_min") as i32,
            act_max: set.int("act_max") as i32,
            rounding: Rounding::Double,
        };
        let input: Vec<i8> = set.ints("input").iter().map(|&v| v as i8).collect();
        let weights: Vec<i8> = set.ints("weights").iter().map(|&v| v as i8).collect();
        let bias: Option<Vec<i32>> = bias(set).map(|b| b.iter().map(|&v| v as i32).collect());
        let expected: Vec<i8> = set
            .ints("expected_output")
            .iter()
            .map(|&v| v as i8)
            .collect();
        let mut out = vec![0i8; p.output_len().unwrap()];
        int8::depthwise::forward(
            &p,
            &q,
            &multipliers(set),
            &input,
            &weights,
            bias.as_deref(),
            &mut out,
        )
        .unwrap_or_else(|e| panic!("{}: {e:?}", set.name));
        assert_eq!(out, expected, "{}", set.name);
    }
    println!(
        "depthwise_conv2d_s8: {} of {} golden files pass",
        sets.len(),
        sets.len()
    );
}

#[test]
fn depthwise_s16_golden_bit_exact() {
    let sets = golden::sets("depthwise_conv2d_s16");
    for set in &sets {
        assert_eq!(
            set.json["requantize"], "int64_reduced_multiplier",
            "{}",
            set.name
        );
        let p = params(set);
        let q = int16::depthwise::Quant {
            input_zero_point: set.int("input_zero_point") as i32,
            output_zero_point: set.int("output_zero_point") as i32,
            act_min: set.int("act_min") as i32,
            act_max: set.int("act_max") as i32,
        };
        let input: Vec<i16> = set.ints("input").iter().map(|&v| v as i16).collect();
        let weights: Vec<i8> = set.ints("weights").iter().map(|&v| v as i8).collect();
        let bias = bias(set);
        let expected: Vec<i16> = set
            .ints("expected_output")
            .iter()
            .map(|&v| v as i16)
            .collect();
        let mut out = vec![0i16; p.output_len().unwrap()];
        int16::depthwise::forward(
            &p,
            &q,
            &multipliers(set),
            &input,
            &weights,
            bias.as_deref(),
            &mut out,
        )
        .unwrap_or_else(|e| panic!("{}: {e:?}", set.name));
        assert_eq!(out, expected, "{}", set.name);
    }
    println!(
        "depthwise_conv2d_s16: {} of {} golden files pass",
        sets.len(),
        sets.len()
    );
}
