"""A per-tensor quantizer over a weight sharded across two processes (gloo,
on the loopback interface): the combined block values give the scale
gradient of one call over the whole weight, bit for bit on block
boundaries; bf16 partials added by an all-reduce, the naive way, are
compared for the record (printed with pytest -s)."""
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import qat_kernels_torch as qk

ops = torch.ops.qat_kernels


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, world, port, numel, cut, results):
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    g = torch.Generator().manual_seed(3)
    w = ((torch.rand(numel, generator=g) * 10) - 5).to(torch.bfloat16)
    grad = (torch.rand(numel, generator=g) * 2 - 1).to(torch.bfloat16)
    s = torch.tensor([0.05], dtype=torch.bfloat16)
    bounds = [0, cut, numel]
    lo, hi = bounds[rank], bounds[rank + 1]
    gw, gs = qk.sharded_per_tensor_scale_grad(grad[lo:hi], w[lo:hi], s, lo, numel)
    one_gw, one_gs = ops.symmetric_per_tensor_backward(grad, w, s, 1e-4, -128.0, 127.0)
    own = ops.symmetric_per_tensor_backward(grad[lo:hi], w[lo:hi], s, 1e-4, -128.0, 127.0)[1].float()
    dist.all_reduce(own)
    found = (gs.float().item(), one_gs.float().item(), own.to(torch.bfloat16).float().item(),
             bool(torch.equal(gw.view(torch.int16), one_gw[lo:hi].view(torch.int16))))
    # Both ranks past every collective before either tears gloo down.
    dist.barrier()
    dist.destroy_process_group()
    if rank == 0:
        results.put(found)


def run(numel, cut):
    ctx = mp.get_context("spawn")
    results = ctx.SimpleQueue()
    mp.start_processes(worker, args=(2, free_port(), numel, cut, results), nprocs=2, start_method="spawn")
    return results.get()


def test_sharded_per_tensor_scale_gradient():
    numel = 24 * 4096
    sharded, one, naive, same_gw = run(numel, 10 * 4096)
    assert same_gw
    assert sharded == one, (sharded, one)
    print(f"\nper tensor over 2 processes, {numel} weights cut at a block boundary: combined block values "
          f"{sharded!r}, one call {one!r}, bf16 partials all-reduced {naive!r}")
    numel = 24 * 4096 + 77
    sharded, one, naive, _ = run(numel, 10 * 4096 + 1234)
    ulp = 2.0 ** (torch.tensor(abs(one)).log2().floor().item() - 7)
    assert abs(sharded - one) <= ulp, (sharded, one)
    print(f"per tensor, cut inside a block: combined {sharded!r}, one call {one!r}, "
          f"bf16 partials {naive!r} (a bf16 ulp here is {ulp})")
