"""Whole models: ``prepare`` attaches fake quantizers to the weights (and
activations) of a model's layers, with no hand-written ``forward``;
``convert`` replaces them with packed integer codes whose outputs are the
prepared model's, bit for bit."""
import copy

import torch
import torch.nn.functional as F
from torch.nn.utils import parametrize

from .functional import pack_codes, unpack_codes
from .modules import AsymmetricPerGroup, PerToken, SymmetricPerChannel, SymmetricPerGroup, SymmetricPerTensor

_WEIGHTS = ("symmetric_per_group", "asymmetric_per_group", "symmetric_per_channel", "symmetric_per_tensor")
_ACTIVATIONS = (None, "per_token_asymmetric", "per_token_symmetric")
_LAYERS = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.Embedding)


class QATConfig:
    """What ``prepare`` attaches to each layer of the types in ``layers``
    (``nn.Linear``, ``nn.Conv2d``, ``nn.Embedding``):

    - ``weight``: the weight quantizer, one of ``"symmetric_per_group"``,
      ``"asymmetric_per_group"`` (``group_size`` consecutive weights of the
      flattened weight per scale), ``"symmetric_per_channel"`` (a scale per
      output channel), ``"symmetric_per_tensor"``, at ``weight_bit`` bits;
      its parameters set by the library's calibration (``calibration``:
      ``"search"`` or ``"lsq"``), learnable, with LSQ's gradient factor
      unless ``grad_factor`` says otherwise;
    - ``activation``: ``None``, ``"per_token_asymmetric"`` or
      ``"per_token_symmetric"`` at ``activation_bit`` bits, on the input of
      each ``nn.Linear``.

    ``QATConfig.int8_dynamic_activation_int4_weight()`` is the "8da4w"
    recipe: int8 asymmetric per-token activations and int4 symmetric
    per-group weights with groups of 32.
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
        layers = tuple(layers)
        if not layers or any(t not in _LAYERS for t in layers):
            raise ValueError(f"QATConfig: layers must be among nn.Linear, nn.Conv2d, nn.Embedding; not {layers!r}")
        self.weight, self.weight_bit, self.group_size = weight, weight_bit, group_size
        self.activation, self.activation_bit = activation, activation_bit
        self.layers, self.calibration, self.grad_factor = layers, calibration, grad_factor
        # The quantizers' own checks, now rather than at the first layer.
        self.activation_quantizer()
        if weight in ("symmetric_per_group", "asymmetric_per_group"):
            self.weight_quantizer(torch.zeros(group_size), calibrate=False)
        else:
            self.weight_quantizer(torch.zeros(1, 1), calibrate=False)

    @classmethod
    def int8_dynamic_activation_int4_weight(cls, group_size=32):
        """8da4w: int8 asymmetric per-token activations at the input of each
        ``nn.Linear``, int4 symmetric per-group weights."""
        return cls(weight="symmetric_per_group", weight_bit=4, group_size=group_size,
                   activation="per_token_asymmetric", activation_bit=8, layers=(torch.nn.Linear,))

    @classmethod
    def int4_weight_only(cls, group_size=32):
        """int4 symmetric per-group weights, activations unquantized."""
        return cls(weight="symmetric_per_group", weight_bit=4, group_size=group_size)

    def weight_quantizer(self, weight, calibrate=True):
        """The quantizer of ``weight``, calibrated from it."""
        numel = weight.numel()
        if self.weight in ("symmetric_per_group", "asymmetric_per_group") and numel % self.group_size:
            raise ValueError(f"QATConfig: group_size {self.group_size} does not divide a weight of "
                             f"{numel} elements (shape {tuple(weight.shape)})")
        groups = numel // self.group_size if self.group_size else 0
        if self.weight == "symmetric_per_group":
            q = SymmetricPerGroup(groups, self.group_size, self.weight_bit, grad_factor=self.grad_factor)
        elif self.weight == "asymmetric_per_group":
            q = AsymmetricPerGroup(groups, self.group_size, self.weight_bit, grad_factor=self.grad_factor)
        elif self.weight == "symmetric_per_channel":
            q = SymmetricPerChannel(weight.shape[0], self.weight_bit, grad_factor=self.grad_factor)
        else:
            q = SymmetricPerTensor(self.weight_bit, grad_factor=self.grad_factor)
        return q.calibrate(weight, self.calibration) if calibrate else q

    def activation_quantizer(self):
        """A new activation quantizer, or None."""
        if self.activation is None:
            return None
        return PerToken(self.activation_bit, symmetric=self.activation == "per_token_symmetric")

    def __repr__(self):
        return (f"QATConfig(weight={self.weight!r}, weight_bit={self.weight_bit}, group_size={self.group_size}, "
                f"activation={self.activation!r}, activation_bit={self.activation_bit})")


def _quantize_input(module, args):
    """Forward pre-hook: the layer's input through its activation quantizer."""
    return (module.activation_quantizer(args[0]),) + tuple(args[1:])


def _prepared(module):
    return parametrize.is_parametrized(module, "weight") and isinstance(
        module.parametrizations.weight[0], (AsymmetricPerGroup, SymmetricPerChannel, SymmetricPerGroup,
                                            SymmetricPerTensor))


def prepare(model, config, inplace=False):
    """Attaches ``config``'s quantizers to every layer of its types in
    ``model`` (a copy unless ``inplace``): the weight through
    ``torch.nn.utils.parametrize`` (``layer.weight`` is then the
    fake-quantized weight, and the float weight
    ``layer.parametrizations.weight.original``), and for ``nn.Linear`` the
    activation quantizer as ``layer.activation_quantizer``, applied to the
    input by a forward pre-hook. ``config`` may also be a dict from layer
    names (as ``named_modules`` gives them) to configs, for a quantizer per
    layer. Returns the prepared model."""
    per_layer = isinstance(config, dict)
    configs = config.values() if per_layer else [config]
    for c in configs:
        if not isinstance(c, QATConfig):
            raise TypeError(f"prepare: config must be a QATConfig (or a dict of them), not {type(c).__name__}")
    names = dict(model.named_modules())
    for name in config if per_layer else ():
        if name not in names or not isinstance(names[name], _LAYERS):
            raise ValueError(f"prepare: {name!r} is not a Linear, Conv2d or Embedding layer of the model")
    if not inplace:
        model = copy.deepcopy(model)
    for name, module in list(model.named_modules()):
        layer_config = config.get(name) if per_layer else config
        if layer_config is None or not isinstance(module, layer_config.layers) or _prepared(module):
            continue
        config_ = layer_config
        with torch.no_grad():
            quantizer = config_.weight_quantizer(module.weight.detach())
        parametrize.register_parametrization(module, "weight", quantizer)
        activation = config_.activation_quantizer() if isinstance(module, torch.nn.Linear) else None
        if activation is not None:
            module.activation_quantizer = activation
            module.register_forward_pre_hook(_quantize_input)
    return model


class _Quantized(torch.nn.Module):
    """A layer whose weight is packed integer codes: the codes, the
    quantizer's parameters (and its other settings), decoded at every call to
    the bits the prepared layer's fake-quantized weight had."""

    def _store(self, quantizer, original):
        codes = quantizer.quantize(original)
        signed = codes.dtype == torch.int8
        bits = quantizer.bit if quantizer.bit is not None else 8
        self.code_bits = next(b for b in (1, 2, 4, 8) if b >= bits)
        self.signed, self.weight_shape, self.weight_dtype = signed, tuple(original.shape), original.dtype
        self.register_buffer("codes", pack_codes(codes.reshape(-1), self.code_bits))
        self.register_buffer("scale", quantizer.scale.detach().to(torch.bfloat16).clone())
        if isinstance(quantizer, AsymmetricPerGroup):
            self.register_buffer("offset", quantizer.offset.detach().to(torch.bfloat16).clone())
        # The quantizer's settings decode the codes; its parameters are the
        # buffers above, so it is kept out of the state_dict.
        object.__setattr__(self, "_decoder", copy.deepcopy(quantizer).requires_grad_(False))

    @property
    def weight(self):
        """The weight the codes stand for (the weight's dtype), decoded."""
        numel = 1
        for d in self.weight_shape:
            numel *= d
        codes = unpack_codes(self.codes, numel, self.code_bits, self.signed).reshape(self.weight_shape)
        return self._decoder.dequantize(codes, self.scale, getattr(self, "offset", None)).to(self.weight_dtype)


class QuantizedLinear(_Quantized):
    """``nn.Linear`` with packed integer weights (from ``convert``)."""

    def __init__(self, layer):
        super().__init__()
        self._store(layer.parametrizations.weight[0], layer.parametrizations.weight.original.detach())
        self.bias = None if layer.bias is None else torch.nn.Parameter(layer.bias.detach().clone())
        self.activation_quantizer = getattr(layer, "activation_quantizer", None)

    def forward(self, x):
        if self.activation_quantizer is not None:
            x = self.activation_quantizer(x)
        return F.linear(x, self.weight, self.bias)


class QuantizedConv2d(_Quantized):
    """``nn.Conv2d`` with packed integer weights (from ``convert``)."""

    def __init__(self, layer):
        super().__init__()
        self._store(layer.parametrizations.weight[0], layer.parametrizations.weight.original.detach())
        self.bias = None if layer.bias is None else torch.nn.Parameter(layer.bias.detach().clone())
        self.stride, self.padding, self.dilation, self.groups = layer.stride, layer.padding, layer.dilation, \
            layer.groups
        if layer.padding_mode != "zeros":
            raise ValueError(f"convert: Conv2d with padding_mode={layer.padding_mode!r} is not supported")

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class QuantizedEmbedding(_Quantized):
    """``nn.Embedding`` with packed integer weights (from ``convert``)."""

    def __init__(self, layer):
        super().__init__()
        self._store(layer.parametrizations.weight[0], layer.parametrizations.weight.original.detach())
        self.padding_idx, self.max_norm, self.norm_type = layer.padding_idx, layer.max_norm, layer.norm_type
        self.scale_grad_by_freq, self.sparse = layer.scale_grad_by_freq, layer.sparse
        if layer.max_norm is not None:
            raise ValueError("convert: Embedding with max_norm (which rewrites its weight) is not supported")

    def forward(self, x):
        return F.embedding(x, self.weight, self.padding_idx, None, self.norm_type, self.scale_grad_by_freq,
                           self.sparse)


def convert(model, inplace=False):
    """Replaces every layer ``prepare`` quantized with its packed form
    (``QuantizedLinear``, ``QuantizedConv2d``, ``QuantizedEmbedding``): the
    integer codes of its weight packed at 1, 2, 4 or 8 bits, its scales (and
    offsets) in bfloat16, all in the state_dict. Its outputs are the
    prepared model's, bit for bit. Refuses (``RuntimeError``) a weight
    whose fake-quantized value is not finite."""
    if not inplace:
        model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if not _prepared(child):
                continue
            kind = QuantizedLinear if isinstance(child, torch.nn.Linear) else (
                QuantizedConv2d if isinstance(child, torch.nn.Conv2d) else QuantizedEmbedding)
            setattr(parent, name, kind(child))
    return model
