//! Integer pooling against the golden vectors: every file of avgpool_s8, avgpool_s16,
//! maxpool_s8 and maxpool_s16 must match element for element.

use mote_kernels::int8::pool::{Params, avg_pool_s8, max_pool_s8};
use mote_kernels::int16::pool::{avg_pool_s16, max_pool_s16};
use mote_tests::golden::{self, Set};

fn params(set: &Set) -> Params {
    let u = |k: &str| usize::try_from(set.int(k)).unwrap();
    assert_eq!(set.int("input_c"), set.int("output_c"), "{}", set.name);
    Params {
        batch: u("batch"),
        input_h: u("input_h"),
        input_w: u("input_w"),
        channels: u("input_c"),
        output_h: u("output_h"),
        output_w: u("output_w"),
        kernel_h: u("kernel_h"),
        kernel_w: u("kernel_w"),
        stride_h: u("stride_h"),
        stride_w: u("stride_w"),
        pad_h: u("pad_h"),
        pad_w: u("pad_w"),
        act_min: set.int("act_min") as i32,
        act_max: set.int("act_max") as i32,
    }
}

type Kernel<T> = fn(&Params, &[T], &mut [T]) -> mote_core::Result<()>;

/// Runs `kernel` over every set of `op`; returns how many matched, panicking on any
/// mismatch after reporting every failing file.
fn check<T: Copy + Default + Into<i64> + TryFrom<i64>>(op: &str, kernel: Kernel<T>) -> usize {
    let sets = golden::sets(op);
    assert!(!sets.is_empty(), "{op}: no files");
    let mut failed = Vec::new();
    for set in &sets {
        let p = params(set);
        let input: Vec<T> = set
            .ints("input")
            .into_iter()
            .map(|v| T::try_from(v).unwrap_or_else(|_| panic!("{}: input out of range", set.name)))
            .collect();
        let expected = set.ints("expected_output");
        let mut out = vec![T::default(); expected.len()];
        kernel(&p, &input, &mut out).unwrap_or_else(|e| panic!("{}: {e}", set.name));
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
fn avgpool_s8_golden() {
    check::<i8>("avgpool_s8", avg_pool_s8);
}

#[test]
fn avgpool_s16_golden() {
    check::<i16>("avgpool_s16", avg_pool_s16);
}

#[test]
fn maxpool_s8_golden() {
    check::<i8>("maxpool_s8", max_pool_s8);
}

#[test]
fn maxpool_s16_golden() {
    check::<i16>("maxpool_s16", max_pool_s16);
}
