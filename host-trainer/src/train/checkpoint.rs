//! Checkpoints: everything a run needs to continue exactly or to be evaluated,
//! exported and fine-tuned — the spec, the weights, the running statistics, the
//! optimiser and schedule state, the epoch and the history.
//!
//! Layout (all little-endian): the magic `MOTECKPT`, a `u32` version, a `u32` header
//! length, the header as JSON, then every tensor the header lists as raw `f32` values
//! (parameters, buffers, optimiser state, in that order), then an FNV-1a 64 checksum of
//! all the bytes before it. Files are written to a temporary name, synced and renamed,
//! so a crash leaves the previous checkpoint whole.

use super::config::Spec;
use crate::data::normalise::Normalisation;
use crate::early_stop::EarlyStopState;
use crate::model::Model;
use crate::report::EpochRecord;
use crate::schedule::SchedulerState;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

const MAGIC: &[u8; 8] = b"MOTECKPT";
const VERSION: u32 = 1;

/// Name and shape of a stored tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// Tensor name (`<layer>/<role>`).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
}

/// The header: everything but the tensor values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// The run spec the model was built from.
    pub spec: Spec,
    /// Epochs completed.
    pub epoch: usize,
    /// Optimiser steps taken.
    pub step: u64,
    /// Learning-rate schedule progress.
    pub scheduler: Option<SchedulerState>,
    /// Early-stopping progress.
    pub early_stop: Option<EarlyStopState>,
    /// One record per completed epoch.
    pub history: Vec<EpochRecord>,
    /// How inputs are normalised before the model sees them.
    pub normalisation: Normalisation,
    /// Number of classes, for classifiers.
    pub classes: Option<usize>,
    /// Best value of the monitored metric and its epoch.
    pub best: Option<(usize, f32)>,
    /// Parameter tensors, in model order.
    pub params: Vec<TensorInfo>,
    /// Buffer tensors, in model order.
    pub buffers: Vec<TensorInfo>,
    /// Length of each optimiser state slice (one per parameter tensor).
    pub optimizer: Vec<usize>,
}

/// A checkpoint in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The header.
    pub header: Header,
    /// Parameter values, as the header lists them.
    pub params: Vec<Vec<f32>>,
    /// Buffer values.
    pub buffers: Vec<Vec<f32>>,
    /// Optimiser state.
    pub optimizer: Vec<Vec<f32>>,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Checkpoint {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let header = serde_json::to_vec(&self.header).map_err(|e| Error::Mismatch {
            detail: format!("checkpoint header: {e}"),
        })?;
        let values: usize = [&self.params, &self.buffers, &self.optimizer]
            .iter()
            .flat_map(|v| v.iter())
            .map(Vec::len)
            .sum();
        let mut out = Vec::with_capacity(24 + header.len() + 4 * values);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        let len = u32::try_from(header.len()).map_err(|_| Error::Mismatch {
            detail: "checkpoint header over 4 GiB".into(),
        })?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&header);
        for t in self
            .params
            .iter()
            .chain(&self.buffers)
            .chain(&self.optimizer)
        {
            for v in t {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        let sum = fnv1a(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        Ok(out)
    }

    /// Parses a checkpoint; the error says what is wrong and at which byte.
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, String> {
        let body_len = bytes
            .len()
            .checked_sub(8)
            .filter(|&n| n >= 16)
            .ok_or_else(|| format!("{} bytes is too short for a checkpoint", bytes.len()))?;
        let (body, sum) = bytes.split_at(body_len);
        if &body[..8] != MAGIC {
            return Err("not a mote checkpoint (bad magic at byte 0)".into());
        }
        let word = |at: usize| -> std::result::Result<u32, String> {
            body.get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
                .ok_or_else(|| format!("truncated at byte {at}"))
        };
        let version = word(8)?;
        if version != VERSION {
            return Err(format!(
                "checkpoint version {version} (this build reads {VERSION})"
            ));
        }
        let mut stored = [0u8; 8];
        stored.copy_from_slice(sum);
        if u64::from_le_bytes(stored) != fnv1a(body) {
            return Err(format!(
                "checksum mismatch at byte {body_len}: the file is corrupt or truncated"
            ));
        }
        let header_len = word(12)? as usize;
        let header_bytes = body
            .get(16..16 + header_len)
            .ok_or_else(|| format!("header of {header_len} bytes runs past the end (byte 16)"))?;
        let header: Header =
            serde_json::from_slice(header_bytes).map_err(|e| format!("header at byte 16: {e}"))?;
        let mut at = 16 + header_len;
        let mut take = |n: usize| -> std::result::Result<Vec<f32>, String> {
            let bytes_len = n.checked_mul(4).ok_or("tensor size overflows")?;
            let chunk = body
                .get(at..at.saturating_add(bytes_len))
                .ok_or_else(|| format!("tensor data truncated at byte {at}"))?;
            at += bytes_len;
            Ok(chunk
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        };
        let size = |t: &TensorInfo| t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let mut read_all = |infos: &[TensorInfo]| {
            infos
                .iter()
                .map(|t| take(size(t).ok_or_else(|| format!("shape of {} overflows", t.name))?))
                .collect::<std::result::Result<Vec<_>, String>>()
        };
        let params = read_all(&header.params)?;
        let buffers = read_all(&header.buffers)?;
        let optimizer = header
            .optimizer
            .iter()
            .map(|&n| take(n))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if at != body.len() {
            return Err(format!(
                "{} unexpected bytes after the tensors at byte {at}",
                body.len() - at
            ));
        }
        Ok(Self {
            header,
            params,
            buffers,
            optimizer,
        })
    }

    /// Writes the checkpoint atomically (temporary file, sync, rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::report::write_atomic(path, &self.to_bytes()?)
    }

    /// Copies the tensors into `model`, checking that every one matches by name and
    /// shape.
    pub fn copy_into(&self, model: &mut Model) -> Result<()> {
        let h = &self.header;
        if h.params.len() != model.params.len() || h.buffers.len() != model.buffers.len() {
            return Err(Error::Mismatch {
                detail: format!(
                    "checkpoint has {} parameter and {} buffer tensors, the model {} and {}",
                    h.params.len(),
                    h.buffers.len(),
                    model.params.len(),
                    model.buffers.len()
                ),
            });
        }
        let stored = h
            .params
            .iter()
            .chain(&h.buffers)
            .zip(self.params.iter().chain(&self.buffers));
        for (dst, (info, src)) in model
            .params
            .iter_mut()
            .chain(model.buffers.iter_mut())
            .zip(stored)
        {
            if info.name != dst.name || info.shape != dst.shape || src.len() != dst.data.len() {
                return Err(Error::Mismatch {
                    detail: format!(
                        "checkpoint tensor {} {:?} does not match the model's {} {:?}",
                        info.name, info.shape, dst.name, dst.shape
                    ),
                });
            }
            dst.data.copy_from_slice(src);
        }
        Ok(())
    }

    /// The model this checkpoint holds, with its weights.
    pub fn model(&self) -> Result<Model> {
        let mut model = Model::new(self.header.spec.model.clone(), 0)?;
        self.copy_into(&mut model)?;
        Ok(model)
    }

    /// Reads a checkpoint file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes).map_err(|d| Error::format(path, d))
    }
}
