//! Integer softmax against the golden vectors: every file of softmax_s8, softmax_s8_s16
//! and softmax_s16 must match element for element.

use mote_core::quant::{QuantizedMultiplier, SoftmaxScaling};
use mote_kernels::int8::softmax::{self as s8, softmax_s8, softmax_s8_s16};
use mote_kernels::int16::softmax::{self as s16, softmax_s16};
use mote_tests::golden::{self, Set};

fn usize_of(set: &Set, key: &str) -> usize {
    usize::try_from(set.int(key)).unwrap()
}

fn ints<T: TryFrom<i64>>(set: &Set, key: &str) -> Vec<T> {
    set.ints(key)
        .into_iter()
        .map(|v| T::try_from(v).unwrap_or_else(|_| panic!("{}: `{key}` out of range", set.name)))
        .collect()
}

fn s8_params(set: &Set) -> s8::Params {
    s8::Params {
        rows: usize_of(set, "num_rows"),
        row_size: usize_of(set, "row_size"),
        scaling: SoftmaxScaling {
            multiplier: set.int("input_multiplier") as i32,
            left_shift: set.int("input_left_shift") as i32,
            diff_min: set.int("diff_min") as i32,
        },
    }
}

/// Runs `kernel` over every set of `op`; prints and returns the number of matching
/// files, panicking after listing every mismatching one.
fn check<T: Copy + Default + Into<i64>>(
    op: &str,
    kernel: impl Fn(&Set, &mut [T]) -> mote_core::Result<()>,
) -> usize {
    let sets = golden::sets(op);
    assert!(!sets.is_empty(), "{op}: no files");
    let mut failed = Vec::new();
    for set in &sets {
        let expected = set.ints("expected_output");
        let mut out = vec![T::default(); expected.len()];
        kernel(set, &mut out).unwrap_or_else(|e| panic!("{}: {e}", set.name));
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
fn softmax_s8_golden() {
    check::<i8>("softmax_s8", |set, y| {
        softmax_s8(&s8_params(set), &ints::<i8>(set, "input"), y)
    });
}

#[test]
fn softmax_s8_s16_golden() {
    check::<i16>("softmax_s8_s16", |set, y| {
        softmax_s8_s16(&s8_params(set), &ints::<i8>(set, "input"), y)
    });
}

#[test]
fn softmax_s16_golden() {
    check::<i16>("softmax_s16", |set, y| {
        let p = s16::Params {
            rows: usize_of(set, "num_rows"),
            row_size: usize_of(set, "row_size"),
            input_multiplier: QuantizedMultiplier::new(
                set.int("input_multiplier") as i32,
                set.int("input_left_shift") as i32,
            )
            .unwrap(),
        };
        let exp_lut: Vec<i16> = ints(set, "exp_lut");
        let one_by_one_lut: Vec<i16> = ints(set, "one_by_one_lut");
        softmax_s16(&p, &exp_lut, &one_by_one_lut, &ints::<i16>(set, "input"), y)
    });
}

#[test]
fn softmax_s16_tables_are_the_ones_tflite_builds() {
    for set in golden::sets("softmax_s16") {
        let exp: Vec<i16> = ints(&set, "exp_lut");
        let one: Vec<i16> = ints(&set, "one_by_one_lut");
        assert_eq!(exp, s16::exp_lut().to_vec(), "exp_lut");
        assert_eq!(one, s16::one_by_one_lut().to_vec(), "one_by_one_lut");
    }
}
