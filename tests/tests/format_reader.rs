//! The `.mote` reader against malformed files: valid models built by hand with the
//! writer read back and run; every truncation, random byte flips (with the stored
//! CRC-32 left alone and recomputed), random values written into header, tensor and op
//! fields, and fully random bytes must give `Err` or a model the executor runs without
//! panicking. Targeted corruptions (dims overflow, offsets past the end, execution order,
//! overlapping plan, misaligned constants, multiplier shifts) must give `Err`.

use mote_core::dtype::DType;
use mote_core::format::{
    AlignedBytes, HEADER, MAGIC, ModelDef, ModelView, OP_RECORD, OpCode, OpDef, PARAMS, QuantDef,
    TENSOR_RECORD, TensorDef, VERSION, crc32,
};
use mote_core::plan::{self, Buffer};
use mote_core::quant::{QuantizedMultiplier, Rounding, softmax_scaling};
use mote_kernels::exec::{Interpreter, Model};
use proptest::prelude::*;

/// Offset of the CRC-32 field in the header.
const CRC_AT: usize = 20;
/// Largest arena the tests (and the fuzz target) allocate for a mutated model.
const MAX_ARENA: usize = 1 << 20;

// ---------------------------------------------------------------------------------------
// Building valid models
// ---------------------------------------------------------------------------------------

/// A deterministic byte stream for weights (xorshift).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn i8s(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() % 255) as u8 ^ 0x80).collect()
    }
}

/// A model under construction: tensors and ops, planned by [`Builder::finish`].
struct Builder {
    def: ModelDef,
    rng: Lcg,
    dtype: DType,
}

/// Per-tensor scale and zero point of arena tensor `t`.
fn quant_of(def: &ModelDef, t: usize) -> (f32, i32) {
    match def.tensors[t].quant {
        QuantDef::PerTensor { scale, zero_point } => (scale, zero_point),
        _ => panic!("not per-tensor"),
    }
}

impl Builder {
    fn new(dtype: DType, input: &[usize], scale: f32, zero_point: i32) -> Self {
        let mut b = Self {
            def: ModelDef::default(),
            rng: Lcg(0x9E37_79B9_7F4A_7C15),
            dtype,
        };
        b.def.input = b.act("input", input, scale, zero_point);
        b
    }

    fn range(&self) -> (i32, i32) {
        match self.dtype {
            DType::I8 => (-128, 127),
            _ => (-32768, 32767),
        }
    }

    /// An arena tensor (offset set by the planner).
    fn act(&mut self, name: &str, dims: &[usize], scale: f32, zero_point: i32) -> usize {
        self.def.tensors.push(TensorDef {
            name: name.into(),
            dtype: self.dtype,
            dims: dims.to_vec(),
            data: None,
            arena_offset: 0,
            quant: QuantDef::PerTensor { scale, zero_point },
        });
        self.def.tensors.len() - 1
    }

    fn constant(&mut self, name: &str, dtype: DType, dims: &[usize], data: Vec<u8>) -> usize {
        self.def.tensors.push(TensorDef {
            name: name.into(),
            dtype,
            dims: dims.to_vec(),
            data: Some(data),
            arena_offset: 0,
            quant: QuantDef::None,
        });
        self.def.tensors.len() - 1
    }

    fn op(&mut self, code: OpCode, inputs: &[usize], output: usize, m: Vec<QuantizedMultiplier>) {
        self.op_with(code, inputs, output, m, [0; PARAMS]);
    }

    fn op_with(
        &mut self,
        code: OpCode,
        inputs: &[usize],
        output: usize,
        multipliers: Vec<QuantizedMultiplier>,
        params: [i32; PARAMS],
    ) {
        let (act_min, act_max) = self.range();
        self.def.ops.push(OpDef {
            code,
            inputs: inputs.to_vec(),
            output,
            multipliers,
            act_min,
            act_max,
            params,
        });
    }

    /// A constant bias of `n` values `value(j)`: i32, or i64 for int16 activations.
    fn bias(&mut self, name: &str, n: usize, value: impl Fn(i64) -> i64) -> usize {
        let bytes: Vec<u8> = (0..n as i64)
            .flat_map(|j| match self.dtype {
                DType::I8 => (value(j) as i32).to_le_bytes().to_vec(),
                _ => value(j).to_le_bytes().to_vec(),
            })
            .collect();
        let dtype = if self.dtype == DType::I8 {
            DType::I32
        } else {
            DType::I64
        };
        self.constant(name, dtype, &[n], bytes)
    }

    /// Weights (i8, per-channel along `axis` or per tensor), a bias (i32, or i64 for
    /// int16 activations) and the multipliers of a weighted op from `x` to an output of
    /// scale `out_scale`.
    fn weights(
        &mut self,
        name: &str,
        x: usize,
        dims: &[usize],
        axis: Option<usize>,
        out_scale: f32,
    ) -> (usize, usize, Vec<QuantizedMultiplier>) {
        let n: usize = dims.iter().product();
        let channels = dims[axis.unwrap_or(0)];
        let data = self.rng.i8s(n);
        let w = self.constant(&format!("{name}/w"), DType::I8, dims, data);
        let scales: Vec<f32> = (0..channels).map(|c| 0.01 + 0.002 * c as f32).collect();
        self.def.tensors[w].quant = match axis {
            Some(axis) => QuantDef::PerChannel {
                axis,
                scales: scales.clone(),
            },
            None => QuantDef::PerTensor {
                scale: scales[0],
                zero_point: 0,
            },
        };
        let (in_scale, _) = quant_of(&self.def, x);
        let b = self.bias(&format!("{name}/b"), channels, |c| (c * 37 - 50) * 3);
        let ms = match axis {
            Some(_) => &scales[..],
            None => &scales[..1],
        };
        let m = ms
            .iter()
            .map(|&s| QuantizedMultiplier::for_conv(in_scale, s, out_scale).unwrap())
            .collect();
        (w, b, m)
    }

    /// CONV_2D, `k`×`k`, stride 1, "same" padding, per-channel weights.
    fn conv(&mut self, x: usize, out_c: usize, k: usize, out_scale: f32) -> usize {
        let d = self.def.tensors[x].dims.clone();
        let (w, b, m) = self.weights("conv", x, &[out_c, k, k, d[3]], Some(0), out_scale);
        let zp = if self.dtype == DType::I8 { -5 } else { 0 };
        let y = self.act("conv", &[d[0], d[1], d[2], out_c], out_scale, zp);
        let p = (k / 2) as i32;
        let mut params = [0; PARAMS];
        params[..8].copy_from_slice(&[1, 1, 1, 1, p, k as i32 - 1 - p, p, k as i32 - 1 - p]);
        self.op_with(OpCode::Conv2d, &[x, w, b], y, m, params);
        y
    }

    /// DEPTHWISE_CONV_2D, `k`×`k`, stride 1, no padding, channel multiplier `mult`.
    fn depthwise(&mut self, x: usize, mult: usize, k: usize, out_scale: f32) -> usize {
        let d = self.def.tensors[x].dims.clone();
        let oc = d[3] * mult;
        let (w, b, m) = self.weights("dw", x, &[1, k, k, oc], Some(3), out_scale);
        let y = self.act("dw", &[d[0], d[1] - k + 1, d[2] - k + 1, oc], out_scale, 3);
        let mut params = [0; PARAMS];
        params[..4].copy_from_slice(&[1, 1, 1, 1]);
        self.op_with(OpCode::DepthwiseConv2d, &[x, w, b], y, m, params);
        y
    }

    /// MAX_POOL_2D or AVERAGE_POOL_2D, 2×2, stride 2 (same quantisation as the input).
    fn pool(&mut self, code: OpCode, x: usize) -> usize {
        let d = self.def.tensors[x].dims.clone();
        let (s, zp) = quant_of(&self.def, x);
        let y = self.act("pool", &[d[0], d[1] / 2, d[2] / 2, d[3]], s, zp);
        let mut params = [0; PARAMS];
        params[..4].copy_from_slice(&[2, 2, 2, 2]);
        self.op_with(code, &[x], y, Vec::new(), params);
        y
    }

    fn reshape(&mut self, x: usize, dims: &[usize]) -> usize {
        let (s, zp) = quant_of(&self.def, x);
        let y = self.act("reshape", dims, s, zp);
        self.op(OpCode::Reshape, &[x], y, Vec::new());
        y
    }

    /// FULLY_CONNECTED with per-tensor weights.
    fn dense(&mut self, x: usize, outputs: usize, out_scale: f32) -> usize {
        let d = self.def.tensors[x].dims.clone();
        let (w, b, m) = self.weights("fc", x, &[outputs, d[1]], None, out_scale);
        let zp = if self.dtype == DType::I8 { 7 } else { 0 };
        let y = self.act("fc", &[d[0], outputs], out_scale, zp);
        self.op(OpCode::FullyConnected, &[x, w, b], y, m);
        y
    }

    /// ADD of `a` and `b` (TFLite's int8 scaling, left shift 20).
    fn add(&mut self, a: usize, b: usize, out_scale: f32) -> usize {
        let ((sa, _), (sb, _)) = (quant_of(&self.def, a), quant_of(&self.def, b));
        let twice = 2.0 * sa.max(sb) as f64;
        let m = |r: f64| QuantizedMultiplier::from_real_smaller_than_one(r).unwrap();
        let ms = vec![
            m(sa as f64 / twice),
            m(sb as f64 / twice),
            m(twice / ((1u64 << 20) as f64 * out_scale as f64)),
        ];
        let dims = self.def.tensors[a].dims.clone();
        let y = self.act("add", &dims, out_scale, -2);
        let mut params = [0; PARAMS];
        params[0] = 20;
        self.op_with(OpCode::Add, &[a, b], y, ms, params);
        y
    }

    /// SOFTMAX (int8 → int8, beta 1).
    fn softmax(&mut self, x: usize) -> usize {
        let (s, _) = quant_of(&self.def, x);
        let sc = softmax_scaling(1.0, s as f64, 5, Rounding::Double).unwrap();
        let dims = self.def.tensors[x].dims.clone();
        let y = self.act("softmax", &dims, 1.0 / 256.0, -128);
        let mut params = [0; PARAMS];
        params[..3].copy_from_slice(&[sc.multiplier, sc.left_shift, sc.diff_min]);
        self.op_with(OpCode::Softmax, &[x], y, Vec::new(), params);
        y
    }

    /// UNIDIRECTIONAL_SEQUENCE_LSTM of `hidden` units over `x` (`[batch, steps,
    /// inputs]`), every step or the last, with its scratch tensor.
    fn lstm(&mut self, x: usize, hidden: usize, sequences: bool, out_scale: f32) -> usize {
        let d = self.def.tensors[x].dims.clone();
        let (steps, inputs) = (d[d.len() - 2], d[d.len() - 1]);
        let batch = d.iter().product::<usize>() / (steps * inputs);
        let (x_scale, _) = quant_of(&self.def, x);
        let data = self.rng.i8s(4 * hidden * inputs);
        let w = self.constant("lstm/w", DType::I8, &[4 * hidden, inputs], data);
        let data = self.rng.i8s(4 * hidden * hidden);
        let u = self.constant("lstm/u", DType::I8, &[4 * hidden, hidden], data);
        let b = self.bias("lstm/b", 4 * hidden, |j| (j * 53 % 401 - 200) * 10);
        let dims = if sequences {
            vec![batch, steps, hidden]
        } else {
            vec![batch, hidden]
        };
        let y = self.act("lstm", &dims, out_scale, 0);
        let state = batch * hidden;
        let scratch_len = state + 4 * hidden + if sequences { state } else { 0 };
        self.def.tensors.push(TensorDef {
            name: "lstm/scratch".into(),
            dtype: DType::I16,
            dims: vec![scratch_len],
            data: None,
            arena_offset: 0,
            quant: QuantDef::None,
        });
        let scratch = self.def.tensors.len() - 1;
        // Weight scale 1/64 for every gate; cell scale 2^-11.
        let m = |r: f64| QuantizedMultiplier::from_real(r).unwrap();
        let mut ms = Vec::new();
        for _ in 0..4 {
            ms.push(m(f64::from(x_scale) / 64.0 * 4096.0));
            ms.push(m(f64::from(out_scale) / 64.0 * 4096.0));
        }
        ms.extend([
            m(2f64.powi(-15)),
            m(2f64.powi(-19)),
            m(2f64.powi(-30) / f64::from(out_scale)),
        ]);
        let mut params = [0; PARAMS];
        params[..3].copy_from_slice(&[scratch as i32, -11, -1]);
        self.op_with(OpCode::Lstm, &[x, w, u, b], y, ms, params);
        y
    }

    /// Plans the arena (reshapes in place over their input) and sets the output.
    fn finish(mut self, output: usize) -> ModelDef {
        let def = &mut self.def;
        def.output = output;
        let last_op = def.ops.len() - 1;
        let arena: Vec<usize> = (0..def.tensors.len())
            .filter(|&t| def.tensors[t].data.is_none())
            .collect();
        let buffer_of = |t: usize| arena.iter().position(|&a| a == t).unwrap();
        let buffers: Vec<Buffer> = arena
            .iter()
            .map(|&t| {
                let producer = def.ops.iter().position(|op| op.output == t);
                let first = producer.unwrap_or(0);
                let readers = def.ops.iter().enumerate();
                let mut last = readers
                    .filter(|(_, op)| op.inputs.contains(&t))
                    .map(|(i, _)| i)
                    .max()
                    .unwrap_or(first);
                if t == output {
                    last = last_op;
                }
                // An LSTM's scratch lives through its operator only.
                let scratch_of = def
                    .ops
                    .iter()
                    .position(|op| op.code == OpCode::Lstm && op.params[0] as usize == t);
                let (first, last) = scratch_of.map_or((first, last), |i| (i, i));
                let buf = Buffer::new(def.tensors[t].bytes(), first, last);
                match producer.map(|i| &def.ops[i]) {
                    Some(op) if op.code == OpCode::Reshape => buf.reusing(buffer_of(op.inputs[0])),
                    _ => buf,
                }
            })
            .collect();
        let p = plan::plan(&buffers, 16).unwrap();
        plan::check(&buffers, &p, 16).unwrap();
        for (&t, &off) in arena.iter().zip(&p.offsets) {
            def.tensors[t].arena_offset = off;
        }
        def.arena_bytes = p.arena_bytes;
        self.def
    }
}

/// int8: conv 3×3 → max pool → reshape → fully connected; with an input transform.
fn model_conv_i8() -> ModelDef {
    let mut b = Builder::new(DType::I8, &[1, 8, 8, 2], 0.02, -10);
    let c = b.conv(b.def.input, 4, 3, 0.05);
    let p = b.pool(OpCode::MaxPool2d, c);
    let r = b.reshape(p, &[1, 64]);
    let y = b.dense(r, 10, 0.1);
    let mut def = b.finish(y);
    def.input_affine = vec![(0.5, -1.0), (2.0, 0.25)];
    def
}

/// int8: depthwise 3×3 (multiplier 2) → average pool → add (with itself) → softmax.
fn model_depthwise_i8() -> ModelDef {
    let mut b = Builder::new(DType::I8, &[1, 6, 6, 3], 0.03, 4);
    let d = b.depthwise(b.def.input, 2, 3, 0.04);
    let p = b.pool(OpCode::AvgPool2d, d);
    let a = b.add(p, p, 0.08);
    let y = b.softmax(a);
    b.finish(y)
}

/// int16: conv 3×3 → max pool → reshape → fully connected.
fn model_conv_i16() -> ModelDef {
    let mut b = Builder::new(DType::I16, &[1, 6, 6, 2], 1.0 / 4096.0, 0);
    let c = b.conv(b.def.input, 4, 3, 1.0 / 1024.0);
    let p = b.pool(OpCode::MaxPool2d, c);
    let r = b.reshape(p, &[1, 36]);
    let y = b.dense(r, 5, 1.0 / 512.0);
    b.finish(y)
}

/// int8: LSTM (every step) → LSTM (the last step) → fully connected.
fn model_lstm_i8() -> ModelDef {
    let mut b = Builder::new(DType::I8, &[1, 7, 3], 0.05, 3);
    let s = b.lstm(b.def.input, 6, true, 1.0 / 128.0);
    let h = b.lstm(s, 5, false, 1.0 / 128.0);
    let y = b.dense(h, 4, 0.1);
    b.finish(y)
}

/// int16: LSTM (the last step) of a batch of two sequences.
fn model_lstm_i16() -> ModelDef {
    let mut b = Builder::new(DType::I16, &[2, 5, 4], 1.0 / 4096.0, 0);
    let h = b.lstm(b.def.input, 3, false, 1.0 / 32768.0);
    b.finish(h)
}

/// Every hand-built model.
fn defs() -> [ModelDef; 5] {
    [
        model_conv_i8(),
        model_depthwise_i8(),
        model_conv_i16(),
        model_lstm_i8(),
        model_lstm_i16(),
    ]
}

fn models() -> Vec<Vec<u8>> {
    defs().iter().map(|d| d.to_bytes().unwrap()).collect()
}

// ---------------------------------------------------------------------------------------
// Running (possibly mutated) models
// ---------------------------------------------------------------------------------------

/// Recomputes the header's CRC-32 over bytes 24.. (only if the file is long enough).
fn fix_crc(bytes: &mut [u8]) {
    if bytes.len() >= HEADER {
        let c = crc32(&bytes[CRC_AT + 4..]);
        bytes[CRC_AT..CRC_AT + 4].copy_from_slice(&c.to_le_bytes());
    }
}

/// Reads `bytes` (copied to an aligned buffer); when accepted, runs the executor once
/// over an arena filled with `fill`. Returns whether the reader accepted the file.
/// Panics only where the reader or the executor does.
fn read_and_run(bytes: &[u8], fill: u64) -> bool {
    let aligned = AlignedBytes::new(bytes);
    let Ok(model) = Model::from_bytes(aligned.as_bytes()) else {
        return false;
    };
    // Every accessor of an accepted model must work.
    let view = model.view();
    for i in 0..view.tensor_count() {
        let t = view.tensor(i).expect("tensor of an accepted model");
        let _ = view.data(&t);
    }
    for i in 0..view.op_count() {
        view.op(i).expect("op of an accepted model");
    }
    let _ = view.input_affine_of(0);
    let n = model.arena_bytes();
    if n > MAX_ARENA {
        return true;
    }
    let mut arena = AlignedBytes::new(&vec![0u8; n]);
    let mut rng = Lcg(fill | 1);
    for b in arena.as_bytes_mut() {
        *b = rng.next() as u8;
    }
    let mut it = Interpreter::new(&model, arena.as_bytes_mut()).expect("arena of arena_bytes()");
    let _ = it.invoke();
    let _ = it.invoke_each(|_, _| Ok(()));
    true
}

fn accepts(bytes: &[u8]) -> bool {
    ModelView::from_bytes(AlignedBytes::new(bytes).as_bytes()).is_ok()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Writes a little-endian u32 (a macro so the offset may be computed from `b` itself).
macro_rules! put_u32 {
    ($b:expr, $at:expr, $v:expr) => {{
        let (at, v): (usize, u32) = ($at, $v);
        $b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }};
}

/// Writes a little-endian u16.
macro_rules! put_u16 {
    ($b:expr, $at:expr, $v:expr) => {{
        let (at, v): (usize, u16) = ($at, $v);
        $b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }};
}

// Saturating: a random write may have put a table offset near `u32::MAX`, which
// overflows a 32-bit `usize` (armv7 under qemu-user).
fn tensor_at(bytes: &[u8], i: usize) -> usize {
    (u32_at(bytes, 32) as usize).saturating_add(i * TENSOR_RECORD)
}

fn op_at(bytes: &[u8], i: usize) -> usize {
    (u32_at(bytes, 36) as usize).saturating_add(i * OP_RECORD)
}

// ---------------------------------------------------------------------------------------
// Valid models
// ---------------------------------------------------------------------------------------

#[test]
fn hand_built_models_read_back_and_run() {
    for (def, bytes) in defs().iter().zip(models()) {
        let aligned = AlignedBytes::new(&bytes);
        let model = Model::from_bytes(aligned.as_bytes()).expect("a valid model");
        let view = model.view();
        assert_eq!(view.tensor_count(), def.tensors.len());
        assert_eq!(view.op_count(), def.ops.len());
        assert_eq!(view.arena_bytes(), def.arena_bytes);
        for (i, t) in def.tensors.iter().enumerate() {
            let r = view.tensor(i).unwrap();
            assert_eq!(r.dtype, t.dtype);
            assert_eq!(r.shape.dims(), &t.dims[..]);
            assert_eq!(r.name, t.name);
            if let Some(d) = &t.data {
                assert_eq!(view.data(&r), &d[..]);
            } else {
                assert_eq!(r.offset, t.arena_offset);
            }
        }
        for (i, o) in def.ops.iter().enumerate() {
            let r = view.op(i).unwrap();
            assert_eq!(r.code, o.code);
            assert_eq!(r.inputs().collect::<Vec<_>>(), o.inputs);
            assert_eq!(r.multipliers, &o.multipliers[..]);
            assert_eq!(r.params, o.params);
        }
        for (c, &(a, b)) in def.input_affine.iter().enumerate() {
            assert_eq!(view.input_affine_of(c), (a, b));
        }

        let mut arena = vec![0u8; model.arena_bytes() + 16];
        let mut it = Interpreter::new(&model, &mut arena).unwrap();
        let n = model.input().unwrap().len();
        let x: Vec<f32> = (0..n).map(|i| ((i * 7) % 13) as f32 * 0.1 - 0.6).collect();
        it.set_input_f32(&x).unwrap();
        it.invoke().expect("a valid model runs");
        let mut y = vec![0f32; model.output().unwrap().len()];
        it.output_f32(&mut y).unwrap();
        assert!(y.iter().all(|v| v.is_finite()));
        // The same input gives the same output.
        let first = y.clone();
        it.set_input_f32(&x).unwrap();
        it.invoke().unwrap();
        it.output_f32(&mut y).unwrap();
        assert_eq!(y, first);
    }
}

/// The LSTM record runs the integer LSTM kernel, bit for bit, from the zero state at
/// every invocation (two sequences, the last step).
#[test]
fn lstm_record_is_the_kernel_from_the_zero_state() {
    use mote_kernels::int8::lstm::{Params, Quant, State, Weights};
    let def = model_lstm_i16();
    let bytes = AlignedBytes::new(&def.to_bytes().unwrap());
    let model = Model::from_bytes(bytes.as_bytes()).unwrap();
    let mut arena = vec![0xA5u8; model.arena_bytes() + 16];
    let mut it = Interpreter::new(&model, &mut arena).unwrap();
    let x: Vec<i16> = (0..40).map(|i| (i * 2731 % 9001 - 4500) as i16).collect();
    it.input_i16().unwrap().copy_from_slice(&x);
    it.invoke().unwrap();
    let got = it.output_i16().unwrap().to_vec();
    it.invoke().unwrap();
    assert_eq!(it.output_i16().unwrap(), got, "state carried over");

    let op = &def.ops[0];
    let data = |i: usize| def.tensors[op.inputs[i]].data.clone().unwrap();
    let (w, u) = (data(1), data(2));
    let bias: Vec<i64> = data(3)
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let i8s = |v: &[u8]| v.iter().map(|&b| b as i8).collect::<Vec<_>>();
    let (w, u) = (i8s(&w), i8s(&u));
    let q = Quant::from_record(&op.multipliers, 0, 0, op.params[1], op.params[2]).unwrap();
    let (mut h, mut c) = ([0i16; 6], [0i16; 6]);
    let mut state = State {
        h: &mut h,
        c: &mut c,
    };
    state.reset(&q);
    let weights = Weights {
        input: &w,
        recurrent: &u,
        bias: Some(&bias),
    };
    let mut scratch = [0i16; 12];
    mote_kernels::int16::lstm::forward(
        &Params::new(2, 5, 4, 3),
        &q,
        &x,
        &weights,
        &mut state,
        &mut [],
        &mut scratch,
    )
    .unwrap();
    assert_eq!(got, h);
    assert!(h.iter().any(|&v| v != 0), "{h:?}");
}

#[test]
fn lstm_records_are_checked() {
    let good = model_lstm_i8();
    assert!(accepts(&good.to_bytes().unwrap()));
    let lstm = 0; // the first LSTM: every step
    let scratch = good.ops[lstm].params[0] as usize;
    /// A corruption of the model and its LSTM's scratch tensor.
    type Corrupt = fn(&mut ModelDef, usize);
    let bad: [(&str, Corrupt); 10] = [
        ("scratch index past the tensors", |d, _| {
            d.ops[0].params[0] = 999
        }),
        ("scratch a constant", |d, _| d.ops[0].params[0] = 1),
        ("scratch the output", |d, _| {
            d.ops[0].params[0] = d.ops[0].output as i32
        }),
        ("scratch too short", |d, s| d.tensors[s].dims[0] -= 1),
        ("scratch not i16", |d, s| d.tensors[s].dims[0] *= 2),
        ("cell_scale_power", |d, _| d.ops[0].params[1] = 4),
        ("cell_clip", |d, _| d.ops[0].params[2] = -2),
        ("an unused param", |d, _| d.ops[0].params[3] = 1),
        ("10 multipliers", |d, _| {
            d.ops[0].multipliers.pop();
        }),
        ("recurrent weights of another width", |d, _| {
            let u = d.ops[0].inputs[2];
            d.tensors[u].dims = vec![12, 12];
        }),
    ];
    for (what, f) in bad {
        let mut d = good.clone();
        f(&mut d, scratch);
        if what == "scratch not i16" {
            d.tensors[scratch].dtype = DType::I8;
        }
        let accepted = d.to_bytes().is_ok_and(|b| accepts(&b));
        assert!(!accepted, "{what}: accepted");
    }
}

#[test]
fn softmax_output_sums_to_one() {
    let bytes = model_depthwise_i8().to_bytes().unwrap();
    let aligned = AlignedBytes::new(&bytes);
    let model = Model::from_bytes(aligned.as_bytes()).unwrap();
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut it = Interpreter::new(&model, &mut arena).unwrap();
    let x: Vec<f32> = (0..108).map(|i| (i % 11) as f32 * 0.05).collect();
    it.set_input_f32(&x).unwrap();
    it.invoke().unwrap();
    let mut y = vec![0f32; 24];
    it.output_f32(&mut y).unwrap();
    for row in y.chunks(6) {
        let s: f32 = row.iter().sum();
        assert!((s - 1.0).abs() < 0.05, "softmax row sums to {s}");
    }
}

// ---------------------------------------------------------------------------------------
// Truncation
// ---------------------------------------------------------------------------------------

#[test]
fn every_truncation_is_rejected() {
    for bytes in models() {
        for len in 0..bytes.len() {
            assert!(!accepts(&bytes[..len]), "truncated to {len} bytes");
            // With the size field and CRC made consistent, a truncation must still never
            // panic (it may be accepted only if it cut nothing but trailing padding).
            let mut t = bytes[..len].to_vec();
            if len >= HEADER {
                put_u32!(&mut t, 16, len as u32);
                fix_crc(&mut t);
            }
            if read_and_run(&t, len as u64) {
                assert!(bytes[len..].iter().all(|&b| b == 0), "accepted at {len}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Every single-bit flip
// ---------------------------------------------------------------------------------------

#[test]
fn every_bit_flip_is_caught_or_runs() {
    for bytes in models() {
        let mut accepted = 0;
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[at] ^= 1 << bit;
                assert!(!accepts(&b), "bit {bit} of byte {at} passed the CRC");
                fix_crc(&mut b);
                if read_and_run(&b, (at * 8 + bit) as u64) {
                    accepted += 1;
                }
            }
        }
        // Flips in weights, biases, scales and names keep the model valid: those reach
        // the executor.
        assert!(accepted > 100, "only {accepted} flipped models accepted");
    }
}

// ---------------------------------------------------------------------------------------
// Targeted corruptions
// ---------------------------------------------------------------------------------------

/// `bytes` with `f` applied and the CRC fixed.
fn mutated(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = bytes.to_vec();
    f(&mut b);
    fix_crc(&mut b);
    b
}

/// Index of the first tensor whose record has `storage` (0 arena, 1 constant).
fn first_tensor(bytes: &[u8], storage: u8) -> usize {
    let n = u16::from_le_bytes([bytes[28], bytes[29]]) as usize;
    (0..n)
        .find(|&i| bytes[tensor_at(bytes, i) + 1] == storage)
        .unwrap()
}

#[test]
fn targeted_corruptions_are_rejected() {
    let all = models();
    let bytes = &all[0];
    assert!(read_and_run(bytes, 1));
    let (input, output) = (0usize, u16::from_le_bytes([bytes[42], bytes[43]]) as usize);
    let c = first_tensor(bytes, 1);

    // Dims whose product overflows (usize and u64), with `bytes` = the wrapped product.
    for dims in [
        [0x8000_0000u32; 4],
        [0x1_0000; 4],
        [u32::MAX, u32::MAX, 2, 1],
    ] {
        for t in [input, c, output] {
            let b = mutated(bytes, |b| {
                let at = tensor_at(b, t);
                b[at + 2] = 4;
                for (k, &d) in dims.iter().enumerate() {
                    put_u32!(b, at + 4 + 4 * k, d);
                }
                let wrapped = dims.iter().fold(1u32, |p, &d| p.wrapping_mul(d));
                put_u32!(b, at + 24, wrapped);
            });
            assert!(!read_and_run(&b, 2), "dims {dims:?} of tensor {t}");
        }
    }

    // Offsets past the end: a constant's data, a name, the tables, the input transform.
    let len = bytes.len() as u32;
    for v in [len, len + 16, 0xFFFF_FFF0, len - 2] {
        let cases: [fn(&mut Vec<u8>, u32); 6] = [
            |b, v| put_u32!(b, tensor_at(b, first_tensor(b, 1)) + 20, v & !15),
            |b, v| put_u32!(b, tensor_at(b, 0) + 44, v),
            |b, v| put_u32!(b, 32, v & !15),
            |b, v| put_u32!(b, 36, v & !15),
            |b, v| put_u32!(b, 44, v & !3),
            |b, v| put_u32!(b, op_at(b, 0) + 20, v & !7),
        ];
        for (k, f) in cases.iter().enumerate() {
            let b = mutated(bytes, |b| f(b, v));
            assert!(!read_and_run(&b, 3), "offset {v} in case {k}");
        }
    }
    // An arena tensor past the end of the arena.
    let arena = u32_at(bytes, 24);
    let b = mutated(bytes, |b| put_u32!(b, tensor_at(b, output) + 20, arena));
    assert!(!read_and_run(&b, 4));

    // An op whose input is a later op's output: op 0 reads op 1's output.
    let b = mutated(bytes, |b| {
        let out1 = u16::from_le_bytes([b[op_at(b, 1) + 2], b[op_at(b, 1) + 3]]);
        put_u16!(b, op_at(b, 0) + 4, out1);
    });
    assert!(!read_and_run(&b, 5));
    // Ops swapped: the second op's input is not yet written.
    let b = mutated(bytes, |b| {
        let (a0, a1) = (op_at(b, 0), op_at(b, 1));
        let r0 = b[a0..a0 + OP_RECORD].to_vec();
        b.copy_within(a1..a1 + OP_RECORD, a0);
        b[a1..a1 + OP_RECORD].copy_from_slice(&r0);
    });
    assert!(!read_and_run(&b, 6));
    // An op writing over the model input, and two ops writing one tensor.
    let b = mutated(bytes, |b| put_u16!(b, op_at(b, 1) + 2, 0));
    assert!(!read_and_run(&b, 7));

    // An output overlapping its input: op 0's output moved onto the input, partly and
    // wholly (only a reshape may run in place).
    let op0_out = u16::from_le_bytes([bytes[op_at(bytes, 0) + 2], bytes[op_at(bytes, 0) + 3]]);
    let in_off = u32_at(bytes, tensor_at(bytes, input) + 20);
    for delta in [0u32, 16, 32] {
        let b = mutated(bytes, |b| {
            put_u32!(b, 24, 1 << 16);
            put_u32!(b, tensor_at(b, op0_out as usize) + 20, in_off + delta);
        });
        assert!(!read_and_run(&b, 8), "overlap at +{delta}");
    }

    // Misaligned constants, scales, multiplier tables and input transform.
    for d in [1u32, 4, 8] {
        let b = mutated(bytes, |b| {
            let at = tensor_at(b, c) + 20;
            put_u32!(b, at, u32_at(b, at) + d);
        });
        assert!(!read_and_run(&b, 9), "constant misaligned by {d}");
    }
    for d in [1u32, 2] {
        let b = mutated(bytes, |b| {
            let at = op_at(b, 0) + 20;
            put_u32!(b, at, u32_at(b, at) + d);
        });
        assert!(!read_and_run(&b, 10), "multipliers misaligned by {d}");
        let b = mutated(bytes, |b| {
            let at = tensor_at(b, c) + 40;
            put_u32!(b, at, u32_at(b, at) + d);
        });
        assert!(!read_and_run(&b, 11), "scales misaligned by {d}");
        let b = mutated(bytes, |b| put_u32!(b, 44, u32_at(b, 44) + d));
        assert!(!read_and_run(&b, 12), "input transform misaligned by {d}");
    }

    // A shift outside [-31, 30] in a multiplier table (and the edges, which are fine).
    for (shift, ok) in [
        (31, false),
        (-32, false),
        (i32::MAX, false),
        (i32::MIN, false),
    ]
    .into_iter()
    .chain([(30, true), (-31, true)])
    {
        for m in 0..4 {
            let b = mutated(bytes, |b| {
                let at = u32_at(b, op_at(b, 0) + 20) as usize + 8 * m;
                put_u32!(b, at + 4, shift as u32);
            });
            assert_eq!(accepts(&b), ok, "shift {shift} in multiplier {m}");
            read_and_run(&b, 13);
        }
    }

    // Header: magic, version, header size, flags, reserved; counts; input/output.
    let header_cases: [fn(&mut Vec<u8>); 9] = [
        |b| b[3] = b'X',
        |b| put_u16!(b, 8, VERSION + 1),
        |b| put_u16!(b, 10, 48),
        |b| put_u32!(b, 12, 1),
        |b| put_u32!(b, 60, 1),
        |b| put_u16!(b, 30, 0),
        |b| put_u16!(b, 28, u16::MAX),
        |b| put_u16!(b, 40, u16::MAX),
        |b| put_u16!(b, 42, 1), // a constant (the conv weights) as the output
    ];
    for (k, f) in header_cases.iter().enumerate() {
        assert!(!read_and_run(&mutated(bytes, f), 14), "header case {k}");
    }
}

// ---------------------------------------------------------------------------------------
// Regressions (findings of these tests and of `fuzz/`)
// ---------------------------------------------------------------------------------------

/// Runs `f` on a thread, failing if it takes longer than `secs` (a hang is a bug too).
fn within(secs: u64, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .expect("finished in time (and without panicking)");
}

/// A pooling window of 2^31 − 1 with a padding of 2^31 − 2 is valid (the window still
/// overlaps the input), but the pooling loop used to step through every padded
/// position: ~10^11 iterations per invoke, a hang. It now visits only the rows and
/// columns inside the input.
#[test]
fn huge_pooling_window_runs_quickly() {
    let bytes = models().swap_remove(1);
    let pool = 1; // depthwise → avg pool → add → softmax
    for code in [OpCode::AvgPool2d, OpCode::MaxPool2d] {
        let b = mutated(&bytes, |b| {
            let at = op_at(b, pool);
            b[at] = code.code();
            for (k, v) in [i32::MAX, i32::MAX, 2, 2, i32::MAX - 1, i32::MAX - 1]
                .into_iter()
                .enumerate()
            {
                put_u32!(b, at + 36 + 4 * k, v as u32);
            }
        });
        assert!(accepts(&b));
        within(20, move || {
            assert!(read_and_run(&b, 1));
        });
    }
}

// ---------------------------------------------------------------------------------------
// Random mutations
// ---------------------------------------------------------------------------------------

/// A value to write into a field: a literal, or relative to the file's length or its
/// arena size (resolved per model).
#[derive(Debug, Clone, Copy)]
enum Value {
    Literal(u32),
    FileLen(i32),
    Arena(i32),
}

impl Value {
    fn resolve(self, len: u32, arena: u32) -> u32 {
        match self {
            Self::Literal(v) => v,
            Self::FileLen(d) => len.wrapping_add_signed(d),
            Self::Arena(d) => arena.wrapping_add_signed(d),
        }
    }
}

/// Values worth writing into a field: edges of every width, small counts and offsets,
/// shifts at the edge of [-31, 30], and offsets at and around the end of the file and
/// of the arena.
fn interesting() -> impl Strategy<Value = Value> {
    let edges = vec![
        0,
        1,
        2,
        3,
        4,
        8,
        15,
        16,
        31,
        32,
        64,
        127,
        128,
        255,
        256,
        0x7FFF,
        0x8000,
        0xFFFF,
        0x1_0000,
        0x7FFF_FFFF,
        0x8000_0000,
        0xFFFF_FFF0,
        u32::MAX,
        (-31i32) as u32,
        (-32i32) as u32,
        30,
    ];
    let near = prop::sample::select(vec![-16, -8, -4, -1, 0, 1, 16]);
    prop_oneof![
        3 => prop::sample::select(edges).prop_map(Value::Literal),
        1 => near.clone().prop_map(Value::FileLen),
        1 => near.prop_map(Value::Arena),
        2 => (0u32..64).prop_map(Value::Literal),
        1 => any::<u32>().prop_map(Value::Literal),
    ]
}

/// Field widths of a record (byte offset, width) — every field of the header, a tensor
/// and an op record, so that a random write hits one field exactly.
fn field_layout(kind: u8) -> Vec<(usize, usize)> {
    match kind {
        // Header: version..reserved.
        0 => vec![
            (8, 2),
            (10, 2),
            (12, 4),
            (16, 4),
            (24, 4),
            (28, 2),
            (30, 2),
            (32, 4),
            (36, 4),
            (40, 2),
            (42, 2),
            (44, 4),
            (48, 4),
            (52, 4),
        ],
        // Tensor: dtype, storage, rank, quant, dims ×4, offset, bytes, scale, zp, axis,
        // scales, name offset, name length, reserved.
        1 => {
            let mut v = vec![(0, 1), (1, 1), (2, 1), (3, 1)];
            v.extend((4..52).step_by(4).map(|o| (o, 4)));
            v.push((52, 4));
            v
        }
        // Op: opcode, input count, output, inputs ×8, multipliers offset/count, act
        // range, params ×15.
        _ => {
            let mut v = vec![(0, 1), (1, 1), (2, 2)];
            v.extend((4..20).step_by(2).map(|o| (o, 2)));
            v.extend((20..96).step_by(4).map(|o| (o, 4)));
            v
        }
    }
}

/// Writes `v` (truncated to `width` bytes) at `at`.
fn write_field(b: &mut [u8], at: usize, width: usize, v: u32) {
    b[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
}

proptest! {
    #![proptest_config(mote_tests::config(1500))]

    /// Random byte flips with the stored CRC kept: always `Err` (the checksum or a
    /// header field catches them); with the CRC recomputed: never a panic, and an
    /// accepted model runs without one.
    #[test]
    fn byte_flips(
        model in 0usize..3,
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6),
        seed in any::<u64>(),
    ) {
        let all = models();
        let orig = &all[model];
        let mut b = orig.clone();
        for (i, x) in &flips {
            let at = i.index(b.len());
            b[at] ^= x;
        }
        if b != *orig {
            prop_assert!(!accepts(&b), "flips {flips:?} passed the CRC");
        }
        fix_crc(&mut b);
        read_and_run(&b, seed);
        // The same flips confined to the records (where the deeper checks live).
        let mut b = orig.clone();
        let records_end = op_at(orig, u16::from_le_bytes([orig[30], orig[31]]) as usize);
        for (i, x) in &flips {
            b[24 + i.index(records_end - 24)] ^= x;
        }
        fix_crc(&mut b);
        read_and_run(&b, seed);
    }

    /// Random values written into fields of the header, a tensor record or an op
    /// record, CRC recomputed: never a panic.
    #[test]
    fn field_writes(
        model in 0usize..3,
        writes in prop::collection::vec(
            (0u8..3, any::<prop::sample::Index>(), any::<prop::sample::Index>(),
             interesting()),
            1..4,
        ),
        seed in any::<u64>(),
    ) {
        let all = models();
        let mut b = all[model].clone();
        let (len, arena) = (b.len() as u32, u32_at(&b, 24));
        let nt = u16::from_le_bytes([b[28], b[29]]) as usize;
        let no = u16::from_le_bytes([b[30], b[31]]) as usize;
        for (kind, record, field, v) in &writes {
            let v = v.resolve(len, arena);
            let layout = field_layout(*kind);
            let (off, width) = layout[field.index(layout.len())];
            let at = match kind {
                0 => off,
                1 => tensor_at(&b, record.index(nt)).saturating_add(off),
                _ => op_at(&b, record.index(no)).saturating_add(off),
            };
            // Earlier writes may have moved the tables out of the file.
            if at.saturating_add(width) <= b.len() {
                write_field(&mut b, at, width, v);
            }
        }
        fix_crc(&mut b);
        read_and_run(&b, seed);
    }

    /// Fully random bytes: `Err`, with or without a valid magic, version, size and CRC.
    #[test]
    fn random_bytes(
        mut b in prop::collection::vec(any::<u8>(), 0..2048),
        framed in any::<bool>(),
        counts in (0u16..8, 1u16..8),
    ) {
        prop_assert!(!accepts(&b));
        if framed && b.len() >= HEADER {
            let len = b.len() as u32;
            b[..8].copy_from_slice(&MAGIC);
            put_u16!(&mut b, 8, VERSION);
            put_u16!(&mut b, 10, HEADER as u16);
            put_u32!(&mut b, 12, 0);
            put_u32!(&mut b, 16, len);
            // Plausible counts and tables, so the record checks run.
            put_u16!(&mut b, 28, counts.0);
            put_u16!(&mut b, 30, counts.1);
            put_u32!(&mut b, 32, HEADER as u32);
            put_u32!(&mut b, 36, (HEADER + TENSOR_RECORD * counts.0 as usize) as u32);
            b[44..HEADER].fill(0);
            fix_crc(&mut b);
            prop_assert!(!read_and_run(&b, len as u64));
        }
    }
}

/// Writes the valid models as the fuzzing seed corpus when `MOTE_FUZZ_SEEDS` names a
/// directory (see `fuzz/seed.sh`); does nothing otherwise.
#[test]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("MOTE_FUZZ_SEEDS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let names = ["conv_i8", "depthwise_i8", "conv_i16", "lstm_i8", "lstm_i16"];
    for (name, bytes) in names.iter().zip(models()) {
        std::fs::write(dir.join(format!("seed-{name}.mote")), bytes).unwrap();
    }
}
