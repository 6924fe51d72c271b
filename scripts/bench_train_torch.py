"""PyTorch CPU anchor for scripts/bench-train.ts: the zoo ResNet (src/model/zoo.ts) written out in PyTorch,
trained with SGD momentum on constant random batches; images/s at 1 and 2 threads, median of N timed runs.
Prints one JSON line. Usage: python3 scripts/bench_train_torch.py [--size 64] [--batch 32] [--classes 10]
[--width 16] [--stages 3] [--steps 24] [--repeats 3]. Debian: apt-get install python3-torch."""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_resnet import BasicBlock  # noqa: E402


class ZooResNet(nn.Module):
    """Stem conv3×3 (stride 2 above 48 px)-BN-ReLU, stages of basic blocks (width·2^s), GAP, linear."""

    def __init__(self, size, classes, width, depth, stages):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 2 if size > 48 else 1, 1, bias=False), nn.BatchNorm2d(width, momentum=0.1, eps=1e-5), nn.ReLU())
        blocks, cin = [], width
        for s in range(stages):
            cout = width * 2 ** s
            for b in range(depth):
                blocks.append(BasicBlock(cin, cout, 2 if s > 0 and b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).mean((2, 3)))


def main():
    p = argparse.ArgumentParser()
    for k, v in [("size", 64), ("batch", 32), ("classes", 10), ("width", 16), ("depth", 1), ("stages", 3), ("steps", 24), ("repeats", 3)]:
        p.add_argument(f"--{k}", type=int, default=v)
    a = p.parse_args()
    torch.manual_seed(0)
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.arange(a.batch) % a.classes
    out = {"torch": torch.__version__, "params": None, "img_s": {}}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        model = ZooResNet(a.size, a.classes, a.width, a.depth, a.stages)
        out["params"] = sum(q.numel() for q in model.parameters())
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            opt.step()

        for _ in range(3):
            step()
        runs = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            for _ in range(a.steps):
                step()
            runs.append(a.steps * a.batch / (time.perf_counter() - t0))
        out["img_s"][str(threads)] = {"median": statistics.median(runs), "runs": runs}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
