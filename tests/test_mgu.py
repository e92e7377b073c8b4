"""MGU: against the paper's equations (one matrix on ``[h, x]``), and as a GRU whose gates are tied."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from rnncourse import GRU, MGU
from rnncourse import functional as F
from rnncourse.cells import GRUCell, MGUCell

from helpers import (DEVICES, DTYPES, VALUE_DEVICES, forward_backward, functional_call_of, randn, randomize_,
                     stacked_oracle)

INPUT, HIDDEN, BATCH, STEPS = 3, 4, 2, 5


# ---------------------------------------------------------------------------------------------
# The oracle in Zhou et al. (2016)'s own notation: one matrix on the concatenation [h, x] per block,
#   f = sigma(W_f [h, x] + b_f),  h~ = tanh(W_h [f * h, x] + b_h),  h' = (1 - f) * h + f * h~,
# with W_f = [W_hf | W_if] and b_f = b_if + b_hf in torch's split.


def paper_parameters(p, hidden):
    """torch-style ``weight_ih (2H, I)``, ``weight_hh (2H, H)``, biases as the paper's ``W_f, b_f, W_h, b_h``."""
    paper = {}
    for k, block in enumerate(("f", "h")):
        rows = slice(k * hidden, (k + 1) * hidden)
        paper["W_" + block] = torch.cat([p["weight_hh"][rows], p["weight_ih"][rows]], dim=1)  # (H, H + I)
        paper["b_" + block] = (p["bias_ih"][rows] + p["bias_hh"][rows]) if "bias_ih" in p else 0
    return paper


def oracle_cell(x, h, p):
    paper = paper_parameters(p, h.shape[-1])
    f = torch.sigmoid(torch.cat([h, x], dim=-1) @ paper["W_f"].T + paper["b_f"])
    candidate = torch.tanh(torch.cat([f * h, x], dim=-1) @ paper["W_h"].T + paper["b_h"])
    return (1 - f) * h + f * candidate


def oracle_layers(x, h0, params, num_layers, bidirectional):
    """Stacked (bidirectional) MGU over time-major ``x (T, B, I)`` from torch-named ``params``."""
    return stacked_oracle(oracle_cell, x, h0, params, num_layers, bidirectional)


@pytest.mark.parametrize("device", VALUE_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
def test_cell_matches_oracle(device, dtype, bias, batched):
    cell = randomize_(MGUCell(INPUT, HIDDEN, bias=bias, device=device, dtype=dtype))
    batch = (BATCH,) if batched else ()
    x, h = randn(*batch, INPUT, dtype=dtype, device=device), randn(*batch, HIDDEN, dtype=dtype, device=device, seed=1)
    params = {name: value.double() for name, value in cell.named_parameters()}
    torch.testing.assert_close(cell(x, h), oracle_cell(x.double(), h.double(), params).to(dtype))


@pytest.mark.parametrize("device", VALUE_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_layer_matches_oracle(device, dtype, num_layers, bidirectional, batch_first):
    mgu = randomize_(MGU(INPUT, HIDDEN, num_layers, batch_first=batch_first, bidirectional=bidirectional,
                         device=device, dtype=dtype))
    x = randn(STEPS, BATCH, INPUT, dtype=dtype, device=device)  # time-major for the oracle
    h0 = randn(num_layers * (2 if bidirectional else 1), BATCH, HIDDEN, dtype=dtype, device=device, seed=1)
    params = {name: value.double() for name, value in mgu.named_parameters()}
    output, h_n = oracle_layers(x.double(), h0.double(), params, num_layers, bidirectional)
    if batch_first:
        x, output = x.transpose(0, 1), output.transpose(0, 1)
    torch.testing.assert_close(mgu(x, h0), (output.to(dtype), h_n.to(dtype)))


def test_zero_initial_state_by_default():
    mgu = MGU(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    x = randn(STEPS, BATCH, INPUT, dtype=torch.float32)
    torch.testing.assert_close(mgu(x), mgu(x, torch.zeros(4, BATCH, HIDDEN)))


def test_cell_gradcheck():
    call, params = functional_call_of(randomize_(MGUCell(2, 3, dtype=torch.float64)))
    inputs = [randn(2, 2, seed=0), randn(2, 3, seed=1)]
    assert torch.autograd.gradcheck(call, [t.requires_grad_() for t in inputs] + params)


def test_layer_gradcheck():
    call, params = functional_call_of(randomize_(MGU(2, 2, num_layers=2, bidirectional=True, dtype=torch.float64)))
    inputs = [randn(3, 2, 2, seed=0), randn(4, 2, 2, seed=1)]
    assert torch.autograd.gradcheck(call, [t.requires_grad_() for t in inputs] + params)


@pytest.mark.parametrize("device", DEVICES)
def test_runs_on_device(device):
    h = MGUCell(INPUT, HIDDEN, device=device)(torch.zeros(BATCH, INPUT, device=device))
    assert h.shape == (BATCH, HIDDEN) and h.device.type == device

    mgu = MGU(INPUT, HIDDEN, num_layers=2, bidirectional=True, batch_first=True, device=device)
    output, h_n = mgu(torch.zeros(BATCH, STEPS, INPUT, device=device))
    assert output.shape == (BATCH, STEPS, 2 * HIDDEN) and h_n.shape == (4, BATCH, HIDDEN)
    output.sum().backward()
    assert all(p.grad is not None and p.grad.device.type == device for p in mgu.parameters())


# ---------------------------------------------------------------------------------------------
# The MGU is a GRU with tied gates, and costs two thirds of one.


def count(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


@pytest.mark.parametrize("input_size, hidden_size", [(1, 1), (3, 4), (7, 2)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (3, True)])
def test_two_thirds_of_a_gru(input_size, hidden_size, bias, num_layers, bidirectional):
    assert 3 * count(MGUCell(input_size, hidden_size, bias)) == 2 * count(GRUCell(input_size, hidden_size, bias))
    mgu = MGU(input_size, hidden_size, num_layers, bias, bidirectional=bidirectional)
    gru = GRU(input_size, hidden_size, num_layers, bias, bidirectional=bidirectional)
    assert 3 * count(mgu) == 2 * count(gru)


def test_is_a_cho_gru_with_reset_gate_f_and_update_gate_one_minus_f():
    mgu = randomize_(MGU(INPUT, HIDDEN, num_layers=2, bidirectional=True, dtype=torch.float64))
    gru = GRU(INPUT, HIDDEN, num_layers=2, bidirectional=True, reset_after=False, dtype=torch.float64)
    with torch.no_grad():
        for name, target in gru.named_parameters():
            forget, candidate = getattr(mgu, name).chunk(2)
            # r = f; z = sigmoid(-a_f) = 1 - f, so h' = (1 - z) n + z h = f n + (1 - f) h.
            target.copy_(torch.cat([forget, -forget, candidate]))
    x, h0 = randn(STEPS, BATCH, INPUT), randn(4, BATCH, HIDDEN, seed=1)
    # The GRU's parameters share the MGU's names but not their shapes: compare input and state gradients only.
    torch.testing.assert_close(forward_backward(mgu, x, h0, parameters=False),
                               forward_backward(gru, x, h0, parameters=False))


# ---------------------------------------------------------------------------------------------
# Errors.


def test_input_errors():
    cell, mgu = MGUCell(3, 5), MGU(3, 5, num_layers=2, bidirectional=True)
    with pytest.raises(ValueError, match=r"expected input of shape \(B, 3\) or \(3,\), got \(2, 3, 1\)"):
        cell(torch.zeros(2, 3, 1))
    with pytest.raises(ValueError, match=r"expected hx of shape \(5,?\), got \(1, 5\)"):
        cell(torch.zeros(3), torch.zeros(1, 5))
    with pytest.raises(ValueError, match=r"expected hx of shape \(4, 2, 5\) .* got \(2, 2, 5\)"):
        mgu(torch.zeros(7, 2, 3), torch.zeros(2, 2, 5))
    with pytest.raises(TypeError, match=r"expected input to be a torch.Tensor, got list"):
        mgu([[0.0, 0.0, 0.0]])


def test_step_function_errors():
    rows = r"expected weight_ih with 2\*H = 10 rows \(gate blocks f, n\), got shape \(15, 3\)"
    with pytest.raises(ValueError, match=rows):
        F.mgu_step(torch.zeros(2, 3), torch.zeros(2, 5), torch.zeros(15, 3), torch.zeros(10, 5))
