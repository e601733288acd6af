"""Runs an exported ONNX model with onnxruntime on the first test images and compares its
outputs with the ones gpu-mlp computed (a JSON file {"outputs": [[...], ...]}). Exits 1 on any
disagreement; prints {"count": N, "same_predictions": N, "max_abs_diff": D}.

usage: onnx_predictions.py MODEL.onnx DATA_DIR EXPECTED.json
"""
import json
import sys

import numpy as np
import onnxruntime as ort

import mnist_idx

onnx_path, data_dir, expected_path = sys.argv[1:4]
with open(expected_path) as f:
    expected = np.array(json.load(f)["outputs"], dtype=np.float64)
n = len(expected)
x = mnist_idx.images(f"{data_dir}/t10k-images-idx3-ubyte.gz")[:n].astype(np.float32) / 255.0

session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
assert [i.name for i in session.get_inputs()] == ["input"]
assert [o.name for o in session.get_outputs()] == ["output"]
(got,) = session.run(["output"], {"input": x})
same = int((got.argmax(axis=1) == expected.argmax(axis=1)).sum())
diff = float(np.abs(got - expected).max())
print(json.dumps({"count": n, "same_predictions": same, "max_abs_diff": diff}))
sys.exit(0 if same == n and diff < 1e-4 else 1)
