"""qat-kernels in PyTorch: the six kernels as operators (``torch.ops.qat_kernels``),
with autograd, fake (meta) implementations for ``torch.compile`` and
``torch.export``, and fake-quantization modules with learnable scales (and
offsets) for quantization-aware training.

The operators take CPU, contiguous bfloat16 tensors and write bfloat16, with
the library's exact arithmetic (docs/kernels.md in the repository). The
modules keep their scales in float32 and cast to and from bfloat16 around the
operators, so that they drop into an ordinary float32 model::

    import qat_kernels_torch as qk
    quant = qk.SymmetricPerChannel(channels=256, bit=4)
    w_q = quant(linear.weight)          # fake-quantized, differentiable
"""
import glob
import math
import os

import torch

__all__ = [
    "sharded_per_tensor_scale_grad",
    "asymmetric_per_group",
    "symmetric_per_channel",
    "symmetric_per_tensor",
    "AsymmetricPerGroup",
    "SymmetricPerChannel",
    "SymmetricPerTensor",
    "lsq_grad_factor",
    "version",
]

_here = os.path.dirname(os.path.abspath(__file__))
_libraries = glob.glob(os.path.join(_here, "_ops*.so")) + glob.glob(os.path.join(_here, "_ops*.pyd"))
if not _libraries:
    raise ImportError("qat_kernels_torch: the compiled operators (_ops*.so) are missing; build with pip install")
torch.ops.load_library(_libraries[0])

_ops = torch.ops.qat_kernels


def version():
    """The version of the qat-kernels library the operators were built with."""
    return _ops.version()


# --- fake (meta) implementations: shapes and dtypes only, for tracing ---------

def _fake_like(op, names, tensors):
    """Outputs shaped like `tensors`, after the checks a trace can make:
    bfloat16 tensors, all on one device."""
    device = tensors[0].device
    for name, t in zip(names, tensors):
        torch._check(t.dtype == torch.bfloat16, lambda: f"qat_kernels.{op}: {name} must be bfloat16, not {t.dtype}")
        torch._check(t.device == device, lambda: f"qat_kernels.{op}: {name} must be on the device of {names[0]}")
    return tuple(torch.empty_like(t, memory_format=torch.contiguous_format) for t in tensors)


@torch.library.register_fake("qat_kernels::asymmetric_per_group")
def _(weight, scale, offset, group_size, bit, eps, clip_val):
    _fake_like("asymmetric_per_group", ("weight", "scale", "offset"), (weight, scale, offset))
    return torch.empty_like(weight, memory_format=torch.contiguous_format)


@torch.library.register_fake("qat_kernels::asymmetric_per_group_backward")
def _(grad_output, weight, scale, offset, group_size, bit, eps, clip_val):
    _fake_like("asymmetric_per_group_backward", ("grad_output",), (grad_output,))
    return _fake_like("asymmetric_per_group_backward", ("weight", "scale", "offset"), (weight, scale, offset))


def _register_symmetric_fakes(name):
    @torch.library.register_fake(f"qat_kernels::{name}")
    def _(weight, scale, eps, min_v, max_v):
        return _fake_like(name, ("weight", "scale"), (weight, scale))[0]

    @torch.library.register_fake(f"qat_kernels::{name}_backward")
    def _(grad_output, weight, scale, eps, min_v, max_v):
        _fake_like(name + "_backward", ("grad_output",), (grad_output,))
        return _fake_like(name + "_backward", ("weight", "scale"), (weight, scale))


_register_symmetric_fakes("symmetric_per_channel")
_register_symmetric_fakes("symmetric_per_tensor")


def _register_blocks_fake(name, rows_of):
    @torch.library.register_fake(f"qat_kernels::{name}")
    def _(grad_output, weight, scale, eps, min_v, max_v):
        gw = _fake_like(name, ("grad_output", "weight", "scale"), (grad_output, weight, scale))[1]
        rows = rows_of(weight)
        cols = weight.numel() // rows if rows else 0
        return gw, weight.new_empty((rows, 2 * _ops.block_count(cols)), dtype=torch.float64)


_register_blocks_fake("symmetric_per_tensor_backward_blocks", lambda weight: 1)
_register_blocks_fake("symmetric_per_channel_backward_blocks", lambda weight: weight.shape[0])


@torch.library.register_fake("qat_kernels::symmetric_finish")
def _(block_sums, scale, cols, eps, min_v, max_v):
    return torch.empty_like(scale)


# --- autograd through the backward kernels ------------------------------------

def _asymmetric_setup(ctx, inputs, output):
    weight, scale, offset, group_size, bit, eps, clip_val = inputs
    ctx.save_for_backward(weight, scale, offset)
    ctx.params = (group_size, bit, eps, clip_val)


def _asymmetric_backward(ctx, grad):
    weight, scale, offset = ctx.saved_tensors
    grad_weight, grad_scale, grad_offset = _ops.asymmetric_per_group_backward(
        grad.contiguous(), weight, scale, offset, *ctx.params
    )
    return grad_weight, grad_scale, grad_offset, None, None, None, None


torch.library.register_autograd(
    "qat_kernels::asymmetric_per_group", _asymmetric_backward, setup_context=_asymmetric_setup
)


def _symmetric_setup(ctx, inputs, output):
    weight, scale, eps, min_v, max_v = inputs
    ctx.save_for_backward(weight, scale)
    ctx.params = (eps, min_v, max_v)


def _symmetric_backward_of(backward_op):
    def backward(ctx, grad):
        weight, scale = ctx.saved_tensors
        grad_weight, grad_scale = backward_op(grad.contiguous(), weight, scale, *ctx.params)
        return grad_weight, grad_scale, None, None, None

    return backward


torch.library.register_autograd(
    "qat_kernels::symmetric_per_channel",
    _symmetric_backward_of(_ops.symmetric_per_channel_backward),
    setup_context=_symmetric_setup,
)
torch.library.register_autograd(
    "qat_kernels::symmetric_per_tensor",
    _symmetric_backward_of(_ops.symmetric_per_tensor_backward),
    setup_context=_symmetric_setup,
)


# --- functional forms ---------------------------------------------------------

def asymmetric_per_group(weight, scale, offset, group_size=128, bit=4, eps=1e-4, clip_val=0.99):
    """Asymmetric per-group fake quantization (learnable scale and offset),
    differentiable in all three tensors. bfloat16 in, bfloat16 out."""
    return _ops.asymmetric_per_group(weight, scale, offset, group_size, bit, eps, clip_val)


def symmetric_per_channel(weight, scale, eps=1e-4, min_v=-128.0, max_v=127.0):
    """Symmetric fake quantization with one learnable scale per row (the
    weight's first dimension), differentiable in weight and scale."""
    return _ops.symmetric_per_channel(weight, scale, eps, min_v, max_v)


def symmetric_per_tensor(weight, scale, eps=1e-4, min_v=-128.0, max_v=127.0):
    """Symmetric fake quantization with one learnable scale (a one-element
    tensor), differentiable in weight and scale."""
    return _ops.symmetric_per_tensor(weight, scale, eps, min_v, max_v)


# --- modules --------------------------------------------------------------------

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


def lsq_grad_factor(weights_per_scale, positive_levels):
    """LSQ's gradient scale, 1 / sqrt(N * Qp): N weights share a scale whose
    grid has Qp positive levels."""
    return 1.0 / math.sqrt(weights_per_scale * positive_levels)


class _FakeQuantizer(torch.nn.Module):
    """Shared parts: float32 parameters, LSQ initialisation from the first
    weights seen, and the optional gradient factor."""

    def __init__(self, grad_factor):
        super().__init__()
        self.grad_factor = grad_factor
        self.register_buffer("initialized", torch.tensor(False))

    def _factor(self, weights_per_scale, positive_levels):
        if self.grad_factor is None:
            return None
        if self.grad_factor == "lsq":
            return lsq_grad_factor(weights_per_scale, positive_levels)
        return float(self.grad_factor)

    @staticmethod
    def _bf16(parameter, factor):
        if factor is not None:
            parameter = _GradScale.apply(parameter, factor)
        return parameter.to(torch.bfloat16)

    def calibrate(self, weight, mode="search"):
        """Sets the parameters from `weight` with the library's calibration:
        `"search"` (those whose forward pass is closest to the weights) or
        `"lsq"` (LSQ's rule)."""
        with torch.no_grad():
            self._calibrate(weight.detach().to(torch.bfloat16).contiguous(), {"search": 0, "lsq": 1}[mode])
            self.initialized.fill_(True)
        return self

    def forward(self, weight):
        if not bool(self.initialized):
            with torch.no_grad():
                self.initialize(weight.detach().float())
                self.initialized.fill_(True)
        out = self._fake_quantize(weight.to(torch.bfloat16).contiguous())
        return out.to(weight.dtype)


class AsymmetricPerGroup(_FakeQuantizer):
    """Asymmetric per-group fake quantizer: a learnable scale and offset per
    ``group_size`` consecutive weights, ``2**bit`` half-integer levels
    ``offset + scale * (k + 0.5)``.

    Initialised from the first weights it sees: each group's offset is its
    mean, its scale LSQ's ``2 * mean|w - offset| / sqrt(Qp)`` with ``Qp =
    2**(bit - 1)``. ``grad_factor``: ``None`` (the plain gradient), ``"lsq"``
    (``1 / sqrt(group_size * Qp)``) or a number.
    """

    def __init__(self, num_groups, group_size=128, bit=4, eps=1e-4, clip_val=0.99, grad_factor=None):
        super().__init__(grad_factor)
        self.group_size, self.bit, self.eps, self.clip_val = group_size, bit, eps, clip_val
        self.scale = torch.nn.Parameter(torch.ones(num_groups))
        self.offset = torch.nn.Parameter(torch.zeros(num_groups))

    def initialize(self, weight):
        groups = weight.reshape(-1, self.group_size)
        offset = groups.mean(dim=1)
        positive = 2 ** (self.bit - 1)
        spread = (groups - offset[:, None]).abs().mean(dim=1)
        self.offset.copy_(offset)
        self.scale.copy_((2 * spread / math.sqrt(positive)).clamp_min(self.eps))

    def _calibrate(self, weight, mode):
        scale, offset = _ops.asymmetric_per_group_calibrate(
            weight, self.group_size, self.bit, self.eps, self.clip_val, mode)
        self.scale.copy_(scale.float())
        self.offset.copy_(offset.float())

    def _fake_quantize(self, weight):
        factor = self._factor(self.group_size, 2 ** (self.bit - 1))
        return asymmetric_per_group(
            weight,
            self._bf16(self.scale, factor),
            self._bf16(self.offset, None),
            self.group_size,
            self.bit,
            self.eps,
            self.clip_val,
        )


class _Symmetric(_FakeQuantizer):
    def __init__(self, scales, bit, min_v, max_v, eps, grad_factor):
        super().__init__(grad_factor)
        if min_v is None:
            min_v, max_v = -(2 ** (bit - 1)), 2 ** (bit - 1) - 1
        self.min_v, self.max_v, self.eps = float(min_v), float(max_v), eps
        self.scale = torch.nn.Parameter(torch.ones(scales))

    def _lsq_scale(self, rows):
        positive = max(self.max_v, 1.0)
        return (2 * rows.abs().mean(dim=1) / math.sqrt(positive)).clamp_min(self.eps)


class SymmetricPerChannel(_Symmetric):
    """Symmetric per-channel fake quantizer: one learnable scale per row (the
    weight's first dimension), integer levels ``min_v..max_v`` (by default the
    signed ``bit``-bit range). Initialised as LSQ does, ``2 * mean|w| /
    sqrt(Qp)`` per row with ``Qp = max_v``."""

    def __init__(self, channels, bit=8, min_v=None, max_v=None, eps=1e-4, grad_factor=None):
        super().__init__(channels, bit, min_v, max_v, eps, grad_factor)

    def initialize(self, weight):
        self.scale.copy_(self._lsq_scale(weight.reshape(weight.shape[0], -1)))

    def _calibrate(self, weight, mode):
        self.scale.copy_(_ops.symmetric_per_channel_calibrate(weight, self.eps, self.min_v, self.max_v, mode).float())

    def _fake_quantize(self, weight):
        factor = self._factor(weight.numel() // max(weight.shape[0], 1), max(self.max_v, 1.0))
        return symmetric_per_channel(weight, self._bf16(self.scale, factor), self.eps, self.min_v, self.max_v)


class SymmetricPerTensor(_Symmetric):
    """Symmetric per-tensor fake quantizer: one learnable scale. Initialised
    as LSQ does, ``2 * mean|w| / sqrt(Qp)`` with ``Qp = max_v``."""

    def __init__(self, bit=8, min_v=None, max_v=None, eps=1e-4, grad_factor=None):
        super().__init__(1, bit, min_v, max_v, eps, grad_factor)

    def initialize(self, weight):
        self.scale.copy_(self._lsq_scale(weight.reshape(1, -1)))

    def _calibrate(self, weight, mode):
        self.scale.copy_(_ops.symmetric_per_tensor_calibrate(weight, self.eps, self.min_v, self.max_v, mode).float())

    def _fake_quantize(self, weight):
        factor = self._factor(weight.numel(), max(self.max_v, 1.0))
        return symmetric_per_tensor(weight, self._bf16(self.scale, factor), self.eps, self.min_v, self.max_v)


# --- scale gradients across shards ---------------------------------------------


def sharded_per_tensor_scale_grad(grad_output, weight, scale, start, numel, group=None,
                                  eps=1e-4, min_v=-128.0, max_v=127.0):
    """The per-tensor scale gradient of a weight sharded across a process
    group, as one call over the whole weight gives it.

    Each process holds `weight`, the slice `[start, start + len)` of a
    flattened weight of `numel` elements, and its `grad_output`. Every process
    computes its slice's sums as f64 block values, places them at the blocks
    its slice starts in, and one all-reduce adds them; the finish rounds once.
    With every `start` a multiple of 4096 (whole blocks), the result is one
    call's, bit for bit; otherwise it is within the documented bound.
    Returns `(grad_weight of the slice, grad_scale)`.
    """
    import torch.distributed as dist

    grad_weight, sums = _ops.symmetric_per_tensor_backward_blocks(
        grad_output.contiguous(), weight.contiguous(), scale, eps, min_v, max_v)
    total = _ops.block_count(numel)
    local = sums.shape[1] // 2
    combined = torch.zeros(2, total, dtype=torch.float64)
    first = start // 4096
    for k in range(local):
        slot = min(first + k, total - 1)
        combined[0, slot] += sums[0, k]
        combined[1, slot] += sums[0, local + k]
    dist.all_reduce(combined, group=group)
    grad_scale = _ops.symmetric_finish(combined.view(-1), scale, numel, eps, min_v, max_v)
    return grad_weight, grad_scale
