//! Arena memory of two small int8 models, planned by `mote_core::plan`.
//!
//! The models are written out by hand as op lists with their activation shapes, in
//! execution order; everything else — the buffer lifetimes, the three arena sizes and the
//! lower bound — is computed. Each plan is verified with `plan::check` before it is
//! printed.
//!
//! ```text
//! cargo run -p mote-trainer --example arena_report
//! ```

use mote_core::plan::{self, Buffer};

/// Arena alignment: the `.mote` format's tensor alignment, and TFLite Micro's.
const ALIGN: usize = 16;

/// A model as a list of ops, each writing one int8 activation tensor (1 byte per
/// element). Tensor 0 is the model input; op `k` writes tensor `k + 1`.
struct Graph {
    name: &'static str,
    /// Elements (= bytes, int8) of each tensor.
    elems: Vec<usize>,
    /// The tensors each op reads.
    inputs: Vec<Vec<usize>>,
    /// The input tensor an op may overwrite in place.
    in_place: Vec<Option<usize>>,
}

/// Output size of a "same"-padded window with this stride.
fn same(n: usize, stride: usize) -> usize {
    n.div_ceil(stride)
}

/// Output size of a "valid" window of `k` with stride `k` (max/average pooling).
fn pooled(n: usize, k: usize) -> usize {
    (n - k) / k + 1
}

impl Graph {
    /// A graph whose input is `h × w × c`; returns it and the input tensor.
    fn new(name: &'static str, [h, w, c]: [usize; 3]) -> (Self, usize) {
        let g = Self {
            name,
            elems: vec![h * w * c],
            inputs: Vec::new(),
            in_place: Vec::new(),
        };
        (g, 0)
    }

    /// Appends an op reading `inputs` and writing an `h × w × c` tensor, which may
    /// overwrite `in_place` (one of `inputs`); returns the new tensor.
    fn op(&mut self, inputs: &[usize], [h, w, c]: [usize; 3], in_place: Option<usize>) -> usize {
        self.elems.push(h * w * c);
        self.inputs.push(inputs.to_vec());
        self.in_place.push(in_place);
        self.elems.len() - 1
    }

    /// An element-wise op (activation, reshape) of `x`, in place when `in_place`.
    fn unary(&mut self, x: usize, in_place: bool) -> usize {
        let n = self.elems[x];
        self.op(&[x], [1, 1, n], in_place.then_some(x))
    }

    /// The activation buffers: tensor `t` lives from the op that writes it (0 for the
    /// input) to the last op that reads it (the last op for an unread model output).
    fn buffers(&self) -> Vec<Buffer> {
        let last_op = self.inputs.len().saturating_sub(1);
        (0..self.elems.len())
            .map(|t| {
                let first = t.saturating_sub(1);
                let last = (0..self.inputs.len())
                    .filter(|&k| self.inputs[k].contains(&t))
                    .max()
                    .unwrap_or(last_op);
                let b = Buffer::new(self.elems[t], first, last);
                match t.checked_sub(1).and_then(|k| self.in_place[k]) {
                    Some(j) => b.reusing(j),
                    None => b,
                }
            })
            .collect()
    }
}

/// MNIST CNN: conv 3×3 16 → max pool 2 → conv 3×3 32 → max pool 2 → flatten → dense 10.
/// BN is folded into the convs; ReLU is fused into them, or (`separate_relu`) a separate
/// op running in place.
fn mnist_cnn(separate_relu: bool) -> Graph {
    let name = if separate_relu {
        "MNIST CNN, ReLU as separate ops"
    } else {
        "MNIST CNN, ReLU fused"
    };
    let (mut g, x) = Graph::new(name, [28, 28, 1]);
    let relu = |g: &mut Graph, x| if separate_relu { g.unary(x, true) } else { x };
    let (mut h, mut w) = (28, 28);
    let mut x = x;
    for c in [16, 32] {
        x = g.op(&[x], [same(h, 1), same(w, 1), c], None); // conv 3×3 same
        x = relu(&mut g, x);
        (h, w) = (pooled(h, 2), pooled(w, 2));
        x = g.op(&[x], [h, w, c], None); // max pool 2×2
    }
    let x = g.unary(x, true); // reshape (flatten), in place
    g.op(&[x], [1, 1, 10], None); // dense 10
    g
}

/// DS-CNN keyword spotting (the MLPerf Tiny topology): 49×10 MFCC → conv 10×4 stride 2
/// 64 → 4 × (depthwise 3×3 → pointwise 64) → average pool → flatten → dense 12 →
/// softmax. ReLU fused into every conv, or (`separate_relu`) separate in-place ops.
fn ds_cnn(separate_relu: bool) -> Graph {
    let name = if separate_relu {
        "DS-CNN KWS, ReLU as separate ops"
    } else {
        "DS-CNN KWS, ReLU fused"
    };
    let (mut g, x) = Graph::new(name, [49, 10, 1]);
    let relu = |g: &mut Graph, x| if separate_relu { g.unary(x, true) } else { x };
    let (h, w, c) = (same(49, 2), same(10, 2), 64);
    let mut x = g.op(&[x], [h, w, c], None); // conv 10×4 stride 2 same
    x = relu(&mut g, x);
    for _ in 0..4 {
        x = g.op(&[x], [h, w, c], None); // depthwise 3×3 same
        x = relu(&mut g, x);
        x = g.op(&[x], [h, w, c], None); // pointwise 1×1
        x = relu(&mut g, x);
    }
    x = g.op(&[x], [pooled(h, h), pooled(w, w), c], None); // average pool 25×5
    x = g.unary(x, true); // reshape, in place
    x = g.op(&[x], [1, 1, 12], None); // dense 12
    g.unary(x, false); // softmax: a new buffer (TFLite does not run it in place)
    g
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "| model | ops | sum of activations | greedy without reuse | greedy with in-place reuse | peak live with reuse (lower bound) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for g in [
        mnist_cnn(false),
        mnist_cnn(true),
        ds_cnn(false),
        ds_cnn(true),
    ] {
        let buffers = g.buffers();
        let sum = plan::sum_of(&buffers, ALIGN)?;
        let without = plan::plan_without_reuse(&buffers, ALIGN)?;
        plan::check(&buffers, &without, ALIGN)?;
        let with = plan::plan(&buffers, ALIGN)?;
        plan::check(&buffers, &with, ALIGN)?;
        let bound = plan::peak_live(&buffers, true)?;
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            g.name,
            g.inputs.len(),
            sum,
            without.arena_bytes,
            with.arena_bytes,
            bound
        );
    }
    println!();
    println!("int8 activations (1 byte per element), offsets aligned to {ALIGN} bytes.");
    exported()
}

/// The same two models through the real exporter (`mote_trainer::quant::export`), with
/// random weights calibrated on random inputs: the arena it plans and the file size.
fn exported() -> Result<(), Box<dyn std::error::Error>> {
    use mote_trainer::model::Model;
    use mote_trainer::quant;
    use mote_trainer::train::Spec;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    println!();
    println!(
        "| spec, exported with random weights | arena | without reuse | sum of activations | .mote bytes | MACs |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for spec in ["examples/mnist-cnn.toml", "examples/kws-dscnn.toml"] {
        let text = std::fs::read_to_string(root.join(spec))?;
        let model = Model::new(Spec::parse(&text)?.model, 1)?;
        let mut rng = mote_core::rng::Rng::new(3);
        let calib: Vec<f32> = (0..32 * model.input_len()).map(|_| rng.normal()).collect();
        let e = quant::export(&model, &calib, Vec::new(), quant::Options::default())?;
        let mut plain = e.def.clone();
        quant::arena::assign(&mut plain, false)?;
        let (bufs, _) = quant::arena::buffers(&e.def);
        let sum = plan::sum_of(&bufs, ALIGN)?;
        println!(
            "| {spec} | {} | {} | {sum} | {} | {} |",
            e.def.arena_bytes,
            plain.arena_bytes,
            e.bytes.as_bytes().len(),
            e.macs
        );
    }
    Ok(())
}
