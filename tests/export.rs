//! Taking a model elsewhere. The ONNX file decodes to the documented graph with the
//! checkpoint's own numbers; onnxruntime (PyPI) runs it to the same outputs as gpu-mlp; and the
//! README's safetensors loading recipe, run in numpy (same names, shapes and forward math as
//! its PyTorch form), reproduces `gpu-mlp eval`'s test accuracy exactly.
//!
//! The Python checks use $GPU_MLP_PYTHON (default python3) with numpy, safetensors and
//! onnxruntime installed. Without them they are skipped with the reason printed, unless
//! GPU_MLP_REQUIRE_PYTHON=1 (as .ci/run sets after installing them), when they fail instead.

mod common;
use common::{gpu_mlp, ok, s};

use gpu_mlp::export::onnx_proto::ModelProto;
use prost::Message;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A 3-epoch model on 5,000 training images with the given extra flags.
fn trained(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let model = dir.join(format!("{name}.safetensors"));
    let mut args = vec![
        "train",
        "--epochs",
        "3",
        "--train-size",
        "5000",
        "--validation-size",
        "500",
        "--test-size",
        "500",
        "--quiet",
        "--save",
        s(&model),
    ];
    args.extend(extra);
    ok(&gpu_mlp(&args));
    model
}

const SOFTMAX_TWO_HIDDEN: [&str; 6] = [
    "--layers",
    "784,40,20,10",
    "--output",
    "softmax",
    "--cost",
    "cross-entropy",
];

#[test]
fn onnx_graph_is_gemm_and_activations_with_the_checkpoint_numbers() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra, last_op) in [
        ("sigmoid", &[][..], "Sigmoid"),
        ("softmax", &SOFTMAX_TWO_HIDDEN[..], "Softmax"),
    ] {
        let model = trained(dir.path(), name, extra);
        let onnx = dir.path().join(format!("{name}.onnx"));
        ok(&gpu_mlp(&[
            "export",
            "--model",
            s(&model),
            "--onnx",
            s(&onnx),
        ]));
        let m = ModelProto::decode(std::fs::read(&onnx).unwrap().as_slice()).unwrap();
        assert_eq!((m.ir_version, m.opset_import[0].version), (8, 13));
        let g = m.graph.unwrap();
        let ck = gpu_mlp::checkpoint::Checkpoint::load(&model).unwrap();
        let n = ck.params.layers.len();
        let ops: Vec<&str> = g.node.iter().map(|n| n.op_type.as_str()).collect();
        let mut expected: Vec<&str> = (0..n).flat_map(|_| ["Gemm", "Sigmoid"]).collect();
        *expected.last_mut().unwrap() = last_op;
        assert_eq!(ops, expected, "{name}");
        assert_eq!(g.input[0].name, "input");
        assert_eq!(g.output[0].name, "output");
        assert_eq!(g.node.last().unwrap().output, vec!["output".to_string()]);
        for (i, layer) in ck.params.layers.iter().enumerate() {
            let w = g
                .initializer
                .iter()
                .find(|t| t.name == format!("layers.{i}.weight"))
                .unwrap();
            assert_eq!(w.dims, vec![layer.outputs as i64, layer.inputs as i64]);
            assert_eq!(w.float_data, layer.weight);
            let gemm = &g.node[2 * i];
            assert_eq!(gemm.attribute[0].name, "transB");
            assert_eq!(gemm.attribute[0].i, 1);
        }
    }
}

/// The Python interpreter with numpy, safetensors and onnxruntime, or None (skip) when it is
/// missing and not required.
fn python() -> Option<String> {
    let python = std::env::var("GPU_MLP_PYTHON").unwrap_or_else(|_| "python3".into());
    let required = std::env::var("GPU_MLP_REQUIRE_PYTHON").is_ok_and(|v| v == "1");
    let found = Command::new(&python)
        .args(["-c", "import numpy, safetensors, onnxruntime"])
        .output()
        .is_ok_and(|o| o.status.success());
    match (found, required) {
        (true, _) => Some(python),
        (false, true) => panic!(
            "GPU_MLP_REQUIRE_PYTHON=1 but {python} cannot import numpy, safetensors and onnxruntime"
        ),
        (false, false) => {
            eprintln!(
                "skipped: {python} cannot import numpy, safetensors and onnxruntime \
                 (pip install numpy safetensors onnxruntime, or set GPU_MLP_PYTHON)"
            );
            None
        }
    }
}

fn run_python(python: &str, script: &str, args: &[&str]) -> (bool, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    let out = Command::new(python)
        .arg(dir.join(script))
        .args(args)
        .env("PYTHONPATH", &dir)
        .output()
        .expect("run python");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Traceback"), "{script}: {stderr}");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn mnist_dir() -> String {
    format!("{}/data/mnist", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn onnxruntime_computes_the_same_outputs() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [("sigmoid", &[][..]), ("softmax", &SOFTMAX_TWO_HIDDEN[..])] {
        let model = trained(dir.path(), name, extra);
        let onnx = dir.path().join(format!("{name}.onnx"));
        ok(&gpu_mlp(&[
            "export",
            "--model",
            s(&model),
            "--onnx",
            s(&onnx),
        ]));
        // gpu-mlp's own outputs (the CPU reference's forward pass) on the first 1000 test images.
        let ck = gpu_mlp::checkpoint::Checkpoint::load(&model).unwrap();
        let test = gpu_mlp::data::load(
            &gpu_mlp::data::Source::Mnist,
            gpu_mlp::data::SplitSizes {
                train: 1,
                validation: 0,
                test: Some(1000),
            },
        )
        .unwrap()
        .test;
        let images: Vec<Vec<u8>> = (0..test.len()).map(|i| test.image(i).to_vec()).collect();
        let outputs: Vec<Vec<f64>> = gpu_mlp::predict::classify(&ck, &images)
            .unwrap()
            .into_iter()
            .map(|p| p.outputs)
            .collect();
        let expected = dir.path().join(format!("{name}.expected.json"));
        std::fs::write(
            &expected,
            serde_json::json!({ "outputs": outputs }).to_string(),
        )
        .unwrap();
        let (same, report) = run_python(
            &python,
            "onnx_predictions.py",
            &[s(&onnx), &mnist_dir(), s(&expected)],
        );
        eprintln!("{name}: {report}");
        assert!(same, "{name}: onnxruntime disagrees: {report}");
        let r: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
        assert_eq!(r["same_predictions"], 1000);
    }
}

#[test]
fn readme_safetensors_recipe_reproduces_eval_accuracy() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [
        ("sigmoid", &[][..]),
        // Momentum leaves optimizer tensors in the file; the recipe must pick the layers only.
        ("softmax", &SOFTMAX_TWO_HIDDEN[..]),
        ("momentum", &["--optimizer", "momentum", "--eta", "0.2"][..]),
    ] {
        let model = trained(dir.path(), name, extra);
        let eval: serde_json::Value =
            serde_json::from_str(&ok(&gpu_mlp(&["eval", "--model", s(&model), "--json"]))).unwrap();
        let (ran, report) = run_python(
            &python,
            "safetensors_recipe.py",
            &[s(&model), &mnist_dir(), "10000"],
        );
        assert!(ran, "{name}: {report}");
        let r: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
        eprintln!(
            "{name}: recipe {r}, eval {}/{}",
            eval["correct"], eval["count"]
        );
        assert_eq!(r["count"], eval["count"], "{name}");
        assert_eq!(r["correct"], eval["correct"], "{name}");
    }
}
