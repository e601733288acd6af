"""The README's PyTorch loading recipe, run in numpy (PyTorch is too large to install in CI):
same tensor names, same shapes, same forward math. Prints the accuracy on the test images as
JSON: {"correct": C, "count": N}.

usage: safetensors_recipe.py MODEL.safetensors DATA_DIR TEST_SIZE
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

import mnist_idx

model, data_dir, test_size = sys.argv[1], sys.argv[2], int(sys.argv[3])

# As in README: the layers' tensors, and the output activation from the metadata.
tensors = load_file(model)
with safe_open(model, framework="np") as f:
    meta = f.metadata()
n_layers = len(meta["layers"].split(",")) - 1
weights = [tensors[f"layers.{i}.weight"] for i in range(n_layers)]  # [out, in], float32
biases = [tensors[f"layers.{i}.bias"] for i in range(n_layers)]  # [out]
sizes = [int(s) for s in meta["layers"].split(",")]
for i, (w, b) in enumerate(zip(weights, biases)):
    assert w.dtype == np.float32 and w.shape == (sizes[i + 1], sizes[i]), (i, w.shape)
    assert b.shape == (sizes[i + 1],), (i, b.shape)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def forward(x):
    # torch: x = torch.sigmoid(linear(x)) per hidden layer; linear(x) = x @ W.T + b.
    for w, b in zip(weights[:-1], biases[:-1]):
        x = sigmoid(x @ w.T + b)
    z = x @ weights[-1].T + biases[-1]
    if meta["output"] == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return sigmoid(z)


x = mnist_idx.images(f"{data_dir}/t10k-images-idx3-ubyte.gz")[:test_size].astype(np.float32) / 255.0
y = mnist_idx.labels(f"{data_dir}/t10k-labels-idx1-ubyte.gz")[:test_size]
predicted = forward(x).argmax(axis=1)
print(json.dumps({"correct": int((predicted == y).sum()), "count": int(len(y))}))
