"""Quantization-aware training on a real data set: scikit-learn's bundled
handwritten digits (8 x 8 images, 10 classes), an MLP 64 -> 256 -> 256 -> 10
with the three quantizers where each belongs:

- input layer: symmetric per tensor;
- hidden layer: asymmetric per group (groups of 64 inputs, learnable scale
  and offset);
- output head: symmetric per channel.

It trains the fp32 model, quantizes it after training (PTQ) with min/max
parameters and with the library's calibrated ones, then fine-tunes it from
the calibrated parameters with fake quantization in the loop (QAT) through
qat_kernels_torch, at 4 and at 2 bits; and runs the same QAT with PyTorch's
learnable fake-quantization operators (per tensor and per channel; PyTorch
has no per-group quantizer, so its per-channel affine one stands in for the
hidden layer). Fixed seeds; the last line gives the accuracies.

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
        self.quantizers = None  # three callables on weights, or None for fp32

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            w = layer.weight if self.quantizers is None else self.quantizers[i](layer.weight)
            x = torch.nn.functional.linear(x, w, layer.bias)
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


# --- the library's quantizers ------------------------------------------------------


def ours(model, bits):
    """The three fake quantizers of qat_kernels_torch, LSQ-initialised on first use."""
    return torch.nn.ModuleList(
        [
            qk.SymmetricPerTensor(bit=bits, grad_factor="lsq"),
            qk.AsymmetricPerGroup(num_groups=256 * 256 // GROUP, group_size=GROUP, bit=bits, grad_factor="lsq"),
            qk.SymmetricPerChannel(channels=10, bit=bits, grad_factor="lsq"),
        ]
    )


def min_max(quantizers, model, bits):
    """Post-training calibration the usual way: symmetric scales from the
    largest magnitude, groups from their min and max."""
    qmax = 2 ** (bits - 1) - 1 if bits > 1 else 1
    with torch.no_grad():
        w = [layer.weight for layer in model.layers]
        quantizers[0].scale.copy_((w[0].abs().max() / max(qmax, 1)).view(1))
        groups = w[1].reshape(-1, GROUP)
        lo, hi = groups.min(1).values, groups.max(1).values
        quantizers[1].scale.copy_((hi - lo) / (2 ** bits - 1))
        quantizers[1].offset.copy_((hi + lo) / 2)
        quantizers[2].scale.copy_(w[2].abs().max(1).values / max(qmax, 1))
        for q in quantizers:
            q.initialized.fill_(True)


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
    x_train, x_test, y_train, y_test = data()
    model = MLP()
    train(model, x_train, y_train, epochs=40, lr=3e-3)
    fp32_state = {k: v.clone() for k, v in model.state_dict().items()}
    fp32 = accuracy(model, x_test, y_test)
    print(f"fp32: test accuracy {fp32:.4f}")
    results = {}
    for bits in (4, 2):
        model.quantizers = None
        model.load_state_dict(fp32_state)
        model.quantizers = ours(model, bits)
        min_max(model.quantizers, model, bits)
        ptq = accuracy(model, x_test, y_test)

        model.quantizers = None
        model.load_state_dict(fp32_state)
        model.quantizers = ours(model, bits)
        for q, layer in zip(model.quantizers, model.layers):
            q.calibrate(layer.weight)  # the library's calibration, through its operators
        calibrated = accuracy(model, x_test, y_test)
        train(model, x_train, y_train, epochs=15, lr=1e-3)  # QAT from the calibrated parameters
        qat = accuracy(model, x_test, y_test)

        model.quantizers = None
        model.load_state_dict(fp32_state)
        model.quantizers = torch_quantizers(model, bits)
        train(model, x_train, y_train, epochs=15, lr=1e-3)
        torch_qat = accuracy(model, x_test, y_test)
        model.quantizers = None
        results[bits] = (ptq, calibrated, qat, torch_qat)
        print(f"{bits}-bit: PTQ min/max {ptq:.4f}, PTQ calibrated {calibrated:.4f}, QAT {qat:.4f}, "
              f"QAT with PyTorch's learnable ops {torch_qat:.4f}")
    print(f"({time.time() - start:.1f} s)")
    line = ", ".join(
        f"{b}-bit PTQ {p:.4f} calibrated {c:.4f} QAT {q:.4f} torch QAT {t:.4f}"
        for b, (p, c, q, t) in results.items()
    )
    print(f"digits: fp32 {fp32:.4f}, {line}")


if __name__ == "__main__":
    main()
