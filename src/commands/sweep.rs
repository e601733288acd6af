//! `gpu-mlp train` when the flags name several networks: the sweep's members, group by group,
//! each exactly its solo run; a checkpoint and a metrics file per member, the results table,
//! shards, and resuming a killed sweep from its directory.

use super::{gpu_context, make_members};
use crate::checkpoint::Checkpoint;
use crate::cli::TrainArgs;
use crate::data;
use crate::data::record::DataRecord;
use crate::error::{Error, Result};
use crate::model::Params;
use crate::progress::LogMode;
use crate::sweep::manifest::Manifest;
use crate::sweep::plan::{groups, Member, Plan};
use crate::sweep::results::{results_file, MemberResult, SweepReport};
use crate::train::members::{train_members, MemberRun};
use crate::train::TrainingState;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a sweep keeps what it writes.
struct Outputs {
    /// Checkpoints, the manifest, the results (`--save DIR` or `--resume DIR`).
    save: Option<PathBuf>,
    /// One JSON Lines file per member (`--metrics DIR`).
    metrics: Option<PathBuf>,
    save_best: Option<PathBuf>,
    checkpoint_every: Option<usize>,
}

impl Outputs {
    fn checkpoint(&self, m: &Member) -> Option<PathBuf> {
        self.save
            .as_ref()
            .map(|d| d.join(format!("{}.safetensors", m.stem())))
    }

    /// Member `m`'s best checkpoint in the sweep directory, where --save-best asks for one.
    fn best(&self, m: &Member) -> Option<PathBuf> {
        self.save_best.as_ref().and(self.best_in_dir(m))
    }

    /// Where member `m`'s best checkpoint goes in the sweep directory, asked for or not.
    fn best_in_dir(&self, m: &Member) -> Option<PathBuf> {
        self.save
            .as_ref()
            .map(|d| d.join(format!("{}.best.safetensors", m.stem())))
    }

    fn metrics(&self, m: &Member) -> Option<PathBuf> {
        self.metrics
            .as_ref()
            .map(|d| d.join(format!("{}.jsonl", m.stem())))
    }

    /// Every file a sweep of `members` writes, with these flags or with --save-best: in its
    /// directories, and the --save-best file.
    fn files(&self, members: &[&Member], shard: Option<(usize, usize)>) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = members
            .iter()
            .flat_map(|m| [self.checkpoint(m), self.best_in_dir(m), self.metrics(m)])
            .flatten()
            .collect();
        for dir in [&self.save, &self.metrics].into_iter().flatten() {
            files.push(results_file(dir, shard));
        }
        files.extend(self.save.as_deref().map(Manifest::path));
        files.extend(self.save_best.clone());
        files
    }
}

/// The plan to run: the flags' own, or when resuming the one recorded in the directory (the
/// flags may then only raise --epochs).
fn resolve_plan(args: &TrainArgs, flags: Plan) -> Result<(Plan, bool)> {
    let shard = args.shard.map(|s| (s.index, s.count));
    let Some(dir) = args.resume.as_deref().filter(|d| d.is_dir()) else {
        return Ok((flags, false));
    };
    let manifest = Manifest::read(dir)?.ok_or_else(|| {
        Error::config(format!(
            "--resume {}: the directory holds no sweep.json, so it is not a sweep's directory (to resume one run, give its checkpoint file)",
            dir.display()
        ))
    })?;
    if flags.is_sweep() && flags.fingerprint() != manifest.sweep {
        return Err(Error::config(format!(
            "--resume {}: the directory holds another sweep ({}) than the flags name ({}); resume with the sweep's own flags, or with --resume and only the data flags it was started with (--train-size, --dataset, ...)",
            dir.display(),
            manifest.sweep,
            flags.fingerprint()
        )));
    }
    if manifest.shard != shard {
        let show = |s: Option<(usize, usize)>| {
            s.map_or("the whole sweep".into(), |(i, n)| format!("shard {i}/{n}"))
        };
        return Err(Error::config(format!(
            "--resume {}: the directory holds {}, not {}; give the same --shard",
            dir.display(),
            show(manifest.shard),
            show(shard)
        )));
    }
    let mut plan = manifest.plan;
    if let Some(epochs) = args.hyper.epochs {
        for m in &mut plan.members {
            m.cfg.epochs = epochs;
        }
    }
    Ok((plan, true))
}

/// Member `m`'s run and starting point: its checkpoint in the sweep directory when resuming
/// and there is one, else a fresh start from its seed.
fn start(
    m: &Member,
    outputs: &Outputs,
    resuming: bool,
    (n_train, data, any_data): (usize, &DataRecord, bool),
) -> Result<(MemberRun, Params, Option<crate::model::OptimizerState>)> {
    let saved = outputs
        .checkpoint(m)
        .filter(|p| resuming && p.exists())
        .map(|p| Checkpoint::load(&p).map(|ck| (p, ck)))
        .transpose()?;
    let Some((path, ck)) = saved else {
        let params = Params::init(&m.cfg.network, m.cfg.seed);
        return Ok((
            MemberRun::new(m.cfg.clone(), TrainingState::start(&m.cfg)),
            params,
            None,
        ));
    };
    let (saved_cfg, state) = ck.train.clone().ok_or_else(|| {
        Error::bad_checkpoint(
            &path,
            "holds no training state; it was not written by a sweep",
        )
    })?;
    super::model_data::check(&path, ck.data.as_ref(), data, any_data)?;
    let mut same = saved_cfg.clone();
    same.epochs = m.cfg.epochs;
    if same != m.cfg {
        return Err(Error::bad_checkpoint(
            &path,
            format!(
                "was written for other settings than the sweep's member {}",
                m.label()
            ),
        ));
    }
    if state.train_size.is_some_and(|n| n != n_train) {
        return Err(Error::config(format!(
            "{}: the member trained on {} images, this run has {n_train}; resume with --train-size {} and the data flags the sweep was started with",
            path.display(),
            state.train_size.unwrap_or(0),
            state.train_size.unwrap_or(0)
        )));
    }
    let optimizer = ck
        .optimizer
        .filter(|(kind, _)| *kind == m.cfg.optimizer.kind)
        .map(|(_, s)| s);
    Ok((MemberRun::new(m.cfg.clone(), state), ck.params, optimizer))
}

/// The MD5 of the bytes `ck` is saved as: equal digests are the same file.
fn digest(ck: &Checkpoint) -> Result<[u8; 16]> {
    use md5::{Digest, Md5};
    Ok(Md5::digest(ck.to_bytes()?).into())
}

fn checkpoint_of(
    data: &DataRecord,
    cfg: &crate::config::TrainConfig,
    state: &TrainingState,
    params: Params,
    optimizer: crate::model::OptimizerState,
) -> Checkpoint {
    Checkpoint {
        network: cfg.network.clone(),
        params,
        optimizer: Some((cfg.optimizer.kind, optimizer)),
        train: Some((cfg.clone(), state.clone())),
        data: Some(data.clone()),
    }
}

pub fn run(args: &TrainArgs, flags: Plan) -> Result<()> {
    if args.checkpoint_every == Some(0) {
        return Err(Error::config("--checkpoint-every must be at least 1"));
    }
    if args.plot.is_some() {
        return Err(Error::config(
            "--plot draws one run; for a sweep give --metrics DIR and draw it with `gpu-mlp plot DIR`",
        ));
    }
    let (plan, resuming) = resolve_plan(args, flags)?;
    let save = match (&args.resume, &args.save) {
        (Some(r), Some(s)) if resuming && r != s => {
            return Err(Error::config(format!(
                "--resume {} continues the sweep in that directory; leave --save out or give the same directory",
                r.display()
            )))
        }
        (Some(r), _) if resuming => Some(r.clone()),
        (_, s) => s.clone(),
    };
    let outputs = Outputs {
        save,
        metrics: args.metrics.clone(),
        save_best: args.save_best.clone(),
        checkpoint_every: args.checkpoint_every,
    };
    let shard = args.shard.map(|s| (s.index, s.count));
    let members: Vec<&Member> = match shard {
        Some((i, n)) => plan.shard(i, n),
        None => plan.members.iter().collect(),
    };
    // The numbers are checked before the data is read, so a bad flag fails at once.
    for m in &members {
        m.cfg
            .validate_data(args.data.train_size, args.data.validation_size)?;
        super::train::check_save_best(args, &m.cfg)?;
    }
    // The directories (and --save-best) are checked and locked before the data is read: a
    // second run writing the same sweep directory exits at once.
    let _locked = crate::outputs::Outputs::new()
        .fills_dir("--save", outputs.save.as_deref())
        .fills_dir("--metrics", outputs.metrics.as_deref())
        .writes("--save-best", outputs.save_best.as_deref())
        .check()?
        .lock()?;
    if let Some(dir) = &outputs.save {
        match Manifest::read(dir)? {
            Some(found) if found.sweep != plan.fingerprint() || found.shard != shard => {
                return Err(Error::config(format!(
                    "--save {}: the directory holds another sweep ({}); choose another directory",
                    dir.display(),
                    found.sweep
                )))
            }
            Some(_) if !resuming => {
                return Err(Error::config(format!(
                    "--save {}: the directory already holds this sweep; continue it with --resume {}, or choose another directory",
                    dir.display(),
                    dir.display()
                )))
            }
            _ => Manifest::new(&plan, shard).write(dir)?,
        }
    }
    // A sweep killed while writing a file leaves its temporary file, which the next write of
    // that file removes; a resumed sweep may never write it again (a member that had finished),
    // so once the run is accepted, with the directories locked, what dead writers left of any
    // of its files goes.
    for file in outputs.files(&members, shard) {
        crate::fs::remove_left_behind(&file);
    }
    let (splits, record) = data::load_recorded(&args.data.source(), args.data.sizes())?;
    let splits = Arc::new(splits);
    for m in &members {
        m.cfg.network.validate(splits.inputs(), splits.classes)?;
        m.cfg
            .validate_data(splits.train.len(), splits.validation.len())?;
    }
    let tensorboard = match &args.tensorboard {
        Some(dir) => Some(crate::tensorboard::session_dir(
            &crate::fs::check_output_dir("--tensorboard", dir)?,
        )?),
        None => None,
    };
    let mode = LogMode::for_stdout(args.quiet, args.json_log());
    let ctx = gpu_context(
        args.device.backend,
        args.device.adapter.as_deref(),
        matches!(mode, LogMode::Bar | LogMode::Plain),
    )?;
    let n_train = splits.train.len();
    // Members of one group that stand at different epochs (a sweep killed while writing its
    // checkpoints) train as groups of their own.
    let mut starts = Vec::with_capacity(members.len());
    for m in &members {
        starts.push(start(
            m,
            &outputs,
            resuming,
            (n_train, &record, args.any_data),
        )?);
    }
    let by_index: HashMap<usize, usize> = members
        .iter()
        .enumerate()
        .map(|(i, m)| (m.index, i))
        .collect();
    let mut batches: Vec<Vec<&Member>> = Vec::new();
    for g in groups(&members) {
        let mut epochs: Vec<usize> = g
            .iter()
            .map(|m| starts[by_index[&m.index]].0.state.epoch)
            .collect();
        epochs.sort_unstable();
        epochs.dedup();
        for e in epochs {
            batches.push(
                g.iter()
                    .copied()
                    .filter(|m| starts[by_index[&m.index]].0.state.epoch == e)
                    .collect(),
            );
        }
    }
    if matches!(mode, LogMode::Bar | LogMode::Plain) {
        println!(
            "sweep of {} members{} ({}) on {} ({}x{}) with {}, in {}; {}",
            members.len(),
            shard.map_or(String::new(), |(i, n)| format!(
                " (shard {i}/{n} of {})",
                plan.members.len()
            )),
            plan.swept.join(", "),
            record.label(),
            record.rows,
            record.cols,
            ctx.as_ref().map_or("cpu".to_string(), |c| c.describe()),
            crate::words::count(batches.len(), "group"),
            crate::words::count(n_train, "training image")
        );
    }
    let mut results: Vec<MemberResult> = Vec::new();
    let mut best_models: HashMap<usize, Checkpoint> = HashMap::new();
    let mut starts: Vec<Option<_>> = starts.into_iter().map(Some).collect();
    for (g, group) in batches.iter().enumerate() {
        let mut runs = Vec::with_capacity(group.len());
        let mut initial = Vec::with_capacity(group.len());
        for m in group {
            let (run, params, state) = starts[by_index[&m.index]]
                .take()
                .ok_or_else(|| Error::internal("a member in two groups"))?;
            runs.push(run);
            initial.push((params, state));
        }
        if runs.iter().all(|r| !r.active()) {
            results.extend(group.iter().zip(&runs).map(|(m, r)| MemberResult::of(m, r)));
            continue;
        }
        let first = &group[0].cfg;
        let mut backend = make_members(
            &args.device,
            ctx.as_ref(),
            &first.network,
            initial.iter().map(|(p, _)| p.clone()).collect(),
            first.optimizer.kind,
            splits.clone(),
            first.batch_size,
        )?;
        for (m, (params, state)) in initial.iter().enumerate() {
            if let Some(state) = state {
                backend.load_state(m, params, state)?;
            }
        }
        let mut metrics = Vec::with_capacity(group.len());
        let mut boards = Vec::with_capacity(group.len());
        for (m, run) in group.iter().zip(&runs) {
            boards.push(match &tensorboard {
                Some(dir) => Some(crate::tensorboard::RunWriter::create(&dir.join(m.stem()))?),
                None => None,
            });
            metrics.push(match outputs.metrics(m) {
                Some(path) => {
                    let file =
                        super::metrics_file::open(&path, resuming.then_some(run.state.epoch))?;
                    Some((path, std::io::BufWriter::new(file)))
                }
                None => None,
            });
        }
        let label = format!(
            "group {}/{} ({} member{})",
            g + 1,
            batches.len(),
            group.len(),
            if group.len() == 1 { "" } else { "s" }
        );
        let epochs = first.epochs;
        crate::interrupt::install()?;
        // The digest of the checkpoint file each member last saved: the one after its last
        // epoch is not written again when its bytes are the same.
        let mut written: Vec<Option<[u8; 16]>> = vec![None; group.len()];
        let trained = train_members(
            &mut runs,
            backend.as_mut(),
            n_train,
            |m, run, backend| {
                let member = group[m];
                let report = run
                    .reports
                    .last()
                    .ok_or_else(|| Error::internal("no report"))?;
                if let Some((path, w)) = metrics[m].as_mut() {
                    let line = serde_json::to_string(report)
                        .map_err(|e| Error::internal(format!("cannot encode metrics: {e}")))?;
                    writeln!(w, "{line}")
                        .and_then(|_| w.flush())
                        .map_err(|e| Error::io(path.as_path(), e))?;
                }
                if let Some(tb) = boards[m].as_mut() {
                    tb.epoch(report)?;
                }
                if mode == LogMode::Json {
                    let mut v = serde_json::to_value(report)
                        .map_err(|e| Error::internal(format!("cannot encode metrics: {e}")))?;
                    v["member"] = member.index.into();
                    v["label"] = member.label().into();
                    println!("{v}");
                }
                let improved = run.state.improved() && outputs.save_best.is_some();
                let due = outputs
                    .checkpoint_every
                    .is_some_and(|n| run.state.epoch.is_multiple_of(n));
                if improved || (due && outputs.save.is_some()) {
                    let ck = checkpoint_of(
                        &record,
                        &run.cfg,
                        &run.state,
                        backend.params(m)?,
                        backend.optimizer_state(m)?,
                    );
                    if improved {
                        if let Some(path) = outputs.best(member) {
                            ck.save(&path)?;
                        }
                    }
                    if due {
                        if let Some(path) = outputs.checkpoint(member) {
                            ck.save(&path)?;
                            written[m] = Some(digest(&ck)?);
                        }
                    }
                    if improved {
                        best_models.insert(member.index, ck);
                    }
                }
                Ok(())
            },
            |runs| {
                if matches!(mode, LogMode::Bar | LogMode::Plain) {
                    println!(
                        "{}",
                        crate::sweep::results::epoch_line(&label, runs, epochs)
                    );
                }
                Ok(())
            },
        );
        // Ctrl-C or SIGTERM stops the group at an epoch boundary: its members are saved below
        // as after their last epoch, and the sweep ends there.
        let interrupted = match trained {
            Err(Error::Interrupted { signal, .. }) => Some(signal),
            other => {
                other?;
                None
            }
        };
        for (m, (member, run)) in group.iter().zip(&runs).enumerate() {
            if let Some(path) = outputs.checkpoint(member) {
                if run.diverged.is_none() {
                    let ck = checkpoint_of(
                        &record,
                        &run.cfg,
                        &run.state,
                        backend.params(m)?,
                        backend.optimizer_state(m)?,
                    );
                    if written[m] != Some(digest(&ck)?) {
                        ck.save(&path)?;
                    }
                }
            }
            results.push(MemberResult::of(member, run));
        }
        if let Some(signal) = interrupted {
            let epoch = runs.iter().map(|r| r.state.epoch).max().unwrap_or(0);
            return Err(super::interrupted::sweep(
                signal,
                outputs.save.as_deref(),
                epoch,
                &label,
            ));
        }
    }
    let report = SweepReport::new(plan.fingerprint(), plan.members.len(), results);
    for dir in [&outputs.save, &outputs.metrics].into_iter().flatten() {
        report.write(&results_file(dir, shard))?;
    }
    if let Some(path) = &outputs.save_best {
        let best_file = |m: &Member| outputs.best(m);
        super::sweep_best::save_best(&report, &members, &best_file, &mut best_models, path)?;
    }
    match mode {
        LogMode::Json => {
            let json = serde_json::to_string(&report)
                .map_err(|e| Error::internal(format!("cannot encode the sweep's results: {e}")))?;
            println!("{json}");
        }
        _ => print!("{}", report.table()),
    }
    Ok(())
}
