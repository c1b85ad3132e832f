//! `mote summary SPEC|MODEL`: the layer table of a spec or a checkpoint.

use crate::Result;
use crate::model::{Model, summary};
use crate::train::Spec;
use crate::train::checkpoint::Checkpoint;
use std::path::Path;

/// The table for a spec (`.toml`) or a checkpoint (anything else).
pub fn run(path: &Path) -> Result<String> {
    let is_spec = path.extension().is_some_and(|e| e == "toml");
    let model = if is_spec {
        let spec = Spec::load(path)?;
        spec.validate()?;
        Model::new(spec.model, spec.training.seed)?
    } else {
        Checkpoint::load(path)?.model()?
    };
    Ok(summary::table(&model))
}
