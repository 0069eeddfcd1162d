"""qat-kernels in PyTorch: the library's kernels as operators
(``torch.ops.qat_kernels``) with autograd in every form and fake
implementations for ``torch.compile`` and ``torch.export``; fake-quantization
modules with learnable scales (and offsets) for weights and per-token ones
for activations; and ``prepare`` / ``convert`` for whole models.

The operators take CPU, contiguous bfloat16, float32 or float16 values,
read and written as they are, with bfloat16 (or float32) scales, with the
library's exact arithmetic (docs/kernels.md in the repository), split across
PyTorch's intra-op threads with the same bits for every thread count. The modules
keep their parameters in float32 and take weights of any floating dtype;
``prepare`` quantizes linear layers, convolutions, embeddings and attention
whole::

    import qat_kernels_torch as qk
    model = qk.prepare(model, qk.QATConfig.int8_dynamic_activation_int4_weight())
    ...train...
    deployed = qk.convert(model)        # packed integer codes, same outputs
"""
import glob
import os

import torch

_here = os.path.dirname(os.path.abspath(__file__))
_libraries = glob.glob(os.path.join(_here, "_ops*.so")) + glob.glob(os.path.join(_here, "_ops*.pyd"))
if not _libraries:
    raise ImportError("qat_kernels_torch: the compiled operators (_ops*.so) are missing; build with pip install")
torch.ops.load_library(_libraries[0])

from .functional import (  # noqa: E402
    asymmetric_per_channel,
    asymmetric_per_group,
    pack_codes,
    per_token,
    sharded_per_tensor_scale_grad,
    symmetric_per_channel,
    symmetric_per_group,
    symmetric_per_tensor,
    unpack_codes,
    version,
)
from .modules import (  # noqa: E402
    AsymmetricPerChannel,
    AsymmetricPerGroup,
    PerToken,
    SymmetricPerChannel,
    SymmetricPerGroup,
    SymmetricPerTensor,
    disable_fake_quant,
    enable_fake_quant,
    lsq_grad_factor,
)
from .attention import QATMultiheadAttention  # noqa: E402
from .qat import (  # noqa: E402
    PackedWeight,
    QATConfig,
    QuantizedConv2d,
    QuantizedEmbedding,
    QuantizedLinear,
    QuantizedMultiheadAttention,
    convert,
    prepare,
)

__all__ = [
    "asymmetric_per_group",
    "asymmetric_per_channel",
    "symmetric_per_channel",
    "symmetric_per_group",
    "symmetric_per_tensor",
    "per_token",
    "pack_codes",
    "unpack_codes",
    "sharded_per_tensor_scale_grad",
    "AsymmetricPerGroup",
    "AsymmetricPerChannel",
    "SymmetricPerChannel",
    "SymmetricPerGroup",
    "SymmetricPerTensor",
    "PerToken",
    "enable_fake_quant",
    "disable_fake_quant",
    "lsq_grad_factor",
    "QATConfig",
    "prepare",
    "convert",
    "QuantizedLinear",
    "QuantizedConv2d",
    "QuantizedEmbedding",
    "QuantizedMultiheadAttention",
    "QATMultiheadAttention",
    "PackedWeight",
    "version",
]
