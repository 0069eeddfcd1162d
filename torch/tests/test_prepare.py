"""prepare and convert under adversarial use: keyword calls, attributes,
empty layers, every argument checked at construction, what convert says
and refuses, corrupt checkpoints, whole-model save and load."""
import inspect
import io
import logging

import pytest
import torch

import qat_kernels_torch as qk

nn = torch.nn

pytestmark = pytest.mark.filterwarnings("ignore:(prepare|convert). left in float")

WEIGHTS = {
    "symmetric per group": dict(weight="symmetric_per_group", group_size=4),
    "asymmetric per group": dict(weight="asymmetric_per_group", group_size=4),
    "symmetric per channel": dict(weight="symmetric_per_channel"),
    "symmetric per tensor": dict(weight="symmetric_per_tensor"),
    "asymmetric per channel": dict(weight="asymmetric_per_channel"),
}


def bits_equal(a, b):
    return a.shape == b.shape and torch.equal(a.view(torch.int32), b.view(torch.int32))


class ByKeyword(nn.Module):
    """Calls every layer with its input by name."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(8 + 4 * 16, 6)

    def forward(self, tokens, image):
        e = self.embed(input=tokens).mean(1)
        c = self.conv(input=image).flatten(1)
        return self.fc(input=torch.cat([e, c], 1))


def by_keyword_inputs(batch=3):
    g = torch.Generator().manual_seed(batch)
    return torch.randint(0, 10, (batch, 5), generator=g), torch.randn(batch, 1, 4, 4, generator=g)


@pytest.mark.parametrize("activation", [None, "per_token_asymmetric"])
def test_prepared_and_converted_layers_take_their_inputs_by_keyword(activation):
    config = qk.QATConfig(weight="symmetric_per_channel", activation=activation)
    prepared = qk.prepare(ByKeyword(), config)
    converted = qk.convert(prepared)
    x = by_keyword_inputs()
    with torch.no_grad():
        assert bits_equal(prepared(*x), converted(*x))
    # Positional and keyword calls of each layer agree, prepared and converted.
    for model in (prepared, converted):
        v = torch.randn(3, 72)
        with torch.no_grad():
            assert bits_equal(model.fc(v), model.fc(input=v))
        if activation is not None:
            # The keyword input went through the activation quantizer.
            assert not bits_equal(model.fc(input=v), torch.nn.functional.linear(v, model.fc.weight, model.fc.bias))
    for layer in ("embed", "conv", "fc"):
        original = type(getattr(ByKeyword(), layer)).forward
        assert inspect.signature(type(getattr(converted, layer)).forward) == inspect.signature(original)


def test_converted_layers_keep_their_attributes_and_classes():
    model = nn.Sequential(nn.Linear(8, 16), nn.Conv2d(2, 4, (3, 5), stride=2, padding_mode="reflect", padding=2),
                          nn.Embedding(12, 8, padding_idx=3, max_norm=1.5))
    converted = qk.convert(qk.prepare(model, qk.QATConfig(weight="symmetric_per_channel")))
    linear, conv, embed = converted
    assert isinstance(linear, nn.Linear) and (linear.in_features, linear.out_features) == (8, 16)
    assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 5) and conv.stride == (2, 2)
    assert (conv.in_channels, conv.out_channels, conv.padding_mode) == (2, 4, "reflect")
    assert isinstance(embed, nn.Embedding) and (embed.num_embeddings, embed.embedding_dim) == (12, 8)
    assert (embed.padding_idx, embed.max_norm) == (3, 1.5)
    assert "in_features=8, out_features=16" in repr(linear)


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_every_conv2d_padding_mode_and_embedding_max_norm_convert_to_the_prepared_bits(padding_mode):
    torch.manual_seed(0)
    model = nn.ModuleDict({"conv": nn.Conv2d(2, 4, 3, padding=1, padding_mode=padding_mode),
                           "embed": nn.Embedding(12, 8, max_norm=0.5)})
    prepared = qk.prepare(model, qk.QATConfig(weight="symmetric_per_channel", weight_bit=4))
    converted = qk.convert(prepared)
    image, tokens = torch.randn(3, 2, 6, 6), torch.randint(0, 12, (4, 5))
    with torch.no_grad():
        assert bits_equal(prepared.conv(image), converted.conv(image))
        assert bits_equal(prepared.embed(tokens), converted.embed(tokens))
    # Renormalising the looked-up rows leaves the stored codes as they were.
    codes = converted.embed.weight_packed.codes.clone()
    converted.embed(tokens)
    assert torch.equal(codes, converted.embed.weight_packed.codes)


@pytest.mark.parametrize("make,pattern", [
    (lambda: qk.QATConfig(group_size=0), "group_size must be an integer at least 1, not 0"),
    (lambda: qk.QATConfig(group_size=-4), "group_size must be an integer at least 1, not -4"),
    (lambda: qk.QATConfig(group_size=2.5), "group_size must be an integer at least 1, not 2.5"),
    (lambda: qk.QATConfig(weight_bit=9), r"weight_bit must be an integer 1..8 \(convert stores codes of at most 8"),
    (lambda: qk.QATConfig(weight_bit=0), "weight_bit must be an integer 1..8"),
    (lambda: qk.QATConfig(weight="symmetric_per_tensor", weight_bit=True), "weight_bit must be an integer"),
    (lambda: qk.QATConfig(activation="per_token_symmetric", activation_bit=9), "activation_bit must be an integer 2..8"),
    (lambda: qk.QATConfig(grad_factor=-1.0), "grad_factor must be None, 'lsq' or a positive number"),
    (lambda: qk.QATConfig(layers=(nn.Conv1d,)), "layers must be among"),
    (lambda: qk.QATConfig(calibration="minmax"), "calibration must be 'search' or 'lsq'"),
    (lambda: qk.PerToken(eps=1e-50), r"eps must be a positive number, finite and nonzero in float32"),
    (lambda: qk.SymmetricPerChannel(4, eps=1e39), r"eps must be a positive number, finite and nonzero in float32"),
    (lambda: qk.AsymmetricPerGroup(4, clip_val=1 - 1e-9), "clip_val must lie strictly between 0 and 1 in float32"),
    (lambda: qk.AsymmetricPerGroup(4, clip_val=1e-46), "clip_val must lie strictly between 0 and 1 in float32"),
    (lambda: qk.AsymmetricPerGroup(4, bit=1, clip_val=1 - 2 ** -24), "clip_val"),
])
def test_every_argument_is_checked_at_construction(make, pattern):
    with pytest.raises((ValueError, RuntimeError), match=pattern):
        make()


def test_values_that_pass_in_float32_are_taken():
    # The largest clip_val below 1 in float32, the smallest positive eps.
    qk.AsymmetricPerGroup(4, clip_val=1 - 2 ** -24)
    qk.PerToken(eps=2.0 ** -149)
    qk.QATConfig(weight_bit=8, activation="per_token_symmetric", activation_bit=2)


class Empty(nn.Module):
    def __init__(self):
        super().__init__()
        self.none_in = nn.Linear(0, 4)
        self.none_out = nn.Linear(4, 0)
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x + self.none_in(x[:, :0])) + self.none_out(x).sum()


@pytest.mark.parametrize("name", list(WEIGHTS))
@pytest.mark.parametrize("grad_factor", ["lsq", None])
def test_layers_with_empty_weights_prepare_train_and_convert(name, grad_factor):
    config = qk.QATConfig(**WEIGHTS[name], grad_factor=grad_factor, activation="per_token_asymmetric")
    prepared = qk.prepare(Empty(), config)
    x = torch.randn(3, 4)
    prepared(x).sum().backward()
    grads = [p.grad for p in prepared.parameters() if p.requires_grad]
    assert all(g is not None and bool(torch.isfinite(g).all()) for g in grads)
    converted = qk.convert(prepared)
    with torch.no_grad():
        assert bits_equal(converted(x), prepared(x))
    again = qk.convert(qk.prepare(Empty(), config))
    again.load_state_dict(converted.state_dict())


def test_convert_refuses_a_model_with_nothing_prepared():
    with pytest.raises(ValueError, match="convert: no layer of this model is prepared"):
        qk.convert(nn.Sequential(nn.Linear(4, 4)))
    with pytest.raises(ValueError, match="convert: no layer of this model is prepared"):
        qk.convert(nn.Linear(4, 4))


def test_convert_takes_a_model_that_is_itself_one_prepared_layer():
    layer = qk.prepare(nn.Linear(8, 4), qk.QATConfig(group_size=8, activation="per_token_symmetric"))
    converted = qk.convert(layer)
    assert isinstance(converted, qk.QuantizedLinear)
    x = torch.randn(5, 8)
    with torch.no_grad():
        assert bits_equal(converted(x), layer(x))


def test_prepare_and_convert_name_what_they_leave_in_float_and_convert_reports(caplog):
    model = ByKeyword()
    with pytest.warns(UserWarning, match=r"prepare: left in float: embed \(Embedding\), conv \(Conv2d\)"):
        prepared = qk.prepare(model, qk.QATConfig.int8_dynamic_activation_int4_weight(group_size=8))
    with caplog.at_level(logging.INFO, logger="qat_kernels_torch"), \
            pytest.warns(UserWarning, match=r"convert: left in float: embed \(Embedding\), conv \(Conv2d\)"):
        qk.convert(prepared)
    assert "convert: 1 layers to packed codes: fc (Linear)" in caplog.text


class OwnForward(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2


def test_a_subclass_with_its_own_forward_is_left_in_float_or_refused_by_name():
    model = nn.Sequential(OwnForward(4, 4), nn.Linear(4, 4))
    with pytest.warns(UserWarning, match=r"0 \(OwnForward\), a subclass with a forward of its own"):
        prepared = qk.prepare(model, qk.QATConfig(group_size=4))
    assert type(qk.convert(prepared)[0]) is OwnForward
    with pytest.raises(ValueError, match="'0' is not a Linear"):
        qk.prepare(model, {"0": qk.QATConfig(group_size=4)})


def corrupt(state, key, value):
    state = dict(state)
    state[key] = value
    return state


@pytest.mark.parametrize("name", list(WEIGHTS))
def test_a_corrupt_state_dict_is_refused_at_load_naming_the_tensor(name):
    config = qk.QATConfig(**WEIGHTS[name], weight_bit=3)
    converted = qk.convert(qk.prepare(nn.Sequential(nn.Linear(8, 8)), config))
    state = converted.state_dict()
    x = torch.randn(2, 8)
    with torch.no_grad():
        want = converted(x)
    cases = [("0.weight_packed.scale", torch.full_like(state["0.weight_packed.scale"], float("nan")), "NaN"),
             ("0.weight_packed.scale", torch.full_like(state["0.weight_packed.scale"], float("inf")), "infinite")]
    if "0.weight_packed.offset" in state:
        cases.append(("0.weight_packed.offset", torch.full_like(state["0.weight_packed.offset"], float("-inf")),
                      "infinite"))
    # 3-bit codes stored 4 bits a code: 0x7 (symmetric) or 0xF (per group asymmetric) is off the grid.
    off_grid = 0x77 if name.startswith("symmetric") else 0xFF
    cases.append(("0.weight_packed.codes", torch.full_like(state["0.weight_packed.codes"], off_grid), "code"))
    for key, value, what in cases:
        with pytest.raises(RuntimeError, match=f"{key}: .*{what}"):
            converted.load_state_dict(corrupt(state, key, value))
        with torch.no_grad():
            assert bits_equal(converted(x), want)


def test_whole_converted_models_save_and_load_and_prepared_ones_through_their_state_dict():
    config = qk.QATConfig.int8_dynamic_activation_int4_weight(group_size=8)
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4))
    prepared = qk.prepare(model, config)
    x = torch.randn(3, 16)
    converted = qk.convert(prepared)
    buffer = io.BytesIO()
    torch.save(converted, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    with torch.no_grad():
        assert bits_equal(loaded(x), converted(x))
    # A prepared model (parametrized) saves through its state_dict, as docs/pytorch.md shows.
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        torch.save(prepared, io.BytesIO())
    buffer = io.BytesIO()
    torch.save(prepared.state_dict(), buffer)
    buffer.seek(0)
    rebuilt = qk.prepare(nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4)), config)
    rebuilt.load_state_dict(torch.load(buffer))
    with torch.no_grad():
        assert bits_equal(rebuilt(x), prepared(x))
