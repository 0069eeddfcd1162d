"""Agreement with torchao's QAT fake quantizers (IntxFakeQuantizer) on the
same inputs, for the two configs of the 8da4w recipe: int8 asymmetric
per-token activations and int4 symmetric per-group weights (groups of 32).
The differences are counted and each is explained by a cause checked here;
`pytest -s` prints the table that docs/pytorch.md gives."""
import pytest
import torch

import qat_kernels_torch as qk

torchao_qat = pytest.importorskip("torchao.quantization.qat")
from torchao.quantization.qat.fake_quantizer import IntxFakeQuantizer  # noqa: E402

bf16 = torch.bfloat16
ROWS = []


def report(what, equal, total, note):
    ROWS.append(f"| {what} | {equal:,} of {total:,} | {note} |")
    print(f"\n| {what} | {equal:,} of {total:,} | {note} |")


def activations():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 1024, generator=g) * torch.rand(512, 1, generator=g) * 4
    x[::7, ::13] *= 20  # outlier channels, as in language models
    return x.to(bf16)


def theirs(config, x, g):
    x = x.clone().requires_grad_()
    quantizer = IntxFakeQuantizer(config)
    out = quantizer(x)
    out.backward(g.to(out.dtype))
    return out.detach(), x.grad, quantizer


def ours(f, x, g):
    x = x.clone().requires_grad_()
    out = f(x)
    out.backward(g)
    return out.detach(), x.grad


def ties(q):
    return (q - torch.floor(q)) == 0.5


def test_per_token_activations_against_torchao():
    x = activations()
    g = torch.randn(x.shape, generator=torch.Generator().manual_seed(1)).to(bf16)
    config = torchao_qat.IntxFakeQuantizeConfig(torch.int8, "per_token", is_symmetric=False)
    o, ogx = ours(lambda t: qk.per_token(t, 8, symmetric=False), x, g)
    _, scale, zp = qk.per_token(x, 8, symmetric=False, return_params=True)
    # Our straight-through gradient: g where the level is on the grid (no
    # value of a min/max grid is clipped).
    assert torch.equal(ogx.view(torch.int16), g.view(torch.int16))

    # float32 activations: torchao computes in float32, one operation at a time.
    t, tgx, tq = theirs(config, x.float(), g.float())
    assert torch.equal(tq.scale.view(-1), scale) and torch.equal(tq.zero_point.view(-1), zp)
    same = o.view(torch.int16) == t.to(bf16).view(torch.int16)
    # torchao multiplies by the reciprocal, x * (1 / s), where the
    # documented operation divides: the two round to different levels near
    # ties.
    by_reciprocal = torch.round(x.float() * (1.0 / scale[:, None])) != torch.round(x.float() / scale[:, None])
    assert torch.equal(~same, by_reciprocal), "the differences are exactly where x * (1 / s) rounds elsewhere"
    report("per token, float32 input: scales and zero points", 512, 512, "equal")
    report("per token, float32 input: values", int(same.sum()), same.numel(),
           f"the {int((~same).sum())} others where torchao's x * (1 / s) rounds to another level than x / s")
    gsame = ogx.view(torch.int16) == tgx.to(bf16).view(torch.int16)
    # torchao's gradient also flows through the scale (a function of the
    # row's extremes) and is g * (1 / s) * s, rounded twice.
    extreme = (x == x.amax(1, keepdim=True)) | (x == x.amin(1, keepdim=True))
    report("per token, float32 input: input gradient", int(gsame.sum()), gsame.numel(),
           f"{int((~gsame & extreme).sum())} of the others at a row's min or max (torchao's gradient "
           "through the scale), the rest a rounding of g * (1 / s) * s")
    assert gsame.float().mean() > 0.99

    # bfloat16 activations: torchao computes the scale, the quotient and the
    # value in bfloat16, rounding after each operation.
    t, tgx, tq = theirs(config, x, g)
    lo = torch.minimum(x.amin(1), torch.zeros((), dtype=bf16))
    hi = torch.maximum(x.amax(1), torch.zeros((), dtype=bf16))
    in_bf16 = torch.clamp((hi - lo) / 255.0, min=torch.finfo(bf16).smallest_normal)
    assert torch.equal(tq.scale.view(-1), in_bf16.float()), "torchao's scale is the bf16 evaluation"
    same_scale = tq.scale.view(-1) == scale
    same = o.view(torch.int16) == t.view(torch.int16)
    report("per token, bfloat16 input: scales", int(same_scale.sum()), 512,
           "torchao's is computed in bfloat16 (checked), ours in float32")
    report("per token, bfloat16 input: values", int(same.sum()), same.numel(),
           "follow from the scales, and from torchao rounding x / s and (q - zp) * s to bfloat16")
    gsame = ogx.view(torch.int16) == tgx.view(torch.int16)
    report("per token, bfloat16 input: input gradient", int(gsame.sum()), gsame.numel(),
           "as for float32, with bfloat16 roundings")


def test_int4_per_group_weights_against_torchao():
    gen = torch.Generator().manual_seed(2)
    w = (torch.randn(256, 1024, generator=gen) * 0.05).to(bf16)
    g = torch.randn(w.shape, generator=gen).to(bf16)
    config = torchao_qat.IntxFakeQuantizeConfig(torch.int4, group_size=32)
    # bfloat16 weights (torchao's scales of float32 weights are no bfloat16
    # values, which our scales are).
    for name, source in (("bfloat16", w),):
        t, tgw, tq = theirs(config, source, g)
        # torchao's scale, each a bfloat16 value (the weights are), as our
        # learnable scale; zero points 0.
        scale = tq.scale.view(-1).to(bf16)
        assert torch.equal(scale.float(), tq.scale.view(-1).float()) and not bool(tq.zero_point.any())
        o, ogw = ours(lambda v: qk.symmetric_per_group(v, scale, 32, 1e-30, -8.0, 7.0), w, g)
        q = w.float() / scale.float().repeat_interleave(32).view(w.shape)
        r = torch.round(q)
        clipped = (r < -8) | (r > 7)
        assert torch.equal(ogw.view(torch.int16), (g.float() * (~clipped).float()).to(bf16).view(torch.int16))
        same = o.view(torch.int16) == t.to(bf16).view(torch.int16)
        assert bool(ties(q)[~same].all()), "every difference is at an exact tie"
        note = f"the {int((~same).sum())} others at exact ties w / s = k + 0.5, which torchao's w * (1 / s) " \
               "moves to either side"
        report(f"int4 per group (32), {name} weights: values", int(same.sum()), same.numel(), note)
        gsame = ogw.view(torch.int16) == tgw.to(bf16).view(torch.int16)
        report(f"int4 per group (32), {name} weights: weight gradient", int(gsame.sum()), gsame.numel(),
               "torchao's flows through the scale (each group's largest |w|) and is g * (1 / s) * s; "
               "ours is g where the level is not clipped")


def test_print_agreement_table():
    print("\n| compared | equal | the others |\n| --- | ---: | --- |")
    for row in ROWS:
        print(row)
