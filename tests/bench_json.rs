//! `gpu-mlp bench --json` gives one record per configuration with the same fields for one
//! network and for `--members N`: a figure is only comparable with the processor it ran on
//! and with the per-member time beside it (BENCHMARKS.md reads these records).

mod common;
use common::{gpu_mlp, ok};

fn bench(members: &str) -> serde_json::Value {
    let out = gpu_mlp(&[
        "bench",
        "--backend",
        "cpu",
        "--configs",
        "nielsen",
        "--runs",
        "1",
        "--members",
        members,
        "--train-size",
        "200",
        "--validation-size",
        "10",
        "--test-size",
        "10",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&ok(&out)).expect("bench --json");
    let records = json.as_array().expect("an array of records");
    assert_eq!(records.len(), 1, "{json}");
    records[0].clone()
}

/// One network and two members carry the processor, the member count and seconds per epoch
/// and per member-epoch (for one network the two are the same).
#[test]
fn one_network_and_members_report_the_same_fields() {
    for (members, count) in [("1", 1), ("2", 2)] {
        let r = bench(members);
        assert_eq!(r["config"], "nielsen", "{r}");
        assert_eq!(r["members"], count, "{r}");
        assert_eq!(r["train_images"], 200, "{r}");
        for key in ["processor", "cpu_kernels", "backend"] {
            assert!(
                r[key].as_str().is_some_and(|s| !s.is_empty()),
                "{key} in {r}"
            );
        }
        let epoch = r["seconds_per_epoch"].as_f64().expect("seconds_per_epoch");
        let member = r["seconds_per_member_epoch"].as_f64().expect("per member");
        assert!(epoch > 0.0, "{r}");
        let want = epoch / count as f64;
        assert!((member - want).abs() <= 1e-12 * want, "{r}");
    }
}
