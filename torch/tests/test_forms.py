"""Autograd in every op form, against PyTorch's own ops in the same
situation (mul_ and clamp_ for the in-place forms, mul's out= form), and the
same bits for every intra-op thread count. `pytest -s` prints the table of
situations that docs/pytorch.md gives."""
import pytest
import torch

import qat_kernels_torch as qk

ops = torch.ops.qat_kernels
bf16 = torch.bfloat16


def weights(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) * 0.2 - 0.1).to(bf16)


SCALE = {"symmetric_per_channel": lambda w: torch.full((w.shape[0],), 0.01, dtype=bf16),
         "symmetric_per_tensor": lambda w: torch.full((1,), 0.01, dtype=bf16)}


def ours_in_place(x):
    ops.symmetric_per_channel_(x, SCALE["symmetric_per_channel"](x), 1e-4, -8.0, 7.0)
    return x


def ours_functional(x):
    return ops.symmetric_per_channel(x, SCALE["symmetric_per_channel"](x), 1e-4, -8.0, 7.0)


def theirs_in_place(x):
    return x.mul_(3.0)


def theirs_functional(x):
    return x.mul(3.0)


def outcome(f):
    """'ok', or the error's first words."""
    try:
        f()
        return "ok"
    except RuntimeError as e:
        return "error: " + str(e).split("\n")[0][:60]


def situations(in_place, functional):
    """Each situation's outcome for one in-place op and its functional form."""
    results = {}

    # A leaf that requires grad, in place, grad mode on.
    leaf = weights(4, 8).requires_grad_()
    results["leaf requiring grad"] = outcome(lambda: in_place(leaf))

    # A non-leaf: the gradient must be the functional form's.
    def non_leaf():
        base = weights(4, 8).requires_grad_()
        y = base * 1.0
        in_place(y)
        y.float().pow(2).sum().backward()
        base2 = weights(4, 8).requires_grad_()
        functional(base2 * 1.0).float().pow(2).sum().backward()
        assert torch.equal(base.grad.view(torch.int16), base2.grad.view(torch.int16)), "wrong gradient"
    results["non-leaf, gradient"] = outcome(non_leaf)

    # Under no_grad, a leaf that requires grad: allowed, version bumped.
    def no_grad():
        leaf = weights(4, 8).requires_grad_()
        v = leaf._version
        with torch.no_grad():
            in_place(leaf)
        assert leaf._version > v, "version not bumped"
    results["leaf under no_grad, version bumped"] = outcome(no_grad)

    # A tensor saved for backward, overwritten in place later: backward refuses.
    def saved():
        base = weights(4, 8).requires_grad_()
        y = base * 1.0
        z = functional(y) * y
        with torch.no_grad():
            in_place(y)
        z.float().sum().backward()
    results["saved tensor overwritten, backward"] = outcome(saved)
    return results


def test_in_place_forms_behave_as_pytorchs_own():
    ours = situations(ours_in_place, ours_functional)
    theirs = situations(theirs_in_place, theirs_functional)
    # clamp_ behaves as mul_ in every situation.
    clamp = situations(lambda x: x.clamp_(-0.05, 0.05), lambda x: x.clamp(-0.05, 0.05))
    print("\n| situation | mul_ | clamp_ | symmetric_per_channel_ |")
    print("| --- | --- | --- | --- |")
    for k in ours:
        print(f"| {k} | {theirs[k]} | {clamp[k]} | {ours[k]} |")
    assert ours == theirs == clamp
    assert ours["leaf requiring grad"].startswith("error: a leaf Variable that requires grad")
    assert ours["non-leaf, gradient"] == "ok"
    assert ours["saved tensor overwritten, backward"].startswith("error: one of the variables needed")


def params_of(name, w):
    """The operator's arguments after the weight, for a 4 x 64 weight."""
    if name == "asymmetric_per_group":
        return (torch.full((2,), 0.01, dtype=bf16), torch.zeros(2, dtype=bf16), 128, 4, 1e-4, 0.99)
    return (SCALE[name](w), 1e-4, -8.0, 7.0)


@pytest.mark.parametrize("name", ["asymmetric_per_group", "symmetric_per_channel", "symmetric_per_tensor"])
def test_every_in_place_form_refuses_leaves_and_bumps_versions(name):
    w = weights(4, 64)
    params = params_of(name, w)
    op, in_place = getattr(ops, name), getattr(ops, name + "_")
    leaf = w.clone().requires_grad_()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        in_place(leaf, *params)
    # A scale that requires grad: the in-place form's gradient is the functional one's.
    scale = params[0].clone().requires_grad_()
    y = w.clone()
    in_place(y, scale, *params[1:])
    y.float().sum().backward()
    scale2 = params[0].clone().requires_grad_()
    op(w, scale2, *params[1:]).float().sum().backward()
    assert torch.equal(scale.grad.view(torch.int16), scale2.grad.view(torch.int16))
    assert torch.equal(y.detach().view(torch.int16), op(w, *params).view(torch.int16))
    v = w._version
    in_place(w, *params)
    assert w._version > v


@pytest.mark.parametrize("name", ["asymmetric_per_group", "symmetric_per_channel", "symmetric_per_tensor"])
def test_out_forms_refuse_grad_as_pytorchs_own(name):
    w = weights(4, 64)
    params = params_of(name, w)
    out = torch.empty_like(w)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        torch.mul(w.clone().requires_grad_(), 2.0, out=out)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        getattr(ops, name).out(w.clone().requires_grad_(), *params, out=out)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        getattr(ops, name).out(w, *params, out=out.requires_grad_())
    out = torch.empty_like(w)
    v = out._version
    with torch.no_grad():
        getattr(ops, name).out(w.clone().requires_grad_(), *params, out=out)
    assert out._version > v
    v = out._version
    getattr(ops, name).out(w, *params, out=out)
    assert out._version > v


def run_all(seed):
    """Every training operator on shapes that split: groups, rows, a long
    per-tensor row (several blocks), tokens."""
    g = torch.Generator().manual_seed(seed)
    w = (torch.randn(96, 4100, generator=g) * 0.05).to(bf16)
    go = torch.randn(96, 4100, generator=g).to(bf16)
    s, o = (torch.rand(96 * 41, generator=g) * 0.02 + 1e-3).to(bf16), torch.zeros(96 * 41, dtype=bf16)
    sc, st = (torch.rand(96, generator=g) * 0.01 + 1e-3).to(bf16), torch.tensor([0.004], dtype=bf16)
    out = [ops.asymmetric_per_group(w, s, o, 100, 4, 1e-4, 0.99),
           *ops.asymmetric_per_group_backward(go, w, s, o, 100, 4, 1e-4, 0.99),
           ops.symmetric_per_channel(w, sc, 1e-4, -8.0, 7.0),
           *ops.symmetric_per_channel_backward(go, w, sc, 1e-4, -8.0, 7.0),
           ops.symmetric_per_tensor(w, st, 1e-4, -128.0, 127.0),
           *ops.symmetric_per_tensor_backward(go, w, st, 1e-4, -128.0, 127.0)]
    for symmetric in (False, True):
        y, scale, zp = ops.per_token(w, 8, 2.0 ** -23, symmetric)
        out += [y, scale, zp, ops.per_token_backward(go, w, scale, zp, 8)]
    return out


def test_every_thread_count_gives_the_same_bits():
    before = torch.get_num_threads()
    try:
        results = {}
        for n in (1, 2, 3, 8):
            torch.set_num_threads(n)
            results[n] = run_all(7)
        for n in (2, 3, 8):
            for a, b in zip(results[1], results[n]):
                assert torch.equal(a.view(torch.uint8), b.view(torch.uint8)), f"{n} threads"
    finally:
        torch.set_num_threads(before)
