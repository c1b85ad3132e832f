//! Data-parallel steps: a batch split into contiguous parts, one per thread, each run
//! forward and backward with its own [`Pass`]; the gradients are then summed in thread
//! order and the running statistics averaged, so a fixed seed and thread count give
//! the same result every time.
//!
//! Batch normalisation sees the statistics of its thread's part (as PyTorch's
//! `DataParallel` without synchronised batch norm does), so results depend on the
//! thread count.

use super::objective::{BatchTargets, Objective};
use crate::Result;
use crate::metrics::argmax;
use crate::model::{Model, Pass};
use mote_core::rng::Rng;

/// Mixes a run's seed with counters (epoch, batch, thread) into one seed.
pub fn mix(parts: &[u64]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    for &p in parts {
        h ^= p
            .wrapping_add(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(h << 6)
            .wrapping_add(h >> 2);
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 31;
    }
    h
}

/// A fixed set of worker threads, started once per run: spawning threads per batch
/// costs more than a small model's whole step.
pub struct Pool {
    inner: rayon::ThreadPool,
    threads: usize,
}

impl Pool {
    /// A pool of `threads` threads (at least one).
    pub fn new(threads: usize) -> Result<Self> {
        let threads = threads.max(1);
        let inner = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("mote-worker-{i}"))
            .build()
            .map_err(|e| crate::Error::Mismatch {
                detail: format!("cannot start {threads} worker threads: {e}"),
            })?;
        Ok(Self { inner, threads })
    }

    /// Its thread count.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// `f` of every job, in the jobs' order, computed on the pool's threads.
    pub fn map<J: Send, R: Send>(&self, jobs: Vec<J>, f: impl Fn(J) -> R + Sync + Send) -> Vec<R> {
        use rayon::prelude::*;
        if self.threads == 1 || jobs.len() <= 1 {
            return jobs.into_iter().map(f).collect();
        }
        self.inner.install(|| jobs.into_par_iter().map(f).collect())
    }

    /// Runs `f` on every job on the pool's threads; the first error in job order wins.
    pub fn for_each<J: Send>(
        &self,
        jobs: Vec<J>,
        f: impl Fn(J) -> Result<()> + Sync + Send,
    ) -> Result<()> {
        self.map(jobs, f).into_iter().collect()
    }
}

/// The per-thread memory of a run.
#[derive(Debug)]
pub struct Workers {
    /// One pass per thread.
    pub passes: Vec<Pass>,
    grads: Vec<Vec<f32>>,
    used: usize,
}

/// What one step measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepStats {
    /// Summed (not averaged) loss over the batch.
    pub loss_sum: f64,
    /// Correct top-1 predictions (classifiers).
    pub correct: usize,
    /// Samples in the batch.
    pub rows: usize,
}

/// Splits `rows` into at most `threads` contiguous parts of at least two rows (batch
/// normalisation needs two), as `(start, len)`.
pub fn shards(rows: usize, threads: usize) -> Vec<(usize, usize)> {
    let parts = threads.min(rows / 2).max(1);
    let base = rows / parts;
    let extra = rows % parts;
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = base + usize::from(i < extra);
            let s = (start, len);
            start += len;
            s
        })
        .collect()
}

impl Workers {
    /// Memory for `threads` threads running `model`.
    pub fn new(model: &Model, threads: usize) -> Self {
        Self {
            passes: (0..threads.max(1)).map(|_| model.pass(0)).collect(),
            grads: vec![Vec::new(); threads.max(1)],
            used: 1,
        }
    }

    /// The parameter gradients of the last [`Workers::step`], summed by
    /// [`Workers::reduce`].
    pub fn grads_mut(&mut self) -> &mut [Vec<f32>] {
        &mut self.passes[0].grads
    }

    /// The gradients of every pass that ran in the last [`Workers::step`], for
    /// [`Optimizer::update`](super::optimizer::Optimizer::update) to sum as it goes.
    pub fn pass_grads(&mut self) -> Vec<&mut Vec<Vec<f32>>> {
        self.passes
            .iter_mut()
            .take(self.used)
            .map(|p| &mut p.grads)
            .collect()
    }

    /// Sums the gradients of the last [`Workers::step`] into the first pass, in pass
    /// order, chunk by chunk over the pool's threads.
    pub fn reduce(&mut self, pool: &Pool) -> Result<()> {
        let used = self.used;
        if used > 1 {
            let mut per_pass: Vec<Vec<&mut [f32]>> = self
                .passes
                .iter_mut()
                .take(used)
                .map(|p| {
                    p.grads
                        .iter_mut()
                        .flat_map(|g| g.chunks_mut(super::optimizer::CHUNK))
                        .collect()
                })
                .collect();
            let mut jobs: Vec<Vec<&mut [f32]>> = Vec::new();
            let chunks = per_pass.first().map_or(0, Vec::len);
            for _ in 0..chunks {
                jobs.push(Vec::with_capacity(used));
            }
            for pass in per_pass.iter_mut() {
                for (job, chunk) in jobs.iter_mut().zip(pass.drain(..)) {
                    job.push(chunk);
                }
            }
            pool.for_each(jobs, |mut job| {
                let (first, rest) = job.split_at_mut(1);
                for other in rest {
                    first[0]
                        .iter_mut()
                        .zip(other.iter())
                        .for_each(|(a, &b)| *a += b);
                    other.fill(0.0);
                }
                Ok(())
            })?;
        }
        self.used = 1;
        Ok(())
    }

    /// Runs forward and backward on a batch (`inputs`, `rows` samples) across the
    /// threads; leaves the gradient of the batch-mean loss spread over the passes (sum
    /// them with [`Workers::reduce`], or hand [`Workers::pass_grads`] to the optimiser)
    /// and the averaged running statistics in `model.buffers`.
    /// `seed` drives dropout (each thread gets its own stream).
    pub fn step(
        &mut self,
        model: &mut Model,
        objective: &Objective,
        inputs: &[f32],
        targets: BatchTargets<'_>,
        seed: u64,
        pool: &Pool,
    ) -> Result<StepStats> {
        let in_len = model.input_len();
        let out_len = model.output_len();
        let rows = inputs.len() / in_len.max(1);
        let parts = shards(rows, self.passes.len());
        let scale = 1.0 / objective.denominator(rows, out_len);
        let model_ref: &Model = model;
        let run =
            |(t, (start, len)): (usize, (usize, usize)), pass: &mut Pass, grad: &mut Vec<f32>| {
                pass.rng = Rng::new(mix(&[seed, t as u64]));
                let x = &inputs[start * in_len..(start + len) * in_len];
                let tg = match targets {
                    BatchTargets::Classes(l) => BatchTargets::Classes(&l[start..start + len]),
                    BatchTargets::Values(v) => {
                        let w = v.len() / rows.max(1);
                        BatchTargets::Values(&v[start * w..(start + len) * w])
                    }
                };
                let out = model_ref.forward(pass, x, true)?;
                grad.clear();
                grad.resize(out.len(), 0.0);
                let loss = objective.sum(out, len, tg, Some(grad), scale)?;
                let correct = match tg {
                    BatchTargets::Classes(l) if objective.is_classification() => out
                        .chunks_exact(out_len)
                        .zip(l)
                        .filter(|(row, label)| argmax(row) == **label)
                        .count(),
                    _ => 0,
                };
                model_ref.backward(pass, x, grad)?;
                Ok::<_, crate::Error>((f64::from(loss), correct))
            };
        let jobs: Vec<_> = self
            .passes
            .iter_mut()
            .zip(self.grads.iter_mut())
            .zip(parts.iter().copied().enumerate())
            .map(|((pass, grad), part)| (part, pass, grad))
            .collect();
        let results = pool.map(jobs, |(part, pass, grad)| run(part, pass, grad));
        let mut stats = StepStats {
            rows,
            ..Default::default()
        };
        for r in results {
            let (loss, correct) = r?;
            stats.loss_sum += loss;
            stats.correct += correct;
        }
        self.used = parts.len();
        // Average the running statistics of the passes that ran; every pass restarts
        // from the average.
        for (j, buffer) in model.buffers.iter_mut().enumerate() {
            buffer.data.fill(0.0);
            for p in self.passes.iter().take(self.used) {
                buffer
                    .data
                    .iter_mut()
                    .zip(&p.buffers[j])
                    .for_each(|(a, &b)| *a += b);
            }
            let inv = 1.0 / self.used as f32;
            buffer.data.iter_mut().for_each(|a| *a *= inv);
            for p in &mut self.passes {
                p.buffers[j].copy_from_slice(&buffer.data);
            }
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_batch_with_at_least_two_rows() {
        assert_eq!(shards(64, 2), vec![(0, 32), (32, 32)]);
        assert_eq!(shards(5, 2), vec![(0, 3), (3, 2)]);
        assert_eq!(shards(3, 4), vec![(0, 3)]);
        assert_eq!(shards(1, 2), vec![(0, 1)]);
        assert_eq!(shards(7, 3), vec![(0, 3), (3, 2), (5, 2)]);
    }

    #[test]
    fn mix_separates_counters() {
        assert_ne!(mix(&[1, 2]), mix(&[2, 1]));
        assert_ne!(mix(&[0, 0]), mix(&[0, 1]));
        assert_eq!(mix(&[7, 9]), mix(&[7, 9]));
    }
}
