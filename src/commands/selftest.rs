//! `gpu-mlp selftest`: every check of `crate::selftest` on each adapter asked for, one line per
//! check as it completes, a verdict; `--json` for the same as one object, `--report` for a
//! file to attach to a bug report. Exits 0 only if every check passed on every adapter.

use super::{gpu_api, threads};
use crate::cli::{BackendChoice, SelftestArgs};
use crate::error::{Error, Result};
use crate::gpu::{find_adapters, no_adapter_error, GpuContext};
use crate::selftest::{self, AdapterReport, Plan, Report};

/// The adapters asked for, unopened, or (for `--backend auto`) the one auto opens.
enum Targets {
    Found(Vec<crate::gpu::FoundAdapter>),
    Auto(GpuContext),
}

fn targets(args: &SelftestArgs) -> Result<Targets> {
    let filter = args.adapter.as_deref();
    let api = match args.backend {
        Some(BackendChoice::Cpu) => {
            return Err(Error::config(
                "--backend cpu: selftest holds a GPU adapter against the CPU reference; pick \
                 vulkan, metal, dx12, gl or auto, or leave --backend out to check every adapter",
            ))
        }
        Some(BackendChoice::Auto) => {
            let choice = GpuContext::open_best(filter);
            for reason in &choice.skipped {
                eprintln!("backend auto: {reason}; trying the next adapter");
            }
            return match choice.context {
                Some(ctx) => Ok(Targets::Auto(ctx)),
                None => Err(no_adapter_error(None, filter)),
            };
        }
        Some(b) => gpu_api(b),
        None => None,
    };
    let found = find_adapters(api, filter);
    if found.is_empty() {
        return Err(no_adapter_error(api, filter));
    }
    Ok(Targets::Found(found))
}

/// Runs every check on `ctx`, printing as it goes unless `json`.
fn check(ctx: &GpuContext, plan: &Plan, json: bool) -> AdapterReport {
    let report = selftest::run_all(ctx, plan, |c| {
        if !json {
            println!("{}", selftest::check_line(c));
        }
    });
    if !json {
        println!("{}", report.verdict());
    }
    report
}

pub fn run(args: &SelftestArgs) -> Result<()> {
    let plan = Plan {
        quick: args.quick,
        plant: args.plant_error.clone(),
    };
    let targets = targets(args)?;
    // The CPU reference of the training checks uses every core.
    threads(None)?;
    let (mut adapters, mut not_opened) = (Vec::new(), Vec::new());
    let header = |line: String, limits: Option<String>| {
        if !args.json {
            println!("{line}");
            if let Some(l) = limits {
                println!("{l}");
            }
        }
    };
    match targets {
        Targets::Auto(ctx) => {
            header(ctx.info().line(), Some(limits_line(&ctx)));
            adapters.push(check(&ctx, &plan, args.json));
        }
        Targets::Found(found) => {
            for adapter in found {
                let line = adapter.info().line();
                match adapter.open() {
                    Ok(ctx) => {
                        header(line, Some(limits_line(&ctx)));
                        adapters.push(check(&ctx, &plan, args.json));
                    }
                    Err(e) => {
                        header(line, None);
                        if !args.json {
                            println!("FAIL: {e}");
                        }
                        not_opened.push(e.to_string());
                    }
                }
            }
        }
    }
    let report = Report::new(adapters, not_opened);
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::internal(format!("cannot encode the self-test as JSON: {e}")))?;
        println!("{text}");
    } else {
        println!("{}", report.verdict);
    }
    if let Some(path) = &args.report {
        let command: Vec<String> = std::env::args().collect();
        crate::fs::write_atomically(path, report.bug_report(&command.join(" ")).as_bytes())?;
        eprintln!("selftest: wrote the report to {}", path.display());
    }
    outcome(&report, args.report.is_some())
}

fn limits_line(ctx: &GpuContext) -> String {
    let list: Vec<String> = ctx
        .limits_used()
        .iter()
        .map(|(name, value)| format!("{name} {value}"))
        .collect();
    format!("limits used: {}", list.join(", "))
}

/// Ok when everything passed; else exit 6 for wrong results, 5 for adapters that would not
/// open.
fn outcome(report: &Report, wrote_report: bool) -> Result<()> {
    if report.passed {
        return Ok(());
    }
    let hint = if wrote_report {
        "attach the report file to a bug report"
    } else {
        "run again with --report PATH and attach the file to a bug report"
    };
    let failed: Vec<String> = report
        .adapters
        .iter()
        .filter(|a| !a.all_passed())
        .map(|a| {
            let first = a.checks.iter().find(|c| !c.passed);
            let first = first.map_or(String::new(), |c| format!(", first {} {}", c.name, c.shape));
            format!(
                "{} of {} checks on {}{first}",
                a.failed,
                a.checks.len(),
                a.adapter.short()
            )
        })
        .collect();
    if failed.is_empty() {
        Err(Error::Gpu(format!(
            "selftest: {} adapter(s) could not be opened: {}",
            report.not_opened.len(),
            report.not_opened.join("; ")
        )))
    } else {
        Err(Error::SelftestFailed(format!(
            "selftest failed: {} ({hint})",
            failed.join("; ")
        )))
    }
}
