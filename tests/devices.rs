//! `gpu-mlp devices` names each adapter's driver, the GL backend's included: wgpu leaves a GL
//! adapter's driver name empty, and gpu-mlp reads it from the GL version string instead.

mod common;
use common::{gpu_mlp, ok};

/// Every adapter listed has a driver name; a GL adapter's is the driver named at the end of its
/// GL_VERSION ("4.5 (Core Profile) Mesa 22.3.6" → "Mesa 22.3.6"), and the text form's driver
/// line starts with that name rather than with a blank.
#[test]
fn devices_name_every_driver_gl_too() {
    let json: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&gpu_mlp(&["devices", "--json"]))).expect("devices --json");
    let text = ok(&gpu_mlp(&["devices"]));
    if json.is_empty() {
        assert!(text.contains("no GPU adapters found"), "{text}");
        return;
    }
    let drivers: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("driver:"))
        .map(str::trim)
        .collect();
    assert_eq!(drivers.len(), json.len(), "{text}");
    for (d, line) in json.iter().zip(&drivers) {
        let driver = d["driver"].as_str().unwrap();
        let info = d["driver_info"].as_str().unwrap();
        assert!(!driver.is_empty(), "{d}");
        assert!(line.starts_with(driver), "{line} for {d}");
        if d["backend"] == "gl" {
            assert!(info.ends_with(driver), "{d}");
            assert!(line.contains("(OpenGL "), "{line}");
        }
    }
}
