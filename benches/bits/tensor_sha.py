#!/usr/bin/env python3
"""SHA-256 of each safetensors file's tensors (name, dtype, shape, bytes), metadata left out."""
import hashlib, json, struct, sys
for path in sys.argv[1:]:
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    h = hashlib.sha256()
    for name in sorted(k for k in header if k != '__metadata__'):
        t = header[name]
        a, b = t['data_offsets']
        h.update(f"{name}:{t['dtype']}:{t['shape']}".encode()); h.update(data[a:b])
    print(h.hexdigest(), path.split('/')[-1])
