"""One thread, a 4096 x 4096 bf16 weight, symmetric per channel, forward +
backward: through the operators with fresh outputs, with out= (preallocated
outputs), through autograd, and PyTorch's learnable per-channel fake
quantization through autograd. Median of 15 runs after 3 warm-up runs.

    python3 torch/examples/speed.py
"""
import statistics
import time

import torch

import qat_kernels_torch as qk

torch.set_num_threads(1)
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


def main():
    g = torch.Generator().manual_seed(0)
    w = (torch.randn(ROWS, COLS, generator=g) * 0.02).to(torch.bfloat16)
    grad = (torch.randn(ROWS, COLS, generator=g) * 1e-3).to(torch.bfloat16)
    s = torch.full((ROWS,), 0.02 / 127, dtype=torch.bfloat16)
    out, gw, gs = torch.empty_like(w), torch.empty_like(w), torch.empty_like(s)

    def fresh():
        ops.symmetric_per_channel(w, s, 1e-4, -128, 127)
        ops.symmetric_per_channel_backward(grad, w, s, 1e-4, -128, 127)

    def preallocated():
        ops.symmetric_per_channel.out(w, s, 1e-4, -128, 127, out=out)
        ops.symmetric_per_channel_backward.out(grad, w, s, 1e-4, -128, 127, grad_weight=gw, grad_scale=gs)

    wr, sr = w.clone().requires_grad_(), s.clone().requires_grad_()

    def autograd():
        wr.grad = sr.grad = None
        qk.symmetric_per_channel(wr, sr, 1e-4, -128, 127).backward(grad)

    wt, st = w.clone().requires_grad_(), torch.full((ROWS,), 0.02 / 127).requires_grad_()
    zp = torch.zeros(ROWS)

    def torch_learnable():
        wt.grad = st.grad = None
        y = torch._fake_quantize_learnable_per_channel_affine(wt, st, zp, 0, -128, 127, 1.0)
        y.backward(grad)

    rows = [
        ("qat_kernels ops, fresh outputs", median_ms(fresh)),
        ("qat_kernels ops, out= (preallocated)", median_ms(preallocated)),
        ("qat_kernels through autograd", median_ms(autograd)),
        ("torch._fake_quantize_learnable_per_channel_affine, autograd", median_ms(torch_learnable, runs=5, warmup=1)),
    ]
    print(f"PyTorch {torch.__version__}, 1 thread, {ROWS} x {COLS} bf16, per channel, forward + backward")
    print("| path | ms |")
    print("| --- | ---: |")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} |")


if __name__ == "__main__":
    main()
