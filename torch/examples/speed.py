"""A 4096 x 4096 weight, symmetric per channel, forward + backward, at 1 and
2 intra-op threads: the operators with preallocated outputs (out=), through
autograd on a bfloat16 weight, the module on a float32 weight, the two
float32 <-> bfloat16 round trips that module path needs at the least (the
weight's and the gradient's), and PyTorch's learnable per-channel fake
quantization through autograd. Median of 15 runs after 3 warm-up runs.

    python3 torch/examples/speed.py
"""
import statistics
import time

import torch

import qat_kernels_torch as qk

ops = torch.ops.qat_kernels
ROWS = COLS = 4096


def median_ms(f, runs=15, warmup=3):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def paths():
    g = torch.Generator().manual_seed(0)
    w32 = torch.randn(ROWS, COLS, generator=g) * 0.02
    grad32 = torch.randn(ROWS, COLS, generator=g) * 1e-3
    w, grad = w32.to(torch.bfloat16), grad32.to(torch.bfloat16)
    s = torch.full((ROWS,), 0.02 / 127, dtype=torch.bfloat16)
    out, gw, gs = torch.empty_like(w), torch.empty_like(w), torch.empty_like(s)

    def preallocated():
        ops.symmetric_per_channel.out(w, s, 1e-4, -128, 127, out=out)
        ops.symmetric_per_channel_backward.out(grad, w, s, 1e-4, -128, 127, grad_weight=gw, grad_scale=gs)

    out32, gw32, gs32 = torch.empty_like(w32), torch.empty_like(w32), torch.empty_like(s, dtype=torch.float32)

    def preallocated32():
        ops.symmetric_per_channel.out(w32, s, 1e-4, -128, 127, out=out32)
        ops.symmetric_per_channel_backward.out(grad32, w32, s, 1e-4, -128, 127, grad_weight=gw32, grad_scale=gs32)

    wr, sr = w.clone().requires_grad_(), s.clone().requires_grad_()

    def autograd():
        wr.grad = sr.grad = None
        qk.symmetric_per_channel(wr, sr, 1e-4, -128, 127).backward(grad)

    module = qk.SymmetricPerChannel(channels=ROWS, bit=8, weight=w32)
    w32r = w32.clone().requires_grad_()

    def fp32_module():
        w32r.grad = module.scale.grad = None
        module(w32r).backward(grad32)

    def casts():
        w32.to(torch.bfloat16).float()
        grad32.to(torch.bfloat16).float()

    wt, st = w.clone().requires_grad_(), torch.full((ROWS,), 0.02 / 127).requires_grad_()
    zp = torch.zeros(ROWS)

    def torch_learnable():
        wt.grad = st.grad = None
        y = torch._fake_quantize_learnable_per_channel_affine(wt, st, zp, 0, -128, 127, 1.0)
        y.backward(grad)

    return [
        ("qat_kernels ops, out= (preallocated), bf16", preallocated, 15),
        ("qat_kernels ops, out= (preallocated), fp32", preallocated32, 15),
        ("qat_kernels through autograd, bf16 weight", autograd, 15),
        ("qat_kernels module, fp32 weight", fp32_module, 15),
        ("the fp32 -> bf16 -> fp32 round trips alone (weight and gradient)", casts, 15),
        ("torch._fake_quantize_learnable_per_channel_affine, autograd, bf16", torch_learnable, 5),
    ]


def main():
    results = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, f, runs in paths():
            results.setdefault(name, {})[threads] = median_ms(f, runs=runs, warmup=min(3, runs))
    print(f"PyTorch {torch.__version__}, {ROWS} x {COLS}, per channel, forward + backward, ms")
    print("| path | 1 thread | 2 threads | 1 / 2 |")
    print("| --- | ---: | ---: | ---: |")
    for name, t in results.items():
        print(f"| {name} | {t[1]:.1f} | {t[2]:.1f} | {t[1] / t[2]:.2f} |")


if __name__ == "__main__":
    main()
