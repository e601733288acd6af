//! Checkpoints as safetensors: `layers.N.weight` shaped [out, in] and `layers.N.bias` shaped
//! [out], f32 little-endian, plus the optimizer's state tensors
//! (`optimizer.SLOT.layers.N.weight|bias`) and metadata: layer sizes, output, cost, and for
//! resuming the training configuration and progress as JSON, and the data set it was trained on
//! (`data`: its name or directory, the four files' SHA-256 and the image shape;
//! [`crate::data::record`]).
//!
//! Writes go through [`crate::fs::write_atomically`], so a crash mid-write never leaves a broken
//! file where a good one was.

use crate::config::{Cost, NetworkConfig, OptimizerKind, Output, Schedule, TrainConfig};
use crate::data::record::DataRecord;
use crate::error::{Error, Result};
use crate::model::{Layer, OptimizerState, Params};
use crate::train::TrainingState;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Everything a checkpoint holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub network: NetworkConfig,
    pub params: Params,
    /// The optimizer's kind and state, when saved by a training run.
    pub optimizer: Option<(OptimizerKind, OptimizerState)>,
    /// The run's configuration and the state of its epoch loop (metadata `train_config` and
    /// `progress`), when saved by a training run.
    pub train: Option<(TrainConfig, TrainingState)>,
    /// The data set it was trained on (metadata `data`; absent in checkpoints written before
    /// gpu-mlp recorded it).
    pub data: Option<DataRecord>,
}

const FORMAT: &str = "gpu-mlp/1";

/// The checkpoint's account of the random state (metadata `rng_state`). A run draws random
/// numbers in exactly two places, both keyed by the seed in `train_config`: the initial
/// parameters (`Params::init`, ChaCha8 seeded with the seed) and each epoch's shuffle
/// (`data::epoch_order`, ChaCha8 seeded with the seed on stream epoch + 1). So the seed and
/// `progress.epoch` are the whole RNG state, and no generator position needs saving.
pub const RNG_STATE: &str =
    "derived from seed+epoch: epoch e shuffles with ChaCha8(seed, stream e+1)";

fn slot_names(kind: OptimizerKind) -> &'static [&'static str] {
    kind.slot_names()
}

fn to_le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn kebab<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Checkpoint {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        let mut push_params = |prefix: &str, p: &Params| {
            for (n, l) in p.layers.iter().enumerate() {
                tensors.push((
                    format!("{prefix}layers.{n}.weight"),
                    vec![l.outputs, l.inputs],
                    to_le_bytes(&l.weight),
                ));
                tensors.push((
                    format!("{prefix}layers.{n}.bias"),
                    vec![l.outputs],
                    to_le_bytes(&l.bias),
                ));
            }
        };
        push_params("", &self.params);
        let mut meta = HashMap::new();
        meta.insert("format".to_string(), FORMAT.to_string());
        meta.insert("layers".to_string(), self.network.layers_string());
        meta.insert("output".to_string(), kebab(&self.network.output));
        meta.insert("cost".to_string(), kebab(&self.network.cost));
        meta.insert("init".to_string(), kebab(&self.network.init));
        if let Some((kind, state)) = &self.optimizer {
            meta.insert("optimizer".to_string(), kebab(kind));
            meta.insert("optimizer_step".to_string(), state.step.to_string());
            for (name, slot) in slot_names(*kind).iter().zip(&state.slots) {
                push_params(&format!("optimizer.{name}."), slot);
            }
        }
        if let Some((cfg, progress)) = &self.train {
            meta.insert("train_config".to_string(), to_json(cfg)?);
            meta.insert("progress".to_string(), to_json(progress)?);
            meta.insert("rng_state".to_string(), RNG_STATE.to_string());
        }
        if let Some(data) = &self.data {
            meta.insert("data".to_string(), to_json(data)?);
        }
        let views = tensors
            .iter()
            .map(|(name, shape, data)| {
                TensorView::new(Dtype::F32, shape.clone(), data)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| Error::internal(format!("cannot build tensor {name}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let bytes = safetensors::serialize(views, Some(meta))
            .map_err(|e| Error::internal(format!("cannot serialise checkpoint: {e}")))?;
        with_sorted_header(bytes)
    }

    /// Writes the checkpoint to `path` atomically (temporary file, fsync, rename), after
    /// reading its bytes back with the reader's own rules ([`Checkpoint::from_bytes`]: finite
    /// weights and optimizer state, every configuration and progress number a finite f32, the
    /// shapes) and comparing what they hold with what was meant to be saved. A checkpoint that
    /// would not read back, or would read back as something else, is not written: the previous
    /// file stays, and the error is a divergence (exit code 4), since only a run gone wrong
    /// produces such state (an η grown to ∞, moments that overflowed).
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes()?;
        let refuse = |why: String| {
            Error::Diverged(format!(
                "refusing to save {}: {why}; the file keeps its previous content",
                path.display()
            ))
        };
        match Self::from_bytes(&bytes, path) {
            Err(Error::BadCheckpoint { message, .. }) => {
                return Err(refuse(format!(
                    "the checkpoint would not read back ({message})"
                )))
            }
            Err(e) => return Err(e),
            Ok(back) if back != *self => {
                return Err(refuse(
                    "the checkpoint would read back different from the training state".into(),
                ))
            }
            Ok(_) => {}
        }
        crate::fs::write_atomically(path, &bytes)
    }

    /// Reads and checks a checkpoint file.
    pub fn load(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// Parses checkpoint bytes; `path` only names the source in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Checkpoint> {
        let bad = |m: String| Error::bad_checkpoint(path, printable(&m));
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |key: &str| {
            meta.get(key)
                .cloned()
                .ok_or_else(|| bad(format!("metadata has no \"{key}\" entry")))
        };
        let format = get("format")?;
        if format != FORMAT {
            return Err(bad(format!(
                "format is \"{format}\", expected \"{FORMAT}\""
            )));
        }
        let layers = get("layers")?
            .split(',')
            .map(|s| s.trim().parse::<usize>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("metadata \"layers\" is not a list of sizes: {e}")))?;
        let enum_of =
            |key: &str| -> Result<serde_json::Value> { Ok(serde_json::Value::String(get(key)?)) };
        let output: Output = serde_json::from_value(enum_of("output")?)
            .map_err(|_| bad(format!("unknown output {:?}", meta.get("output"))))?;
        let cost: Cost = serde_json::from_value(enum_of("cost")?)
            .map_err(|_| bad(format!("unknown cost {:?}", meta.get("cost"))))?;
        let init = meta
            .get("init")
            .and_then(|s| serde_json::from_value(serde_json::Value::String(s.clone())).ok())
            .unwrap_or(crate::config::Init::Normal);
        let network = NetworkConfig {
            layers,
            output,
            cost,
            init,
        };
        if network.layers.len() < 2 || network.layers.contains(&0) {
            return Err(bad(format!(
                "metadata \"layers\" is {:?}; a network needs at least two non-zero sizes",
                network.layers
            )));
        }
        let read_params = |prefix: &str| -> Result<Params> {
            let layers = network
                .shapes()
                .enumerate()
                .map(|(n, (inputs, outputs))| {
                    Ok(Layer {
                        inputs,
                        outputs,
                        weight: read_tensor(
                            &st,
                            &format!("{prefix}layers.{n}.weight"),
                            &[outputs, inputs],
                            path,
                        )?,
                        bias: read_tensor(
                            &st,
                            &format!("{prefix}layers.{n}.bias"),
                            &[outputs],
                            path,
                        )?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Params { layers })
        };
        let params = read_params("")?;
        if !params.is_finite() {
            return Err(bad(
                "holds NaN or infinite weights (gpu-mlp never saves those: the file is damaged)"
                    .into(),
            ));
        }
        let extra = st
            .names()
            .iter()
            .filter(|n| !n.starts_with("optimizer.") && !n.starts_with("layers."))
            .count();
        if extra > 0 {
            return Err(bad(format!("holds {extra} tensors gpu-mlp does not know")));
        }
        let optimizer = match meta.get("optimizer") {
            None => None,
            Some(kind) => {
                let kind: OptimizerKind =
                    serde_json::from_value(serde_json::Value::String(kind.clone()))
                        .map_err(|_| bad(format!("unknown optimizer \"{kind}\"")))?;
                let step = get("optimizer_step")?
                    .parse::<u64>()
                    .map_err(|e| bad(format!("metadata \"optimizer_step\": {e}")))?;
                let slots = slot_names(kind)
                    .iter()
                    .map(|name| read_params(&format!("optimizer.{name}.")))
                    .collect::<Result<Vec<_>>>()?;
                if !slots.iter().all(Params::is_finite) {
                    return Err(bad("holds NaN or infinite optimizer state".into()));
                }
                Some((kind, OptimizerState { step, slots }))
            }
        };
        let train = match (meta.get("train_config"), meta.get("progress")) {
            (Some(c), Some(p)) => {
                let cfg: TrainConfig =
                    serde_json::from_str(c).map_err(|e| bad(json_error("train_config", &e)))?;
                let progress: TrainingState =
                    serde_json::from_str(p).map_err(|e| bad(json_error("progress", &e)))?;
                if cfg.network.layers != network.layers {
                    return Err(bad("train_config's layers disagree with the tensors".into()));
                }
                if !finite_numbers(&cfg, &progress) {
                    return Err(bad(
                        "train_config or progress holds a number that is not a finite f32 (η, λ, an optimizer or schedule constant); it cannot be resumed or saved again".into(),
                    ));
                }
                Some((cfg, progress))
            }
            _ => None,
        };
        let data = meta
            .get("data")
            .map(|d| serde_json::from_str::<DataRecord>(d))
            .transpose()
            .map_err(|e| bad(format!("metadata \"data\": {e}")))?;
        Ok(Checkpoint {
            network,
            params,
            optimizer,
            train,
            data,
        })
    }
}

/// A message that quotes the file's own text, made one printable line: control characters
/// escaped (a damaged file's metadata may hold newlines) and cut at 300 characters.
fn printable(message: &str) -> String {
    let mut out: String = message
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .take(300)
        .collect();
    if out.chars().count() == 300 {
        out.push('…');
    }
    out
}

/// True if every real number of a run's configuration and progress is finite. JSON cannot hold
/// NaN or ∞, but a number such as 1e300 reads as an f32 ∞, which would then be written back
/// as `null`, making the next checkpoint unreadable (an input for the checkpoint fuzz target's
/// write-and-read-back check, tests/fuzz_regressions/checkpoint/*-1e300).
fn finite_numbers(cfg: &TrainConfig, progress: &TrainingState) -> bool {
    let o = &cfg.optimizer;
    let mut values = vec![cfg.eta, cfg.lambda, progress.eta];
    values.extend(o.numbers());
    match cfg.schedule {
        Schedule::Constant => {}
        Schedule::Step { factor, .. } => values.push(factor),
        Schedule::Plateau { divisor, .. } => values.push(divisor),
    }
    values.iter().all(|v| v.is_finite())
        && progress.best_validation_accuracy.is_none_or(f64::is_finite)
}

fn read_tensor(st: &SafeTensors, name: &str, shape: &[usize], path: &Path) -> Result<Vec<f32>> {
    let bad = |m: String| Error::bad_checkpoint(path, printable(&m));
    let t = st
        .tensor(name)
        .map_err(|_| bad(format!("tensor {name} is missing")))?;
    if t.dtype() != Dtype::F32 {
        return Err(bad(format!(
            "tensor {name} is {:?}, expected F32",
            t.dtype()
        )));
    }
    if t.shape() != shape {
        return Err(bad(format!(
            "tensor {name} has shape {:?}, expected {shape:?} from the layer sizes",
            t.shape()
        )));
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// A safetensors header: the `__metadata__` strings and one entry per tensor, both in sorted
/// key order when written back.
#[derive(Serialize, Deserialize)]
struct SortedHeader {
    #[serde(
        rename = "__metadata__",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    metadata: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    tensors: BTreeMap<String, serde_json::Value>,
}

/// Rewrites a safetensors file's header with its keys sorted, leaving the tensor data as it is.
///
/// safetensors writes `__metadata__` from a `HashMap`, whose iteration order changes from one
/// map to the next, so two identical checkpoints would differ in their header bytes. The layout
/// is an 8-byte little-endian header length, the JSON header padded with spaces to a multiple
/// of 8, then the tensor data, whose offsets count from the end of the header.
fn with_sorted_header(bytes: Vec<u8>) -> Result<Vec<u8>> {
    let fail =
        |what: String| Error::internal(format!("cannot write the checkpoint header: {what}"));
    let mut len = [0u8; 8];
    len.copy_from_slice(
        bytes
            .get(..8)
            .ok_or_else(|| fail("no length prefix".into()))?,
    );
    let end = usize::try_from(u64::from_le_bytes(len))
        .ok()
        .and_then(|n| n.checked_add(8))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| fail("the header length runs past the end".into()))?;
    let header: SortedHeader =
        serde_json::from_slice(&bytes[8..end]).map_err(|e| fail(e.to_string()))?;
    let mut json = serde_json::to_vec(&header).map_err(|e| fail(e.to_string()))?;
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len() - end);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[end..]);
    Ok(out)
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::internal(format!("cannot serialise checkpoint metadata: {e}")))
}

/// The message for metadata `key` that does not parse: a number too large for its f32 (such
/// as 1e300) is named as such, since that is what a fuzzer or a hand edit produces.
fn json_error(key: &str, e: &serde_json::Error) -> String {
    if e.to_string().contains("out of range") {
        format!(
            "metadata \"{key}\" holds a number that is not a finite f32 (η, λ, an optimizer or schedule constant): {e}"
        )
    } else {
        format!("metadata \"{key}\": {e}")
    }
}
