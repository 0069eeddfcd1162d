"""The operators themselves: forms, errors, autograd, tracing, modules."""
import pytest
import torch

import qat_kernels_torch as qk

ops = torch.ops.qat_kernels
bf16 = torch.bfloat16


def weights(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) * 0.2 - 0.1).to(bf16)


def test_out_and_in_place_forms_give_the_functional_bits():
    w, s, o = weights(8, 64), torch.full((4,), 0.01, dtype=bf16), torch.zeros(4, dtype=bf16)
    want = ops.asymmetric_per_group(w, s, o, 128, 4, 1e-4, 0.99)
    out = torch.empty_like(w)
    # The out= and in-place forms return None (custom operators that return an alias do not functionalize).
    assert ops.asymmetric_per_group.out(w, s, o, 128, 4, 1e-4, 0.99, out=out) is None
    assert torch.equal(out.view(torch.int16), want.view(torch.int16))
    w2 = w.clone()
    ops.asymmetric_per_group_(w2, s, o, 128, 4, 1e-4, 0.99)
    assert torch.equal(w2.view(torch.int16), want.view(torch.int16))
    g = weights(8, 64, seed=1)
    gw, gs, go = ops.asymmetric_per_group_backward(g, w, s, o, 128, 4, 1e-4, 0.99)
    outs = [torch.empty_like(t) for t in (w, s, o)]
    ops.asymmetric_per_group_backward.out(g, w, s, o, 128, 4, 1e-4, 0.99,
                                          grad_weight=outs[0], grad_scale=outs[1], grad_offset=outs[2])
    for a, b in zip(outs, (gw, gs, go)):
        assert torch.equal(a.view(torch.int16), b.view(torch.int16))
    for name, scale in (("symmetric_per_channel", torch.full((8,), 0.01, dtype=bf16)),
                        ("symmetric_per_tensor", torch.full((1,), 0.01, dtype=bf16))):
        op = getattr(ops, name)
        want = op(w, scale, 1e-4, -8, 7)
        out = torch.empty_like(w)
        op.out(w, scale, 1e-4, -8, 7, out=out)
        w2 = w.clone()
        getattr(ops, name + "_")(w2, scale, 1e-4, -8, 7)
        assert torch.equal(out.view(torch.int16), want.view(torch.int16))
        assert torch.equal(w2.view(torch.int16), want.view(torch.int16))
        gw, gs = getattr(ops, name + "_backward")(g, w, scale, 1e-4, -8, 7)
        a, b = torch.empty_like(w), torch.empty_like(scale)
        getattr(ops, name + "_backward").out(g, w, scale, 1e-4, -8, 7, grad_weight=a, grad_scale=b)
        assert torch.equal(a.view(torch.int16), gw.view(torch.int16))
        assert torch.equal(b.view(torch.int16), gs.view(torch.int16))


@pytest.mark.parametrize("case,pattern", [
    (lambda w, s, o: ops.symmetric_per_channel(w.double(), s, 1e-4, -8, 7), "weight must be bfloat16, float32 or float16"),
    (lambda w, s, o: ops.symmetric_per_channel(w, s.to("meta"), 1e-4, -8, 7), "scale must be on the device of the first tensor"),
    (lambda w, s, o: ops.symmetric_per_channel(w.t(), s, 1e-4, -8, 7), "weight must be contiguous"),
    (lambda w, s, o: ops.symmetric_per_channel(w.to_sparse(), s, 1e-4, -8, 7), "weight must be a strided"),
    (lambda w, s, o: ops.symmetric_per_channel(w, s[:3], 1e-4, -8, 7), r"scale must have shape \(8\)"),
    (lambda w, s, o: ops.symmetric_per_channel(w, s.view(2, 4), 1e-4, -8, 7), r"scale must have shape \(8\)"),
    (lambda w, s, o: ops.symmetric_per_channel(w.view(torch.int16), s, 1e-4, -8, 7), "weight must be bfloat16, float32"),
    (lambda w, s, o: ops.symmetric_per_channel(w, s.double(), 1e-4, -8, 7),
     "scale must be bfloat16 or float32, not float64"),
    (lambda w, s, o: ops.symmetric_per_channel(w, s, 0.0, -8, 7), "eps is not finite and positive"),
    (lambda w, s, o: ops.symmetric_per_tensor(w, s[:1], 1e-4, 7, -8), "max_v is less than min_v"),
    (lambda w, s, o: ops.asymmetric_per_group(w, s[:4], o, 100, 4, 1e-4, 0.99), "group_size 100"),
    (lambda w, s, o: ops.asymmetric_per_group(w, s[:4], o, 128, 17, 1e-4, 0.99), r"bit is outside 1\.\.=16"),
    (lambda w, s, o: ops.asymmetric_per_group(w, s[:4], o, 128, 4, 1e-4, 1.0), "clip_val is not finite with 0 < clip_val < 1"),
])
def test_bad_input_raises_a_clear_error(case, pattern):
    w, s, o = weights(8, 64), torch.full((8,), 0.01, dtype=bf16), torch.zeros(4, dtype=bf16)
    with pytest.raises(RuntimeError, match=pattern):
        case(w, s, o)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case,pattern", [
    (lambda w, s, o: ops.per_token(w, 9, 1e-6, False), r"per_token: bit is outside 2\.\.=8 \(.*status 3\)"),
    (lambda w, s, o: ops.per_token_backward(w, w, s.float(), s.int(), 9), r"bit is outside 2\.\.=8"),
    (lambda w, s, o: ops.asymmetric_per_group_quantize(w, s[:4], o, 128, 9, 1e-4, 0.99), r"bit is outside 1\.\.=8"),
    (lambda w, s, o: ops.symmetric_per_channel_quantize(w, s, 1e-4, -129, 127), r"min_v is outside -128\.\.=127"),
    (lambda w, s, o: ops.symmetric_per_channel(w, s, 1e-4, 0.5, 7), r"min_v is not an integer within -2\^24\.\.=2\^24"),
    (lambda w, s, o: ops.pack_codes(torch.zeros(8, dtype=torch.uint8), 3), r"bit 3 must be 1, 2, 4 or 8"),
    (lambda w, s, o: ops.asymmetric_per_group_calibrate(w, 128, 4, 1e-4, 0.99, 7), r"mode is not QAT_CALIBRATE_SEARCH"),
])
def test_a_refusal_names_the_argument_and_its_rule(case, pattern, threads):
    """The library's detail, at any thread count: every check runs on the
    calling thread, before a call splits."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        w, s, o = weights(8, 64), torch.full((8,), 0.01, dtype=bf16), torch.zeros(4, dtype=bf16)
        with pytest.raises(RuntimeError, match=pattern):
            case(w, s, o)
        # Large enough to split across threads.
        w = weights(4096, 64)
        with pytest.raises(RuntimeError, match=r"bit is outside 2\.\.=8"):
            ops.per_token(w, 1, 1e-6, True)
    finally:
        torch.set_num_threads(before)


def test_a_refused_call_writes_nothing():
    w, s = weights(8, 64), torch.full((8,), 0.01, dtype=bf16)
    out = torch.full_like(w, 3.0)
    with pytest.raises(RuntimeError, match="min_v"):
        ops.symmetric_per_channel.out(w, s, 1e-4, 7, -8, out=out)
    assert bool((out == 3.0).all())
    with pytest.raises(RuntimeError, match="out must have shape"):
        ops.symmetric_per_channel.out(w, s, 1e-4, -8, 7, out=torch.empty(8, 63, dtype=bf16))
    # Outputs sharing memory with an input other than in place: the library's overlap check.
    with pytest.raises(RuntimeError, match="overlap"):
        ops.symmetric_per_channel_backward.out(w, w, s, 1e-4, -8, 7, grad_weight=out, grad_scale=out.view(-1)[:8])
    assert bool((out == 3.0).all())


def test_autograd_gives_the_backward_kernels_gradients():
    w, s, o = weights(4, 128), torch.full((4,), 0.01, dtype=bf16), torch.full((4,), 0.001, dtype=bf16)
    g = weights(4, 128, seed=2)
    wr, sr, orr = (t.clone().requires_grad_() for t in (w, s, o))
    qk.asymmetric_per_group(wr, sr, orr, 128, 4, 1e-4, 0.99).backward(g)
    want = ops.asymmetric_per_group_backward(g, w, s, o, 128, 4, 1e-4, 0.99)
    for got, w_ in zip((wr.grad, sr.grad, orr.grad), want):
        assert torch.equal(got.view(torch.int16), w_.view(torch.int16))
    sc = torch.full((4,), 0.01, dtype=bf16)
    wr, sr = w.clone().requires_grad_(), sc.clone().requires_grad_()
    qk.symmetric_per_channel(wr, sr, 1e-4, -8, 7).backward(g)
    gw, gs = ops.symmetric_per_channel_backward(g, w, sc, 1e-4, -8, 7)
    assert torch.equal(wr.grad.view(torch.int16), gw.view(torch.int16))
    assert torch.equal(sr.grad.view(torch.int16), gs.view(torch.int16))


def test_compile_fullgraph_and_export():
    def f(w, s, o, sc):
        a = qk.asymmetric_per_group(w, s, o, 64, 3, 1e-4, 0.99)
        b = qk.symmetric_per_channel(w, sc, 1e-4, -8, 7)
        return (a.float() * b.float()).sum()

    w, s, o = weights(4, 64), torch.full((4,), 0.02, dtype=bf16), torch.zeros(4, dtype=bf16)
    sc = torch.full((4,), 0.01, dtype=bf16)
    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    args = [t.clone().requires_grad_() for t in (w, s, o, sc)]
    compiled(*args).backward()
    eager = [t.clone().requires_grad_() for t in (w, s, o, sc)]
    f(*eager).backward()
    for a, b in zip(args, eager):
        assert torch.equal(a.grad.view(torch.int16), b.grad.view(torch.int16))

    class M(torch.nn.Module):
        def forward(self, w, sc):
            return qk.symmetric_per_tensor(w, sc, 1e-4, -128, 127)

    exported = torch.export.export(M(), (w, sc[:1]))
    assert any("qat_kernels.symmetric_per_tensor" in str(n.target) for n in exported.graph.nodes)
    got = exported.module()(w, sc[:1])
    assert torch.equal(got.view(torch.int16), qk.symmetric_per_tensor(w, sc[:1], 1e-4, -128, 127).view(torch.int16))


def test_modules_train_with_an_optimizer_and_round_trip_their_state():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(16, 128) * 0.05)
    quantizers = [
        qk.AsymmetricPerGroup(num_groups=16, group_size=128, bit=4, grad_factor="lsq"),
        qk.SymmetricPerChannel(channels=16, bit=4, grad_factor="lsq"),
        qk.SymmetricPerTensor(bit=8),
    ]
    for q in quantizers:
        out = q(w)
        assert out.dtype == torch.float32 and out.shape == w.shape
        assert bool(q.initialized)
        before = q.scale.detach().clone()
        opt = torch.optim.SGD(list(q.parameters()) + [w], lr=0.1)
        loss = ((q(w) - 0.3) ** 2).sum()
        loss.backward()
        assert q.scale.grad is not None and bool(q.scale.grad.abs().sum() > 0)
        opt.step()
        assert not torch.equal(before, q.scale.detach())
        state = q.state_dict()
        clone = type(q)(**_arguments(q))
        clone.load_state_dict(state)
        assert torch.equal(clone(w).detach(), q(w).detach())


def _arguments(q):
    if isinstance(q, qk.AsymmetricPerGroup):
        return dict(num_groups=q.scale.numel(), group_size=q.group_size, bit=q.bit)
    if isinstance(q, qk.SymmetricPerChannel):
        return dict(channels=q.scale.numel(), min_v=q.min_v, max_v=q.max_v)
    return dict(min_v=q.min_v, max_v=q.max_v)


def test_lsq_grad_factor_scales_only_the_scale_gradient():
    torch.manual_seed(1)
    w = torch.randn(4, 256) * 0.05
    plain = qk.SymmetricPerChannel(channels=4, bit=4)
    scaled = qk.SymmetricPerChannel(channels=4, bit=4, grad_factor="lsq")
    for q in (plain, scaled):
        q(w.clone().requires_grad_()).sum().backward()
    factor = qk.lsq_grad_factor(256, 7)
    assert torch.allclose(scaled.scale.grad, plain.scale.grad * factor, rtol=1e-6)


def test_calibration_through_the_operators():
    torch.manual_seed(2)
    w = (torch.randn(8, 256) * 0.05).to(bf16)
    search = ops.symmetric_per_channel_calibrate(w, 1e-4, -8.0, 7.0, 0)
    assert search.shape == (8,) and search.dtype == bf16
    min_max = (w.float().abs().amax(1) / 7).to(bf16)

    def error(scale):
        q = ops.symmetric_per_channel(w, scale, 1e-4, -8.0, 7.0)
        return ((w.float() - q.float()) ** 2).sum(1)

    assert bool((error(search) <= error(min_max)).all())
    scale, offset = ops.asymmetric_per_group_calibrate(w, 128, 4, 1e-4, 0.99, 1)
    assert scale.shape == (16,) and offset.shape == (16,)
    q = qk.AsymmetricPerGroup(num_groups=16, group_size=128, bit=4).calibrate(w.float())
    assert bool(q.initialized) and q.scale.dtype == torch.float32
    with pytest.raises(RuntimeError, match="unknown mode"):
        ops.symmetric_per_tensor_calibrate(w, 1e-4, -8.0, 7.0, 5)
    w[0, 0] = float("nan")
    with pytest.raises(RuntimeError, match="NaN or infinite"):
        ops.symmetric_per_tensor_calibrate(w, 1e-4, -8.0, 7.0, 0)


@pytest.mark.parametrize("name", ["asymmetric_per_group", "symmetric_per_channel", "symmetric_per_tensor"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_float32_and_float16_values_are_read_and_written_as_they_are(name, dtype):
    # Values bfloat16 holds: the float32 or float16 results, narrowed to bfloat16, are the bfloat16 operator's.
    g = torch.Generator().manual_seed(3)
    w16, g16 = (torch.randn(8, 512, generator=g) * 0.05).to(bf16), torch.randn(8, 512, generator=g).to(bf16)
    w, grad = w16.to(dtype), g16.to(dtype)
    if dtype == torch.float16:
        # bfloat16 values that float16 holds too (none below its subnormals).
        w16, g16 = w.to(bf16), grad.to(bf16)
        assert torch.equal(w16.to(dtype), w) and torch.equal(g16.to(dtype), grad)
    if name == "asymmetric_per_group":
        params = (torch.full((32,), 0.01, dtype=bf16), torch.zeros(32, dtype=bf16), 128, 4, 1e-4, 0.99)
    else:
        params = (torch.full((8 if name.endswith("channel") else 1,), 0.01, dtype=bf16), 1e-4, -8.0, 7.0)
    op, backward = getattr(ops, name), getattr(ops, name + "_backward")
    out = op(w, *params)
    assert out.dtype == dtype
    if dtype == torch.float32:
        assert torch.equal(out.to(bf16).view(torch.int16), op(w16, *params).view(torch.int16))
    grads, grads16 = backward(grad, w, *params), backward(g16, w16, *params)
    assert grads[0].dtype == dtype and all(t.dtype == torch.float32 for t in grads[1:])
    for a, b in zip(grads, grads16):
        if dtype == torch.float32 or a.dtype == torch.float32:
            assert torch.equal(a.to(bf16).view(torch.int16), b.view(torch.int16))
    x, s, z = ops.per_token(w, 8, 2.0 ** -23, False)
    x16, s16, z16 = ops.per_token(w16, 8, 2.0 ** -23, False)
    assert torch.equal(s, s16) and torch.equal(z, z16)
    if dtype == torch.float32:
        assert torch.equal(x.to(bf16).view(torch.int16), x16.view(torch.int16))
        assert torch.equal(ops.per_token_backward(grad, w, s, z, 8).to(bf16),
                           ops.per_token_backward(g16, w16, s, z, 8))


@pytest.mark.parametrize("per_tensor", [False, True])
def test_float32_values_bfloat16_cannot_hold_are_not_rounded(per_tensor):
    # The symmetric forward and backward, against their definition
    # (docs/kernels.md) in PyTorch's float32 arithmetic: c = clip(round(x / s),
    # min_v, max_v) + 0, out = c * s, grad_weight = g * mask, in float32, with no
    # bit of g lost.
    g = torch.Generator().manual_seed(5)
    w, grad = torch.randn(8, 512, generator=g) * 0.05, torch.randn(8, 512, generator=g)
    assert not torch.equal(w.to(bf16).float(), w)
    s = torch.full((1 if per_tensor else 8,), 0.0078125 * 1.25, dtype=bf16)
    name = "symmetric_per_tensor" if per_tensor else "symmetric_per_channel"
    out = getattr(ops, name)(w, s, 1e-4, -8.0, 7.0)
    ps = s.float().reshape(-1, 1)
    r = torch.round(w / ps)
    c = torch.clamp(r, -8.0, 7.0) + 0.0
    assert torch.equal(out.view(torch.int32), (c * ps).view(torch.int32))
    grad_weight, grad_scale = getattr(ops, name + "_backward")(grad, w, s, 1e-4, -8.0, 7.0)
    assert torch.equal(grad_weight.view(torch.int32), (grad * (r == c)).view(torch.int32))
    assert grad_scale.dtype == torch.float32
    # The dequantized codes are the float32 forward values.
    codes = getattr(ops, name + "_quantize")(w, s, 1e-4, -8.0, 7.0)
    assert torch.equal(getattr(ops, name + "_dequantize")(codes, s, 1e-4, -8.0, 7.0, dtype=torch.float32), out)


@pytest.mark.parametrize("name", ["SymmetricPerChannel", "AsymmetricPerGroup"])
def test_a_float32_module_gets_float32_gradients_unrounded(name):
    # w.grad is the upstream gradient masked in float32, and the scale's (and
    # offset's) gradient the operator's float32 one: nothing rounds to bfloat16.
    g = torch.Generator().manual_seed(9)
    w = (torch.randn(16, 256, generator=g) * 0.05).requires_grad_()
    grad = torch.randn(16, 256, generator=g)
    q = qk.SymmetricPerChannel(16, bit=4) if name == "SymmetricPerChannel" else qk.AsymmetricPerGroup(32, 128, bit=4)
    q.initialize(w)
    q(w).backward(grad)
    params = [q.scale] + ([q.offset] if name == "AsymmetricPerGroup" else [])
    if name == "SymmetricPerChannel":
        want = ops.symmetric_per_channel_backward(grad, w.detach(), q.scale.detach().to(bf16), *q._params())
    else:
        want = ops.asymmetric_per_group_backward(grad, w.detach(), q.scale.detach().to(bf16),
                                                 q.offset.detach().to(bf16), *q._params(w))
    assert w.grad.dtype == torch.float32 and torch.equal(w.grad, want[0])
    assert bool(((w.grad == grad) | (w.grad == 0)).all()) and bool((w.grad == grad).any())
    for p, want_grad in zip(params, want[1:]):
        assert want_grad.dtype == torch.float32 and torch.equal(p.grad, want_grad)
    # Some scale gradient has bits bfloat16 would have dropped.
    assert not torch.equal(q.scale.grad.to(bf16).float(), q.scale.grad)


def misaligned(n, dtype):
    """A tensor of n elements whose data starts one byte past an aligned address."""
    raw = bytearray(n * torch.empty((), dtype=dtype).element_size() + 1)
    return torch.frombuffer(raw, dtype=dtype, offset=1, count=n)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", [bf16, torch.float32])
def test_a_misaligned_output_is_refused_before_anything_is_written(dtype, threads):
    w, g = weights(3, 4096).to(dtype), weights(3, 4096, seed=1).to(dtype)
    grad = bf16 if dtype == bf16 else torch.float32
    s = torch.full((1,), 0.01, dtype=bf16)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for name in ("symmetric_per_tensor", "symmetric_per_channel"):
            scale = s if name == "symmetric_per_tensor" else torch.full((3,), 0.01, dtype=bf16)
            gw = torch.full_like(w, 3.0)
            with pytest.raises(RuntimeError, match="grad_scale must be aligned to its element size"):
                getattr(ops, name + "_backward").out(g, w, scale, 1e-4, -8, 7, grad_weight=gw,
                                                     grad_scale=misaligned(scale.numel(), grad))
            assert bool((gw == 3.0).all())
        with pytest.raises(RuntimeError, match="weight must be aligned"):
            ops.symmetric_per_tensor(misaligned(w.numel(), dtype), s, 1e-4, -8, 7)
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("dtype", [bf16, torch.float32])
def test_every_operator_that_reads_weights_takes_float32(dtype):
    # Export, calibration and the shard forms: on float32 values bfloat16
    # holds, the bfloat16 operator's results; the codes of float32 weights
    # dequantize to their float32 forward values.
    w = (weights(8, 64).float() * 1.2345).to(bf16).to(dtype)
    r = w.to(bf16)
    s, o = torch.full((8,), 0.01, dtype=bf16), torch.zeros(4, dtype=bf16)

    def same(a, b):
        for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
            assert x.dtype == y.dtype and torch.equal(x, y)

    same(ops.asymmetric_per_group_quantize(w, s[:4], o, 128, 4, 1e-4, 0.99),
         ops.asymmetric_per_group_quantize(r, s[:4], o, 128, 4, 1e-4, 0.99))
    # LSQ's calibration (the search measures the error of the forward pass in
    # the data's own type, so may pick another scale for float32 data).
    same(ops.asymmetric_per_group_calibrate(w, 128, 4, 1e-4, 0.99, 1),
         ops.asymmetric_per_group_calibrate(r, 128, 4, 1e-4, 0.99, 1))
    for name, scale in (("symmetric_per_channel", s), ("symmetric_per_tensor", s[:1])):
        same(getattr(ops, name + "_quantize")(w, scale, 1e-4, -8, 7), getattr(ops, name + "_quantize")(r, scale, 1e-4, -8, 7))
        same(getattr(ops, name + "_calibrate")(w, 1e-4, -8, 7, 1), getattr(ops, name + "_calibrate")(r, 1e-4, -8, 7, 1))
        gw, sums = getattr(ops, name + "_backward_blocks")(w, w, scale, 1e-4, -8, 7)
        gw_r, sums_r = getattr(ops, name + "_backward_blocks")(r, r, scale, 1e-4, -8, 7)
        assert gw.dtype == dtype and torch.equal(gw.to(bf16), gw_r) and torch.equal(sums, sums_r)
    x = weights(8, 64).float() * 1.2345
    codes = ops.asymmetric_per_group_quantize(x, s[:4], o, 128, 4, 1e-4, 0.99)
    assert torch.equal(ops.asymmetric_per_group_dequantize(codes, s[:4], o, 128, 4, 1e-4, 0.99, dtype=torch.float32),
                       ops.asymmetric_per_group(x, s[:4], o, 128, 4, 1e-4, 0.99))


def test_asymmetric_per_channel_is_per_group_with_each_row_a_group():
    w = weights(6, 40).float().requires_grad_()
    scale = torch.rand(6) * 0.01 + 0.005
    offset = torch.randn(6) * 0.01
    channel = qk.AsymmetricPerChannel(6, bit=4)
    group = qk.AsymmetricPerGroup(6, 40, bit=4)
    for q in (channel, group):
        q.initialize(w)
        with torch.no_grad():
            q.scale.copy_(scale)
            q.offset.copy_(offset)
    a, b = channel(w), group(w)
    assert torch.equal(a.view(torch.int32), b.view(torch.int32))
    g = torch.randn(6, 40)
    ga = torch.autograd.grad(a, [w, channel.scale, channel.offset], g)
    gb = torch.autograd.grad(b, [w, group.scale, group.offset], g)
    for x, y in zip(ga, gb):
        assert torch.equal(x.view(torch.int32), y.view(torch.int32))
    assert torch.equal(channel.quantize(w), group.quantize(w))
    assert torch.equal(qk.asymmetric_per_channel(w.detach().to(bf16), scale.to(bf16), offset.to(bf16), 4).view(torch.int16),
                       group(w.detach().to(bf16)).view(torch.int16))
    assert "channels=6, bit=4" in repr(channel)
    with pytest.raises(ValueError, match="the weight has 5 rows"):
        channel(torch.randn(5, 40))
