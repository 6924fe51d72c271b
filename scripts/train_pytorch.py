#!/usr/bin/env python3
"""Train a torchvision classifier on snapmix shards with the SnapMix loss: the PyTorch recipe.

    loss = rho_a * CE(logits, y_a) + rho_b * CE(logits, y_b)    per sample, then the batch mean
    (the official SnapMix loss; the weights need not sum to 1)

SHARDS is a snapmix release (a `snapmix generate` output: read with Hugging Face `datasets`, or, without
it, with pyarrow) or its WebDataset export (`snapmix export --to webdataset`: read with the standard
library's tarfile, so torch, torchvision and Pillow are all it needs). VAL is a folder of clean images,
one folder per class (its test/ or val/ split when it has one), scored after every epoch; the best epoch's
weights are saved to --out.

  * normalisation: ImageNet's by default (what torchvision weights expect), or the teacher's sidecar
    (--teacher-config teacher.json: its mean and std), or --mean/--std;
  * --epoch-rounds: epoch e reads round e mod R only (a fresh mix each epoch; generate --rounds >= --epochs);
    rows are in index order, so a round is one contiguous range of rows;
  * --pretrained: start from torchvision's ImageNet weights (downloaded by torchvision, or from its cache),
    a new classifier for the shards' classes;
  * runs on torch 1.13 and 2.x (torchvision 0.14 and later).

Usage:
  python scripts/train_pytorch.py runs/shards --val data/synth --epochs 10 --epoch-rounds --out runs/torch-student
  python scripts/train_pytorch.py release-wds --val CUB_200_2011_folders --pretrained --teacher-config teacher.json
"""
import argparse
import bisect
import io
import json
import os
import tarfile

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Subset

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


class Rows(Dataset):
    """Rows of snapmix shards, in index order, as (image tensor, y_a, y_b, rho_a, rho_b)."""

    def __init__(self, path, mean, std):
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)
        if os.path.exists(os.path.join(path, "manifest.json")):
            with open(os.path.join(path, "manifest.json")) as f:
                m = json.load(f)
            self.classes, self.rounds, self.size, self.fit = m["class_names"], m["config"]["rounds"], m["config"]["size"], m["config"].get("fit", "cover")
            self.rows = self._arrow(path)
        elif os.path.exists(os.path.join(path, "export.json")):
            with open(os.path.join(path, "export.json")) as f:
                files = [x["filename"] for x in json.load(f)["files"]]
            self.rows = [row for name in files for row in self._tar(os.path.join(path, name))]
            self.classes = None  # from the rows' class names, below
        else:
            raise SystemExit(f"{path}: neither a snapmix release (manifest.json) nor its WebDataset export (export.json)")
        self.round_of = [r["round"] for r in self.rows] if isinstance(self.rows, list) else self.rows["round"]

    def _arrow(self, path):
        try:
            from datasets import load_from_disk  # the Image feature decodes the stored bytes
            return load_from_disk(path)
        except ImportError:
            import glob
            try:
                import pyarrow as pa
            except ImportError:
                raise SystemExit(f"{path}: reading a release needs `datasets` or `pyarrow` (pip install datasets); or pass its WebDataset export (snapmix export {path} --to webdataset --out DIR), which needs neither")
            t = pa.concat_tables(pa.ipc.open_stream(f).read_all() for f in sorted(glob.glob(os.path.join(path, "data-*.arrow"))))
            return [dict(zip(t.column_names, r)) for r in zip(*(t.column(c).to_pylist() for c in t.column_names))]

    def _tar(self, file):
        rows, pending = [], {}
        with tarfile.open(file) as tar:
            for member in tar:
                key, ext = member.name.split(".", 1)
                pending.setdefault(key, {})[ext] = tar.extractfile(member).read()
                if "json" in pending[key] and len(pending[key]) == 2:
                    parts = pending.pop(key)
                    meta = json.loads(parts.pop("json"))
                    meta["image"] = {"bytes": next(iter(parts.values()))}
                    rows.append(meta)
        return rows

    def round_range(self, r):
        """The rows of round r: a contiguous range, since rows are in index order (round * N + i)."""
        return range(bisect.bisect_left(self.round_of, r), bisect.bisect_right(self.round_of, r))

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        r = self.rows[i]
        img = r["image"]
        img = img if isinstance(img, Image.Image) else Image.open(io.BytesIO(img["bytes"]))
        x = torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)
        return (x - self.mean) / self.std, int(r["label_a"]), int(r["label_b"]), np.float32(r["weight_a"]), np.float32(r["weight_b"])


def snapmix_loss(logits, y_a, y_b, rho_a, rho_b):
    """As the official SnapMix code: rho_a * CE(y_a) + rho_b * CE(y_b), mean over the batch."""
    return (rho_a * F.cross_entropy(logits, y_a, reduction="none") + rho_b * F.cross_entropy(logits, y_b, reduction="none")).mean()


def validation(root, classes, size, fit, mean, std):
    """Clean images of VAL (its test/ or val/ split when it has one), fitted to the square as the shards were."""
    from torchvision import datasets, transforms
    for split in ("test", "val"):
        if os.path.isdir(os.path.join(root, split)):
            root = os.path.join(root, split)
            break
    square = [transforms.Resize((size, size))] if fit == "fill" else [transforms.Resize(size), transforms.CenterCrop(size)]
    ds = datasets.ImageFolder(root, transforms.Compose(square + [transforms.ToTensor(), transforms.Normalize(mean, std)]))
    if classes is not None and ds.classes != list(classes):
        raise SystemExit(f"--val {root} has classes {ds.classes[:3]}…, the shards {list(classes)[:3]}…: the same classes in the same (sorted) order are needed")
    return ds


def make_model(arch, num_classes, pretrained):
    import torchvision
    build = getattr(torchvision.models, arch)
    if not pretrained:
        return build(num_classes=num_classes)
    try:  # torchvision >= 0.13
        model = build(weights="DEFAULT")
    except TypeError:  # older torchvision
        model = build(pretrained=True)
    head = "fc" if hasattr(model, "fc") else "classifier"
    old = getattr(model, head)
    if isinstance(old, torch.nn.Sequential):
        old[-1] = torch.nn.Linear(old[-1].in_features, num_classes)
    else:
        setattr(model, head, torch.nn.Linear(old.in_features, num_classes))
    return model


@torch.no_grad()
def top1(model, loader, device):
    model.eval()
    hits = n = 0
    for x, y in loader:
        hits += (model(x.to(device)).argmax(1).cpu() == y).sum().item()
        n += len(y)
    return hits / max(1, n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("shards", help="a snapmix release, or its WebDataset export")
    ap.add_argument("--val", required=True, help="clean images, one folder per class (its test/ or val/ split if it has one)")
    ap.add_argument("--out", default="runs/torch-student", help="where the best epoch's weights (model.pt) and metrics.jsonl go")
    ap.add_argument("--arch", default="resnet18", help="a torchvision.models constructor")
    ap.add_argument("--pretrained", action="store_true", help="start from torchvision's ImageNet weights")
    ap.add_argument("--teacher-config", help="a snapmix teacher sidecar (teacher.json): normalise with its mean and std")
    ap.add_argument("--mean", type=float, nargs=3)
    ap.add_argument("--std", type=float, nargs=3)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--epoch-rounds", action="store_true", help="epoch e reads round e mod R only (fresh mixes per epoch)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)

    mean, std = IMAGENET
    if args.teacher_config:
        with open(args.teacher_config) as f:
            side = json.load(f)
        mean, std = side.get("mean", mean), side.get("std", std)
    mean, std = args.mean or mean, args.std or std

    rows = Rows(args.shards, mean, std)
    size = getattr(rows, "size", None) or rows[0][0].shape[-1]
    classes = rows.classes
    if classes is None:  # WebDataset: class names are in the rows
        names = {}
        for r in rows.rows:
            names[r["label_a"]], names[r["label_b"]] = r["class_a"], r["class_b"]
        classes = [names[k] for k in sorted(names)]
    val = DataLoader(validation(args.val, classes, size, getattr(rows, "fit", "fill"), mean, std), batch_size=args.batch_size, num_workers=args.workers)
    rounds = getattr(rows, "rounds", None) or (max(rows.round_of) + 1)
    if args.epoch_rounds and rounds < args.epochs:
        print(f"note: {rounds} rounds for {args.epochs} epochs: each mix is seen {args.epochs / rounds:.1f} times")

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = make_model(args.arch, len(classes), args.pretrained).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    os.makedirs(args.out, exist_ok=True)
    best = -1.0
    for epoch in range(args.epochs):
        part = Subset(rows, rows.round_range(epoch % rounds)) if args.epoch_rounds else rows
        loader = DataLoader(part, batch_size=args.batch_size, shuffle=True, num_workers=args.workers, drop_last=len(part) > args.batch_size)
        model.train()
        total, n = 0.0, 0
        for x, y_a, y_b, rho_a, rho_b in loader:
            x, y_a, y_b, rho_a, rho_b = (t.to(device) for t in (x, y_a, y_b, rho_a, rho_b))
            loss = snapmix_loss(model(x), y_a, y_b, rho_a, rho_b)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(x)
            n += len(x)
        sched.step()
        acc = top1(model, val, device)
        line = {"epoch": epoch + 1, "train_loss": total / max(1, n), "rows": n, "val_top1": acc}
        print(json.dumps(line))
        with open(os.path.join(args.out, "metrics.jsonl"), "a") as f:
            f.write(json.dumps(line) + "\n")
        if acc > best:
            best = acc
            torch.save({"arch": args.arch, "classes": classes, "mean": mean, "std": std, "size": size, "state_dict": model.state_dict()}, os.path.join(args.out, "model.pt"))
    print(f"best val_top1 {best:.4f}; weights in {os.path.join(args.out, 'model.pt')}")


if __name__ == "__main__":
    main()
