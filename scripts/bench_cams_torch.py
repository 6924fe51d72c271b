#!/usr/bin/env python3
"""PyTorch anchor for scripts/bench-cams.ts: export a ResNet-18 (torchvision's layout, random weights,
CLASSES outputs) to ONNX, and time PyTorch's own CPU forward pass on it at SIZE px, batch BATCH, with 1 and
2 threads (median of REPEATS). Prints one JSON line. Needs python3 with torch (Debian: python3-torch).

usage: python3 scripts/bench_cams_torch.py OUT.onnx [--size 224] [--batch 16] [--classes 10] [--images 64] [--repeats 3]
"""
import argparse, json, statistics, time
import torch
import torch.nn as nn
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from torch_resnet import BasicBlock  # noqa: E402


def resnet18(classes):
    layers, cin = [], 64
    for i, c in enumerate([64, 128, 256, 512]):
        layers += [BasicBlock(cin, c, 1 if i == 0 else 2), BasicBlock(c, c, 1)]
        cin = c
    return nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
                         *layers, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, classes))


p = argparse.ArgumentParser()
p.add_argument('out')
p.add_argument('--size', type=int, default=224)
p.add_argument('--batch', type=int, default=16)
p.add_argument('--classes', type=int, default=10)
p.add_argument('--images', type=int, default=64)
p.add_argument('--repeats', type=int, default=3)
a = p.parse_args()
torch.manual_seed(0)
model = resnet18(a.classes).eval()
x = torch.randn(a.batch, 3, a.size, a.size)
torch.onnx.export(model, x, a.out, input_names=['input'], output_names=['logits'], opset_version=13,
                  dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
rates = {}
for threads in (1, 2):
    torch.set_num_threads(threads)
    runs = []
    with torch.inference_mode():
        model(x)  # warm-up
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            for _ in range(max(1, a.images // a.batch)):
                model(x)
            runs.append(max(1, a.images // a.batch) * a.batch / (time.perf_counter() - t0))
    rates[threads] = {'median': statistics.median(runs), 'runs': runs}
print(json.dumps({'torch': torch.__version__, 'size': a.size, 'batch': a.batch, 'img_s': rates}))
