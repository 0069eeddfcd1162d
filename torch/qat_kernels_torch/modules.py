"""Fake-quantization modules: learnable weight quantizers (scales, and per
group offsets, kept in float32) and the per-token activation quantizer.

A weight quantizer is initialised before it is used, never inside
``forward`` on a data-dependent condition, so that a model that uses it
compiles with ``fullgraph=True`` and exports: from a weight at construction
(``weight=``), with ``initialize(weight)`` (LSQ's rule) or with
``calibrate(weight)`` (the library's calibration). Used uninitialised in
eager mode, it initialises itself from the first weight it sees.
"""
import math
import numbers

import torch

from .functional import _ops, per_token

_bf16 = torch.bfloat16
_MODES = {"search": 0, "lsq": 1}


def lsq_grad_factor(weights_per_scale, positive_levels):
    """LSQ's gradient scale, 1 / sqrt(N * Qp): N weights share a scale whose
    grid has Qp positive levels."""
    return 1.0 / math.sqrt(weights_per_scale * positive_levels)


class _GradScale(torch.autograd.Function):
    """The identity, with its gradient multiplied by a constant: LSQ's
    gradient scale on a quantizer's parameters."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None


def _check_int(cls, name, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low or (
            high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f"at least {low}"
        raise ValueError(f"{cls}: {name} must be an integer {bounds}, not {value!r}")
    return int(value)


def _f32(value):
    """``value`` as the kernels take it: rounded to float32."""
    return torch.tensor(float(value), dtype=torch.float32).item()


def _check_eps(cls, eps):
    # The kernels take eps in float32: 1e-50 passes as a Python float but is 0 there.
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not math.isfinite(eps) or eps <= 0 \
            or not math.isfinite(_f32(eps)) or _f32(eps) <= 0:
        raise ValueError(f"{cls}: eps must be a positive number, finite and nonzero in float32 "
                         f"(the kernels' precision), not {eps!r}")
    return float(eps)


def _check_clip(cls, clip_val):
    # In float32, as the kernels take it: 1 - 1e-9 rounds to 1.0 there.
    if isinstance(clip_val, bool) or not isinstance(clip_val, numbers.Real) or not 0 < clip_val < 1 \
            or not 0 < _f32(clip_val) < 1:
        raise ValueError(f"{cls}: clip_val must lie strictly between 0 and 1 in float32 (the kernels' "
                         f"precision), not {clip_val!r}")
    return float(clip_val)


def _values(x):
    """``x`` as the operators take it: bfloat16, float32 or float16 (each
    read and written as it is; another dtype as float32), contiguous."""
    if x.dtype not in (_bf16, torch.float32, torch.float16):
        x = x.float()
    return x.contiguous()


def _check_groups(quantizer, weight):
    """A per-group quantizer's weight: exactly its groups' elements."""
    need = quantizer.num_groups * quantizer.group_size
    if weight.numel() != need:
        raise ValueError(f"{type(quantizer).__name__}: the weight has {weight.numel()} elements; "
                         f"{quantizer.num_groups} groups of {quantizer.group_size} need {need}")


def _sync_ready(module, incompatible_keys):
    module._ready = bool(module.initialized)


class _FakeQuantizer(torch.nn.Module):
    """Shared parts: initialisation, the on/off switch, the gradient factor,
    the checks of a weight, and the parameters as the operators take them."""

    def __init__(self, grad_factor):
        super().__init__()
        cls = type(self).__name__
        if not (grad_factor is None or grad_factor == "lsq" or (
                isinstance(grad_factor, numbers.Real) and not isinstance(grad_factor, bool)
                and math.isfinite(grad_factor) and grad_factor > 0)):
            raise ValueError(f"{cls}: grad_factor must be None, 'lsq' or a positive number, not {grad_factor!r}")
        self.grad_factor = grad_factor
        self.fake_quant_enabled = True
        self.register_buffer("initialized", torch.tensor(False))
        self._ready = False
        self.register_load_state_dict_post_hook(_sync_ready)

    # -- switches and set-up --

    def enable_fake_quant(self, enabled=True):
        """Turns fake quantization on (or off: ``forward`` returns the weight
        as it is)."""
        self.fake_quant_enabled = bool(enabled)
        return self

    def initialize(self, weight):
        """LSQ's initialisation from ``weight``."""
        self._check_weight(weight)
        with torch.no_grad():
            self._initialize(weight.detach().float())
            self.initialized.fill_(True)
        self._ready = True
        return self

    def calibrate(self, weight, mode="search"):
        """Sets the parameters from ``weight`` with the library's calibration:
        ``"search"`` (those whose forward pass is closest to the weights) or
        ``"lsq"`` (LSQ's rule, as the library computes it)."""
        if mode not in _MODES:
            raise ValueError(f"{type(self).__name__}.calibrate: mode must be 'search' or 'lsq', not {mode!r}")
        self._check_weight(weight)
        with torch.no_grad():
            self._calibrate(_values(weight.detach()), _MODES[mode])
            self.initialized.fill_(True)
        self._ready = True
        return self

    def _factor(self, weights_per_scale, positive_levels):
        # An empty weight gives its scales no gradient to scale.
        if self.grad_factor is None or weights_per_scale == 0:
            return None
        if self.grad_factor == "lsq":
            return lsq_grad_factor(weights_per_scale, positive_levels)
        return float(self.grad_factor)

    @staticmethod
    def _learned(parameter, factor):
        """A float32 parameter as the operators take it: they read it as its
        bfloat16 rounding and give its gradient in float32 (for float32 and
        float16 weights unrounded; for bfloat16 weights, bfloat16)."""
        if factor is not None:
            parameter = _GradScale.apply(parameter, factor)
        return parameter.float()

    def _check_weight(self, weight):
        cls = type(self).__name__
        if not isinstance(weight, torch.Tensor) or not weight.is_floating_point():
            raise TypeError(f"{cls}: the weight must be a floating-point tensor, not "
                            f"{getattr(weight, 'dtype', type(weight).__name__)}")
        if weight.dim() == 0:
            raise ValueError(f"{cls}: the weight must have at least one dimension")
        self._check_shape(weight)

    # -- the forward pass --

    def forward(self, weight):
        if not self.fake_quant_enabled:
            return weight
        if not self._ready:
            if torch.compiler.is_compiling():
                raise RuntimeError(f"{type(self).__name__}: not initialised; call initialize(weight) or "
                                   "calibrate(weight), or pass weight=, before compiling or exporting")
            self.initialize(weight)
        self._check_weight(weight)
        return self._fake_quantize(_values(weight)).to(weight.dtype)

    # -- export --

    def quantize(self, weight):
        """The integer codes of ``weight`` (uint8 per group asymmetric, int8
        symmetric), whose values (``dequantize``) are the forward pass's."""
        self._check_weight(weight)
        return self._quantize(_values(weight.detach()))

    def extra_repr(self):
        state = "" if self.fake_quant_enabled else ", fake_quant=off"
        return self._describe() + (f", grad_factor={self.grad_factor!r}" if self.grad_factor else "") + state


class AsymmetricPerGroup(_FakeQuantizer):
    """Asymmetric per-group fake quantizer: a learnable scale and offset per
    ``group_size`` consecutive weights (groups run over the flattened
    weight), ``2**bit`` half-integer levels ``offset + scale * (k + 0.5)``.

    LSQ's initialisation: each group's offset is its mean, its scale
    ``2 * mean|w - offset| / sqrt(Qp)`` with ``Qp = 2**(bit - 1)``.
    ``grad_factor``: ``None`` (the plain gradient), ``"lsq"`` (``1 /
    sqrt(group_size * Qp)``) or a number.
    """

    def __init__(self, num_groups, group_size=128, bit=4, eps=1e-4, clip_val=0.99, grad_factor=None, weight=None):
        super().__init__(grad_factor)
        cls = type(self).__name__
        self.num_groups = _check_int(cls, "num_groups", num_groups, 0)
        self.group_size = _check_int(cls, "group_size", group_size, 1)
        self.bit = _check_int(cls, "bit", bit, 1, 16)
        self.eps = _check_eps(cls, eps)
        self.clip_val = _check_clip(cls, clip_val)
        # The library's own checks (the bit-1 rule of clip_val among them), now rather than at the first call.
        empty = torch.empty(0, dtype=_bf16)
        _ops.asymmetric_per_group(empty, empty, empty, *self._params(empty))
        self.scale = torch.nn.Parameter(torch.ones(self.num_groups))
        self.offset = torch.nn.Parameter(torch.zeros(self.num_groups))
        if weight is not None:
            self.initialize(weight)

    def _describe(self):
        return f"num_groups={self.num_groups}, group_size={self.group_size}, bit={self.bit}, eps={self.eps}, " \
               f"clip_val={self.clip_val}"

    def _check_shape(self, weight):
        _check_groups(self, weight)

    def _initialize(self, weight):
        groups = weight.reshape(self.num_groups, self._length(weight))
        if groups.shape[1] == 0:
            # Groups of no weights: the smallest scale, not an empty mean's NaN.
            self.offset.zero_()
            self.scale.fill_(self.eps)
            return
        offset = groups.mean(dim=1)
        spread = (groups - offset[:, None]).abs().mean(dim=1)
        self.offset.copy_(offset)
        self.scale.copy_((2 * spread / math.sqrt(2 ** (self.bit - 1))).clamp_min(self.eps))

    def _calibrate(self, weight, mode):
        scale, offset = _ops.asymmetric_per_group_calibrate(
            weight, *self._params(weight), mode)
        self.scale.copy_(scale.float())
        self.offset.copy_(offset.float())

    def _length(self, weight):
        """The elements of a group of ``weight``."""
        return self.group_size

    def _params(self, weight):
        return (self._length(weight), self.bit, self.eps, self.clip_val)

    def _fake_quantize(self, weight):
        factor = self._factor(self._length(weight), 2 ** (self.bit - 1))
        return _ops.asymmetric_per_group(
            weight, self._learned(self.scale, factor), self._learned(self.offset, None), *self._params(weight))

    def _quantize(self, weight):
        scale, offset = self.scale.detach().to(_bf16), self.offset.detach().to(_bf16)
        return _ops.asymmetric_per_group_quantize(weight, scale, offset, *self._params(weight))

    def dequantize(self, codes, scale=None, offset=None, dtype=None):
        """The values of codes from ``quantize``, with these parameters or, by
        default, the quantizer's: bfloat16, or ``dtype`` (float32 or float16:
        the forward pass's values on weights of that dtype)."""
        scale = self.scale.detach() if scale is None else scale
        offset = self.offset.detach() if offset is None else offset
        return _ops.asymmetric_per_group_dequantize(
            codes.contiguous(), scale.to(_bf16), offset.to(_bf16), *self._params(codes), dtype=dtype)


class AsymmetricPerChannel(AsymmetricPerGroup):
    """Asymmetric per-channel fake quantizer (LSQ+): a learnable scale and
    offset per row (the weight's first dimension), on the grid of
    ``AsymmetricPerGroup`` with each row a group: the per-group operators
    with ``group_size`` the row's length, which comes from the weight.
    PyTorch's learnable per-channel affine quantizer, on this project's
    grid. LSQ's initialisation per row."""

    def __init__(self, channels, bit=8, eps=1e-4, clip_val=0.99, grad_factor=None, weight=None):
        super().__init__(_check_int(type(self).__name__, "channels", channels, 0), 1, bit, eps, clip_val,
                         grad_factor)
        self.channels = self.num_groups
        if weight is not None:
            self.initialize(weight)

    def _describe(self):
        return f"channels={self.channels}, bit={self.bit}, eps={self.eps}, clip_val={self.clip_val}"

    def _check_shape(self, weight):
        if weight.shape[0] != self.channels:
            raise ValueError(f"AsymmetricPerChannel: the weight has {weight.shape[0]} rows (its first dimension); "
                             f"the quantizer has {self.channels} channels")

    def _length(self, weight):
        return math.prod(weight.shape[1:])

    def _calibrate(self, weight, mode):
        if weight.numel():
            super()._calibrate(weight, mode)

    def _fake_quantize(self, weight):
        if weight.numel():
            return super()._fake_quantize(weight)
        # Rows of no weights (no group has 0 elements): nothing to quantize,
        # and zero gradients for the parameters, as every quantizer gives.
        return weight.clone() + 0 * (self.scale.sum() + self.offset.sum()).to(weight.dtype)

    def _quantize(self, weight):
        return super()._quantize(weight) if weight.numel() else weight.new_empty(weight.shape, dtype=torch.uint8)

    def dequantize(self, codes, scale=None, offset=None, dtype=None):
        """As ``AsymmetricPerGroup.dequantize``."""
        if codes.numel():
            return super().dequantize(codes, scale, offset, dtype)
        return codes.new_empty(codes.shape, dtype=dtype or _bf16)


class _Symmetric(_FakeQuantizer):
    def __init__(self, scales, bit, min_v, max_v, eps, grad_factor):
        super().__init__(grad_factor)
        cls = type(self).__name__
        if min_v is None and max_v is None:
            self.bit = _check_int(cls, "bit", bit, 1, 24)
            min_v, max_v = -(2 ** (self.bit - 1)), 2 ** (self.bit - 1) - 1
        else:
            self.bit = None
        level = lambda v: isinstance(v, numbers.Real) and math.isfinite(v) and float(v).is_integer() and abs(v) <= 2 ** 24  # noqa: E731
        if not (level(min_v) and level(max_v) and min_v <= max_v):
            raise ValueError(f"{cls}: min_v and max_v must be integers with min_v <= max_v and magnitudes at most "
                             f"2**24, not {min_v!r} and {max_v!r}")
        self.min_v, self.max_v, self.eps = float(min_v), float(max_v), _check_eps(cls, eps)
        # The library's own checks, now rather than at the first call.
        empty = torch.empty(0, dtype=_bf16)
        _ops.symmetric_per_channel(empty, empty, *self._params())
        self.scale = torch.nn.Parameter(torch.ones(scales))

    def _lsq_scale(self, rows):
        if rows.shape[1] == 0:
            # Rows of no weights (an empty layer): the smallest scale, not the NaN of an empty mean.
            return torch.full((rows.shape[0],), self.eps)
        positive = max(self.max_v, 1.0)
        return (2 * rows.abs().mean(dim=1) / math.sqrt(positive)).clamp_min(self.eps)

    def _params(self):
        return (self.eps, self.min_v, self.max_v)

    def _scale(self, scale):
        return (self.scale.detach() if scale is None else scale).to(_bf16)

    def _grid(self):
        return f"bit={self.bit}" if self.bit is not None else f"min_v={self.min_v}, max_v={self.max_v}"


class SymmetricPerChannel(_Symmetric):
    """Symmetric per-channel fake quantizer: one learnable scale per row (the
    weight's first dimension), integer levels ``min_v..max_v`` (by default
    the signed ``bit``-bit range). LSQ's initialisation: ``2 * mean|w| /
    sqrt(Qp)`` per row, ``Qp = max_v``."""

    def __init__(self, channels, bit=8, min_v=None, max_v=None, eps=1e-4, grad_factor=None, weight=None):
        super().__init__(_check_int(type(self).__name__, "channels", channels, 0), bit, min_v, max_v, eps,
                         grad_factor)
        self.channels = int(channels)
        if weight is not None:
            self.initialize(weight)

    def _describe(self):
        return f"channels={self.channels}, {self._grid()}, eps={self.eps}"

    def _check_shape(self, weight):
        if weight.shape[0] != self.channels:
            raise ValueError(f"SymmetricPerChannel: the weight has {weight.shape[0]} rows (its first dimension); "
                             f"the quantizer has {self.channels} channels")

    def _initialize(self, weight):
        self.scale.copy_(self._lsq_scale(weight.reshape(weight.shape[0], math.prod(weight.shape[1:]))))

    def _calibrate(self, weight, mode):
        self.scale.copy_(_ops.symmetric_per_channel_calibrate(weight, *self._params(), mode).float())

    def _fake_quantize(self, weight):
        factor = self._factor(math.prod(weight.shape[1:]), max(self.max_v, 1.0))
        return _ops.symmetric_per_channel(weight, self._learned(self.scale, factor), *self._params())

    def _quantize(self, weight):
        return _ops.symmetric_per_channel_quantize(weight, self.scale.detach().to(_bf16), *self._params())

    def dequantize(self, codes, scale=None, offset=None, dtype=None):
        """The values of codes from ``quantize``, with this scale or, by
        default, the quantizer's: bfloat16, or ``dtype`` (float32 or float16:
        the forward pass's values on weights of that dtype)."""
        return _ops.symmetric_per_channel_dequantize(codes.contiguous(), self._scale(scale), *self._params(),
                                                     dtype=dtype)


class SymmetricPerGroup(_Symmetric):
    """Symmetric per-group fake quantizer: one learnable scale per
    ``group_size`` consecutive weights (groups run over the flattened
    weight), integer levels ``min_v..max_v`` (by default the signed
    ``bit``-bit range: int4 weights for ``bit=4``). It is the per-channel
    quantizer on the weight viewed as ``(numel / group_size, group_size)``;
    LSQ's initialisation per group."""

    def __init__(self, num_groups, group_size=32, bit=4, min_v=None, max_v=None, eps=1e-4, grad_factor=None,
                 weight=None):
        cls = type(self).__name__
        super().__init__(_check_int(cls, "num_groups", num_groups, 0), bit, min_v, max_v, eps, grad_factor)
        self.num_groups = int(num_groups)
        self.group_size = _check_int(cls, "group_size", group_size, 1)
        if weight is not None:
            self.initialize(weight)

    def _describe(self):
        return f"num_groups={self.num_groups}, group_size={self.group_size}, {self._grid()}, eps={self.eps}"

    def _check_shape(self, weight):
        _check_groups(self, weight)

    def _rows(self, weight):
        return weight.reshape(self.num_groups, self.group_size)

    def _initialize(self, weight):
        self.scale.copy_(self._lsq_scale(self._rows(weight)))

    def _calibrate(self, weight, mode):
        self.scale.copy_(_ops.symmetric_per_channel_calibrate(self._rows(weight), *self._params(), mode).float())

    def _fake_quantize(self, weight):
        factor = self._factor(self.group_size, max(self.max_v, 1.0))
        rows = _ops.symmetric_per_channel(self._rows(weight), self._learned(self.scale, factor), *self._params())
        return rows.reshape(weight.shape)

    def _quantize(self, weight):
        codes = _ops.symmetric_per_channel_quantize(self._rows(weight), self.scale.detach().to(_bf16), *self._params())
        return codes.reshape(weight.shape)

    def dequantize(self, codes, scale=None, offset=None, dtype=None):
        """As ``SymmetricPerChannel.dequantize``."""
        values = _ops.symmetric_per_channel_dequantize(self._rows(codes.contiguous()), self._scale(scale),
                                                        *self._params(), dtype=dtype)
        return values.reshape(codes.shape)


class SymmetricPerTensor(_Symmetric):
    """Symmetric per-tensor fake quantizer: one learnable scale. LSQ's
    initialisation: ``2 * mean|w| / sqrt(Qp)``, ``Qp = max_v``."""

    def __init__(self, bit=8, min_v=None, max_v=None, eps=1e-4, grad_factor=None, weight=None):
        super().__init__(1, bit, min_v, max_v, eps, grad_factor)
        if weight is not None:
            self.initialize(weight)

    def _describe(self):
        return f"{self._grid()}, eps={self.eps}"

    def _check_shape(self, weight):
        pass

    def _initialize(self, weight):
        self.scale.copy_(self._lsq_scale(weight.reshape(1, -1)))

    def _calibrate(self, weight, mode):
        self.scale.copy_(_ops.symmetric_per_tensor_calibrate(weight, *self._params(), mode).float())

    def _fake_quantize(self, weight):
        factor = self._factor(weight.numel(), max(self.max_v, 1.0))
        return _ops.symmetric_per_tensor(weight, self._learned(self.scale, factor), *self._params())

    def _quantize(self, weight):
        return _ops.symmetric_per_tensor_quantize(weight, self.scale.detach().to(_bf16), *self._params())

    def dequantize(self, codes, scale=None, offset=None, dtype=None):
        """As ``SymmetricPerChannel.dequantize``."""
        return _ops.symmetric_per_tensor_dequantize(codes.contiguous(), self._scale(scale), *self._params(),
                                                    dtype=dtype)


class PerToken(torch.nn.Module):
    """Dynamic per-token fake quantizer of activations: each token (every
    dimension but the last) on a ``bit``-bit grid with the scale and zero
    point of its own values (asymmetric, or symmetric), recomputed at every
    call; nothing is learned. The gradient is the straight-through
    estimator's. Takes activations of any floating dtype (bfloat16, float32
    and float16 computed as they are, others in float32; returned in the
    input's dtype)."""

    def __init__(self, bit=8, symmetric=False, eps=2.0 ** -23):
        super().__init__()
        self.bit = _check_int("PerToken", "bit", bit, 2, 8)
        self.symmetric = bool(symmetric)
        self.eps = _check_eps("PerToken", eps)
        _ops.per_token(torch.empty(0, 1, dtype=_bf16), self.bit, self.eps, self.symmetric)
        self.fake_quant_enabled = True

    def enable_fake_quant(self, enabled=True):
        """Turns fake quantization on (or off: ``forward`` returns its input)."""
        self.fake_quant_enabled = bool(enabled)
        return self

    def forward(self, x):
        if not self.fake_quant_enabled:
            return x
        if not x.is_floating_point():
            raise TypeError(f"PerToken: the activation must be a floating-point tensor, not {x.dtype}")
        if x.dim() == 0:
            raise ValueError("PerToken: the activation must have at least one dimension (a token's values last)")
        return per_token(_values(x), self.bit, self.symmetric, self.eps).to(x.dtype)

    def extra_repr(self):
        mapping = "symmetric" if self.symmetric else "asymmetric"
        return f"bit={self.bit}, {mapping}, eps={self.eps}" + ("" if self.fake_quant_enabled else ", fake_quant=off")


def _set_fake_quant(model, enabled):
    for m in model.modules():
        if isinstance(m, (_FakeQuantizer, PerToken)):
            m.enable_fake_quant(enabled)
    return model


def enable_fake_quant(model):
    """Turns every fake quantizer in ``model`` on."""
    return _set_fake_quant(model, True)


def disable_fake_quant(model):
    """Turns every fake quantizer in ``model`` off (the float model)."""
    return _set_fake_quant(model, False)
