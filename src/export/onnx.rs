//! A checkpoint as an ONNX model: per layer `Gemm(a, W, b, transB=1)` (W stays [out, in] as in
//! the checkpoint), `Sigmoid` after hidden layers, and `Sigmoid` or `Softmax(axis=1)` at the
//! output. Input `input`: [N, 784] floats, pixel/255; output `output`: [N, classes], the
//! network's output activations. Initializers carry the checkpoint's tensor names
//! (`layers.N.weight`, `layers.N.bias`).

use super::onnx_proto::*;
use crate::checkpoint::Checkpoint;
use crate::config::Output;
use crate::error::{Error, Result};
use prost::Message;
use std::path::Path;

/// ONNX IR version 8 and operator set 13: read by every current ONNX runtime.
pub const IR_VERSION: i64 = 8;
pub const OPSET: i64 = 13;

fn value_info(name: &str, width: usize) -> ValueInfoProto {
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto {
                    dim: vec![
                        Dimension {
                            dim_value: None,
                            dim_param: Some("N".to_string()),
                        },
                        Dimension {
                            dim_value: Some(width as i64),
                            dim_param: None,
                        },
                    ],
                }),
            }),
        }),
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.to_string()],
        name: format!("{op}:{output}"),
        op_type: op.to_string(),
        attribute,
    }
}

fn int_attribute(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        i,
        r#type: ATTRIBUTE_INT,
        ..Default::default()
    }
}

/// The ONNX model of a checkpoint.
pub fn model(ck: &Checkpoint) -> ModelProto {
    let layers = &ck.params.layers;
    let last = layers.len().saturating_sub(1);
    let mut nodes = Vec::new();
    let mut initializer = Vec::new();
    let mut previous = "input".to_string();
    for (n, l) in layers.iter().enumerate() {
        let (w, b) = (format!("layers.{n}.weight"), format!("layers.{n}.bias"));
        initializer.push(TensorProto {
            dims: vec![l.outputs as i64, l.inputs as i64],
            data_type: FLOAT,
            float_data: l.weight.clone(),
            name: w.clone(),
        });
        initializer.push(TensorProto {
            dims: vec![l.outputs as i64],
            data_type: FLOAT,
            float_data: l.bias.clone(),
            name: b.clone(),
        });
        let z = format!("z{n}");
        nodes.push(node(
            "Gemm",
            &[&previous, &w, &b],
            &z,
            vec![int_attribute("transB", 1)],
        ));
        let a = if n == last {
            "output".to_string()
        } else {
            format!("a{n}")
        };
        match (n == last, ck.network.output) {
            (true, Output::Softmax) => {
                nodes.push(node("Softmax", &[&z], &a, vec![int_attribute("axis", 1)]))
            }
            _ => nodes.push(node("Sigmoid", &[&z], &a, vec![])),
        }
        previous = a;
    }
    let inputs = ck.network.layers[0];
    let classes = *ck.network.layers.last().unwrap_or(&0);
    ModelProto {
        ir_version: IR_VERSION,
        producer_name: "gpu-mlp".to_string(),
        producer_version: env!("CARGO_PKG_VERSION").to_string(),
        doc_string: format!(
            "multilayer perceptron {} ({:?} output); input: pixel/255",
            ck.network.layers_string(),
            ck.network.output
        ),
        graph: Some(GraphProto {
            node: nodes,
            name: "gpu_mlp".to_string(),
            initializer,
            doc_string: String::new(),
            input: vec![value_info("input", inputs)],
            output: vec![value_info("output", classes)],
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
    }
}

/// Writes the checkpoint's ONNX model to `path` atomically.
pub fn write(ck: &Checkpoint, path: &Path) -> Result<()> {
    let bytes = model(ck).encode_to_vec();
    if bytes.is_empty() {
        return Err(Error::config("the ONNX model came out empty"));
    }
    crate::fs::write_atomically(path, &bytes)
}
