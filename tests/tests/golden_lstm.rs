//! The int8 and int16 LSTM kernels against every golden set, element for element (see
//! `tests/data/golden/README.md`, section lstm_s8, lstm_s16). The properties (float
//! comparison, layouts, state, never panicking) are in `int_lstm.rs`.

use mote_core::quant::{QuantizedMultiplier, Rounding};
use mote_kernels::int16::activation::SIGMOID_TABLE;
use mote_kernels::{int8, int16};
use mote_tests::golden::{self, Set};

use int8::lstm::{GateQuant, Params, Quant, State, Weights};

const GATE_NAMES: [&str; 4] = ["input_gate", "forget_gate", "cell_gate", "output_gate"];

fn qm(m: i64, s: i64) -> QuantizedMultiplier {
    QuantizedMultiplier::new(m as i32, s as i32).unwrap()
}

fn params(set: &Set) -> Params {
    Params::new(
        set.int("batch") as usize,
        set.int("time_steps") as usize,
        set.int("input_size") as usize,
        set.int("hidden_size") as usize,
    )
    .in_time_major(set.json["time_major"].as_bool().unwrap())
}

fn quant(set: &Set) -> Quant {
    let gate = |name: &str| {
        let g = &set.json["gates"][name];
        let int = |k: &str| g[k].as_i64().unwrap();
        GateQuant {
            input: qm(int("input_multiplier"), int("input_shift")),
            hidden: qm(int("hidden_multiplier"), int("hidden_shift")),
        }
    };
    Quant {
        input_zero_point: set.int("input_zero_point") as i32,
        hidden_zero_point: set.int("output_zero_point") as i32,
        gates: GATE_NAMES.map(gate),
        forget_to_cell: qm(
            set.int("forget_to_cell_multiplier"),
            set.int("forget_to_cell_shift"),
        ),
        input_to_cell: qm(
            set.int("input_to_cell_multiplier"),
            set.int("input_to_cell_shift"),
        ),
        output: qm(set.int("output_multiplier"), set.int("output_shift")),
        cell_scale_power: set.int("cell_scale_power") as i32,
        // The files hold TFLM's quantised clip; TFLM clips when the float clip is
        // positive, which a positive quantised clip implies.
        cell_clip: (set.int("cell_clip") > 0).then(|| set.int("cell_clip") as i32),
        rounding: Rounding::Double,
    }
}

/// The gates' weights (input, recurrent) and bias concatenated in the order i, f, g, o,
/// after checking the activations the file names.
fn weights(set: &Set) -> (Vec<i8>, Vec<i8>, Vec<i64>) {
    let (mut w, mut u, mut b) = (vec![], vec![], vec![]);
    for (k, name) in GATE_NAMES.iter().enumerate() {
        let g = &set.json["gates"][name];
        let act = if k == 2 { "tanh" } else { "sigmoid" };
        assert_eq!(g["activation"], act, "{}: {name}", set.name);
        let ints = |key: &str| -> Vec<i64> {
            g[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect()
        };
        w.extend(ints("input_weights").into_iter().map(|v| v as i8));
        u.extend(ints("hidden_weights").into_iter().map(|v| v as i8));
        b.extend(ints("bias"));
    }
    (w, u, b)
}

/// Checks what every set shares: the sigmoid table is the kernels', the initial state
/// TFLM's, no clip below the int16 range.
fn common(set: &Set) {
    let table: Vec<i64> = set.ints("sigmoid_table_uint16");
    let ours: Vec<i64> = SIGMOID_TABLE.iter().map(|&v| v.into()).collect();
    assert_eq!(table, ours, "{}: sigmoid table", set.name);
    assert_eq!(
        set.json["rounding"], "tflite_double_rounding",
        "{}",
        set.name
    );
    for key in ["initial_hidden_state", "initial_cell_state"] {
        let s = set.json[key].as_str().unwrap();
        assert!(
            s.contains("output_zero_point") || s.contains("= 0"),
            "{}: {key} {s}",
            set.name
        );
    }
}

#[test]
fn lstm_s8_golden() {
    let sets = golden::sets("lstm_s8");
    let mut passed = 0;
    for set in &sets {
        common(set);
        assert_eq!(set.json["bias_type"], "int32", "{}", set.name);
        assert_eq!(
            set.json["requantize"]["gate_fully_connected"],
            "int32_double_rounding"
        );
        let (p, q) = (params(set), quant(set));
        let (w, u, b) = weights(set);
        let b: Vec<i32> = b.into_iter().map(|v| v as i32).collect();
        let x: Vec<i8> = set.ints("input").into_iter().map(|v| v as i8).collect();
        let expected: Vec<i8> = set
            .ints("expected_output")
            .into_iter()
            .map(|v| v as i8)
            .collect();
        let mut y = vec![0i8; expected.len()];
        let (mut h, mut c) = (
            vec![0i8; p.batch * p.hidden],
            vec![0i16; p.batch * p.hidden],
        );
        let mut state = State {
            h: &mut h,
            c: &mut c,
        };
        state.reset(&q);
        let mut scratch = vec![0i16; int8::lstm::scratch_len(&p)];
        let weights = Weights {
            input: &w,
            recurrent: &u,
            bias: Some(&b),
        };
        int8::lstm::forward(&p, &q, &x, &weights, &mut state, &mut y, &mut scratch)
            .unwrap_or_else(|e| panic!("{}: {e}", set.name));
        assert_eq!(y, expected, "{}", set.name);
        // The state holds the last step's hidden state of every sequence.
        for bi in 0..p.batch {
            let t = p.steps - 1;
            let r = if p.time_major {
                t * p.batch + bi
            } else {
                bi * p.steps + t
            };
            assert_eq!(
                h[bi * p.hidden..(bi + 1) * p.hidden],
                y[r * p.hidden..(r + 1) * p.hidden],
                "{}: final hidden state",
                set.name
            );
        }
        passed += 1;
    }
    println!("lstm_s8: {passed}/{} golden sets exact", sets.len());
    assert_eq!(passed, 3);
}

#[test]
fn lstm_s16_golden() {
    let sets = golden::sets("lstm_s16");
    let mut passed = 0;
    for set in &sets {
        common(set);
        assert_eq!(set.json["bias_type"], "int64", "{}", set.name);
        assert_eq!(
            set.json["requantize"]["gate_fully_connected"],
            "int64_reduced_multiplier"
        );
        let (p, q) = (params(set), quant(set));
        let (w, u, b) = weights(set);
        let x: Vec<i16> = set.ints("input").into_iter().map(|v| v as i16).collect();
        let expected: Vec<i16> = set
            .ints("expected_output")
            .into_iter()
            .map(|v| v as i16)
            .collect();
        let mut y = vec![0i16; expected.len()];
        let (mut h, mut c) = (
            vec![0i16; p.batch * p.hidden],
            vec![0i16; p.batch * p.hidden],
        );
        let mut state = int16::lstm::State {
            h: &mut h,
            c: &mut c,
        };
        state.reset(&q);
        let mut scratch = vec![0i16; int16::lstm::scratch_len(&p)];
        let weights = Weights {
            input: &w,
            recurrent: &u,
            bias: Some(&b),
        };
        int16::lstm::forward(&p, &q, &x, &weights, &mut state, &mut y, &mut scratch)
            .unwrap_or_else(|e| panic!("{}: {e}", set.name));
        assert_eq!(y, expected, "{}", set.name);
        passed += 1;
    }
    println!("lstm_s16: {passed}/{} golden sets exact", sets.len());
    assert_eq!(passed, 3);
}
