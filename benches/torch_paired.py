#!/usr/bin/env python3
"""PyTorch's CPU fake quantization measured as `cargo bench --bench paired`
measures the crate: on a 4096 x 4096 bf16 tensor, one thread, a copy
(`dst.copy_(src)`) and the operation run in turn for 31 rounds, each timed
run after an untimed one of the same operation, and each round gives the
ratio of the operation's time to the copy's just before it. Prints the median
and range per operation, as a Markdown table.

The operations are PyTorch's own where it has one, given bf16 tensors as the
kernels are: fake_quantize_per_tensor_affine and
fake_quantize_per_channel_affine forward, and the backward of the learnable
(LSQ) forms, which compute the same weight and scale gradients (plus a zero
point's). PyTorch has no per-group quantizer; the asymmetric one is written
as PyTorch operations on f32, the formulas of docs/kernels.md.

    python3 benches/torch_paired.py            (about a minute)
"""
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")
import torch  # noqa: E402

ROUNDS = 31
ROWS = COLS = 4096
GROUP = 128
BIT = 4
EPS = 1e-4
CLIP = 0.99


def asymmetric_forward(x, s, o):
    n = float(2 ** (BIT - 1))
    xf = x.view(-1, GROUP).float()
    alpha = s.float().clamp_min(EPS).unsqueeze(1) * n
    off = o.float().unsqueeze(1)
    xn = (xf - off) / alpha
    r = torch.round(xn.clamp(-CLIP, CLIP) * n - 0.5)
    return (((r + 0.5) / n) * alpha + off).to(torch.bfloat16).view_as(x)


def asymmetric_backward(g, x, s, o):
    n = float(2 ** (BIT - 1))
    xf = x.view(-1, GROUP).float()
    gf = g.view(-1, GROUP).float()
    sf = s.float()
    alpha = sf.clamp_min(EPS).unsqueeze(1) * n
    xn = (xf - o.float().unsqueeze(1)) / alpha
    mask = ((xn >= -CLIP) & (xn <= CLIP)).float()
    d = (torch.round(xn.clamp(-CLIP, CLIP) * n - 0.5) + 0.5) / n
    grad_weight = (gf * mask).to(torch.bfloat16).view_as(x)
    grad_offset = (gf * (1 - mask)).sum(1).to(torch.bfloat16)
    grad_scale = ((gf * (d - xn * mask)).sum(1) * n * (sf > EPS).float()).to(torch.bfloat16)
    return grad_weight, grad_scale, grad_offset


def main():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(7)
    x = (torch.randn(ROWS, COLS, generator=gen) * 0.02).to(torch.bfloat16)
    g = (torch.randn(ROWS, COLS, generator=gen) * 1e-3).to(torch.bfloat16)
    dst = torch.empty_like(x)
    scale_t = torch.tensor([0.02 / 127])
    scale_c = torch.full((ROWS,), 0.02 / 127)
    zero_c = torch.zeros(ROWS, dtype=torch.int32)
    zero_cf = torch.zeros(ROWS)
    zero_t = torch.zeros(1)
    groups = ROWS * COLS // GROUP
    scale_g = torch.full((groups,), 0.04 / 2**BIT).to(torch.bfloat16)
    offset_g = torch.zeros(groups).to(torch.bfloat16)
    aten = torch.ops.aten
    ops = [
        ("symmetric_per_tensor", lambda: torch.fake_quantize_per_tensor_affine(x, 0.02 / 127, 0, -128, 127)),
        ("symmetric_per_tensor_backward", lambda: aten._fake_quantize_learnable_per_tensor_affine_backward(
            g, x, scale_t, zero_t, -128, 127, 1.0)),
        ("symmetric_per_channel", lambda: torch.fake_quantize_per_channel_affine(
            x, scale_c, zero_c, 0, -128, 127)),
        ("symmetric_per_channel_backward", lambda: aten._fake_quantize_learnable_per_channel_affine_backward(
            g, x, scale_c, zero_cf, 0, -128, 127, 1.0)),
        ("asymmetric_per_group_g128", lambda: asymmetric_forward(x, scale_g, offset_g)),
        ("asymmetric_per_group_backward_g128", lambda: asymmetric_backward(g, x, scale_g, offset_g)),
    ]
    only = sys.argv[1] if len(sys.argv) > 1 else None
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread, {ROWS} x {COLS} bf16")
    print("| operation | time / copy, median | range | copy G el/s |")
    print("| --- | ---: | ---: | ---: |")
    copy = lambda: dst.copy_(x)  # noqa: E731
    for name, op in ops:
        if only and only not in name:
            continue
        op()
        ratios, speeds = [], []
        for _ in range(ROUNDS):
            copy()
            start = time.perf_counter()
            copy()
            t_copy = time.perf_counter() - start
            op()
            start = time.perf_counter()
            op()
            t_op = time.perf_counter() - start
            ratios.append(t_op / t_copy)
            speeds.append(ROWS * COLS / t_copy / 1e9)
        print(f"| {name} | {statistics.median(ratios):.1f} | {min(ratios):.1f} to {max(ratios):.1f} "
              f"| {statistics.median(speeds):.2f} |")


if __name__ == "__main__":
    main()
