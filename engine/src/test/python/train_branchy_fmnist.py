#!/usr/bin/python3
"""Trains the small multi-exit (BranchyNet-style) CNN shipped as a test resource and exports it to ONNX.

Run with Debian's interpreter, which has python3-torch and python3-onnx (CPU only):

    /usr/bin/python3 engine/src/test/python/train_branchy_fmnist.py \
        --data /usr/share/datasets/fashion-mnist \
        --out engine/src/test/resources/org/coedge/engine/exits/branchy-fmnist.onnx

The network takes one 1x1x28x28 image, normalised as (pixel / 255 - 0.2860) / 0.3530 (the training set's mean and
standard deviation), and has three graph outputs, each a [1, 10] vector of class logits (no softmax):

    exit0: after the first conv block, a 2x2 max pool and one fully-connected layer;
    exit1: after the second conv block, a 3x3/2 conv and one fully-connected layer;
    exit2: the main classifier after the third conv block.

The exits are trained jointly (BranchyNet: the sum of the exits' cross-entropies, weighted). The accuracy this script
prints is torch's on the t10k set; the accuracies the project records are those `coedge exits` measures with the
engine on the exported file. --slice DIR N also writes the first N t10k images and labels as IDX files (gzip), the
slice the engine's tests read.
"""

import argparse
import gzip
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = 0.2860
STD = 0.3530


def read_idx(path):
    """Reads an IDX file (optionally gzip'd): returns a numpy array of uint8 with the dims its header states."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(path + ": not an IDX file of unsigned bytes")
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(header + array.astype(np.uint8).tobytes())


def load(data_dir, part):
    images = read_idx(os.path.join(data_dir, part + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, part + "-labels-idx1-ubyte.gz"))
    x = (torch.from_numpy(images.astype(np.float32)) / 255.0 - MEAN) / STD
    return x.unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


class BranchyCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2))
        self.exit0 = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 7 * 7, 10))
        self.block2 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.exit1 = nn.Sequential(nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                                   nn.Linear(32 * 4 * 4, 10))
        self.block3 = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2))
        self.exit2 = nn.Sequential(nn.Flatten(), nn.Linear(64 * 3 * 3, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        h1 = self.block1(x)
        h2 = self.block2(h1)
        h3 = self.block3(h2)
        return self.exit0(h1), self.exit1(h2), self.exit2(h3)


def accuracy(model, x, y):
    model.eval()
    correct = [0, 0, 0]
    with torch.no_grad():
        for start in range(0, len(x), 1000):
            outs = model(x[start:start + 1000])
            for k, out in enumerate(outs):
                correct[k] += int((out.argmax(1) == y[start:start + 1000]).sum())
    return [c / len(x) for c in correct]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--slice", nargs=2, metavar=("DIR", "N"))
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    train_x, train_y = load(args.data, "train")
    test_x, test_y = load(args.data, "t10k")

    model = BranchyCnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, args.epochs - 1), gamma=0.2)
    weights = (0.5, 0.7, 1.0)
    generator = torch.Generator().manual_seed(args.seed)
    began = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        for start in range(0, len(order), 128):
            batch = order[start:start + 128]
            outs = model(train_x[batch])
            loss = sum(w * F.cross_entropy(o, train_y[batch]) for w, o in zip(weights, outs))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
        print("epoch %d  %.0f s  torch t10k top-1 per exit %s" % (
            epoch + 1, time.time() - began, " ".join("%.4f" % a for a in accuracy(model, test_x, test_y))),
            flush=True)

    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), args.out, opset_version=13,
                      input_names=["input"], output_names=["exit0", "exit1", "exit2"], do_constant_folding=True)
    print("wrote %s (%d bytes)" % (args.out, os.path.getsize(args.out)))

    if args.slice:
        directory, n = args.slice[0], int(args.slice[1])
        os.makedirs(directory, exist_ok=True)
        write_idx(os.path.join(directory, "t10k-images-idx3-ubyte.gz"),
                  read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))[:n])
        write_idx(os.path.join(directory, "t10k-labels-idx1-ubyte.gz"),
                  read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"))[:n])
        print("wrote the first %d t10k images and labels to %s" % (n, directory))


if __name__ == "__main__":
    main()
