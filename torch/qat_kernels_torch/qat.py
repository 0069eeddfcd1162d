"""Whole models: ``prepare`` attaches fake quantizers to the weights (and
activations) of a model's layers, with no hand-written ``forward``;
``convert`` replaces them with packed integer codes whose outputs are the
prepared model's, bit for bit."""
import copy
import logging
import math
import numbers
import warnings

import torch
from torch.nn.utils import parametrize

from .attention import QATMultiheadAttention
from .functional import pack_codes, unpack_codes
from .modules import (AsymmetricPerChannel, AsymmetricPerGroup, PerToken, SymmetricPerChannel, SymmetricPerGroup, SymmetricPerTensor,
                      _check_int)

nn = torch.nn
_log = logging.getLogger("qat_kernels_torch")

_WEIGHTS = ("symmetric_per_group", "asymmetric_per_group", "symmetric_per_channel", "asymmetric_per_channel",
            "symmetric_per_tensor")
_ACTIVATIONS = (None, "per_token_asymmetric", "per_token_symmetric")
_LAYERS = (nn.Linear, nn.Conv2d, nn.Embedding, nn.MultiheadAttention)
_QUANTIZERS = (AsymmetricPerGroup, SymmetricPerChannel, SymmetricPerGroup, SymmetricPerTensor)
# Codes are stored in bytes: the widest grid convert packs.
_EXPORT_BITS = 8


class QATConfig:
    """What ``prepare`` attaches to each layer of the types in ``layers``
    (``nn.Linear``, ``nn.Conv2d``, ``nn.Embedding``,
    ``nn.MultiheadAttention``):

    - ``weight``: the weight quantizer, one of ``"symmetric_per_group"``,
      ``"asymmetric_per_group"`` (``group_size`` consecutive weights of the
      flattened weight per scale), ``"symmetric_per_channel"`` (a scale per
      output channel), ``"asymmetric_per_channel"`` (a scale and offset per
      output channel), ``"symmetric_per_tensor"``, at ``weight_bit`` bits
      (1 to 8: ``convert`` stores codes of at most 8 bits); its parameters
      set by the library's calibration (``calibration``: ``"search"`` or
      ``"lsq"``), learnable, with LSQ's gradient factor unless
      ``grad_factor`` says otherwise;
    - ``activation``: ``None``, ``"per_token_asymmetric"`` or
      ``"per_token_symmetric"`` at ``activation_bit`` bits (2 to 8), on the
      input of each ``nn.Linear`` and of each attention's in- and
      out-projections.

    Attention is quantized whole: the q, k and v projections
    (``in_proj_weight``, each third with its own scales: per tensor, one
    scale each), the out-projection, and their inputs.

    ``QATConfig.int8_dynamic_activation_int4_weight()`` is the "8da4w"
    recipe: int8 asymmetric per-token activations and int4 symmetric
    per-group weights with groups of 32, on linear layers and attention.

    Every argument is checked here, with an error naming it.
    """

    def __init__(self, weight="symmetric_per_group", weight_bit=4, group_size=32, activation=None,
                 activation_bit=8, layers=_LAYERS, calibration="search", grad_factor="lsq"):
        if weight not in _WEIGHTS:
            raise ValueError(f"QATConfig: weight must be one of {', '.join(_WEIGHTS)}; not {weight!r}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"QATConfig: activation must be None, 'per_token_asymmetric' or "
                             f"'per_token_symmetric'; not {activation!r}")
        if calibration not in ("search", "lsq"):
            raise ValueError(f"QATConfig: calibration must be 'search' or 'lsq', not {calibration!r}")
        if isinstance(weight_bit, bool) or not isinstance(weight_bit, numbers.Integral) \
                or not 1 <= weight_bit <= _EXPORT_BITS:
            raise ValueError(f"QATConfig: weight_bit must be an integer 1..{_EXPORT_BITS} (convert stores codes of "
                             f"at most {_EXPORT_BITS} bits), not {weight_bit!r}")
        group_size = _check_int("QATConfig", "group_size", group_size, 1)
        activation_bit = _check_int("QATConfig", "activation_bit", activation_bit, 2, 8)
        layers = tuple(layers) if isinstance(layers, (tuple, list)) else (layers,)
        if not layers or any(t not in _LAYERS for t in layers):
            raise ValueError(f"QATConfig: layers must be among nn.Linear, nn.Conv2d, nn.Embedding, "
                             f"nn.MultiheadAttention; not {layers!r}")
        self.weight, self.weight_bit, self.group_size = weight, int(weight_bit), group_size
        self.activation, self.activation_bit = activation, activation_bit
        self.layers, self.calibration, self.grad_factor = layers, calibration, grad_factor
        # The quantizers' own checks (grad_factor, the library's), now rather than at the first layer.
        self.activation_quantizer()
        self.weight_quantizer(torch.zeros(0, 1), calibrate=False)

    @classmethod
    def int8_dynamic_activation_int4_weight(cls, group_size=32):
        """8da4w: int8 asymmetric per-token activations at the input of each
        ``nn.Linear`` and attention projection, int4 symmetric per-group
        weights."""
        return cls(weight="symmetric_per_group", weight_bit=4, group_size=group_size,
                   activation="per_token_asymmetric", activation_bit=8,
                   layers=(nn.Linear, nn.MultiheadAttention))

    @classmethod
    def int4_weight_only(cls, group_size=32):
        """int4 symmetric per-group weights, activations unquantized."""
        return cls(weight="symmetric_per_group", weight_bit=4, group_size=group_size)

    def weight_quantizer(self, weight, calibrate=True, parts=1):
        """The quantizer of ``weight``, calibrated from it. ``parts``: the
        weight is that many equal blocks of rows (attention's q, k and v),
        each quantized as a weight of its own."""
        numel = weight.numel()
        part = numel // parts
        if self.weight in ("symmetric_per_group", "asymmetric_per_group") and part % self.group_size:
            where = f" (each of its {parts} parts: {part})" if parts > 1 else ""
            raise ValueError(f"QATConfig: group_size {self.group_size} does not divide a weight of "
                             f"{numel} elements{where} (shape {tuple(weight.shape)})")
        factor = self.grad_factor
        if self.weight == "symmetric_per_group":
            q = SymmetricPerGroup(numel // self.group_size, self.group_size, self.weight_bit, grad_factor=factor)
        elif self.weight == "asymmetric_per_group":
            q = AsymmetricPerGroup(numel // self.group_size, self.group_size, self.weight_bit, grad_factor=factor)
        elif self.weight == "symmetric_per_channel":
            q = SymmetricPerChannel(weight.shape[0], self.weight_bit, grad_factor=factor)
        elif self.weight == "asymmetric_per_channel":
            q = AsymmetricPerChannel(weight.shape[0], self.weight_bit, grad_factor=factor)
        elif parts > 1:
            # One scale per part: per tensor for each of q, k and v.
            q = SymmetricPerGroup(parts, part, self.weight_bit, grad_factor=factor)
        else:
            q = SymmetricPerTensor(self.weight_bit, grad_factor=factor)
        return q.calibrate(weight, self.calibration) if calibrate else q

    def activation_quantizer(self):
        """A new activation quantizer, or None."""
        if self.activation is None:
            return None
        return PerToken(self.activation_bit, symmetric=self.activation == "per_token_symmetric")

    def __repr__(self):
        return (f"QATConfig(weight={self.weight!r}, weight_bit={self.weight_bit}, group_size={self.group_size}, "
                f"activation={self.activation!r}, activation_bit={self.activation_bit})")


# --- the layers prepare takes ------------------------------------------------


def _kind(module):
    """The layer type ``module`` is prepared as (one of ``_LAYERS``), or
    None: not one of them, already prepared or converted, or a subclass with
    a forward of its own, which convert could not keep."""
    if isinstance(module, (QATMultiheadAttention, _Quantized)) or parametrize.is_parametrized(module):
        return None
    for kind in _LAYERS:
        if isinstance(module, kind) and type(module).forward is kind.forward:
            return kind
    return None


def _float_layer(module):
    """Whether ``module`` is a layer of a kind prepare quantizes, left in
    float."""
    return isinstance(module, _LAYERS) and not isinstance(module, (QATMultiheadAttention, _Quantized)) \
        and not parametrize.is_parametrized(module)


def _quantize_input(module, args, kwargs):
    """Forward pre-hook of a prepared ``nn.Linear``: its input, positional
    or ``input=``, through its activation quantizer if it has one, made
    contiguous if not. Every prepared linear layer has it:

    - PyTorch's fused transformer path, which would skip the layer's
      forward, is off wherever a layer has a hook;
    - on a non-contiguous input, ``F.linear`` picks its kernel (one matrix
      product, or one per batch entry, with other roundings) by whether the
      weight requires grad, which a prepared layer's does in training and a
      converted layer's never does. On a contiguous input it picks one
      kernel in every case."""
    quantizer = module.activation_quantizer
    prepare = quantizer if quantizer is not None else torch.Tensor.contiguous
    if args:
        return (prepare(args[0]),) + tuple(args[1:]), kwargs
    if "input" in kwargs:
        return args, dict(kwargs, input=prepare(kwargs["input"]))
    return None


def _quantize_attention_inputs(module, args, kwargs):
    """Forward pre-hook of a prepared attention: query, key and value,
    positional or by name, through its activation quantizer (if any), each
    once, so that ``query is key is value`` still holds for
    self-attention."""
    quantizer = module.activation_quantizer
    if quantizer is None:
        return None
    names = ("query", "key", "value")
    given = [args[i] if i < len(args) else kwargs.get(n) for i, n in enumerate(names)]
    query, key, value = given
    q = quantizer(query) if query is not None else None
    k = q if key is query else (quantizer(key) if key is not None else None)
    v = k if value is key else (q if value is query else (quantizer(value) if value is not None else None))
    done = (q, k, v)
    args = tuple(done[i] if i < 3 else a for i, a in enumerate(args))
    kwargs = dict(kwargs, **{n: done[i] for i, n in enumerate(names) if i >= len(args) and n in kwargs})
    return args, kwargs


def _attach_linear(module, config):
    with torch.no_grad():
        quantizer = config.weight_quantizer(module.weight.detach())
    parametrize.register_parametrization(module, "weight", quantizer)
    module.activation_quantizer = config.activation_quantizer()
    module.register_forward_pre_hook(_quantize_input, with_kwargs=True)


def _attach(module, kind, config):
    """Attaches ``config``'s quantizers to ``module``, a layer of ``kind``."""
    if kind is nn.Linear:
        _attach_linear(module, config)
        return
    if kind is not nn.MultiheadAttention:
        with torch.no_grad():
            quantizer = config.weight_quantizer(module.weight.detach())
        parametrize.register_parametrization(module, "weight", quantizer)
        return
    module.__class__ = QATMultiheadAttention
    names = ("in_proj_weight",) if module._qkv_same_embed_dim else ("q_proj_weight", "k_proj_weight",
                                                                    "v_proj_weight")
    for name in names:
        weight = getattr(module, name).detach()
        with torch.no_grad():
            quantizer = config.weight_quantizer(weight, parts=3 if name == "in_proj_weight" else 1)
        parametrize.register_parametrization(module, name, quantizer)
    _attach_linear(module.out_proj, config)
    module.activation_quantizer = config.activation_quantizer()
    module.register_forward_pre_hook(_quantize_attention_inputs, with_kwargs=True)


def _quantized_names(module):
    """The names of ``module``'s tensors a quantizer of this package is
    attached to."""
    if not parametrize.is_parametrized(module):
        return []
    return [name for name, p in module.parametrizations.items() if isinstance(p[0], _QUANTIZERS)]


def _attention_parts(model):
    """The names of the attentions' out-projections: each goes with its
    attention, never alone."""
    return {f"{n}.out_proj" if n else "out_proj" for n, m in model.named_modules()
            if isinstance(m, nn.MultiheadAttention)}


def _name(name, kind):
    return f"{name or '(the model)'} ({kind.__name__})"


def prepare(model, config, inplace=False):
    """Attaches ``config``'s quantizers to every layer of its types in
    ``model`` (a copy unless ``inplace``): the weight through
    ``torch.nn.utils.parametrize`` (``layer.weight`` is then the
    fake-quantized weight, and the float weight
    ``layer.parametrizations.weight.original``); for ``nn.Linear`` the
    activation quantizer as ``layer.activation_quantizer``, applied to the
    input by a forward pre-hook; ``nn.MultiheadAttention`` becomes
    ``QATMultiheadAttention``, with its q, k and v projections, its
    out-projection and their inputs quantized. ``config`` may also be a dict
    from layer names (as ``named_modules`` gives them) to configs, for a
    quantizer per layer. Layers keep their call signatures and attributes.

    Warns (``UserWarning``) naming the layers of a kind it quantizes that it
    leaves in float: of a type the config's ``layers`` leaves out (the 8da4w
    recipe leaves ``nn.Conv2d`` and ``nn.Embedding``), or a subclass with a
    forward of its own. Returns the prepared model."""
    per_layer = isinstance(config, dict)
    configs = config.values() if per_layer else [config]
    for c in configs:
        if not isinstance(c, QATConfig):
            raise TypeError(f"prepare: config must be a QATConfig (or a dict of them), not {type(c).__name__}")
    names = dict(model.named_modules())
    for name in config if per_layer else ():
        if name in _attention_parts(model):
            raise ValueError(f"prepare: {name!r} is an attention's out-projection, quantized with its attention: "
                             f"name the attention instead")
        if name not in names or _kind(names[name]) is None:
            raise ValueError(f"prepare: {name!r} is not a Linear, Conv2d, Embedding or MultiheadAttention layer "
                             f"of the model that prepare can take (not prepared already, not a subclass with a "
                             f"forward of its own)")
    if not inplace:
        model = copy.deepcopy(model)
    modules = dict(model.named_modules())
    parts = _attention_parts(model)
    left = []
    for name, module in modules.items():
        kind = _kind(module)
        layer_config = config.get(name) if per_layer else config
        if name in parts or layer_config is None:
            continue
        if kind is None:
            if _float_layer(module):
                left.append(f"{_name(name, type(module))}, a subclass with a forward of its own")
            continue
        if kind not in layer_config.layers:
            left.append(_name(name, kind))
            continue
        _attach(module, kind, layer_config)
    for encoder in model.modules():
        # The encoder's nested-tensor path hands its layers inputs only the fused path takes.
        if isinstance(encoder, nn.TransformerEncoder) and any(
                isinstance(m, QATMultiheadAttention) for m in encoder.modules()):
            encoder.use_nested_tensor = False
    if left:
        warnings.warn(f"prepare: left in float: {', '.join(left)}", UserWarning, stacklevel=2)
    return model


# --- converted layers ----------------------------------------------------------


class PackedWeight(nn.Module):
    """A weight as packed integer codes: the buffers ``codes`` (``uint8``, at
    1, 2, 4 or 8 bits a code), ``scale`` and, per group asymmetric,
    ``offset`` (``bfloat16``). Calling it decodes the weight (in the float
    weight's dtype), bit for bit the prepared layer's fake-quantized weight.
    Loading a ``state_dict`` refuses a non-finite scale or offset and codes
    outside the grid, naming the tensor."""

    def __init__(self, quantizer, original):
        super().__init__()
        codes = quantizer.quantize(original)
        bits = quantizer.bit if quantizer.bit is not None else _EXPORT_BITS
        self.code_bits = next(b for b in (1, 2, 4, 8) if b >= bits)
        self.signed, self.shape, self.dtype = codes.dtype == torch.int8, tuple(original.shape), original.dtype
        self.register_buffer("codes", pack_codes(codes.reshape(-1), self.code_bits))
        self.register_buffer("scale", quantizer.scale.detach().to(torch.bfloat16).clone())
        if isinstance(quantizer, AsymmetricPerGroup):
            self.register_buffer("offset", quantizer.offset.detach().to(torch.bfloat16).clone())
        # The quantizer's settings decode the codes; its parameters are the
        # buffers above, so it is kept out of the state_dict.
        object.__setattr__(self, "_decoder", copy.deepcopy(quantizer).requires_grad_(False))

    def _decode(self, codes, scale, offset):
        values = unpack_codes(codes, math.prod(self.shape), self.code_bits, self.signed).reshape(self.shape)
        # The prepared layer's dtype: bfloat16, float16, or float32 for the rest.
        dtype = self.dtype if self.dtype in (torch.bfloat16, torch.float16) else torch.float32
        return self._decoder.dequantize(values, scale, offset, dtype)

    def forward(self):
        return self._decode(self.codes, self.scale, getattr(self, "offset", None)).to(self.dtype)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        names = ["codes", "scale"] + (["offset"] if hasattr(self, "offset") else [])
        given = {n: state_dict.get(prefix + n) for n in names}
        if all(isinstance(t, torch.Tensor) for t in given.values()):
            for n in names[1:]:
                if given[n].is_floating_point() and not bool(torch.isfinite(given[n]).all()):
                    error_msgs.append(f"{prefix}{n}: holds a NaN or infinite value (a corrupt checkpoint?)")
                    return
            try:
                # The library checks every code against the grid (and the packed size).
                self._decode(given["codes"].contiguous(), given["scale"].to(torch.bfloat16).contiguous(),
                             None if "offset" not in given else given["offset"].to(torch.bfloat16).contiguous())
            except RuntimeError as e:
                error_msgs.append(f"{prefix}codes: {str(e).splitlines()[0]}")
                return
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def extra_repr(self):
        return f"{self._decoder.extra_repr()}, shape={self.shape}, codes of {self.code_bits} bits"


def _decoded(name):
    """The layer attribute ``name``: decoded from ``<name>_packed`` where
    convert packed it, else the layer's own parameter (or None)."""
    def get(self):
        packed = self._modules.get(name + "_packed")
        return packed() if packed is not None else self._parameters.get(name)

    return property(get, doc=f"``{name}``, decoded from its packed codes at each access.")


class _Quantized:
    """A converted layer: the class it was, its attributes, submodules,
    hooks and call signature, with each quantized weight packed
    (``<name>_packed``, a ``PackedWeight``) and decoded when read."""


class QuantizedLinear(_Quantized, nn.Linear):
    """``nn.Linear`` with packed integer weights (from ``convert``)."""

    weight = _decoded("weight")


class QuantizedConv2d(_Quantized, nn.Conv2d):
    """``nn.Conv2d`` with packed integer weights (from ``convert``), every
    padding mode included."""

    weight = _decoded("weight")


class QuantizedEmbedding(_Quantized, nn.Embedding):
    """``nn.Embedding`` with packed integer weights (from ``convert``).
    With ``max_norm``, the rows looked up are renormalised in the decoded
    weight of the call, as the prepared layer renormalises its
    fake-quantized weight; the codes are not changed."""

    weight = _decoded("weight")


class QuantizedMultiheadAttention(_Quantized, QATMultiheadAttention):
    """Attention with packed integer q, k, v and out-projection weights
    (from ``convert``)."""

    in_proj_weight = _decoded("in_proj_weight")
    q_proj_weight = _decoded("q_proj_weight")
    k_proj_weight = _decoded("k_proj_weight")
    v_proj_weight = _decoded("v_proj_weight")


_CONVERTED = {nn.Linear: QuantizedLinear, nn.Conv2d: QuantizedConv2d, nn.Embedding: QuantizedEmbedding,
              nn.MultiheadAttention: QuantizedMultiheadAttention}
_MODULE_STATE = set(vars(nn.Module()))


def _convert_layer(layer):
    """``layer`` (prepared) as its converted class: the same attributes,
    parameters, buffers, submodules and hooks, each quantized tensor packed."""
    names = _quantized_names(layer)
    base = parametrize.type_before_parametrizations(layer)
    cls = next(c for k, c in _CONVERTED.items() if issubclass(base, k))
    packed = {name: PackedWeight(layer.parametrizations[name][0], layer.parametrizations[name].original.detach())
              for name in names}
    new = cls.__new__(cls)
    new.__dict__.update(layer.__dict__)
    # Module's own dicts (parameters, buffers, submodules, hooks) copied, not shared.
    for key in _MODULE_STATE:
        if isinstance(getattr(layer, key, None), dict):
            new.__dict__[key] = copy.copy(layer.__dict__[key])
    del new._modules["parametrizations"]
    for name, p in packed.items():
        new._modules[name + "_packed"] = p
    return new


def _convert_children(module, prefix, converted):
    for name, child in list(module.named_children()):
        if name == "parametrizations" and isinstance(child, nn.ModuleDict):
            continue
        path = f"{prefix}.{name}" if prefix else name
        _convert_children(child, path, converted)
        if _quantized_names(child):
            setattr(module, name, _convert_layer(child))
            converted.append(_name(path, parametrize.type_before_parametrizations(child)))


def convert(model, inplace=False):
    """Replaces every layer ``prepare`` quantized with its packed form
    (``QuantizedLinear``, ``QuantizedConv2d``, ``QuantizedEmbedding``,
    ``QuantizedMultiheadAttention``): the layer's own class and attributes,
    the integer codes of its weights packed at 1, 2, 4 or 8 bits with their
    scales (and offsets) in bfloat16 (``PackedWeight``), all in the
    state_dict. Its outputs are the prepared model's, bit for bit. A model
    that is itself one prepared layer is returned converted.

    Logs the layers it converted (logger ``qat_kernels_torch``, level INFO)
    and warns naming layers of a kind it converts that it leaves in float.
    Refuses (``ValueError``) a model with no prepared layer, and
    (``RuntimeError``) a weight whose fake-quantized value is not finite."""
    if not inplace:
        model = copy.deepcopy(model)
    converted = []
    _convert_children(model, "", converted)
    if _quantized_names(model):
        converted.append(_name("", parametrize.type_before_parametrizations(model)))
        model = _convert_layer(model)
    if not converted:
        raise ValueError("convert: no layer of this model is prepared; prepare(model, config) attaches the "
                         "quantizers whose codes convert packs")
    parts = _attention_parts(model)
    floats = [_name(n, type(m)) for n, m in model.named_modules() if _float_layer(m) and n not in parts]
    _log.info("convert: %d layers to packed codes: %s", len(converted), ", ".join(converted))
    if floats:
        warnings.warn(f"convert: left in float: {', '.join(floats)}", UserWarning, stacklevel=2)
    return model
