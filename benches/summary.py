#!/usr/bin/env python3
"""Prints the README's table from criterion's results of `cargo bench --bench kernels`:
kernel, size, path, G elements/s, and time relative to the copy of the same
number of bf16 values measured in the same run."""
import glob
import json
import os
import sys

root = os.path.join(os.path.dirname(__file__), "..", "target", "criterion")
SIZES = {"l1_4096": (4096, "4096 (L1)"), "l2_2p18": (1 << 18, "2^18 (L2)"), "dram_4096x4096": (4096 * 4096, "4096x4096 (DRAM)")}

rows = []
for group, (n, label) in SIZES.items():
    def mean_ns(*parts):
        with open(os.path.join(root, group, *parts, "new", "estimates.json")) as f:
            return json.load(f)["mean"]["point_estimate"]
    try:
        copy = mean_ns("copy")
    except FileNotFoundError:
        continue
    rows.append((label, "copy (baseline)", "-", n / copy, 1.0))
    for path in sorted(glob.glob(os.path.join(root, group, "*", "*", "new", "estimates.json"))):
        kernel, isa = path.split(os.sep)[-4:-2]
        t = mean_ns(kernel, isa)
        rows.append((label, kernel, isa, n / t, t / copy))

if not rows:
    sys.exit("no results: run `cargo bench --bench kernels` first")
print("| size | kernel | path | G elements/s | time / copy |")
print("| --- | --- | --- | ---: | ---: |")
for label, kernel, isa, rate, ratio in rows:
    print(f"| {label} | {kernel} | {isa} | {rate:.2f} | {ratio:.2f} |")
