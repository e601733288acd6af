//! What a sweep found: one row per member (its flags, best and final accuracies, the epoch of
//! the best), sorted by validation accuracy, and the distribution of each accuracy over the
//! members; as a table or JSON, and as the results file each shard writes for `sweep-report`.

use super::plan::Member;
use crate::error::{Error, Result};
use crate::train::members::MemberRun;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One member's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberResult {
    pub index: usize,
    /// "eta=0.5 seed=3".
    pub label: String,
    pub epochs: usize,
    pub best_validation_accuracy: Option<f64>,
    pub best_epoch: usize,
    /// Test accuracy at the best epoch.
    pub best_test_accuracy: Option<f64>,
    pub final_validation_accuracy: Option<f64>,
    pub final_test_accuracy: Option<f64>,
    /// "completed", "early-stop", "eta-exhausted" or "diverged: …".
    pub status: String,
}

impl MemberResult {
    /// The result of `member`'s run.
    pub fn of(member: &Member, run: &MemberRun) -> Self {
        let status = match (&run.diverged, &run.stop) {
            (Some(d), _) => d.clone(),
            (None, Some(stop)) => serde_json::to_value(stop)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            (None, None) => "completed".into(),
        };
        MemberResult {
            index: member.index,
            label: member.label(),
            epochs: run.state.epoch,
            best_validation_accuracy: run.state.best_validation_accuracy,
            best_epoch: run.state.best_epoch,
            best_test_accuracy: run.state.best_test_accuracy,
            final_validation_accuracy: run.state.last_validation_accuracy,
            final_test_accuracy: run.state.last_test_accuracy,
            status,
        }
    }
}

/// Mean, median, standard deviation (n − 1) and range of a set of accuracies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub count: usize,
    pub mean: f64,
    pub median: f64,
    pub sd: f64,
    pub min: f64,
    pub max: f64,
}

impl Distribution {
    pub fn of(values: &[f64]) -> Option<Distribution> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            0.5 * (v[n / 2 - 1] + v[n / 2])
        };
        let sd = if n > 1 {
            (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Distribution {
            count: n,
            mean,
            median,
            sd,
            min: v[0],
            max: v[n - 1],
        })
    }
}

/// The whole report of a sweep (or of the shards merged).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    /// The sweep's fingerprint (plan::Plan::fingerprint).
    pub sweep: String,
    /// Members in the sweep, and the results here (fewer when shards are missing).
    pub members: usize,
    /// Sorted by best validation accuracy, best first (ties: the sweep's order).
    pub results: Vec<MemberResult>,
    pub best_validation: Option<Distribution>,
    pub best_test: Option<Distribution>,
    pub final_validation: Option<Distribution>,
    pub final_test: Option<Distribution>,
}

impl SweepReport {
    pub fn new(sweep: String, members: usize, mut results: Vec<MemberResult>) -> Self {
        results.sort_by(|a, b| {
            let key = |r: &MemberResult| r.best_validation_accuracy.unwrap_or(f64::NEG_INFINITY);
            key(b).total_cmp(&key(a)).then(a.index.cmp(&b.index))
        });
        let column = |f: fn(&MemberResult) -> Option<f64>| {
            Distribution::of(&results.iter().filter_map(f).collect::<Vec<_>>())
        };
        SweepReport {
            best_validation: column(|r| r.best_validation_accuracy),
            best_test: column(|r| r.best_test_accuracy),
            final_validation: column(|r| r.final_validation_accuracy),
            final_test: column(|r| r.final_test_accuracy),
            sweep,
            members,
            results,
        }
    }

    /// The table: a row per member, then the distributions. Nothing in it depends on timing,
    /// so the same sweep prints the same table however it was run or sharded.
    pub fn table(&self) -> String {
        let pct = |a: Option<f64>| a.map_or("-".to_string(), |a| format!("{:.2}%", a * 100.0));
        let width = self
            .results
            .iter()
            .map(|r| r.label.chars().count())
            .max()
            .unwrap_or(6)
            .max(6);
        let mut s = format!(
            "{:<width$}  {:>9} {:>5} {:>9}  {:>9} {:>9}  {}\n",
            "member", "best val", "epoch", "test@best", "final val", "final test", "status"
        );
        for r in &self.results {
            s += &format!(
                "{:<width$}  {:>9} {:>5} {:>9}  {:>9} {:>9}  {}\n",
                r.label,
                pct(r.best_validation_accuracy),
                r.best_epoch,
                pct(r.best_test_accuracy),
                pct(r.final_validation_accuracy),
                pct(r.final_test_accuracy),
                r.status
            );
        }
        s += &format!(
            "\n{:<24} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
            format!("over {} of {} members", self.results.len(), self.members),
            "mean",
            "median",
            "sd",
            "min",
            "max"
        );
        for (name, d) in [
            ("best validation", &self.best_validation),
            ("test at the best epoch", &self.best_test),
            ("final validation", &self.final_validation),
            ("final test", &self.final_test),
        ] {
            if let Some(d) = d {
                let p = |x: f64| format!("{:.2}%", x * 100.0);
                s += &format!(
                    "  {name:<22} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
                    p(d.mean),
                    p(d.median),
                    format!("{:.2}", d.sd * 100.0),
                    p(d.min),
                    p(d.max)
                );
            }
        }
        s
    }

    /// Writes the report as JSON to `path` (atomically).
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| Error::internal(format!("cannot encode the sweep's results: {e}")))?;
        crate::fs::write_atomically(path, format!("{json}\n").as_bytes())
    }

    /// Reads a results file a sweep or shard wrote.
    pub fn read(path: &Path) -> Result<SweepReport> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::bad_data(path, format!("not a gpu-mlp sweep results file: {e}")))
    }

    /// The shards' reports as one: they must be of one sweep; a member reported twice counts
    /// once (the shards overlap only if one ran twice).
    pub fn merge(reports: Vec<(String, SweepReport)>) -> Result<SweepReport> {
        let Some((first_name, first)) = reports.first() else {
            return Err(Error::config("sweep-report: no results files found"));
        };
        let (sweep, members) = (first.sweep.clone(), first.members);
        let mut results: Vec<MemberResult> = Vec::new();
        for (name, r) in &reports {
            if r.sweep != sweep {
                return Err(Error::config(format!(
                    "{name} is from another sweep ({}) than {first_name} ({sweep})",
                    r.sweep
                )));
            }
            for m in &r.results {
                if !results.iter().any(|x| x.index == m.index) {
                    results.push(m.clone());
                }
            }
        }
        Ok(SweepReport::new(sweep, members, results))
    }
}

/// The results file of a sweep in `dir`: `sweep-results.json`, or for shard I of N
/// `sweep-results.shard-I-of-N.json`.
pub fn results_file(dir: &Path, shard: Option<(usize, usize)>) -> std::path::PathBuf {
    match shard {
        Some((i, n)) => dir.join(format!("sweep-results.shard-{i}-of-{n}.json")),
        None => dir.join("sweep-results.json"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distribution_has_the_sample_sd_and_the_middle_median() {
        let d = Distribution::of(&[0.9, 0.95, 0.92, 0.93]).unwrap();
        assert!((d.median - 0.925).abs() < 1e-12);
        assert!((d.mean - 0.925).abs() < 1e-12);
        assert!((d.sd - 0.020816659994661).abs() < 1e-9);
        assert_eq!((d.min, d.max), (0.9, 0.95));
        assert!(Distribution::of(&[]).is_none());
    }

    fn result(index: usize, best: f64) -> MemberResult {
        MemberResult {
            index,
            label: format!("seed={index}"),
            epochs: 2,
            best_validation_accuracy: Some(best),
            best_epoch: 2,
            best_test_accuracy: Some(best),
            final_validation_accuracy: Some(best),
            final_test_accuracy: Some(best),
            status: "completed".into(),
        }
    }

    #[test]
    fn rows_sort_by_validation_and_shards_merge_into_the_same_table() {
        let all = SweepReport::new(
            "s".into(),
            3,
            vec![result(0, 0.9), result(1, 0.95), result(2, 0.9)],
        );
        assert_eq!(
            all.results.iter().map(|r| r.index).collect::<Vec<_>>(),
            [1, 0, 2]
        );
        let a = SweepReport::new("s".into(), 3, vec![result(0, 0.9), result(2, 0.9)]);
        let b = SweepReport::new("s".into(), 3, vec![result(1, 0.95)]);
        let merged = SweepReport::merge(vec![("a".into(), a), ("b".into(), b)]).unwrap();
        assert_eq!(merged.table(), all.table());
        let other = SweepReport::new("t".into(), 3, vec![]);
        assert!(SweepReport::merge(vec![("a".into(), all), ("o".into(), other)]).is_err());
    }
}
