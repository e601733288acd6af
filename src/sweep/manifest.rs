//! The record of a sweep in its `--save` directory (`sweep.json`): which sweep it is (the
//! plan and its fingerprint) and which shard, so that `--resume DIR` continues exactly that
//! sweep and a directory of another sweep is refused rather than written over.

use super::plan::Plan;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const FORMAT: &str = "gpu-mlp-sweep/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// The plan's fingerprint.
    pub sweep: String,
    /// (index, count) of the shard this directory holds, if the sweep is sharded.
    pub shard: Option<(usize, usize)>,
    pub plan: Plan,
}

impl Manifest {
    pub fn new(plan: &Plan, shard: Option<(usize, usize)>) -> Self {
        Manifest {
            format: FORMAT.into(),
            sweep: plan.fingerprint(),
            shard,
            plan: plan.clone(),
        }
    }

    /// Where a sweep directory keeps its manifest.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("sweep.json")
    }

    /// The manifest in `dir`, if there is one.
    pub fn read(dir: &Path) -> Result<Option<Manifest>> {
        let path = Self::path(dir);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| Error::bad_data(&path, format!("not a gpu-mlp sweep manifest: {e}")))?;
        if m.format != FORMAT {
            return Err(Error::bad_data(
                &path,
                format!("format is {:?}, expected {FORMAT:?}", m.format),
            ));
        }
        if m.plan.fingerprint() != m.sweep {
            return Err(Error::bad_data(
                &path,
                "its plan does not match its fingerprint (edited by hand?)",
            ));
        }
        Ok(Some(m))
    }

    /// Writes the manifest into `dir` (atomically).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| Error::internal(format!("cannot encode the sweep manifest: {e}")))?;
        crate::fs::write_atomically(&Self::path(dir), format!("{json}\n").as_bytes())
    }
}
