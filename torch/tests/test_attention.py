"""Attention quantized whole: QATMultiheadAttention computes what
nn.MultiheadAttention computes (bit for bit with the quantizers off, in
every configuration), prepare quantizes the q, k, v and out-projection
weights and their inputs, and prepared and converted transformers agree bit
for bit in train and eval, with PyTorch's fast path on and off, through
compile and export."""
import io
import itertools

import pytest
import torch

import qat_kernels_torch as qk

nn = torch.nn

pytestmark = pytest.mark.filterwarnings("ignore:(prepare|convert). left in float")


def bits_equal(a, b):
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and torch.equal(a.view(torch.int32), b.view(torch.int32))


def attention_cases():
    """(constructor kwargs, call kwargs builder) over the options of
    nn.MultiheadAttention and its call."""
    for batch_first, kdim, bias_kv, zero_attn, bias in itertools.product(
            (False, True), (None, 6), (False, True), (False, True), (True, False)):
        yield dict(embed_dim=8, num_heads=2, batch_first=batch_first, kdim=kdim, vdim=kdim,
                   add_bias_kv=bias_kv, add_zero_attn=zero_attn, bias=bias)


def call_cases(ctor, seed):
    g = torch.Generator().manual_seed(seed)
    L, S, N, E = 3, 4, 2, 8
    kd = ctor["kdim"] or E

    def seq(length, dim, batched=True):
        shape = ((N, length, dim) if ctor["batch_first"] else (length, N, dim)) if batched else (length, dim)
        return torch.randn(*shape, generator=g)

    x = seq(L, E)
    extra = 1 if ctor["add_bias_kv"] else 0
    extra += 1 if ctor["add_zero_attn"] else 0
    causal = torch.triu(torch.full((L, L), float("-inf")), 1)
    cases = []
    if ctor["kdim"] is None:
        cases.append(("self", (x, x, x), {}))
        cases.append(("self, causal, no weights", (x, x, x),
                      dict(attn_mask=causal, is_causal=True, need_weights=False)))
        cases.append(("self, per-head weights", (x, x, x), dict(average_attn_weights=False)))
        if extra == 0:
            cases.append(("unbatched", (seq(L, E, False),) * 3, {}))
    k = seq(S, kd)
    cases.append(("key is value", (x, k, k), {}))
    cases.append(("cross", (x, k, seq(S, kd)), dict(need_weights=False)))
    pad = torch.zeros(N, S, dtype=torch.bool)
    pad[0, -1] = True
    bool_mask = torch.zeros(L, S, dtype=torch.bool)
    bool_mask[0, 0] = True
    cases.append(("padding mask", (x, k, k), dict(key_padding_mask=pad)))
    cases.append(("bool masks, no weights", (x, k, k), dict(key_padding_mask=pad, attn_mask=bool_mask,
                                                             need_weights=False)))
    cases.append(("3-D float mask", (x, k, k), dict(attn_mask=torch.randn(N * 2, L, S, generator=g))))
    cases.append(("keywords", (), dict(query=x, key=k, value=k)))
    return cases


@pytest.mark.parametrize("ctor", list(attention_cases()), ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()
                                                                                if k not in ("embed_dim", "num_heads")))
def test_with_the_quantizers_off_it_is_nn_multihead_attention_bit_for_bit(ctor):
    torch.manual_seed(1)
    stock = nn.MultiheadAttention(**ctor)
    prepared = qk.prepare(stock, qk.QATConfig(weight="symmetric_per_channel", activation="per_token_asymmetric"))
    assert isinstance(prepared, qk.QATMultiheadAttention)
    qk.disable_fake_quant(prepared)
    # The fused fast path computes otherwise (other roundings): compared without it.
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        for mode, label_args in itertools.product(("train", "eval"), call_cases(ctor, 7)):
            label, args, kwargs = label_args
            stock.train(mode == "train")
            prepared.train(mode == "train")
            want = stock(*args, **kwargs)
            got = prepared(*args, **kwargs)
            assert bits_equal(got[0], want[0]) and bits_equal(got[1], want[1]), (mode, label)
            got[0].sum().backward()
    finally:
        torch.backends.mha.set_fastpath_enabled(before)


class Tiny(nn.Module):
    """A char-level transformer: embedding, two encoder layers, a head."""

    def __init__(self, batch_first=True):
        super().__init__()
        self.embed = nn.Embedding(20, 16)
        layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=batch_first)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=True)
        self.head = nn.Linear(16, 20)
        self.batch_first = batch_first

    def forward(self, tokens, padding=None):
        x = self.embed(tokens)
        if not self.batch_first:
            x = x.transpose(0, 1)
        x = self.encoder(x, src_key_padding_mask=padding)
        if not self.batch_first:
            x = x.transpose(0, 1)
        return self.head(x)


def tokens(batch=3, length=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.randint(0, 20, (batch, length), generator=g)
    padding = torch.zeros(batch, length, dtype=torch.bool)
    padding[0, -2:] = True
    return t, padding


CONFIGS = {
    "8da4w": qk.QATConfig.int8_dynamic_activation_int4_weight(group_size=16),
    "weights only, per tensor": qk.QATConfig(weight="symmetric_per_tensor", weight_bit=4),
    "asymmetric per group": qk.QATConfig(weight="asymmetric_per_group", group_size=8, activation="per_token_symmetric"),
}


def trained(name, batch_first=True):
    torch.manual_seed(0)
    model = qk.prepare(Tiny(batch_first), CONFIGS[name])
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        model(*tokens()).logsumexp(-1).mean().backward()
        opt.step()
    return model


def test_prepare_quantizes_every_part_of_attention_and_runs_every_activation_quantizer():
    model = trained("8da4w")
    for layer in model.encoder.layers:
        attention = layer.self_attn
        assert isinstance(attention, qk.QATMultiheadAttention)
        for owner, name in ((attention, "in_proj_weight"), (attention.out_proj, "weight"),
                            (layer.linear1, "weight"), (layer.linear2, "weight")):
            original = owner.parametrizations[name].original
            assert not torch.equal(getattr(owner, name), original), name
    # Every activation quantizer runs once per call: attention inputs, out_proj, linear1, linear2, head.
    calls = []
    quantizers = [m for m in model.modules() if isinstance(m, qk.PerToken)]
    assert len(quantizers) == 2 * 4 + 1
    for q in quantizers:
        q.register_forward_hook(lambda m, i, o: calls.append(m))
    model(*tokens())
    assert len(calls) == len(quantizers) and set(map(id, calls)) == set(map(id, quantizers))


def test_in_proj_per_tensor_gives_q_k_and_v_a_scale_each():
    model = qk.prepare(Tiny(), CONFIGS["weights only, per tensor"])
    quantizer = model.encoder.layers[0].self_attn.parametrizations.in_proj_weight[0]
    assert quantizer.scale.shape == (3,)
    w = model.encoder.layers[0].self_attn.parametrizations.in_proj_weight.original
    for i, part in enumerate(w.detach().chunk(3)):
        alone = qk.SymmetricPerTensor(bit=4).calibrate(part)
        assert torch.equal(alone.scale, quantizer.scale[i:i + 1])


@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_prepared_and_converted_agree_in_train_and_eval_with_the_fast_path_on_and_off(name, batch_first, fast_path):
    model = trained(name, batch_first)
    converted = qk.convert(model)
    assert isinstance(converted.encoder.layers[0].self_attn, qk.QuantizedMultiheadAttention)
    assert isinstance(converted.encoder.layers[0].self_attn.out_proj, qk.QuantizedLinear)
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(fast_path)
    try:
        for mode in (True, False):
            model.train(mode)
            converted.train(mode)
            for padded in (False, True):
                t, padding = tokens(seed=3)
                args = (t, padding) if padded else (t,)
                assert bits_equal(model(*args), converted(*args)), (mode, padded)
                with torch.no_grad():
                    assert bits_equal(model(*args), converted(*args)), (mode, padded, "no_grad")
    finally:
        torch.backends.mha.set_fastpath_enabled(before)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_attention_compiles_fullgraph_and_exports_with_the_eager_bits(name):
    torch._dynamo.reset()
    model = trained(name)
    model.zero_grad()
    t, padding = tokens(seed=5)
    eager = model(t, padding)
    eager.sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    out = compiled(t, padding)
    out.sum().backward()
    assert bits_equal(out, eager)
    for a, p in zip(grads, model.parameters()):
        assert bits_equal(a, p.grad)
    for m in (model.eval(), qk.convert(model).eval()):
        exported = torch.export.export(m, (t, padding))
        buffer = io.BytesIO()
        torch.export.save(exported, buffer)
        buffer.seek(0)
        loaded = torch.export.load(buffer)
        with torch.no_grad():
            assert bits_equal(loaded.module()(t, padding), m(t, padding))


def test_an_attention_config_without_attention_leaves_it_whole_in_float():
    with pytest.warns(UserWarning, match=r"encoder.layers.0.self_attn \(MultiheadAttention\)"):
        model = qk.prepare(Tiny(), qk.QATConfig(group_size=16, layers=(nn.Linear,)))
    attention = model.encoder.layers[0].self_attn
    assert type(attention) is nn.MultiheadAttention and type(attention.out_proj) is not qk.QuantizedLinear
    assert not hasattr(attention.out_proj, "parametrizations")


def test_a_prepared_attention_takes_its_inputs_by_keyword_and_a_dict_names_the_attention():
    config = qk.QATConfig.int8_dynamic_activation_int4_weight(group_size=8)
    attention = qk.prepare(nn.MultiheadAttention(16, 2, batch_first=True), config)
    x, kv = torch.randn(2, 3, 16), torch.randn(2, 5, 16)
    for q, k, v in ((x, x, x), (x, kv, kv)):
        positional = attention(q, k, v, need_weights=False)[0]
        assert bits_equal(attention(query=q, key=k, value=v, need_weights=False)[0], positional)
        assert bits_equal(attention(q, key=k, value=v, need_weights=False)[0], positional)
        qk.disable_fake_quant(attention)
        assert not bits_equal(attention(q, k, v, need_weights=False)[0], positional)
        qk.enable_fake_quant(attention)
    with pytest.raises(ValueError, match="'encoder.layers.0.self_attn.out_proj' is an attention's out-projection"):
        qk.prepare(Tiny(), {"encoder.layers.0.self_attn.out_proj": config})
    model = qk.prepare(Tiny(), {"encoder.layers.0.self_attn": config})
    assert isinstance(model.encoder.layers[0].self_attn, qk.QATMultiheadAttention)
    assert type(model.encoder.layers[1].self_attn) is nn.MultiheadAttention
