#!/usr/bin/env python3
"""Prints the README's table from criterion's results of `cargo bench --bench kernels`:
per size and kernel, G elements/s on each backend, and the time of the SIMD
paths relative to the copy of the same number of bf16 values measured in the
same run (the faster of the copies at its start and end)."""
import json
import os
import sys

root = os.path.join(os.path.dirname(__file__), "..", "target", "criterion")
SIZES = [
    ("l1_4096", 4096, "4096 (L1)"),
    ("l2_2p18", 1 << 18, "2^18 (L2)"),
    ("dram_4096x4096", 4096 * 4096, "4096x4096 (DRAM)"),
]
KERNELS = [
    "symmetric_per_tensor",
    "symmetric_per_channel",
    "asymmetric_per_group_g32",
    "asymmetric_per_group_g128",
    "asymmetric_per_group_g256",
    "symmetric_per_tensor_backward",
    "symmetric_per_channel_backward",
    "asymmetric_per_group_backward_g32",
    "asymmetric_per_group_backward_g128",
    "asymmetric_per_group_backward_g256",
]
PATHS = ["scalar", "avx2", "avx512_no_bf16", "avx512", "neon"]
RATIOS = ["avx2", "avx512"]


def mean_ns(group, *parts):
    try:
        with open(os.path.join(root, group, *parts, "new", "estimates.json")) as f:
            return json.load(f)["mean"]["point_estimate"]
    except FileNotFoundError:
        return None


present = [p for p in PATHS if any(mean_ns(g, k, p) for g, _, _ in SIZES for k in KERNELS)]
ratios = [p for p in RATIOS if p in present]
if not present:
    sys.exit("no results: run `cargo bench --bench kernels` first")

header = ["size", "kernel"] + [f"{p} G el/s" for p in present] + [f"{p} time / copy" for p in ratios]
print("| " + " | ".join(header) + " |")
print("| --- | --- |" + " ---: |" * (len(present) + len(ratios)))
for group, n, label in SIZES:
    # The faster of the copies before and after the kernels: the baseline
    # least flattering to the kernels when bandwidth drifts during a run.
    copies = [t for t in (mean_ns(group, "copy"), mean_ns(group, "copy_again")) if t]
    if not copies:
        continue
    copy = min(copies)
    cells = ["-"] * len(present) + ["1.00"] * len(ratios)
    print(f"| {label} | copy (baseline), {n / copy:.2f} G el/s | " + " | ".join(cells) + " |")
    for kernel in KERNELS:
        times = {p: mean_ns(group, kernel, p) for p in present}
        if not any(times.values()):
            continue
        rates = [f"{n / t:.2f}" if t else "-" for t in times.values()]
        over = [f"{times[p] / copy:.2f}" if times[p] else "-" for p in ratios]
        print(f"| {label} | {kernel} | " + " | ".join(rates + over) + " |")
