//! The model graph's backward pass against finite differences, on a model that uses
//! every layer kind with parameters or routing: convolutions (standard, 1×1, depthwise,
//! transposed), pooling, batch and layer norm, a residual block, parallel branches,
//! up-sampling, dense layers and a softmax ending; and a sequence model with every
//! recurrent layer kind (stacked, reversed, bidirectional by a branch).

use mote_core::rng::Rng;
use mote_trainer::cli::gradcheck::check;
use mote_trainer::model::Model;
use mote_trainer::train::Spec;
use mote_trainer::train::objective::{BatchTargets, Objective};
use mote_trainer::train::session::last_kind;

const SPEC: &str = r#"
[model]
input = [8, 8, 2]

[[model.layers]]
type = "conv2d"
filters = 4
kernel = 3
padding = "same"
activation = "tanh"

[[model.layers]]
type = "batch_norm"

[[model.layers]]
type = "residual"
layers = [
  { type = "depthwise_conv2d", kernel = 3, padding = "same", activation = "tanh" },
  { type = "conv2d", filters = 4, kernel = 1 },
]

[[model.layers]]
type = "branch"
paths = [
  [{ type = "avg_pool2d", size = 2 }],
  [{ type = "conv2d", filters = 3, kernel = 2, stride = 2, activation = "silu" }],
  [{ type = "avg_pool2d", size = 2 }, { type = "layer_norm" }],
]

[[model.layers]]
type = "conv2d_transpose"
filters = 2
kernel = 2
stride = 2
activation = "gelu"

[[model.layers]]
type = "avg_pool2d"
size = 2

[[model.layers]]
type = "upsample"
scale = 2
mode = "bilinear"

[[model.layers]]
type = "global_avg_pool"

[[model.layers]]
type = "dense"
units = 5
activation = "elu"

[[model.layers]]
type = "dense"
units = 3
activation = "softmax"
"#;

#[test]
fn every_layer_kind_backpropagates() {
    let spec = Spec::parse(SPEC).unwrap();
    let mut model = Model::new(spec.model, 3).unwrap();
    let objective = Objective::new("cross_entropy", 0.0, last_kind(&model)).unwrap();
    let mut rng = Rng::new(9);
    let mut x = vec![0.0; 4 * model.input_len()];
    rng.fill_normal(&mut x, 0.0, 1.0);
    let labels = [0, 2, 1, 2];
    // Every function here is smooth (max pooling is not: a step can move a window's
    // maximum, so its backward is checked by the kernel tests instead). Central
    // differences of an f32 loss through ten layers are good to a few per cent at
    // h = 1e-2 (smaller steps drown in rounding, larger ones in curvature); a wrong
    // backward gives errors of order one.
    let report = check(
        &mut model,
        &objective,
        &x,
        BatchTargets::Classes(&labels),
        24,
        1e-2,
    )
    .unwrap();
    for t in &report.tensors {
        assert!(
            t.worst < 5e-2,
            "{}: worst relative error {}",
            t.name,
            t.worst
        );
    }
    assert!(
        report.tensors.len() >= 14,
        "{} tensors",
        report.tensors.len()
    );
}

const SEQUENCE_SPEC: &str = r#"
[model]
input = [5, 3]

[[model.layers]]
type = "branch"
paths = [
  [{ type = "lstm", units = 3, return_sequences = true }],
  [{ type = "lstm", units = 2, return_sequences = true, go_backwards = true, forget_bias = 0.5 }],
]

[[model.layers]]
type = "gru"
units = 3
return_sequences = true

[[model.layers]]
type = "gru"
units = 2
reset_after = false
return_sequences = true
go_backwards = true

[[model.layers]]
type = "simple_rnn"
units = 3

[[model.layers]]
type = "dense"
units = 3
activation = "softmax"
"#;

#[test]
fn every_recurrent_layer_kind_backpropagates() {
    let spec = Spec::parse(SEQUENCE_SPEC).unwrap();
    let mut model = Model::new(spec.model, 5).unwrap();
    assert_eq!(model.input_len(), 15);
    let objective = Objective::new("cross_entropy", 0.0, last_kind(&model)).unwrap();
    let mut rng = Rng::new(11);
    let mut x = vec![0.0; 3 * model.input_len()];
    rng.fill_normal(&mut x, 0.0, 1.0);
    let labels = [1, 0, 2];
    // Smooth throughout (sigmoid, tanh), but the recurrent weights' gradients are small
    // beside the loss (an orthogonal start, five steps), so the f32 loss's rounding
    // dominates differences at h = 1e-2: the worst entry measured 0.32 at h = 3e-3, 0.12
    // at 1e-2, 0.036 at 3e-2 and 0.020 at 5e-2 — falling with h, the signature of
    // rounding, where a wrong backward would stay of order one — and curvature starts to
    // show at 1e-1 (0.053). Hence h = 5e-2 with the same bound as above.
    let report = check(
        &mut model,
        &objective,
        &x,
        BatchTargets::Classes(&labels),
        24,
        5e-2,
    )
    .unwrap();
    for t in &report.tensors {
        assert!(
            t.worst < 5e-2,
            "{}: worst relative error {}",
            t.name,
            t.worst
        );
    }
    // Three tensors (input weights, recurrent weights, bias) per recurrent layer, two
    // for the dense layer.
    assert_eq!(report.tensors.len(), 5 * 3 + 2, "{:?}", report.tensors);
}

const ATTENTION_SPEC: &str = r#"
[model]
input = [6]

[[model.layers]]
type = "embedding"
vocab = 5
dim = 4

[[model.layers]]
type = "positional_encoding"

[[model.layers]]
type = "multi_head_attention"
heads = 2
causal = true

[[model.layers]]
type = "transformer_encoder"
heads = 2
ff = 8

[[model.layers]]
type = "transformer_encoder"
heads = 1
head_dim = 3
ff = 5
norm = "post"
activation = "gelu_tanh"

[[model.layers]]
type = "global_avg_pool"

[[model.layers]]
type = "dense"
units = 3
activation = "softmax"
"#;

#[test]
fn every_attention_layer_kind_backpropagates() {
    let spec = Spec::parse(ATTENTION_SPEC).unwrap();
    let mut model = Model::new(spec.model, 7).unwrap();
    let objective = Objective::new("cross_entropy", 0.0, last_kind(&model)).unwrap();
    let mut rng = Rng::new(12);
    let x: Vec<f32> = (0..3 * 6).map(|_| rng.below(5) as f32).collect();
    let labels = [2, 0, 1];
    // The loss curves sharply in the attention and embedding parameters (two layer
    // norms, a post-norm block, softmax over logits that grow with the embeddings), so
    // curvature, not rounding, limits the differences here: the worst entry (the first
    // attention's value weights) measured below 2e-2 at h = 1e-3 and 3e-3, 0.079 at 1e-2
    // and 1.0 at 3e-2 — growing with h, where a wrong backward would not depend on it.
    // Hence h = 3e-3.
    let report = check(
        &mut model,
        &objective,
        &x,
        BatchTargets::Classes(&labels),
        24,
        3e-3,
    )
    .unwrap();
    for t in &report.tensors {
        assert!(
            t.worst < 5e-2,
            "{}: worst relative error {}",
            t.name,
            t.worst
        );
    }
    // The table; 8 projection tensors; 8 + 8 per encoder block; the dense layer's 2.
    assert_eq!(
        report.tensors.len(),
        1 + 8 + 2 * 16 + 2,
        "{:?}",
        report.tensors
    );
    // Token ids outside the vocabulary are an error naming the layer, not a panic.
    let mut pass = model.pass(0);
    let bad = vec![5.0f32; 6];
    let e = model
        .forward(&mut pass, &bad, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("embedding") && e.contains("token id 5"), "{e}");
}

#[test]
fn a_wrong_gradient_is_caught() {
    // The check must be able to fail: a model whose weights change between the
    // analytic pass and the differences (here through a constant bias shift the
    // analytic pass never saw) is not consistent, and a corrupted backward shows up as
    // a large error. Simulate the latter by comparing against a model with one weight
    // scaled: the numeric gradients then belong to another function.
    let spec = Spec::parse("[model]\ninput = [3]\n[[model.layers]]\ntype = \"dense\"\nunits = 2\nactivation = \"tanh\"\n")
        .unwrap();
    let mut model = Model::new(spec.model, 1).unwrap();
    let objective = Objective::new("mse", 0.0, last_kind(&model)).unwrap();
    let x = [0.5, -1.0, 2.0, 1.0, 0.0, -0.5];
    let t = [1.0, -1.0, 0.5, 0.0];
    let good = check(
        &mut model,
        &objective,
        &x,
        BatchTargets::Values(&t),
        8,
        1e-2,
    )
    .unwrap();
    assert!(good.worst().unwrap().worst < 1e-2, "{good:?}");
    // Targets that differ between the passes: the analytic gradient is for `t`, the
    // differences for `t2`, as if backward used the wrong targets.
    let t2 = [0.0, 1.0, -0.5, 2.0];
    let bad = mote_trainer::cli::gradcheck::check_mismatched(
        &mut model,
        &objective,
        &x,
        BatchTargets::Values(&t),
        BatchTargets::Values(&t2),
        8,
        1e-2,
    )
    .unwrap();
    assert!(bad.worst().unwrap().worst > 0.1, "{bad:?}");
}
