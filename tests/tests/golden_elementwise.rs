//! Integer element-wise add and mul against the golden vectors: every file of add_s8,
//! add_s16, mul_s8 and mul_s16 must match element for element.

use mote_core::quant::QuantizedMultiplier;
use mote_kernels::int8::elementwise::{AddParams, MulParams, add_s8, mul_s8};
use mote_kernels::int16::elementwise::{add_s16, mul_s16};
use mote_tests::golden::{self, Set};

fn multiplier(set: &Set, stem: &str) -> QuantizedMultiplier {
    let m = set.int(&format!("{stem}_multiplier")) as i32;
    let s = set.int(&format!("{stem}_shift")) as i32;
    QuantizedMultiplier::new(m, s).unwrap_or_else(|e| panic!("{} {stem}: {e}", set.name))
}

fn add_params(set: &Set) -> AddParams {
    AddParams {
        input1_zero_point: set.int("input1_zero_point") as i32,
        input2_zero_point: set.int("input2_zero_point") as i32,
        output_zero_point: set.int("output_zero_point") as i32,
        left_shift: set.int("left_shift") as u32,
        input1_multiplier: multiplier(set, "input1"),
        input2_multiplier: multiplier(set, "input2"),
        output_multiplier: multiplier(set, "output"),
        act_min: set.int("act_min") as i32,
        act_max: set.int("act_max") as i32,
    }
}

fn mul_params(set: &Set) -> MulParams {
    MulParams {
        input1_zero_point: set.int("input1_zero_point") as i32,
        input2_zero_point: set.int("input2_zero_point") as i32,
        output_zero_point: set.int("output_zero_point") as i32,
        output_multiplier: multiplier(set, "output"),
        act_min: set.int("act_min") as i32,
        act_max: set.int("act_max") as i32,
    }
}

fn ints<T: TryFrom<i64>>(set: &Set, key: &str) -> Vec<T> {
    set.ints(key)
        .into_iter()
        .map(|v| T::try_from(v).unwrap_or_else(|_| panic!("{}: `{key}` out of range", set.name)))
        .collect()
}

/// Runs `kernel` (built from each set) over every set of `op`; prints and returns the
/// number of matching files, panicking after listing every mismatching one.
fn check<T: Copy + Default + Into<i64> + TryFrom<i64>>(
    op: &str,
    kernel: impl Fn(&Set, &[T], &[T], &mut [T]) -> mote_core::Result<()>,
) -> usize {
    let sets = golden::sets(op);
    assert!(!sets.is_empty(), "{op}: no files");
    let mut failed = Vec::new();
    for set in &sets {
        let x1: Vec<T> = ints(set, "input1");
        let x2: Vec<T> = ints(set, "input2");
        let expected = set.ints("expected_output");
        assert_eq!(expected.len() as i64, set.int("size"), "{}", set.name);
        let mut out = vec![T::default(); expected.len()];
        kernel(set, &x1, &x2, &mut out).unwrap_or_else(|e| panic!("{}: {e}", set.name));
        let got: Vec<i64> = out.into_iter().map(Into::into).collect();
        if got != expected {
            let first = got.iter().zip(&expected).position(|(a, b)| a != b);
            eprintln!("{}: MISMATCH (first at {first:?})", set.name);
            failed.push(set.name.clone());
        }
    }
    let passed = sets.len() - failed.len();
    println!("{op}: {passed}/{} files bit-exact", sets.len());
    assert!(failed.is_empty(), "{op}: mismatching files {failed:?}");
    passed
}

#[test]
fn add_s8_golden() {
    check::<i8>("add_s8", |s, a, b, y| add_s8(&add_params(s), a, b, y));
}

#[test]
fn add_s16_golden() {
    check::<i16>("add_s16", |s, a, b, y| add_s16(&add_params(s), a, b, y));
}

#[test]
fn mul_s8_golden() {
    check::<i8>("mul_s8", |s, a, b, y| mul_s8(&mul_params(s), a, b, y));
}

#[test]
fn mul_s16_golden() {
    check::<i16>("mul_s16", |s, a, b, y| mul_s16(&mul_params(s), a, b, y));
}
