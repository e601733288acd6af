//! `gpu-mlp train`.

use super::make_backend;
use crate::checkpoint::Checkpoint;
use crate::cli::TrainArgs;
use crate::data;
use crate::error::{Error, Result};
use crate::model::Params;
use crate::outputs::Outputs;
use crate::plot::{MetricsLine, Run};
use crate::progress::{epoch_bar, summary_of, LogMode, ProgressBackend};
use crate::train::header::{header, Origin};
use crate::train::{train, with_checkpoint_note, StopReason, TrainingState};
use indicatif::{ProgressBar, ProgressDrawTarget};
use std::io::Write;
use std::sync::Arc;

pub fn run(args: &TrainArgs) -> Result<()> {
    if args.resume.as_deref().is_some_and(std::path::Path::is_dir) {
        let flags = args
            .hyper
            .plan(args.hyper.preset.config(), args.max_members)?;
        return super::sweep::run(args, flags);
    }
    if let Some(path) = args.resume.as_deref().filter(|p| !p.exists()) {
        return Err(Error::config(format!(
            "--resume {}: no such file or directory (give a run's checkpoint file, or a sweep's directory)",
            path.display()
        )));
    }
    let resumed = args.resume.as_deref().map(Checkpoint::load).transpose()?;
    let (base, start) = match &resumed {
        Some(ck) => {
            let (cfg, progress) = ck.train.clone().ok_or_else(|| {
                Error::bad_checkpoint(
                    args.resume.clone().unwrap_or_default(),
                    "holds no training state (was it written by `train --save`?)",
                )
            })?;
            (cfg, Some(progress))
        }
        None => (args.hyper.preset.config(), None),
    };
    let plan = args.hyper.plan(base, args.max_members)?;
    if plan.is_sweep() {
        if resumed.is_some() {
            return Err(Error::config(
                "--resume FILE continues one run; a sweep resumes from its directory (--resume DIR)",
            ));
        }
        return super::sweep::run(args, plan);
    }
    if args.checkpoint_every.is_some() && args.save.is_none() {
        return Err(Error::config(
            "--checkpoint-every needs --save PATH, the checkpoint it writes",
        ));
    }
    if let Some(shard) = args.shard {
        return Err(Error::config(format!(
            "--shard {shard} spreads a sweep over processes, but the flags name one network"
        )));
    }
    let cfg = plan
        .members
        .into_iter()
        .next()
        .map(|m| m.cfg)
        .ok_or_else(|| Error::internal("a plan of no members"))?;
    if args.checkpoint_every == Some(0) {
        return Err(Error::config("--checkpoint-every must be at least 1"));
    }
    if let (Some(path), Some(done)) = (&args.resume, start.as_ref().map(|p| p.epoch)) {
        if cfg.epochs < done {
            return Err(Error::config(format!(
                "--epochs {} is fewer than the {} {} has already trained (--epochs counts the total, the epochs done included); give --epochs above {done} to train further",
                cfg.epochs,
                crate::words::count(done, "epoch"),
                path.display()
            )));
        }
        if cfg.epochs == done {
            eprintln!(
                "note: {} has already trained all {} (--epochs counts the total); nothing to train: give --epochs above {done} to continue",
                path.display(),
                crate::words::count(done, "epoch")
            );
        }
    }
    check_save_best(args, &cfg)?;
    // The numbers and every output path are checked before the data is read, so a bad flag
    // fails at once; the outputs stay locked against a second run until this one ends.
    cfg.validate_data(args.data.train_size, args.data.validation_size)?;
    let _outputs = Outputs::new()
        .reads("--resume", args.resume.as_deref())
        .writes_over("--save", args.save.as_deref(), "--resume")
        .writes("--metrics", args.metrics.as_deref())
        .writes("--plot", args.plot.as_deref())
        .writes("--save-best", args.save_best.as_deref())
        .check()?
        .lock()?;
    if let Some(dir) = &args.tensorboard {
        crate::fs::check_output_dir("--tensorboard", dir)?;
    }
    let recorded = resumed.as_ref().and_then(|ck| ck.data.as_ref());
    let source = match &args.resume {
        Some(path) => super::model_data::source(&args.data, path, recorded)?,
        None => args.data.source(),
    };
    let (splits, record) = data::load_recorded(&source, args.data.sizes())?;
    let splits = Arc::new(splits);
    cfg.network.validate(splits.inputs(), splits.classes)?;
    if let Some(path) = &args.resume {
        super::model_data::check(path, recorded, &record, args.any_data)?;
    }
    cfg.validate_data(splits.train.len(), splits.validation.len())?;
    if let Some(n) = start.as_ref().and_then(|p| p.train_size) {
        if n != splits.train.len() {
            return Err(Error::config(format!(
                "--train-size {} differs from the {n} training images the resumed run trained on; resume with --train-size {n} and the same --dataset/--data-dir",
                splits.train.len()
            )));
        }
    }

    let (params, state, progress) = match &resumed {
        Some(ck) => {
            if ck.network.layers != cfg.network.layers {
                return Err(Error::config(format!(
                    "--layers {} differs from the resumed checkpoint's {}",
                    cfg.network.layers_string(),
                    ck.network.layers_string()
                )));
            }
            let state = match &ck.optimizer {
                Some((kind, state)) if *kind == cfg.optimizer.kind => Some(state.clone()),
                _ => None,
            };
            let progress = match (start, &ck.train) {
                (Some(saved), Some((saved_cfg, _))) => {
                    let (progress, notes) = TrainingState::resume(saved, saved_cfg, &cfg);
                    for note in notes {
                        eprintln!("{note}");
                    }
                    progress
                }
                _ => TrainingState::start(&cfg),
            };
            (ck.params.clone(), state, progress)
        }
        None => (
            Params::init(&cfg.network, cfg.seed),
            None,
            TrainingState::start(&cfg),
        ),
    };
    cfg.check_first_step(splits.train.len(), params.max_abs())?;
    let mut backend = make_backend(
        &args.device,
        &cfg.network,
        params.clone(),
        cfg.optimizer.kind,
        splits.clone(),
        cfg.batch_size,
        !args.quiet && !args.json_log(),
    )?;
    if let Some(state) = &state {
        backend.load_state(&params, state)?;
    }
    // A GPU backend holds the images on the device: the host's copy goes (labels stay).
    let mut splits = splits;
    data::release_unshared_images(&mut splits);

    let mut metrics = match &args.metrics {
        Some(path) => {
            let file = super::metrics_file::open(path, resumed.as_ref().map(|_| progress.epoch))?;
            Some((path.clone(), std::io::BufWriter::new(file)))
        }
        None => None,
    };
    let mode = LogMode::for_stdout(args.quiet, args.json_log());
    if matches!(mode, LogMode::Bar | LogMode::Plain) {
        let preset = clap::ValueEnum::to_possible_value(&args.hyper.preset);
        let origin = match &args.resume {
            Some(path) => Origin::Resumed {
                path,
                epoch: progress.epoch,
            },
            None => Origin::Preset(preset.as_ref().map_or("?", |p| p.get_name())),
        };
        println!(
            "{}",
            header(
                &cfg,
                origin,
                &record,
                &backend.describe(),
                splits.train.len(),
                progress.eta
            )
        );
    }
    let mut tensorboard = match &args.tensorboard {
        Some(dir) => Some(crate::tensorboard::RunWriter::create(
            &crate::tensorboard::session_dir(dir)?,
        )?),
        None => None,
    };
    let saved_epoch = std::cell::Cell::new(None);
    // The last finished epoch's checkpoint, kept in memory where --save is given, so that an
    // interrupt in the middle of an epoch saves the one before it (`interrupted`).
    let last_finished = std::cell::RefCell::new(args.save.as_ref().and(resumed.clone()));
    let finished_epoch = std::cell::Cell::new(progress.epoch);
    // The run's state as a checkpoint: parameters and optimizer state read back once.
    let checkpoint = |backend: &mut dyn crate::backend::Backend,
                      progress: &TrainingState|
     -> Result<Checkpoint> {
        Ok(Checkpoint {
            network: cfg.network.clone(),
            params: backend.params()?,
            optimizer: Some((cfg.optimizer.kind, backend.optimizer_state()?)),
            train: Some((cfg.clone(), progress.clone())),
            data: Some(record.clone()),
        })
    };
    let save_to = |ck: &Checkpoint, epoch: usize| -> Result<()> {
        if let Some(path) = &args.save {
            ck.save(path)?;
            saved_epoch.set(Some(epoch));
        }
        Ok(())
    };
    let first_epoch = progress.epoch;
    let bar = match mode {
        LogMode::Bar => epoch_bar(ProgressDrawTarget::stdout_with_hz(
            crate::progress::REDRAWS_PER_SECOND,
        )),
        _ => ProgressBar::hidden(),
    };
    // Without a bar the epoch still goes in slices, of a quarter second (a negligible cost), so
    // that Ctrl-C stops it soon; the slices make the same updates as one call.
    let slice_seconds = match mode {
        LogMode::Bar => crate::progress::SLICE_SECONDS,
        _ => UNSHOWN_SLICE_SECONDS,
    };
    let mut shown = ProgressBackend::new(backend.as_mut(), bar.clone(), first_epoch, cfg.epochs)
        .with_slice_seconds(slice_seconds);
    crate::interrupt::install()?;
    let started = std::time::Instant::now();
    let outcome = train(
        &cfg,
        &mut shown,
        splits.train.len(),
        progress,
        |report, progress, backend| {
            match mode {
                LogMode::Bar => {
                    bar.println(report.line(cfg.epochs));
                    bar.set_message(summary_of(report));
                }
                LogMode::Plain => println!("{}", report.line(cfg.epochs)),
                LogMode::Json => {
                    let line = serde_json::to_string(report)
                        .map_err(|e| Error::internal(format!("cannot encode metrics: {e}")))?;
                    println!("{line}");
                }
                LogMode::Quiet => {}
            }
            if let Some((path, w)) = metrics.as_mut() {
                let line = serde_json::to_string(report)
                    .map_err(|e| Error::internal(format!("cannot encode metrics: {e}")))?;
                writeln!(w, "{line}")
                    .and_then(|_| w.flush())
                    .map_err(|e| Error::io(path.as_path(), e))?;
            }
            if let Some(tb) = tensorboard.as_mut() {
                tb.epoch(report)?;
            }
            finished_epoch.set(progress.epoch);
            let best = args.save_best.as_ref().filter(|_| progress.improved());
            if args.save.is_some() || best.is_some() {
                // One read-back serves the periodic save, the best model and the copy an
                // interrupt saves.
                let ck = checkpoint(backend, progress)?;
                if args
                    .checkpoint_every
                    .is_some_and(|n| progress.epoch.is_multiple_of(n))
                {
                    save_to(&ck, progress.epoch)?;
                }
                if let Some(path) = best {
                    ck.save(path)?;
                }
                if args.save.is_some() {
                    *last_finished.borrow_mut() = Some(ck);
                }
            }
            Ok(())
        },
    );
    bar.finish_and_clear();
    let outcome = match outcome {
        Err(Error::Interrupted { signal, .. }) => {
            return Err(super::interrupted::single(
                signal,
                args,
                last_finished.into_inner(),
                finished_epoch.get(),
            ))
        }
        other => {
            other.map_err(|e| with_checkpoint_note(e, args.save.as_deref(), saved_epoch.get()))?
        }
    };
    let wall = started.elapsed().as_secs_f64();
    if args.save.is_some() {
        save_to(
            &checkpoint(backend.as_mut(), &outcome.state)?,
            outcome.state.epoch,
        )?;
    }
    if let Some(path) = &args.plot {
        // The metrics file also holds the epochs before a --resume; without one, this run's.
        let lines = match &args.metrics {
            Some(m) => crate::plot::read_metrics(m)?,
            None => outcome.reports.iter().map(MetricsLine::from).collect(),
        };
        let run = Run::new("training run".to_string(), lines);
        crate::plot::draw(&[run], path, crate::plot::DEFAULT_SIZE)?;
    }
    let last = outcome.reports.last();
    let why = match outcome.stop {
        StopReason::Completed => "completed",
        StopReason::EarlyStop => "stopped early: validation accuracy stopped improving",
        StopReason::EtaExhausted => "stopped: the plateau schedule reached its smallest η",
    };
    let mut summary = format!(
        "{why} after {}",
        crate::words::count(outcome.state.epoch, "epoch")
    );
    if let Some(acc) = last.and_then(|r| r.test_accuracy) {
        summary += &format!("; final test accuracy {:.2}%", acc * 100.0);
    }
    if let Some(best) = outcome.state.best_validation_accuracy {
        summary += &format!(
            "; best validation accuracy {:.2}% (epoch {})",
            best * 100.0,
            outcome.state.best_epoch
        );
    }
    if let Some(path) = &args.save {
        summary += &format!("; saved {}", path.display());
    }
    if let Some(path) = &args.plot {
        summary += &format!("; plotted {}", path.display());
    }
    if let Some(tb) = &tensorboard {
        let run = tb.path().parent().unwrap_or(tb.path());
        summary += &format!("; TensorBoard run {}", run.display());
    }
    summary += &timing(wall, &outcome.reports);

    if mode == LogMode::Json {
        let json = serde_json::json!({
            "summary": summary,
            "stop": outcome.stop,
            "epochs": outcome.state.epoch,
            "test_accuracy": last.and_then(|r| r.test_accuracy),
            "best_validation_accuracy": outcome.state.best_validation_accuracy,
            "best_epoch": outcome.state.best_epoch,
        });
        println!("{json}");
    } else {
        println!("{summary}");
    }
    if args.save.is_none() {
        // Advice, not a result: on stderr, so that stdout stays the summary alone.
        eprintln!(
            "note: the model was not saved; add --save model.safetensors to keep it (then \
             `gpu-mlp eval --model model.safetensors`, `predict`, or `train --resume`)"
        );
    }
    Ok(())
}

/// `--save-best` keeps the epoch of the best validation accuracy, so the run (or each sweep
/// member, configured as `cfg`) must measure it: refused up front rather than never written.
pub(super) fn check_save_best(args: &TrainArgs, cfg: &crate::config::TrainConfig) -> Result<()> {
    if args.save_best.is_none() {
        return Ok(());
    }
    if !cfg.needs_validation() && !cfg.monitor.validation_accuracy {
        return Err(Error::config(
            "--save-best keeps the model of the best validation accuracy, but --monitor does not measure it; add validation-accuracy to --monitor",
        ));
    }
    if args.data.validation_size == 0 {
        return Err(Error::config(
            "--save-best keeps the model of the best validation accuracy, but --validation-size is 0",
        ));
    }
    Ok(())
}

/// Slices of about this many seconds when no bar is shown: how soon Ctrl-C stops an epoch.
const UNSHOWN_SLICE_SECONDS: f64 = 0.25;

/// "; 9.31 s in all, 0.31 s per epoch with evaluation (0.20 s training)": the wall-clock time
/// of this process's epochs beside the training-only time.
fn timing(wall: f64, reports: &[crate::train::EpochReport]) -> String {
    if reports.is_empty() {
        return String::new();
    }
    let n = reports.len() as f64;
    let training: f64 = reports.iter().map(|r| r.seconds).sum();
    format!(
        "; {wall:.2} s in all, {:.2} s per epoch with evaluation ({:.2} s training)",
        wall / n,
        training / n
    )
}
