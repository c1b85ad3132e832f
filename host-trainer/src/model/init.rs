//! Weight initialisers: Keras's Glorot/He/LeCun, PyTorch's default, orthogonal.

use super::spec::Init;
use mote_core::rng::Rng;

/// Fills `weights` (a `[fan_out][fan_in]`-like tensor) and `bias` as `init` says.
pub fn fill(
    init: Init,
    fan_in: usize,
    fan_out: usize,
    weights: &mut [f32],
    bias: Option<&mut [f32]>,
    rng: &mut Rng,
) {
    let fi = fan_in.max(1) as f32;
    let fo = fan_out.max(1) as f32;
    let uniform = |rng: &mut Rng, w: &mut [f32], limit: f32| rng.fill_uniform(w, -limit, limit);
    match init {
        Init::GlorotUniform => uniform(rng, weights, (6.0 / (fi + fo)).sqrt()),
        Init::GlorotNormal => rng.fill_normal(weights, 0.0, (2.0 / (fi + fo)).sqrt()),
        Init::HeUniform => uniform(rng, weights, (6.0 / fi).sqrt()),
        Init::HeNormal => rng.fill_normal(weights, 0.0, (2.0 / fi).sqrt()),
        Init::LecunNormal => rng.fill_normal(weights, 0.0, (1.0 / fi).sqrt()),
        Init::Torch => uniform(rng, weights, 1.0 / fi.sqrt()),
        Init::Orthogonal => orthogonal(fan_in.max(1), weights, rng),
        Init::Zeros => weights.fill(0.0),
    }
    if let Some(b) = bias {
        match init {
            Init::Torch => uniform(rng, b, 1.0 / fi.sqrt()),
            _ => b.fill(0.0),
        }
    }
}

/// Rows of `cols` values made orthonormal by Gram–Schmidt over a normal draw (rows
/// beyond `cols` cannot all be orthogonal; those are orthonormal in blocks of `cols`).
fn orthogonal(cols: usize, w: &mut [f32], rng: &mut Rng) {
    rng.fill_normal(w, 0.0, 1.0);
    let rows = w.len() / cols;
    for r in 0..rows {
        let block = r - r % cols;
        let (done, rest) = w.split_at_mut(r * cols);
        let Some(row) = rest.get_mut(..cols) else {
            return;
        };
        for q in done.chunks_exact(cols).skip(block) {
            let d: f32 = q.iter().zip(row.iter()).map(|(a, b)| a * b).sum();
            row.iter_mut().zip(q).for_each(|(x, &qv)| *x -= d * qv);
        }
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 1e-12 {
            row.iter_mut().for_each(|x| *x /= norm);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_uniform_stays_in_its_limit_and_bias_is_zero() {
        let mut rng = Rng::new(1);
        let (mut w, mut b) = (vec![0.0; 600], vec![1.0; 6]);
        fill(Init::GlorotUniform, 100, 6, &mut w, Some(&mut b), &mut rng);
        let limit = (6.0f32 / 106.0).sqrt();
        assert!(w.iter().all(|x| x.abs() <= limit));
        assert!(w.iter().any(|x| x.abs() > limit * 0.9));
        assert!(b.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn he_normal_has_the_right_spread() {
        let mut rng = Rng::new(2);
        let mut w = vec![0.0; 20_000];
        fill(Init::HeNormal, 50, 400, &mut w, None, &mut rng);
        let var = w.iter().map(|x| x * x).sum::<f32>() / w.len() as f32;
        assert!((var - 2.0 / 50.0).abs() < 0.002, "{var}");
    }

    #[test]
    fn orthogonal_rows_are_orthonormal() {
        let mut rng = Rng::new(3);
        let mut w = vec![0.0; 8 * 8];
        fill(Init::Orthogonal, 8, 8, &mut w, None, &mut rng);
        for i in 0..8 {
            for j in 0..8 {
                let d: f32 = (0..8).map(|k| w[i * 8 + k] * w[j * 8 + k]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((d - want).abs() < 1e-4, "{i},{j}: {d}");
            }
        }
    }
}
