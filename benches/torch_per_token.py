#!/usr/bin/env python3
"""Per-token int8 activation fake quantization, forward and backward, on a
4096 x 4096 bf16 activation, one thread: qat_kernels_torch's operator
(through autograd, eager and under torch.compile) against torchao's QAT
fake quantizer (IntxFakeQuantizer, int8, per token, asymmetric: the 8da4w
activation config), eager and under torch.compile. Measured as
`benches/torch_paired.py` measures: a copy (`dst.copy_(src)`) and the
operation in turn for ROUNDS rounds, each timed run after an untimed one,
each round the ratio of the operation's time to the copy's. Prints the
median ratio, its range and the median time.

    pip install --no-build-isolation ./torch && pip install torchao
    python3 benches/torch_per_token.py           (a few minutes: compiling)
"""
import statistics
import time
import warnings

warnings.filterwarnings("ignore")
import torch  # noqa: E402
from torchao.quantization.qat import IntxFakeQuantizeConfig  # noqa: E402
from torchao.quantization.qat.fake_quantizer import IntxFakeQuantizer  # noqa: E402

import qat_kernels_torch as qk  # noqa: E402

ROUNDS = 15
ROWS = COLS = 4096


def seconds(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def main():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(ROWS, COLS, generator=g).to(torch.bfloat16)
    grad = torch.randn(ROWS, COLS, generator=g).to(torch.bfloat16)
    src, dst = torch.randn(ROWS, COLS).to(torch.bfloat16), torch.empty(ROWS, COLS, dtype=torch.bfloat16)
    theirs = IntxFakeQuantizer(IntxFakeQuantizeConfig(torch.int8, "per_token", is_symmetric=False))

    def ours_fn(t):
        return qk.per_token(t, 8, symmetric=False)

    def step(f):
        def run():
            xr = x.detach().requires_grad_()
            f(xr).backward(grad)
        return run

    forward_only = {
        "qat_kernels, forward": lambda: qk.per_token(x, 8, symmetric=False),
        "torchao, forward": lambda: theirs(x),
    }
    operations = {
        **forward_only,
        "qat_kernels, forward + backward": step(ours_fn),
        "qat_kernels under torch.compile, forward + backward": step(torch.compile(ours_fn)),
        "torchao, forward + backward": step(theirs),
        "torchao under torch.compile, forward + backward": step(torch.compile(theirs)),
    }
    print(f"PyTorch {torch.__version__}, 1 thread, {ROWS} x {COLS} bf16, int8 per token, asymmetric")
    print("| operation | time / copy, median | range | ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, f in operations.items():
        for _ in range(3):
            f()  # warm up (and compile)
        ratios, times = [], []
        for _ in range(ROUNDS):
            dst.copy_(src)
            copy = seconds(lambda: dst.copy_(src))
            f()
            t = seconds(f)
            ratios.append(t / copy)
            times.append(t)
        print(f"| {name} | {statistics.median(ratios):.2f} | {min(ratios):.2f} to {max(ratios):.2f} | "
              f"{1e3 * statistics.median(times):.1f} |")


if __name__ == "__main__":
    main()
