"""Agreement with PyTorch's own fake quantization.

Per channel and per tensor, against torch._fake_quantize_learnable_per_*_affine
(zero point 0, range min_v..max_v): the forward pass value-equal except at
exact ties, which are counted; the weight gradient bit-equal; the scale
gradient within the library's reduction bound of torch's f32 result. Per
group, against the formulas of docs/kernels.md written as torch operations
on f32: every bit equal.

Shapes: the reference implementation's (row lengths 128 to 3072, groups of
64, 128 and 256, 2 to 4 bits) and random ones; weights uniform in [-5, 5],
with NaN, infinities and exact ties mixed in. The counts are printed (pytest
-s) and collected in docs/pytorch.md.
"""
import math
import random

import pytest
import torch

import qat_kernels_torch as qk

ops = torch.ops.qat_kernels
bf16 = torch.bfloat16
REFERENCE_SHAPES = [(64, 128), (32, 512), (16, 1024), (8, 3072)]


def random_shapes(count, seed):
    rng = random.Random(seed)
    return [(rng.randint(1, 40), rng.randint(1, 700)) for _ in range(count)]


def weights(rows, cols, scale, seed, specials=True):
    """Uniform in [-5, 5]; a few exact ties per row (odd multiples of the
    row's scale / 2, `scale` a float or one per row), and NaN and infinities
    when `specials`."""
    g = torch.Generator().manual_seed(seed)
    w = (torch.rand(rows, cols, generator=g) * 10 - 5).to(bf16)
    scales = torch.as_tensor(scale, dtype=torch.float32).expand(rows)
    for row in range(rows):
        where = torch.randperm(cols, generator=g)[: max(1, cols // 50)]
        k = torch.randint(-6, 6, (where.numel(),), generator=g).float()
        w[row, where] = ((k + 0.5) * scales[row]).to(bf16)
    if specials and rows * cols >= 8:
        flat = w.view(-1)
        idx = torch.randperm(flat.numel(), generator=g)[:3]
        flat[idx] = torch.tensor([float("nan"), float("inf"), float("-inf")], dtype=bf16)
    return w


def exact_ties(w, scale):
    """Where w / scale is exactly a half-integer (both are bf16, so the f64
    quotient of a tie is exact)."""
    q = w.double() / scale.double()
    return (q - q.floor() == 0.5) & torch.isfinite(q)


def torch_learnable(w, scale_f32, min_v, max_v, per_channel):
    x = w.detach().clone().requires_grad_()
    s = scale_f32.detach().clone().requires_grad_()
    if per_channel:
        zp = torch.zeros_like(s)
        y = torch._fake_quantize_learnable_per_channel_affine(x, s, zp, 0, int(min_v), int(max_v), 1.0)
    else:
        zp = torch.zeros(1)
        y = torch._fake_quantize_learnable_per_tensor_affine(x, s, zp, int(min_v), int(max_v), 1.0)
    return x, s, y


def reduction_bound(g, w, scale, min_v, max_v, rows):
    """The documented bound of a scale gradient: one bf16 ulp of the result
    plus 2^-22 * sum |terms|, per row (terms of docs/kernels.md, in f64)."""
    x, gg = w.double().view(rows, -1), g.double().view(rows, -1)
    s = scale.double().view(rows, 1)
    c = torch.clamp(torch.round(x / s), min_v, max_v)
    mask = (torch.round(x / s) == c).double()
    terms = (gg * c).abs().sum(1) + (gg * mask * x / s).abs().sum(1)
    return terms * 2.0 ** -22


def bf16_ulp(x):
    x = x.double().abs().clamp_min(2.0 ** -133)
    return 2.0 ** (torch.floor(torch.log2(x)) - 7)


STATS = {}


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("shape", REFERENCE_SHAPES + random_shapes(6, 1))
@pytest.mark.parametrize("bits", [4, 8])
def test_symmetric_against_torch(per_channel, shape, bits):
    rows, cols = shape if per_channel else (1, shape[0] * shape[1])
    min_v, max_v = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    g_ = torch.Generator().manual_seed(rows * 1000 + cols + bits)
    scale = (torch.rand(rows, generator=g_) * 0.5 + 0.1).to(bf16)
    w = weights(rows, cols, scale.float(), seed=cols + bits)
    grad = (torch.rand(rows, cols, generator=g_) * 2 - 1).to(bf16)
    op = ops.symmetric_per_channel if per_channel else ops.symmetric_per_tensor
    ours = op(w, scale, 1e-4, float(min_v), float(max_v))
    gw, gs = (ops.symmetric_per_channel_backward if per_channel else ops.symmetric_per_tensor_backward)(
        grad, w, scale, 1e-4, float(min_v), float(max_v))

    x, s, y = torch_learnable(w, scale.float(), min_v, max_v, per_channel)
    y.backward(grad)
    finite = torch.isfinite(w)
    ties = exact_ties(w, scale.view(rows, 1))
    # Forward: value-equal except at exact ties (torch multiplies by 1 / scale).
    differ = (ours.float() != y.detach().float()) & finite
    assert not bool((differ & ~ties).any()), "a non-tie differs from torch"
    # Weight gradient: bit-equal on finite weights.
    assert torch.equal(gw[finite].view(torch.int16), x.grad.to(bf16)[finite].view(torch.int16))
    # Scale gradient: within the reduction bound of torch's f32 result, on
    # weights without ties (where torch's level differs, so does its term)
    # and without NaN or infinities.
    w = weights(rows, cols, scale.float(), seed=cols + bits + 1, specials=False)
    w = torch.where(exact_ties(w, scale.view(rows, 1)), torch.zeros_like(w), w)
    _, gs = (ops.symmetric_per_channel_backward if per_channel else ops.symmetric_per_tensor_backward)(
        grad, w, scale, 1e-4, float(min_v), float(max_v))
    _, s, y = torch_learnable(w, scale.float(), min_v, max_v, per_channel)
    y.backward(grad)
    theirs = s.grad.double().view(rows)
    bound = reduction_bound(grad, w, scale, min_v, max_v, rows)
    err = (gs.double().view(rows) - theirs).abs()
    # One bf16 ulp for our rounding, half of one for rounding torch's f32 value.
    allowed = bf16_ulp(theirs) * 1.5 + bound
    assert bool((err <= allowed).all()), f"scale gradient off by {err.max()}, allowed {allowed.min()}"
    key = "per channel" if per_channel else "per tensor"
    total = STATS.setdefault(key, [0, 0, 0])
    total[0] += int(finite.sum())
    total[1] += int(differ.sum())
    total[2] += int((ties & finite).sum())


def per_group_formulas(w, s, o, group_size, bit, eps, clip_val):
    """docs/kernels.md, asymmetric per group, in torch f32 operations."""
    n = float(2 ** (bit - 1))
    x = w.float().view(-1, group_size)
    ps = torch.where(s.float() < eps, torch.tensor(eps, dtype=torch.float32), s.float()).view(-1, 1)
    alpha = ps * n
    xn = (x - o.float().view(-1, 1)) / alpha
    xc = torch.minimum(torch.maximum(xn, torch.tensor(-clip_val)), torch.tensor(clip_val))
    xc = torch.where(torch.isnan(xn), xn, xc)
    r = torch.round(xc * n - 0.5)
    d = (r + 0.5) / n
    return (d * alpha + o.float().view(-1, 1)).view(w.shape)


@pytest.mark.parametrize("group_size,bit", [(64, 2), (128, 3), (128, 4), (256, 4), (32, 8)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_group_against_the_formulas(group_size, bit, seed):
    g = torch.Generator().manual_seed(seed)
    groups = 24
    s = (torch.rand(groups, generator=g) * 0.5 + 0.01).to(bf16)
    o = (torch.rand(groups, generator=g) - 0.5).to(bf16)
    w = weights(groups, group_size, 0.3, seed)
    ours = ops.asymmetric_per_group(w, s, o, group_size, bit, 1e-4, 0.99)
    want = per_group_formulas(w, s, o, group_size, bit, 1e-4, 0.99).to(bf16)
    nan = torch.isnan(want)
    assert torch.equal(torch.isnan(ours), nan)
    assert torch.equal(ours[~nan].view(torch.int16), want[~nan].view(torch.int16))


def test_print_agreement_counts():
    for key, (values, differ, ties) in sorted(STATS.items()):
        print(f"\n{key}: {values} finite weights compared, {differ} forward values differ from torch, "
              f"all at exact ties ({ties} exact ties in all)")
