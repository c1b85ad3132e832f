//! The int8 and int16 fully connected kernels against every golden set, element for
//! element (see `tests/data/golden/README.md`).

use mote_core::quant::QuantizedMultiplier;
use mote_kernels::{int8, int16};
use mote_tests::golden::{self, Set};

/// The set's multipliers (one, or one per output channel).
fn multipliers(set: &Set) -> Vec<QuantizedMultiplier> {
    set.ints("multiplier")
        .into_iter()
        .zip(set.ints("shift"))
        .map(|(m, s)| QuantizedMultiplier::new(m as i32, s as i32).unwrap())
        .collect()
}

fn params(set: &Set) -> int8::dense::Params {
    let p = int8::dense::Params::new(
        set.int("batch") as usize,
        set.int("accum_depth") as usize,
        set.int("output_c") as usize,
    );
    assert_eq!(
        p.inputs as i64,
        set.int("input_h") * set.int("input_w") * set.int("input_c"),
        "{}",
        set.name
    );
    p
}

fn quant<'a>(set: &Set, ms: &'a [QuantizedMultiplier]) -> int8::dense::Quant<'a> {
    let per_channel = set.json["per_channel"].as_bool().unwrap();
    assert_eq!(
        ms.len() != 1 || set.int("output_c") == 1,
        per_channel,
        "{}",
        set.name
    );
    int8::dense::Quant::new(
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
fn fully_connected_s8_golden() {
    let sets = golden::sets("fully_connected_s8");
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
        int8::dense::forward(&p, &q, &x, &w, bias, &mut y)
            .unwrap_or_else(|e| panic!("{}: {e}", set.name));
        assert_eq!(y, expected, "{}", set.name);
        passed += 1;
    }
    println!(
        "fully_connected_s8: {passed}/{} golden sets exact",
        sets.len()
    );
    assert_eq!(passed, 5);
}

#[test]
fn fully_connected_s16_golden() {
    let sets = golden::sets("fully_connected_s16");
    let mut passed = 0;
    for set in &sets {
        assert_eq!(
            set.json["requantize"], "int64_reduced_multiplier",
            "{}",
            set.name
        );
        let ms = multipliers(set);
        let q = quant(set, &ms);
        let p = params(set);
        let x: Vec<i16> = set.ints("input").into_iter().map(|v| v as i16).collect();
        let w: Vec<i8> = set.ints("weights").into_iter().map(|v| v as i8).collect();
        let b: Vec<i64> = set.ints("bias");
        let expected: Vec<i16> = set
            .ints("expected_output")
            .into_iter()
            .map(|v| v as i16)
            .collect();
        let mut y = vec![0i16; expected.len()];
        let bias = (!null_bias(set)).then_some(&b[..]);
        int16::dense::forward(&p, &q, &x, &w, bias, &mut y)
            .unwrap_or_else(|e| panic!("{}: {e}", set.name));
        assert_eq!(y, expected, "{}", set.name);
        passed += 1;
    }
    println!(
        "fully_connected_s16: {passed}/{} golden sets exact",
        sets.len()
    );
    assert_eq!(passed, 2);
}
