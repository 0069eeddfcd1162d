"""Quantization-aware training on a real data set: scikit-learn's bundled
handwritten digits (8 x 8 images, 10 classes), an MLP 64 -> 256 -> 256 -> 10.

Two schemes, each attached with qat_kernels_torch.prepare (no hand-written
forward) and deployed with convert (packed integer codes):

- per layer, at 4 and at 2 bits: symmetric per tensor on the input layer,
  asymmetric per group (groups of 64, learnable scale and offset) on the
  hidden layer, symmetric per channel on the output head;
- 8da4w: int8 asymmetric per-token activations at every layer's input and
  int4 symmetric per-group weights (groups of 32).

It trains the fp32 model; quantizes it after training (PTQ) with min/max
parameters and with the library's calibration; fine-tunes it with fake
quantization in the loop (QAT) from the calibrated parameters; converts it
and checks that the packed model classifies exactly as the QAT model, and
reports its bytes. It also runs the same QAT with PyTorch's learnable
fake-quantization operators (per tensor and per channel; PyTorch has no
per-group quantizer, so its per-channel affine one stands in for the hidden
layer). Fixed seeds; the last line gives the results.

    pip install --no-build-isolation "./torch[examples]"
    python3 torch/examples/digits.py
"""
import time

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import qat_kernels_torch as qk

torch.manual_seed(0)
torch.set_num_threads(2)
GROUP = 64


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        import platform
        return platform.processor() or platform.machine()


def data():
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    y = torch.tensor(digits.target)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    return x_train, x_test, y_train, y_test


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            [torch.nn.Linear(64, 256), torch.nn.Linear(256, 256), torch.nn.Linear(256, 10)]
        )
        self.quantizers = None  # PyTorch's quantizers on the weights, or None

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            if self.quantizers is None:
                x = layer(x)  # prepared and converted layers quantize themselves
            else:
                x = torch.nn.functional.linear(x, self.quantizers[i](layer.weight), layer.bias)
            if i < 2:
                x = torch.relu(x)
        return x


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def train(model, x, y, epochs, lr, params=None):
    opt = torch.optim.Adam(params if params is not None else model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(1)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=g)
        for batch in order.split(128):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            opt.step()


# --- the library's quantizers, through prepare and convert -----------------------


def per_layer(bits):
    """A quantizer per layer."""
    return {
        "layers.0": qk.QATConfig(weight="symmetric_per_tensor", weight_bit=bits),
        "layers.1": qk.QATConfig(weight="asymmetric_per_group", weight_bit=bits, group_size=GROUP),
        "layers.2": qk.QATConfig(weight="symmetric_per_channel", weight_bit=bits),
    }


def quantizers(model):
    return [layer.parametrizations.weight[0] for layer in model.layers]


def min_max(model, bits):
    """Post-training parameters the usual way: symmetric scales from the
    largest magnitude, groups from their min and max."""
    qmax = max(2 ** (bits - 1) - 1, 1)
    with torch.no_grad():
        for layer, q in zip(model.layers, quantizers(model)):
            w = layer.parametrizations.weight.original
            if isinstance(q, qk.AsymmetricPerGroup):
                groups = w.reshape(-1, q.group_size)
                lo, hi = groups.min(1).values, groups.max(1).values
                q.scale.copy_((hi - lo) / (2 ** bits - 1))
                q.offset.copy_((hi + lo) / 2)
            elif isinstance(q, qk.SymmetricPerGroup):
                q.scale.copy_(w.reshape(-1, q.group_size).abs().max(1).values / qmax)
            elif isinstance(q, qk.SymmetricPerChannel):
                q.scale.copy_(w.abs().max(1).values / qmax)
            else:
                q.scale.copy_((w.abs().max() / qmax).view(1))


def state_bytes(model):
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def run_ours(fp32_state, config, bits, data):
    """PTQ (min/max, calibrated), QAT, and the converted model: accuracies
    and the converted model's bytes."""
    x_train, x_test, y_train, y_test = data
    model = MLP()
    model.load_state_dict(fp32_state)
    prepared = qk.prepare(model, config)
    min_max(prepared, bits)
    ptq = accuracy(prepared, x_test, y_test)
    prepared = qk.prepare(model, config)  # calibrated by the library
    calibrated = accuracy(prepared, x_test, y_test)
    train(prepared, x_train, y_train, epochs=15, lr=1e-3)
    qat = accuracy(prepared, x_test, y_test)
    deployed = qk.convert(prepared)
    with torch.no_grad():
        same = bool(torch.equal(deployed(x_test), prepared(x_test)))
    assert same, "the converted model's outputs are the QAT model's, bit for bit"
    return ptq, calibrated, qat, accuracy(deployed, x_test, y_test), state_bytes(deployed)


# --- PyTorch's learnable fake quantization -------------------------------------------


class TorchLearnable(torch.nn.Module):
    """torch._fake_quantize_learnable_per_{tensor,channel}_affine with LSQ
    initialisation and gradient factor, as PyTorch's own QAT modules use them."""

    def __init__(self, weight, bits, per_channel, symmetric):
        super().__init__()
        self.per_channel, self.symmetric = per_channel, symmetric
        if symmetric:
            self.qmin, self.qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        else:
            self.qmin, self.qmax = 0, 2 ** bits - 1
        rows = weight.detach().reshape(weight.shape[0] if per_channel else 1, -1)
        positive = max(self.qmax if symmetric else 2 ** (bits - 1), 1)
        if symmetric:
            scale, zero = 2 * rows.abs().mean(1) / positive ** 0.5, torch.zeros(rows.shape[0])
        else:
            mean = rows.mean(1)
            scale = 2 * (rows - mean[:, None]).abs().mean(1) / positive ** 0.5
            zero = self.qmin - mean / scale + (self.qmax - self.qmin + 1) / 2
        self.scale = torch.nn.Parameter(scale.clamp_min(1e-4))
        self.zero_point = torch.nn.Parameter(zero if not symmetric else zero, requires_grad=not symmetric)
        self.grad_factor = 1.0 / (rows.shape[1] * positive) ** 0.5

    def forward(self, w):
        if self.per_channel:
            return torch._fake_quantize_learnable_per_channel_affine(
                w, self.scale, self.zero_point, 0, self.qmin, self.qmax, self.grad_factor)
        return torch._fake_quantize_learnable_per_tensor_affine(
            w, self.scale, self.zero_point, self.qmin, self.qmax, self.grad_factor)


def torch_quantizers(model, bits):
    w = [layer.weight for layer in model.layers]
    return torch.nn.ModuleList([
        TorchLearnable(w[0], bits, per_channel=False, symmetric=True),
        TorchLearnable(w[1], bits, per_channel=True, symmetric=False),
        TorchLearnable(w[2], bits, per_channel=True, symmetric=True),
    ])


def main():
    start = time.time()
    data_split = data()
    x_train, x_test, y_train, y_test = data_split
    model = MLP()
    train(model, x_train, y_train, epochs=40, lr=3e-3)
    fp32_state = {k: v.clone() for k, v in model.state_dict().items()}
    fp32 = accuracy(model, x_test, y_test)
    fp32_bytes = state_bytes(model)
    print(f"fp32: test accuracy {fp32:.4f}, {fp32_bytes} bytes")
    rows = []
    for name, config, bits in (("4-bit per layer", per_layer(4), 4), ("2-bit per layer", per_layer(2), 2),
                               ("8da4w", qk.QATConfig.int8_dynamic_activation_int4_weight(group_size=32), 4)):
        ptq, calibrated, qat, deployed, size = run_ours(fp32_state, config, bits, data_split)
        torch_qat = None
        if name != "8da4w":
            model.quantizers = None
            model.load_state_dict(fp32_state)
            model.quantizers = torch_quantizers(model, bits)
            train(model, x_train, y_train, epochs=15, lr=1e-3)
            torch_qat = accuracy(model, x_test, y_test)
            model.quantizers = None
        rows.append((name, ptq, calibrated, qat, deployed, size, torch_qat))
        print(f"{name}: PTQ min/max {ptq:.4f}, PTQ calibrated {calibrated:.4f}, QAT {qat:.4f}, "
              f"converted {deployed:.4f} in {size} bytes"
              + (f", QAT with PyTorch's learnable ops {torch_qat:.4f}" if torch_qat is not None else ""))
    print(f"({time.time() - start:.1f} s)")
    # The accuracies depend on the CPU through PyTorch's own kernels (docs/pytorch.md): say which.
    print(f"on {cpu_model()}, ATen CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    print("| scheme | PTQ, min/max | PTQ, calibrated | QAT | converted | bytes | QAT (PyTorch's ops) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| fp32 | | | | {fp32:.4f} | {fp32_bytes} | |")
    for name, ptq, calibrated, qat, deployed, size, torch_qat in rows:
        theirs = f"{torch_qat:.4f}" if torch_qat is not None else "-"
        print(f"| {name} | {ptq:.4f} | {calibrated:.4f} | {qat:.4f} | {deployed:.4f} | {size} | {theirs} |")
    line = ", ".join(f"{n} QAT {q:.4f} converted {d:.4f} ({b} bytes)" for n, _, _, q, d, b, _ in rows)
    print(f"digits: fp32 {fp32:.4f} ({fp32_bytes} bytes), {line}")


if __name__ == "__main__":
    main()
