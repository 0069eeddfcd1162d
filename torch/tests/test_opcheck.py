"""Every operator registered under torch.ops.qat_kernels, every overload,
through torch.library.opcheck: its schema (aliasing and mutation as
declared), its fake implementation against the real kernel, its autograd
registration, and AOT dispatch with dynamic shapes. The list of samples
must name exactly the registered overloads, so an operator added later
without samples (or without a fake) fails here."""
import pytest
import torch

import qat_kernels_torch  # noqa: F401  (registers the operators)

ops = torch.ops.qat_kernels
bf16, f32 = torch.bfloat16, torch.float32


def values(*shape, dtype=bf16, seed=0, grad=False):
    g = torch.Generator().manual_seed(seed)
    t = (torch.rand(*shape, generator=g) * 0.2 - 0.1).to(dtype)
    return t.requires_grad_(grad)


def scale(n, grad=False):
    return torch.full((n,), 0.01, dtype=bf16).requires_grad_(grad)


ASYM = (128, 4, 1e-4, 0.99)
SYM = (1e-4, -8.0, 7.0)


def training_samples(name, units, params, extra=()):
    """The functional, out= and in-place forms and the backward of one
    training operator, on bfloat16, float32 and float16 values."""
    samples = {}
    for dtype in (bf16, f32, torch.float16):
        w = values(8, 64, dtype=dtype)
        g = values(8, 64, dtype=dtype, seed=1)
        tensors = (scale(units),) + tuple(t for t in extra)
        grad_tensors = (scale(units, True),) + tuple(t.clone().requires_grad_(True) for t in extra)
        samples.setdefault(name, []).append(((values(8, 64, dtype=dtype, grad=True),) + grad_tensors + params, {}))
        samples.setdefault(name + ".out", []).append(((w,) + tensors + params, {"out": torch.empty_like(w)}))
        samples.setdefault(name + "_", []).append(((w.clone(),) + tensors + params, {}))
        samples.setdefault(name + "_backward", []).append(((g, w) + tensors + params, {}))
        # The scale and offset gradients: bfloat16 for bfloat16 values, else float32.
        grad = bf16 if dtype == bf16 else f32
        outs = {"grad_weight": torch.empty_like(w), "grad_scale": torch.empty(units, dtype=grad)}
        if extra:
            outs["grad_offset"] = torch.empty(units, dtype=grad)
        samples.setdefault(name + "_backward.out", []).append(((g, w) + tensors + params, outs))
    return samples


def samples():
    s = {}
    s.update(training_samples("asymmetric_per_group", 4, ASYM, extra=(torch.zeros(4, dtype=bf16),)))
    for name, units in (("symmetric_per_channel", 8), ("symmetric_per_tensor", 1)):
        s.update(training_samples(name, units, SYM))
        for dtype in (bf16, f32):
            w, g = values(8, 64, dtype=dtype), values(8, 64, dtype=dtype, seed=1)
            s.setdefault(name + "_backward_blocks", []).append(((g, w, scale(units)) + SYM, {}))
            s.setdefault(name + "_calibrate", []).append(((w,) + SYM + (0,), {}))
            s[name + "_calibrate"].append(((w,) + SYM + (1,), {}))
            s.setdefault(name + "_quantize", []).append(((w, scale(units)) + SYM, {}))
        codes = torch.randint(-8, 8, (8, 64), dtype=torch.int8)
        s[name + "_dequantize"] = [((codes, scale(units)) + SYM, {})]
    for dtype in (bf16, f32):
        w = values(8, 64, dtype=dtype)
        s.setdefault("asymmetric_per_group_calibrate", []).append(((w, 128, 4, 1e-4, 0.99, 0), {}))
        s.setdefault("asymmetric_per_group_quantize", []).append(
            ((w, scale(4), torch.zeros(4, dtype=bf16)) + ASYM, {}))
    codes = torch.randint(0, 16, (8, 64), dtype=torch.uint8)
    s["asymmetric_per_group_dequantize"] = [((codes, scale(4), torch.zeros(4, dtype=bf16)) + ASYM, {})]
    sums = torch.randn(8, 2 * int(ops.block_count(64)), dtype=torch.float64)
    s["symmetric_finish"] = [((sums.view(-1), scale(8), 64) + SYM, {})]
    s["per_token"], s["per_token_backward"] = [], []
    for dtype in (bf16, f32):
        for symmetric in (False, True):
            x = values(3, 5, 64, dtype=dtype, grad=True)
            s["per_token"].append(((x, 8, 2.0 ** -23, symmetric), {}))
            _, sc, zp = ops.per_token(x.detach(), 8, 2.0 ** -23, symmetric)
            s["per_token_backward"].append(((values(3, 5, 64, dtype=dtype, seed=2), x.detach(), sc, zp, 8), {}))
    s["pack_codes"] = [((torch.randint(0, 16, (64,), dtype=torch.uint8), 4), {}),
                       ((torch.randint(-2, 2, (64,), dtype=torch.int8), 2), {})]
    s["unpack_codes"] = [((torch.randint(0, 256, (32,), dtype=torch.uint8), 64, 4, True), {}),
                         ((torch.randint(0, 256, (8,), dtype=torch.uint8), 64, 1, False), {})]
    return s


# Constants of the library, with no tensor in or out: nothing to fake or
# trace, checked by value.
CONSTANTS = {"block_count", "version"}


def test_the_constants():
    assert [ops.block_count(n) for n in (0, 1, 4096, 4097, 8192)] == [0, 1, 1, 2, 2]
    assert ops.version().count(".") == 2


SAMPLES = samples()


def registered():
    return sorted(n.split("::", 1)[1] for n in torch._C._dispatch_get_all_op_names()
                  if n.startswith("qat_kernels::"))


def test_every_registered_overload_has_samples():
    assert registered() == sorted(set(SAMPLES) | CONSTANTS)


def overload(name):
    base, _, form = name.partition(".")
    return getattr(getattr(ops, base), form or "default")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_opcheck(name):
    op = overload(name)
    for args, kwargs in SAMPLES[name]:
        torch.library.opcheck(op, args, kwargs)


def test_in_place_and_out_forms_compile_fullgraph_and_export():
    w, s = values(8, 64), scale(8)
    # As a user writes it: the in-place form's result (None) returned.
    assert torch.compile(lambda: ops.symmetric_per_channel_(w.clone(), s, *SYM), fullgraph=True)() is None
    want = ops.symmetric_per_channel(w, s, *SYM)
    def f():
        x = w.clone()
        ops.symmetric_per_channel_(x, s, *SYM)
        return x

    got = torch.compile(f, fullgraph=True)()
    assert torch.equal(got.view(torch.int16), want.view(torch.int16))


def test_out_forms_export():
    class M(torch.nn.Module):
        def forward(self, w, s, g):
            out, gw, gs = torch.empty_like(w), torch.empty_like(w), torch.empty_like(s)
            ops.symmetric_per_channel.out(w, s, *SYM, out=out)
            ops.symmetric_per_channel_backward.out(g, w, s, *SYM, grad_weight=gw, grad_scale=gs)
            return out, gw, gs

    args = (values(8, 64), scale(8), values(8, 64, seed=1))
    exported = torch.export.export(M(), args)
    for a, b in zip(exported.module()(*args), M()(*args)):
        assert torch.equal(a.view(torch.int16), b.view(torch.int16))
