"""The digits QAT model (4 bits, the qat_kernels_torch quantizers) trained
three ways on the same global batches: in one process, under
DistributedDataParallel, and under FSDP (`fully_shard`), each distributed run
with 2 processes, the gloo backend, on the loopback interface.

- DDP against one process: the loss curve and the final test accuracy agree
  within the tolerance printed (the gradients' all-reduce adds in another
  order than one process's mean, so bits differ from the first step on).
- Two DDP runs with the same seed: the same bits (final weights, scales and
  offsets).
- FSDP: weights, scales and offsets are sharded; fake quantization sees the
  all-gathered weight. Its accuracy is reported beside the others.

    python3 torch/examples/distributed_digits.py
"""
import hashlib
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from digits import GROUP, MLP, data  # noqa: E402

import qat_kernels_torch as qk  # noqa: E402

BITS, EPOCHS, BATCH, LR = 4, 8, 128, 2e-3
# The distributed runs round each process's gradients to bf16 at the
# quantizers (as the kernels work in bf16) before the all-reduce averages
# them, where one process rounds the whole batch's once: a difference of a
# bf16 ulp or so per step, which Adam's normalized steps carry through the
# run. So the loss curve is compared epoch by epoch (mean loss), and the
# final accuracy, each within these tolerances.
LOSS_TOLERANCE, ACCURACY_TOLERANCE = 0.10, 0.01


def ours(model, bits):
    """The three quantizers, LSQ-initialised from the model's weights, applied
    in the model's forward (F.linear on the fake-quantized weight): a root
    FSDP wraps whole."""
    w = [layer.weight for layer in model.layers]
    return torch.nn.ModuleList([
        qk.SymmetricPerTensor(bit=bits, grad_factor="lsq", weight=w[0]),
        qk.AsymmetricPerGroup(num_groups=w[1].numel() // GROUP, group_size=GROUP, bit=bits, grad_factor="lsq",
                              weight=w[1]),
        qk.SymmetricPerChannel(channels=w[2].shape[0], bit=bits, grad_factor="lsq", weight=w[2]),
    ])


def model_and_batches():
    """The same initial model and global batch order everywhere."""
    torch.manual_seed(0)
    model = MLP()
    model.quantizers = ours(model, BITS)
    x_train, x_test, y_train, y_test = data()
    g = torch.Generator().manual_seed(1)
    batches = [torch.randperm(len(x_train), generator=g).split(BATCH) for _ in range(EPOCHS)]
    return model, batches, (x_train, x_test, y_train, y_test)


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def digest(model):
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def train(model, batches, x, y, rank=0, world=1):
    """Adam on the global batches; each process takes its equal share of a
    batch (its rows `rank::world`), and the logged loss is the global batch's."""
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    losses = []
    for epoch in batches:
        for batch in epoch:
            batch = batch[: len(batch) - len(batch) % 2]  # even, as the 2-process runs need
            mine = batch[rank::world]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[mine]), y[mine])
            loss.backward()
            opt.step()
            logged = loss.detach().clone()
            if world > 1:
                dist.all_reduce(logged)
                logged /= world
            losses.append(logged.item())
    return losses


def single_process():
    model, batches, (x_train, x_test, y_train, y_test) = model_and_batches()
    # The same halves as the distributed runs, averaged: the global batch's mean.
    losses = train(model, batches, x_train, y_train, rank=0, world=1)
    return losses, accuracy(model, x_test, y_test), digest(model)


def worker(rank, world, port, mode, results):
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    model, batches, (x_train, x_test, y_train, y_test) = model_and_batches()
    if mode == "ddp":
        wrapped = torch.nn.parallel.DistributedDataParallel(model)
    else:
        from torch.distributed.fsdp import fully_shard

        # One group for the whole model: its forward reads each layer's
        # weight directly, so the root's all-gather must bring them all.
        wrapped = fully_shard(model)
    losses = train(wrapped, batches, x_train, y_train, rank, world)
    acc = accuracy(wrapped, x_test, y_test)
    if mode == "fsdp":
        # The full state, gathered, for the digest.
        state = {k: (v.full_tensor() if hasattr(v, "full_tensor") else v) for k, v in model.state_dict().items()}
        h = hashlib.sha256()
        for name, p in sorted(state.items()):
            h.update(name.encode())
            h.update(p.detach().contiguous().view(torch.uint8).numpy().tobytes())
        fingerprint = h.hexdigest()[:16]
    else:
        fingerprint = digest(model)
    # Both ranks done with every collective before either tears gloo down:
    # a peer closing its sockets under a collective still running on the
    # other side aborts that process.
    dist.barrier()
    # Reported once every collective is done, before the teardown: gloo's
    # teardown can abort a process (std::terminate in its threads) after all
    # the work is done, which `distributed` then tolerates, saying so.
    if rank == 0:
        results.put((losses, acc, fingerprint))
    dist.destroy_process_group()


def distributed(mode):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    results = mp.get_context("spawn").SimpleQueue()
    try:
        mp.start_processes(worker, args=(2, port, mode, results), nprocs=2, start_method="spawn")
    except mp.ProcessExitedException as e:
        # Only an abort after rank 0 reported, that is after every
        # collective of both ranks (the barrier), is a teardown abort.
        if results.empty():
            raise
        print(f"{mode}: a worker died while tearing gloo down, after all the work was done ({e})")
    return results.get()


def main():
    start = time.time()
    torch.set_num_threads(2)
    single_losses, single_acc, _ = single_process()
    ddp_losses, ddp_acc, ddp_digest = distributed("ddp")
    _, ddp_acc_again, ddp_digest_again = distributed("ddp")
    fsdp_losses, fsdp_acc, _ = distributed("fsdp")

    steps = len(single_losses)
    per_epoch = steps // EPOCHS

    def curve(losses):
        return [sum(losses[e * per_epoch:(e + 1) * per_epoch]) / per_epoch for e in range(EPOCHS)]

    def gap(losses):
        return max(abs(a - b) / b for a, b in zip(curve(losses), curve(single_losses)))

    loss_gap, fsdp_gap = gap(ddp_losses), gap(fsdp_losses)
    print(f"one process: {steps} steps, loss by epoch {' '.join(f'{v:.4f}' for v in curve(single_losses))}, "
          f"test accuracy {single_acc:.4f}")
    print(f"DDP, 2 processes: loss by epoch {' '.join(f'{v:.4f}' for v in curve(ddp_losses))}, test accuracy "
          f"{ddp_acc:.4f}; first step's loss {ddp_losses[0]:.6f} against {single_losses[0]:.6f}; "
          f"largest relative difference of an epoch's loss {loss_gap:.2e}")
    print(f"DDP again, same seed: test accuracy {ddp_acc_again:.4f}, "
          f"{'the same bits' if ddp_digest == ddp_digest_again else 'DIFFERENT bits'} ({ddp_digest})")
    print(f"FSDP, 2 processes: loss by epoch {' '.join(f'{v:.4f}' for v in curve(fsdp_losses))}, test accuracy "
          f"{fsdp_acc:.4f}; largest relative difference of an epoch's loss {fsdp_gap:.2e}")
    print(f"({time.time() - start:.1f} s)")
    ok = (loss_gap <= LOSS_TOLERANCE and abs(ddp_acc - single_acc) <= ACCURACY_TOLERANCE
          and ddp_digest == ddp_digest_again and abs(fsdp_acc - single_acc) <= ACCURACY_TOLERANCE
          and fsdp_gap <= LOSS_TOLERANCE)
    print(f"distributed digits: one process {single_acc:.4f}, DDP {ddp_acc:.4f}, FSDP {fsdp_acc:.4f} "
          f"(tolerance: relative loss {LOSS_TOLERANCE}, accuracy {ACCURACY_TOLERANCE}): {'ok' if ok else 'FAILED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
