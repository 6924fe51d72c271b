#!/usr/bin/env python3
"""Make test/fixtures/tiny-resnet.onnx: a tiny PyTorch ResNet exported with torch.onnx.export, plus the
CAMs PyTorch itself computes for a fixed input, so the tests can check ours against them.

Run by hand (not in CI) with Debian's python3-torch:  apt-get install python3-torch && python3 scripts/make-onnx-fixture.py
The CAM of class c is ReLU(features) . W_c + b_c, features = the input of the global average pool.
"""
import json, os
import torch
import torch.nn as nn
import sys

sys.path.insert(0, os.path.dirname(__file__))
from torch_resnet import BasicBlock  # noqa: E402

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures')
SIZE, CLASSES = 32, 3
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.layer1 = BasicBlock(8, 8, 1)
        self.layer2 = BasicBlock(8, 16, 2)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, CLASSES)

    def features(self, x):
        return self.layer2(self.layer1(self.stem(x)))

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


model = TinyResNet()
# Non-trivial BatchNorm statistics, so folding them wrongly would show.
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.1, 0.1)
model.eval()

# The fixed input the tests rebuild: pixel (y, x, c) = (7x + 13y + 29c) mod 256, RGB, then ImageNet mean/std.
pix = torch.tensor([[[(7 * x + 13 * y + 29 * c) % 256 for x in range(SIZE)] for y in range(SIZE)] for c in range(3)], dtype=torch.float32)
inp = ((pix / 255 - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None])[None]
with torch.no_grad():
    f = torch.relu(model.features(inp))[0]  # [K, h, w]
    logits = model(inp)[0]
    cams = {str(c): (torch.einsum('khw,k->hw', f, model.fc.weight[c]) + model.fc.bias[c]).flatten().tolist() for c in range(CLASSES)}

os.makedirs(OUT, exist_ok=True)
path = os.path.join(OUT, 'tiny-resnet.onnx')
torch.onnx.export(model, inp, path, input_names=['input'], output_names=['logits'], opset_version=13,
                  dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, do_constant_folding=True)
with open(os.path.join(OUT, 'tiny-resnet.json'), 'w') as fh:
    json.dump({'input_size': SIZE, 'mean': MEAN, 'std': STD, 'class_names': ['class_00', 'class_01', 'class_02']}, fh, indent=2)
    fh.write('\n')
with open(os.path.join(OUT, 'tiny-resnet.expected.json'), 'w') as fh:
    json.dump({'torch': torch.__version__, 'h': int(f.shape[1]), 'w': int(f.shape[2]), 'logits': logits.tolist(), 'cams': cams}, fh)
    fh.write('\n')
print('wrote', path, os.path.getsize(path), 'bytes; features', tuple(f.shape), 'logits', [round(v, 4) for v in logits.tolist()])
