//! The int8 and int16 2-D convolutions against every golden set, element for element
//! (see `tests/data/golden/README.md`).

use mote_core::padding::Padding;
use mote_core::quant::QuantizedMultiplier;
use mote_kernels::{int8, int16};
use mote_tests::golden::{self, Set};

fn multipliers(set: &Set) -> Vec<QuantizedMultiplier> {
    set.ints("multiplier")
        .into_iter()
        .zip(set.ints("shift"))
        .map(|(m, s)| QuantizedMultiplier::new(m as i32, s as i32).unwrap())
        .collect()
}

/// Explicit padding: the file's `pad` before; after, whatever the output size needs.
fn padding(set: &Set, axis: &str) -> Padding {
    let input = set.int(&format!("input_{axis}"));
    let output = set.int(&format!("output_{axis}"));
    let kernel = set.int(&format!("kernel_{axis}"));
    let stride = set.int(&format!("stride_{axis}"));
    let dilation = set.int(&format!("dilation_{axis}"));
    let before = set.int(&format!("pad_{axis}"));
    let needed = (output - 1) * stride + (kernel - 1) * dilation + 1;
    Padding::Explicit {
        before: before as usize,
        after: (needed - input - before).max(0) as usize,
    }
}

fn params(set: &Set) -> int8::conv::Params {
    let p = int8::conv::Params::new(
        set.int("batch") as usize,
        set.int("input_h") as usize,
        set.int("input_w") as usize,
        set.int("input_c") as usize,
        set.int("output_c") as usize,
        set.int("kernel_h") as usize,
        set.int("kernel_w") as usize,
    )
    .with_stride(set.int("stride_h") as usize, set.int("stride_w") as usize)
    .with_dilation(
        set.int("dilation_h") as usize,
        set.int("dilation_w") as usize,
    )
    .with_paddings(padding(set, "h"), padding(set, "w"));
    let [_, oh, ow, _] = p.output_shape().unwrap();
    assert_eq!(
        (oh as i64, ow as i64),
        (set.int("output_h"), set.int("output_w")),
        "{}",
        set.name
    );
    p
}

fn quant<'a>(set: &Set, ms: &'a [QuantizedMultiplier]) -> int8::conv::Quant<'a> {
    assert_eq!(ms.len() as i64, set.int("output_c"), "{}", set.name);
    int8::conv::Quant::new(
        set.int("input_zero_point") as i32,
        set.int("weights_zero_point") as i32,
        set.int("output_zero_point") as i32,
        ms,
        set.int("act_min") as i32,
        set.int("act_max") as i32,
    )
}

fn null_bias(set: &Set) -> bool {
    set.json["bias_was_null"].as_bool().unwrap_or(false)
}

#[test]
fn conv2d_s8_golden() {
    let sets = golden::sets("conv2d_s8");
    let mut passed = 0;
    for set in &sets {
        assert_eq!(
            set.json["requantize"], "int32_double_rounding",
            "{}",
            set.name
        );
        let ms = multipliers(set);
        let q = quant(set, &ms);
        let p = params(set);
        let x: Vec<i8> = set.ints("input").into_iter().map(|v| v as i8).collect();
        let w: Vec<i8> = set.ints("weights").into_iter().map(|v| v as i8).collect();
        let b: Vec<i32> = set.ints("bias").into_iter().map(|v| v as i32).collect();
        let expected: Vec<i8> = set
            .ints("expected_output")
            .into_iter()
            .map(|v| v as i8)
            .collect();
        let mut y = vec![0i8; expected.len()];
        let bias = (!null_bias(set)).then_some(&b[..]);
        int8::conv::forward(&p, &q, &x, &w, bias, &mut y)
            .unwrap_or_else(|e| panic!("{}: {e}", set.name));
        assert_eq!(y, expected, "{}", set.name);
        passed += 1;
    }
    println!("conv2d_s8: {passed}/{} golden sets exact", sets.len());
    assert_eq!(passed, 18);
}

#[test]
fn conv2d_s16_golden() {
    let sets = golden::sets("conv2d_s16");
    let mut passed = 0;
    for set in &sets {
        let ms = multipliers(set);
        let q = quant(set, &ms);
        let p = params(set);
        let x: Vec<i16> = set.ints("input").into_iter().map(|v| v as i16).collect();
        let w: Vec<i8> = set.ints("weights").into_iter().map(|v| v as i8).collect();
        let b64: Vec<i64> = set.ints("bias");
        let b32: Vec<i32> = b64.iter().map(|&v| v as i32).collect();
        let bias = match set.json["bias_type"].as_str().unwrap() {
            "int64" => {
                assert_eq!(
                    set.json["requantize"], "int64_reduced_multiplier",
                    "{}",
                    set.name
                );
                (!null_bias(set)).then_some(int16::conv::Bias::I64(&b64))
            }
            "int32" => {
                assert_eq!(
                    set.json["requantize"], "int32_double_rounding",
                    "{}",
                    set.name
                );
                Some(int16::conv::Bias::I32(&b32))
            }
            t => panic!("{}: bias_type {t}", set.name),
        };
        let expected: Vec<i16> = set
            .ints("expected_output")
            .into_iter()
            .map(|v| v as i16)
            .collect();
        let mut y = vec![0i16; expected.len()];
        int16::conv::forward(&p, &q, &x, &w, bias, &mut y)
            .unwrap_or_else(|e| panic!("{}: {e}", set.name));
        assert_eq!(y, expected, "{}", set.name);
        passed += 1;
    }
    println!("conv2d_s16: {passed}/{} golden sets exact", sets.len());
    assert_eq!(passed, 9);
}
