"""Models: every module under torch.compile(fullgraph=True) and
torch.export (strict and not, a dynamic batch, save and load) with the
eager bits; prepare and convert; the modules' errors, repr and switch.
`pytest -s` prints the compile and export matrix."""
import io

import pytest
import torch

import qat_kernels_torch as qk

torch.manual_seed(0)


class Net(torch.nn.Module):
    """A small model whose quantizers are attached by prepare."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(16, 32)
        self.conv = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.fc1 = torch.nn.Linear(32 + 16 * 16, 64)
        self.fc2 = torch.nn.Linear(64, 8)

    def forward(self, tokens, image):
        e = self.embed(tokens).mean(1)
        c = torch.relu(self.conv(image)).flatten(1)
        return self.fc2(torch.relu(self.fc1(torch.cat([e, c], 1))))


def inputs(batch=5):
    g = torch.Generator().manual_seed(batch)
    return torch.randint(0, 16, (batch, 3), generator=g), torch.randn(batch, 1, 4, 4, generator=g)


CONFIGS = {
    "8da4w": qk.QATConfig.int8_dynamic_activation_int4_weight(group_size=16),
    "asymmetric per group": qk.QATConfig(weight="asymmetric_per_group", group_size=16, weight_bit=4),
    "symmetric per channel": qk.QATConfig(weight="symmetric_per_channel", weight_bit=4,
                                          activation="per_token_symmetric"),
    "symmetric per tensor": qk.QATConfig(weight="symmetric_per_tensor", weight_bit=8),
    "asymmetric per channel": qk.QATConfig(weight="asymmetric_per_channel", weight_bit=4,
                                           activation="per_token_asymmetric"),
}


def bits_equal(a, b):
    return torch.equal(a.view(torch.int32), b.view(torch.int32))


def grads(model):
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_compile_fullgraph_forward_and_backward_give_the_eager_bits(name):
    torch._dynamo.reset()
    model = qk.prepare(Net(), CONFIGS[name])
    compiled_model = qk.prepare(Net(), CONFIGS[name])
    compiled_model.load_state_dict(model.state_dict())
    tokens, image = inputs()
    eager = model(tokens, image)
    eager.sum().backward()
    compiled = torch.compile(compiled_model, fullgraph=True, backend="aot_eager")
    out = compiled(tokens, image)
    out.sum().backward()
    assert bits_equal(out, eager)
    for a, b in zip(grads(model), grads(compiled_model)):
        assert bits_equal(a, b)
    print(f"\n| compile fullgraph, {name} | forward and backward bits equal |")


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_export_with_a_dynamic_batch_saves_loads_and_gives_the_eager_bits(name, strict):
    model = qk.prepare(Net(), CONFIGS[name]).eval()
    tokens, image = inputs(5)
    batch = torch.export.Dim("batch", min=2, max=64)
    exported = torch.export.export(model, (tokens, image), dynamic_shapes=({0: batch}, {0: batch}), strict=strict)
    buffer = io.BytesIO()
    torch.export.save(exported, buffer)
    buffer.seek(0)
    loaded = torch.export.load(buffer)
    for b in (2, 5, 17):
        tokens, image = inputs(b)
        assert bits_equal(loaded.module()(tokens, image), model(tokens, image))
    print(f"\n| export strict={strict}, {name} | dynamic batch, saved, loaded, bits equal |")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_convert_gives_the_prepared_bits_from_packed_codes(name):
    model = qk.prepare(Net(), CONFIGS[name])
    # A few steps of training move the parameters off their calibration.
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        model(*inputs()).pow(2).mean().backward()
        opt.step()
    converted = qk.convert(model)
    kinds = {type(m).__name__ for m in converted.modules()}
    assert {"QuantizedLinear", "QuantizedConv2d", "QuantizedEmbedding"} & kinds
    for b in (1, 5, 9):
        with torch.no_grad():
            assert bits_equal(converted(*inputs(b)), model(*inputs(b)))
    state = converted.state_dict()
    assert any(k.endswith("codes") and v.dtype == torch.uint8 for k, v in state.items())
    packed = sum(v.numel() * v.element_size() for v in state.values())
    floats = sum(p.numel() * 4 for p in Net().parameters())
    assert packed < floats / 2
    # The state_dict alone rebuilds it.
    again = qk.convert(qk.prepare(Net(), CONFIGS[name]))
    again.load_state_dict(state)
    with torch.no_grad():
        assert bits_equal(again(*inputs(3)), converted(*inputs(3)))


def test_the_codes_survive_pack_and_unpack_and_the_operators_trace():
    w = (torch.randn(8, 64) * 0.05).to(torch.bfloat16)
    q = qk.SymmetricPerGroup(num_groups=16, group_size=32, bit=4).calibrate(w)
    codes = q.quantize(w)
    assert codes.dtype == torch.int8 and int(codes.min()) >= -8 and int(codes.max()) <= 7
    packed = qk.pack_codes(codes.view(-1), 4)
    assert packed.numel() == w.numel() // 2
    assert torch.equal(qk.unpack_codes(packed, w.numel(), 4, True).view(8, 64), codes)
    assert bits_equal(q.dequantize(codes).float(), q(w).float())

    def f(w, scale):
        codes = torch.ops.qat_kernels.symmetric_per_channel_quantize(w, scale, 1e-4, -8.0, 7.0)
        packed = torch.ops.qat_kernels.pack_codes(codes.view(-1), 4)
        back = torch.ops.qat_kernels.unpack_codes(packed, codes.numel(), 4, True).view(codes.shape)
        return torch.ops.qat_kernels.symmetric_per_channel_dequantize(back, scale, 1e-4, -8.0, 7.0)

    scale = torch.full((8,), 0.01, dtype=torch.bfloat16)
    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    assert torch.equal(compiled(w, scale).view(torch.int16), f(w, scale).view(torch.int16))


def test_groups_run_over_the_flattened_weight():
    # Groups of 48 in rows of 32: a group spans two rows.
    w = (torch.randn(6, 32) * 0.05)
    q = qk.SymmetricPerGroup(num_groups=4, group_size=48, bit=4, weight=w)
    flat = qk.SymmetricPerChannel(channels=4, bit=4)
    with torch.no_grad():
        flat.scale.copy_(q.scale)
    assert bits_equal(q(w), flat(w.reshape(4, 48)).reshape(6, 32))


def test_modules_switch_off_and_describe_themselves():
    w = torch.randn(4, 32)
    q = qk.SymmetricPerChannel(channels=4, bit=4, weight=w)
    assert "channels=4, bit=4" in repr(q)
    assert not torch.equal(q(w), w)
    q.enable_fake_quant(False)
    assert q(w) is w and "fake_quant=off" in repr(q)
    model = qk.prepare(Net(), CONFIGS["8da4w"])
    assert "PerToken(bit=8, asymmetric" in repr(model) and "SymmetricPerGroup" in repr(model)
    qk.disable_fake_quant(model)
    plain = Net()
    plain.load_state_dict({k.replace("parametrizations.weight.original", "weight"): v
                           for k, v in model.state_dict().items() if "quantizer" not in k and ".0." not in k})
    assert bits_equal(model(*inputs()), plain(*inputs()))
    qk.enable_fake_quant(model)
    assert not bits_equal(model(*inputs()), plain(*inputs()))


@pytest.mark.parametrize("make,pattern", [
    (lambda: qk.SymmetricPerChannel(channels=4, bit=0), "bit must be an integer 1..24"),
    (lambda: qk.AsymmetricPerGroup(num_groups=4, group_size=0), "group_size must be an integer at least 1"),
    (lambda: qk.AsymmetricPerGroup(num_groups=4, clip_val=1.0), "clip_val must lie strictly between 0 and 1"),
    (lambda: qk.SymmetricPerTensor(grad_factor="LSQ"), "grad_factor must be None, 'lsq' or a positive number"),
    (lambda: qk.SymmetricPerTensor(min_v=3, max_v=-3), "min_v and max_v"),
    (lambda: qk.PerToken(bit=1), "bit must be an integer 2..8"),
    (lambda: qk.SymmetricPerTensor().calibrate(torch.randn(4), mode="minmax"), "mode must be 'search' or 'lsq'"),
    (lambda: qk.SymmetricPerChannel(channels=4)(torch.randn(10, 3)), "the weight has 10 rows"),
    (lambda: qk.SymmetricPerChannel(channels=4)(torch.tensor(1.0)), "at least one dimension"),
    (lambda: qk.SymmetricPerTensor()(torch.ones(4, dtype=torch.int32)), "must be a floating-point tensor"),
    (lambda: qk.AsymmetricPerGroup(num_groups=2, group_size=8)(torch.randn(4, 8)), "32 elements; 2 groups of 8"),
    (lambda: qk.QATConfig(weight="int4"), "weight must be one of"),
    (lambda: qk.prepare(Net(), qk.QATConfig(group_size=7)), "group_size 7 does not divide"),
])
def test_errors_name_the_argument(make, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        make()
