//! Taking a trained model elsewhere. Checkpoints already are safetensors (README shows how
//! PyTorch loads one); [`onnx`] writes an ONNX model for ONNX runtimes.

pub mod onnx;
pub mod onnx_proto;
