"""The operators' Python side: fake implementations (shapes and dtypes, for
tracing), autograd for the functional, in-place and out= forms, and the
functional wrappers."""
import math

import torch

_ops = torch.ops.qat_kernels
_bf16 = torch.bfloat16
# The elements of a reduction block (docs/numerics.md).
_BLOCK = 4096


def version():
    """The version of the qat-kernels library the operators were built with."""
    return _ops.version()


# --- fake implementations: shapes and dtypes only, for tracing ----------------

def _check_like(op, names, tensors, dtype=_bf16, first=None):
    """The checks a trace can make: the dtype, and one device (that of
    ``first`` if given: the call's first tensor)."""
    device = (first if first is not None else tensors[0]).device
    for name, t in zip(names, tensors):
        torch._check(t.dtype == dtype, lambda: f"qat_kernels.{op}: {name} must be {dtype}, not {t.dtype}")
        torch._check(t.device == device, lambda: f"qat_kernels.{op}: {name} must be on the device of the "
                                                 "first tensor")


def _check_values(op, names, tensors):
    """Values (weights, activations, their gradients): bfloat16, float32 or
    float16, all of one dtype."""
    dtype = tensors[0].dtype
    torch._check(dtype in (_bf16, torch.float32, torch.float16),
                 lambda: f"qat_kernels.{op}: {names[0]} must be bfloat16, float32 or float16, not {dtype}")
    _check_like(op, names, tensors, dtype)


def _check_params(op, names, tensors, first):
    """Learned parameters (scales, offsets): bfloat16 or float32 (read as
    its bfloat16 rounding), all of one dtype."""
    dtype = tensors[0].dtype
    torch._check(dtype in (_bf16, torch.float32),
                 lambda: f"qat_kernels.{op}: {names[0]} must be bfloat16 or float32, not {dtype}")
    _check_like(op, names, tensors, dtype, first=first)


def _grads_like(weight, *params):
    """A backward pass's scale (and offset) gradients: bfloat16 for
    bfloat16 values, else float32."""
    dtype = _bf16 if weight.dtype == _bf16 else torch.float32
    return tuple(p.new_empty(p.shape, dtype=dtype) for p in params)


_FAKES = {}


def _fake(name):
    """Registers a fake implementation of ``qat_kernels::name`` and keeps it,
    for the forms that reuse its checks."""
    def register(fn):
        _FAKES[name] = fn
        return torch.library.register_fake(f"qat_kernels::{name}")(fn)

    return register


def _empty_like(*tensors):
    return tuple(torch.empty_like(t, memory_format=torch.contiguous_format) for t in tensors)


@_fake("asymmetric_per_group")
def _(weight, scale, offset, group_size, bit, eps, clip_val):
    _check_values("asymmetric_per_group", ("weight",), (weight,))
    _check_params("asymmetric_per_group", ("scale", "offset"), (scale, offset), first=weight)
    return _empty_like(weight)[0]


@_fake("asymmetric_per_group_backward")
def _(grad_output, weight, scale, offset, group_size, bit, eps, clip_val):
    _check_values("asymmetric_per_group_backward", ("weight", "grad_output"), (weight, grad_output))
    _check_params("asymmetric_per_group_backward", ("scale", "offset"), (scale, offset), first=weight)
    return _empty_like(weight) + _grads_like(weight, scale, offset)


@_fake("asymmetric_per_group_quantize")
def _(weight, scale, offset, group_size, bit, eps, clip_val):
    _check_values("asymmetric_per_group_quantize", ("weight",), (weight,))
    _check_params("asymmetric_per_group_quantize", ("scale", "offset"), (scale, offset), first=weight)
    return weight.new_empty(weight.shape, dtype=torch.uint8)


@_fake("asymmetric_per_group_calibrate")
def _(weight, group_size, bit, eps, clip_val, mode):
    _check_values("asymmetric_per_group_calibrate", ("weight",), (weight,))
    torch._check(group_size >= 1 and weight.numel() % group_size == 0,
                 lambda: f"qat_kernels.asymmetric_per_group_calibrate: group_size {group_size} must be positive "
                         f"and divide weight's {weight.numel()} elements")
    groups = weight.numel() // group_size
    return weight.new_empty((groups,), dtype=_bf16), weight.new_empty((groups,), dtype=_bf16)


@_fake("asymmetric_per_group_dequantize")
def _(codes, scale, offset, group_size, bit, eps, clip_val, dtype=None):
    _check_like("asymmetric_per_group_dequantize", ("scale", "offset"), (scale, offset))
    return codes.new_empty(codes.shape, dtype=dtype or _bf16)


def _register_symmetric_fakes(name, rows_of):
    @_fake(f"{name}")
    def _(weight, scale, eps, min_v, max_v):
        _check_values(name, ("weight",), (weight,))
        _check_params(name, ("scale",), (scale,), first=weight)
        return _empty_like(weight)[0]

    @_fake(f"{name}_backward")
    def _(grad_output, weight, scale, eps, min_v, max_v):
        _check_values(name + "_backward", ("weight", "grad_output"), (weight, grad_output))
        _check_params(name + "_backward", ("scale",), (scale,), first=weight)
        return _empty_like(weight) + _grads_like(weight, scale)

    @_fake(f"{name}_backward_blocks")
    def _(grad_output, weight, scale, eps, min_v, max_v):
        _check_values(name + "_backward_blocks", ("weight", "grad_output"), (weight, grad_output))
        _check_params(name + "_backward_blocks", ("scale",), (scale,), first=weight)
        rows = rows_of(weight)
        cols = weight.numel() // rows if rows else 0
        # qat_block_count, in Python so that a symbolic size traces.
        blocks = (cols + _BLOCK - 1) // _BLOCK
        return _empty_like(weight)[0], weight.new_empty((rows, 2 * blocks), dtype=torch.float64)

    @_fake(f"{name}_quantize")
    def _(weight, scale, eps, min_v, max_v):
        _check_values(name + "_quantize", ("weight",), (weight,))
        _check_params(name + "_quantize", ("scale",), (scale,), first=weight)
        return weight.new_empty(weight.shape, dtype=torch.int8)

    @_fake(f"{name}_calibrate")
    def _(weight, eps, min_v, max_v, mode):
        _check_values(name + "_calibrate", ("weight",), (weight,))
        return weight.new_empty((rows_of(weight),), dtype=_bf16)

    @_fake(f"{name}_dequantize")
    def _(codes, scale, eps, min_v, max_v, dtype=None):
        return codes.new_empty(codes.shape, dtype=dtype or _bf16)


_register_symmetric_fakes("symmetric_per_channel", lambda weight: weight.shape[0])
_register_symmetric_fakes("symmetric_per_tensor", lambda weight: 1)


def _register_mutating_fakes(name):
    """The fakes of a training operator's ``.out`` and in-place forms (and
    of its backward's ``.out``): the functional fake's checks, then the
    outputs given, checked against the shapes and dtypes it gives."""
    functional, backward = _FAKES[name], _FAKES[name + "_backward"]

    def check_outs(op, names, outs, wanted):
        for n, o, w in zip(names, outs, wanted):
            torch._check(o.shape == w.shape and o.dtype == w.dtype,
                         lambda: f"qat_kernels.{op}: {n} must have shape {tuple(w.shape)} and dtype {w.dtype}, "
                                 f"not {tuple(o.shape)} and {o.dtype}")

    @_fake(f"{name}.out")
    def _(*args, out):
        check_outs(name, ("out",), (out,), (functional(*args),))

    @_fake(f"{name}_")
    def _(weight, *args):
        check_outs(name + "_", ("weight",), (weight,), (functional(weight, *args),))

    @_fake(f"{name}_backward.out")
    def _(*args, **outs):
        outs = tuple(outs.values())
        check_outs(name + "_backward", ("grad_weight", "grad_scale", "grad_offset"), outs, backward(*args))


for _name in ("asymmetric_per_group", "symmetric_per_channel", "symmetric_per_tensor"):
    _register_mutating_fakes(_name)


@_fake("symmetric_finish")
def _(block_sums, scale, cols, eps, min_v, max_v):
    return torch.empty_like(scale)


@_fake("per_token")
def _(input, bit, eps, symmetric):
    _check_values("per_token", ("input",), (input,))
    tokens = input.shape[:-1]
    return (_empty_like(input)[0], input.new_empty(tokens, dtype=torch.float32),
            input.new_empty(tokens, dtype=torch.int32))


@_fake("per_token_backward")
def _(grad_output, input, scale, zero_point, bit):
    _check_values("per_token_backward", ("input", "grad_output"), (input, grad_output))
    return _empty_like(input)[0]


@_fake("pack_codes")
def _(codes, bit):
    return codes.new_empty(((codes.numel() * bit + 7) // 8,), dtype=torch.uint8)


@_fake("unpack_codes")
def _(packed, count, bit, signed):
    return packed.new_empty((count,), dtype=torch.int8 if signed else torch.uint8)


# --- autograd: functional forms ---------------------------------------------------

def _asymmetric_setup(ctx, inputs, output):
    weight, scale, offset, group_size, bit, eps, clip_val = inputs
    ctx.save_for_backward(weight, scale, offset)
    ctx.params = (group_size, bit, eps, clip_val)


def _asymmetric_backward(ctx, grad):
    weight, scale, offset = ctx.saved_tensors
    grad_weight, grad_scale, grad_offset = _ops.asymmetric_per_group_backward(
        grad.contiguous(), weight, scale, offset, *ctx.params)
    return grad_weight, grad_scale, grad_offset, None, None, None, None


torch.library.register_autograd(
    "qat_kernels::asymmetric_per_group", _asymmetric_backward, setup_context=_asymmetric_setup)


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


for _name in ("symmetric_per_channel", "symmetric_per_tensor"):
    torch.library.register_autograd(
        f"qat_kernels::{_name}", _symmetric_backward_of(getattr(_ops, _name + "_backward")),
        setup_context=_symmetric_setup)


def _per_token_setup(ctx, inputs, output):
    x, bit, eps, symmetric = inputs
    _, scale, zero_point = output
    ctx.mark_non_differentiable(scale, zero_point)
    ctx.save_for_backward(x, scale, zero_point)
    ctx.bit = bit


def _per_token_backward(ctx, grad, _grad_scale, _grad_zero_point):
    x, scale, zero_point = ctx.saved_tensors
    return _ops.per_token_backward(grad.contiguous(), x, scale, zero_point, ctx.bit), None, None, None


torch.library.register_autograd("qat_kernels::per_token", _per_token_backward, setup_context=_per_token_setup)


# --- autograd: in-place and out= forms, as PyTorch's own ops behave ---------------
#
# An in-place form records the functional form's gradient, refuses a leaf
# that requires grad, and bumps the version counter, so that backward
# refuses a saved tensor overwritten later. An out= form refuses arguments
# that require grad, as every out= op does, and bumps the outputs' versions.

_lib = torch.library.Library("qat_kernels", "IMPL")


def _needs_grad(tensors):
    return torch.is_grad_enabled() and any(isinstance(t, torch.Tensor) and t.requires_grad for t in tensors)


class _InPlace(torch.autograd.Function):
    """An in-place form under autograd: the kernel runs in place, the tensor
    is marked dirty (autograd rebases its history and bumps its version),
    and backward is the functional form's on a copy of the input saved
    first."""

    @staticmethod
    def forward(ctx, in_place, functional, weight, *rest):
        ctx.functional, ctx.rest = functional, rest
        tensors = [r for r in rest if isinstance(r, torch.Tensor)]
        ctx.save_for_backward(weight.clone(), *tensors)
        in_place(weight, *rest)
        ctx.mark_dirty(weight)
        return weight

    @staticmethod
    def backward(ctx, grad):
        weight, *tensors = ctx.saved_tensors
        inputs = [weight.detach().requires_grad_(ctx.needs_input_grad[2])]
        args, it = [], iter(tensors)
        for r in ctx.rest:
            if isinstance(r, torch.Tensor):
                r = next(it).detach().requires_grad_(ctx.needs_input_grad[3 + len(args)])
                inputs.append(r)
            args.append(r)
        wanted = [t for t in inputs if t.requires_grad]
        with torch.enable_grad():
            grads = iter(torch.autograd.grad(ctx.functional(inputs[0], *args), wanted, grad))
        per_input = {id(t): next(grads) for t in wanted}
        rest = [per_input.get(id(r)) if isinstance(r, torch.Tensor) else None for r in args]
        return (None, None, per_input.get(id(inputs[0])), *rest)


def _in_place(name, functional):
    op = getattr(_ops, name + "_").default

    def kernel(weight, *rest):
        if _needs_grad((weight,) + rest):
            if weight.is_leaf and weight.requires_grad:
                raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
            _InPlace.apply(op, functional, weight, *rest)
            return None
        with torch._C._AutoDispatchBelowAutograd():
            op(weight, *rest)
        torch.autograd.graph.increment_version(weight)

    _lib.impl(name + "_", kernel, "Autograd")


def _out_form(name):
    op = getattr(_ops, name).out

    def kernel(*args, **outs):
        if _needs_grad(args + tuple(outs.values())):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                               "differentiation, but one of the arguments requires grad.")
        with torch._C._AutoDispatchBelowAutograd():
            op(*args, **outs)
        for t in outs.values():
            torch.autograd.graph.increment_version(t)

    _lib.impl(name + ".out", kernel, "Autograd")


for _name in ("asymmetric_per_group", "symmetric_per_channel", "symmetric_per_tensor"):
    _in_place(_name, getattr(_ops, _name).default)
    _out_form(_name)
    _out_form(_name + "_backward")


# --- functional forms ---------------------------------------------------------

def asymmetric_per_group(weight, scale, offset, group_size=128, bit=4, eps=1e-4, clip_val=0.99):
    """Asymmetric per-group fake quantization (learnable scale and offset),
    differentiable in all three tensors. bfloat16 in, bfloat16 out."""
    return _ops.asymmetric_per_group(weight, scale, offset, group_size, bit, eps, clip_val)


def asymmetric_per_channel(weight, scale, offset, bit=8, eps=1e-4, clip_val=0.99):
    """Asymmetric per-channel fake quantization: a learnable scale and offset
    per row (the weight's first dimension), the per-group operator with each
    row a group; differentiable in all three tensors."""
    cols = math.prod(weight.shape[1:])
    return _ops.asymmetric_per_group(weight, scale, offset, cols, bit, eps, clip_val)


def symmetric_per_channel(weight, scale, eps=1e-4, min_v=-128.0, max_v=127.0):
    """Symmetric fake quantization with one learnable scale per row (the
    weight's first dimension), differentiable in weight and scale."""
    return _ops.symmetric_per_channel(weight, scale, eps, min_v, max_v)


def symmetric_per_group(weight, scale, group_size=32, eps=1e-4, min_v=-8.0, max_v=7.0):
    """Symmetric fake quantization with one learnable scale per
    ``group_size`` consecutive weights: per channel over the weight viewed
    as ``(numel / group_size, group_size)`` (groups run over the flattened
    weight)."""
    rows = weight.reshape(-1, group_size)
    return _ops.symmetric_per_channel(rows, scale, eps, min_v, max_v).reshape(weight.shape)


def symmetric_per_tensor(weight, scale, eps=1e-4, min_v=-128.0, max_v=127.0):
    """Symmetric fake quantization with one learnable scale (a one-element
    tensor), differentiable in weight and scale."""
    return _ops.symmetric_per_tensor(weight, scale, eps, min_v, max_v)


def per_token(input, bit=8, symmetric=False, eps=2.0 ** -23, return_params=False):
    """Dynamic per-token fake quantization of activations (bfloat16,
    float32 or float16, computed as they are): each token (every dimension but the
    last) with the scale and zero point of its own values (torchao's
    ``choose_qparams_affine``, in f32), differentiable in ``input`` (the
    straight-through estimator). With ``return_params``, also each token's
    float32 scale and int32 zero point."""
    out, scale, zero_point = _ops.per_token(input, bit, eps, symmetric)
    return (out, scale, zero_point) if return_params else out


def pack_codes(codes, bit):
    """Integer codes (uint8, or int8 for the symmetric quantizers) packed
    densely at 1, 2, 4 or 8 bits into a 1-D uint8 tensor."""
    return _ops.pack_codes(codes.contiguous(), bit)


def unpack_codes(packed, count, bit, signed):
    """The ``count`` codes ``pack_codes`` packed, int8 if ``signed``."""
    return _ops.unpack_codes(packed, count, bit, signed)


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
    first = start // _BLOCK
    for k in range(local):
        slot = min(first + k, total - 1)
        combined[0, slot] += sums[0, k]
        combined[1, slot] += sums[0, local + k]
    dist.all_reduce(combined, group=group)
    grad_scale = _ops.symmetric_finish(combined.view(-1), scale, numel, eps, min_v, max_v)
    return grad_weight, grad_scale
