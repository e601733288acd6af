//! The first line of a training run: what is trained, on which data, how, and for how long,
//! in the spellings of the flags that set each part (`cross-entropy`, `sgd`), so that a line
//! can be turned back into a command.

use crate::config::TrainConfig;
use crate::words::count;
use serde::Serialize;

/// A config enum as its flag value (`CrossEntropy` → `cross-entropy`): its serde name, which
/// is clap's value name too (both kebab-case).
pub fn flag_value<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Where a run's configuration comes from: a preset (with any flags on top) or a resumed
/// checkpoint.
pub enum Origin<'a> {
    Preset(&'a str),
    Resumed {
        path: &'a std::path::Path,
        epoch: usize,
    },
}

/// The header line: layers and the functions, the data set (`data`: its name and image
/// shape), the training-set size, the backend, the preset or checkpoint, the hyper-parameters, and the epoch count.
pub fn header(
    cfg: &TrainConfig,
    origin: Origin,
    data: &crate::data::record::DataRecord,
    backend: &str,
    n_train: usize,
    eta: f32,
) -> String {
    let n = &cfg.network;
    let from = match origin {
        Origin::Preset(p) => format!("preset {p}"),
        Origin::Resumed { path, epoch } => {
            format!(
                "resumed from {} after {}",
                path.display(),
                count(epoch, "epoch")
            )
        }
    };
    format!(
        "training {} ({} output, {} cost, {} init) on {} ({}x{}, {}) with {backend}; {from}; η={eta} λ={} batch {} {}; {}",
        n.layers_string(),
        flag_value(&n.output),
        flag_value(&n.cost),
        flag_value(&n.init),
        data.label(),
        data.rows,
        data.cols,
        count(n_train, "training image"),
        cfg.lambda,
        cfg.batch_size,
        flag_value(&cfg.optimizer.kind),
        count(cfg.epochs, "epoch"),
    )
}
