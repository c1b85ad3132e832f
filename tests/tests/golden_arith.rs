//! mote-core's arithmetic against the golden vectors' parameters and against the
//! integer softmax sets, which exercise the gemmlowp functions bit for bit.

use mote_core::fixed::{
    exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1, rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul as srdhm,
};
use mote_core::quant::{QuantizedMultiplier, calculate_input_radius};
use mote_tests::golden::{self, Set};
use serde_json::Value;

/// Every (multiplier, shift) pair in a JSON object, with the key that held it.
fn multiplier_pairs(prefix: &str, v: &Value, out: &mut Vec<(String, i64, i64)>) {
    let Some(obj) = v.as_object() else { return };
    for (key, value) in obj {
        if key == "cmsis_defines" || key == "provenance" {
            continue;
        }
        if let Some(stem) = key.strip_suffix("multiplier") {
            let shift_key = [format!("{stem}shift"), format!("{stem}left_shift")]
                .into_iter()
                .find(|k| obj.contains_key(k));
            let Some(shift_key) = shift_key else { continue };
            let ms: Vec<i64> = match value {
                Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
                v => v.as_i64().into_iter().collect(),
            };
            let ss: Vec<i64> = match &obj[&shift_key] {
                Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
                v => v.as_i64().into_iter().collect(),
            };
            assert_eq!(ms.len(), ss.len(), "{prefix}{key}");
            for (m, s) in ms.into_iter().zip(ss) {
                out.push((format!("{prefix}{key}"), m, s));
            }
        }
        multiplier_pairs(&format!("{prefix}{key}."), value, out);
    }
}

/// Every multiplier/shift pair TFLite produced for the golden sets is a valid
/// QuantizedMultiplier, and quantising its real value again gives the same pair.
#[test]
fn golden_multipliers_round_trip() {
    let mut checked = 0;
    for op in golden::ops() {
        for set in golden::sets(&op) {
            let mut pairs = Vec::new();
            multiplier_pairs("", &set.json, &mut pairs);
            // Pooling has no requantisation; every other set must contribute.
            assert!(
                op.contains("pool") || !pairs.is_empty(),
                "{}: no multipliers found",
                set.name
            );
            for (key, m, s) in pairs {
                let q = QuantizedMultiplier::new(m as i32, s as i32)
                    .unwrap_or_else(|e| panic!("{} {key}: {e}", set.name));
                let again = QuantizedMultiplier::from_real(q.to_real()).unwrap();
                assert_eq!(again, q, "{} {key}: ({m}, {s})", set.name);
                checked += 1;
            }
        }
    }
    // 375 pairs in the 86 sets shipped (per-channel convs carry one per channel).
    assert_eq!(checked, 375);
}

/// diff_min of every int8 softmax set is −CalculateInputRadius(5, left_shift, 31).
#[test]
fn softmax_diff_min_matches_input_radius() {
    for op in ["softmax_s8", "softmax_s8_s16"] {
        for set in golden::sets(op) {
            let shift = set.int("input_left_shift") as u32;
            assert_eq!(
                set.int("diff_min"),
                -(calculate_input_radius(5, shift, 31) as i64),
                "{}",
                set.name
            );
        }
    }
}

/// TFLite's int8 softmax written with mote-core's primitives, as the golden README
/// states it; `out_bits` is 8 or 16.
fn softmax_row(row: &[i64], set: &Set, out_bits: u32) -> Vec<i64> {
    let multiplier = set.int("input_multiplier") as i32;
    let left_shift = set.int("input_left_shift") as u32;
    let diff_min = set.int("diff_min");
    let max = *row.iter().max().unwrap();
    let exps: Vec<Option<i32>> = row
        .iter()
        .map(|&x| {
            let d = x - max;
            (d >= diff_min).then(|| {
                let z = srdhm((d as i32) << left_shift, multiplier);
                exp_on_negative_values::<5>(z)
            })
        })
        .collect();
    let sum: i32 = exps
        .iter()
        .flatten()
        .map(|&e| rounding_divide_by_pot(e, 12))
        .sum();
    let headroom = (sum as u32).leading_zeros();
    let shifted_scale =
        one_over_one_plus_x_for_x_in_0_1(((sum as u32) << headroom).wrapping_sub(1 << 31) as i32);
    let omin = -(1i64 << (out_bits - 1));
    let omax = (1i64 << (out_bits - 1)) - 1;
    exps.iter()
        .map(|e| match e {
            None => omin,
            Some(e) => {
                let bits = 12 - headroom as i32 + 31 - out_bits as i32;
                let y = rounding_divide_by_pot(srdhm(shifted_scale, *e), bits as u32) as i64;
                (y + omin).clamp(omin, omax)
            }
        })
        .collect()
}

#[test]
fn softmax_golden_bit_exact() {
    for (op, bits) in [("softmax_s8", 8), ("softmax_s8_s16", 16)] {
        for set in golden::sets(op) {
            let input = set.ints("input");
            let expected = set.ints("expected_output");
            let row_size = set.int("row_size") as usize;
            assert_eq!(input.len(), set.int("num_rows") as usize * row_size);
            let got: Vec<i64> = input
                .chunks(row_size)
                .flat_map(|r| softmax_row(r, &set, bits))
                .collect();
            assert_eq!(got, expected, "{}", set.name);
        }
    }
}
