"""Train a PyTorch model on snapmix shards with the SnapMix loss.

The shard directory is a Hugging Face `datasets` save_to_disk directory, so `load_from_disk` opens it;
the label weights need not sum to 1 and the loss is the official SnapMix one:
    loss = rho_a * CE(logits, y_a) + rho_b * CE(logits, y_b)   (per sample, then the batch mean)

Usage:  python scripts/train_pytorch.py runs/shards --epochs 2
Needs:  pip install datasets torch torchvision pillow numpy
"""
import argparse

import numpy as np
import torch
import torch.nn.functional as F
from datasets import load_from_disk
from torch.utils.data import DataLoader, Dataset


class SnapmixShards(Dataset):
    """Rows of a snapmix shard directory as (image tensor, y_a, y_b, rho_a, rho_b)."""

    def __init__(self, path: str):
        self.ds = load_from_disk(path)
        self.classes = self.ds.features["label_a"].names

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int):
        r = self.ds[i]  # the Image feature decodes the stored JPEG/PNG/WebP bytes to a PIL image
        x = torch.from_numpy(np.asarray(r["image"].convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)
        x = (x - 0.5) / 0.25
        return x, r["label_a"], r["label_b"], np.float32(r["weight_a"]), np.float32(r["weight_b"])


def snapmix_loss(logits, y_a, y_b, rho_a, rho_b):
    """As the official SnapMix code: rho_a·CE(y_a) + rho_b·CE(y_b), mean over the batch."""
    ce_a = F.cross_entropy(logits, y_a, reduction="none")
    ce_b = F.cross_entropy(logits, y_b, reduction="none")
    return (rho_a * ce_a + rho_b * ce_b).mean()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("shards")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args()

    data = SnapmixShards(args.shards)
    loader = DataLoader(data, batch_size=args.batch_size, shuffle=True, num_workers=2)
    import torchvision  # imported late so the reader above works without it

    model = torchvision.models.resnet18(num_classes=len(data.classes))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    for epoch in range(args.epochs):
        total, n = 0.0, 0
        for x, y_a, y_b, rho_a, rho_b in loader:
            loss = snapmix_loss(model(x), y_a, y_b, rho_a, rho_b)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(x)
            n += len(x)
        print(f"epoch {epoch + 1}: loss {total / n:.4f} over {n} samples")


if __name__ == "__main__":
    main()
