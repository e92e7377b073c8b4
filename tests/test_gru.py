"""GRU: torch's convention against torch, Cho et al.'s reset-before form against an oracle from the paper."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from rnncourse import GRU
from rnncourse import functional as F
from rnncourse.cells import GRUCell

from helpers import (DEVICES, DTYPES, VALUE_DEVICES, forward_backward, functional_call_of, randn, randomize_,
                     stacked_oracle)

INPUT, HIDDEN, BATCH, STEPS = 3, 4, 2, 5


# ---------------------------------------------------------------------------------------------
# The oracle, unit by unit as Cho et al. (2014) write it: for unit j,
#   r_j = sigma([W_r x]_j + [U_r h]_j),  z_j = sigma([W_z x]_j + [U_z h]_j),
#   h~_j = tanh([W x]_j + [U (r * h)]_j)   (reset before; after: r_j * [U h]_j),
#   h'_j = z_j h_j + (1 - z_j) h~_j,
# with torch's two biases added to each bracket.


def oracle_cell(x, h, p, reset_after=True):
    """One GRU step on a batch, computed one sample and one unit at a time."""
    hidden = h.shape[-1]
    weights = {gate: (p["weight_ih"][k * hidden:(k + 1) * hidden], p["weight_hh"][k * hidden:(k + 1) * hidden])
               for k, gate in enumerate("rzn")}
    biases = {gate: (p["bias_ih"][k * hidden:(k + 1) * hidden], p["bias_hh"][k * hidden:(k + 1) * hidden])
              if "bias_ih" in p else (torch.zeros(hidden, dtype=h.dtype, device=h.device),) * 2
              for k, gate in enumerate("rzn")}
    rows = []
    for xb, hb in zip(x, h):
        r = torch.stack([torch.sigmoid(weights["r"][0][j] @ xb + biases["r"][0][j]
                                       + weights["r"][1][j] @ hb + biases["r"][1][j]) for j in range(hidden)])
        new = []
        for j in range(hidden):
            z = torch.sigmoid(weights["z"][0][j] @ xb + biases["z"][0][j] + weights["z"][1][j] @ hb + biases["z"][1][j])
            if reset_after:
                recurrent = r[j] * (weights["n"][1][j] @ hb + biases["n"][1][j])
            else:
                recurrent = weights["n"][1][j] @ (r * hb) + biases["n"][1][j]
            candidate = torch.tanh(weights["n"][0][j] @ xb + biases["n"][0][j] + recurrent)
            new.append(z * hb[j] + (1 - z) * candidate)
        rows.append(torch.stack(new))
    return torch.stack(rows)


def oracle_layers(x, h0, params, num_layers, bidirectional, reset_after):
    """Stacked (bidirectional) GRU over time-major ``x (T, B, I)`` from torch-named ``params``."""
    return stacked_oracle(lambda x_t, h, p: oracle_cell(x_t, h, p, reset_after), x, h0, params, num_layers,
                          bidirectional)


# ---------------------------------------------------------------------------------------------
# torch's convention is torch's GRU, forward and backward.


@pytest.mark.parametrize("device", VALUE_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_layer_matches_torch(device, dtype, num_layers, bidirectional, batch_first, with_state):
    options = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                   device=device, dtype=dtype)
    reference = randomize_(nn.GRU(INPUT, HIDDEN, **options))
    ours = GRU(INPUT, HIDDEN, **options)
    ours.load_state_dict(reference.state_dict())
    x = randn(*((BATCH, STEPS) if batch_first else (STEPS, BATCH)), INPUT, dtype=dtype, device=device)
    rows = num_layers * (2 if bidirectional else 1)
    h0 = randn(rows, BATCH, HIDDEN, dtype=dtype, device=device, seed=1) if with_state else None
    torch.testing.assert_close(forward_backward(ours, x, h0), forward_backward(reference, x, h0))


@pytest.mark.parametrize("device", VALUE_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
def test_cell_matches_torch(device, dtype, bias, batched, with_state):
    reference = randomize_(nn.GRUCell(INPUT, HIDDEN, bias=bias, device=device, dtype=dtype))
    ours = GRUCell(INPUT, HIDDEN, bias=bias, device=device, dtype=dtype)
    ours.load_state_dict(reference.state_dict())
    batch = (BATCH,) if batched else ()
    x = randn(*batch, INPUT, dtype=dtype, device=device)
    h = randn(*batch, HIDDEN, dtype=dtype, device=device, seed=1) if with_state else None
    torch.testing.assert_close(forward_backward(ours, x, h), forward_backward(reference, x, h))


def test_same_seed_gives_torch_initial_weights():
    torch.manual_seed(0)
    reference = nn.GRU(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    torch.manual_seed(0)
    ours = GRU(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    torch.testing.assert_close(ours.state_dict(), reference.state_dict(), rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------
# Both reset placements against the oracle, by gradcheck, and on every device.


@pytest.mark.parametrize("device", VALUE_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_oracle(device, dtype, reset_after, bias):
    cell = randomize_(GRUCell(INPUT, HIDDEN, bias=bias, reset_after=reset_after, device=device, dtype=dtype))
    x, h = randn(BATCH, INPUT, dtype=dtype, device=device), randn(BATCH, HIDDEN, dtype=dtype, device=device, seed=1)
    params = {name: value.double() for name, value in cell.named_parameters()}
    torch.testing.assert_close(cell(x, h), oracle_cell(x.double(), h.double(), params, reset_after).to(dtype))


@pytest.mark.parametrize("device", VALUE_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, True), (3, False), (3, True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_cho_layer_matches_oracle(device, dtype, num_layers, bidirectional, batch_first):
    gru = randomize_(GRU(INPUT, HIDDEN, num_layers, batch_first=batch_first, bidirectional=bidirectional,
                         reset_after=False, device=device, dtype=dtype))
    x = randn(STEPS, BATCH, INPUT, dtype=dtype, device=device)  # time-major for the oracle
    h0 = randn(num_layers * (2 if bidirectional else 1), BATCH, HIDDEN, dtype=dtype, device=device, seed=1)
    params = {name: value.double() for name, value in gru.named_parameters()}
    output, h_n = oracle_layers(x.double(), h0.double(), params, num_layers, bidirectional, reset_after=False)
    if batch_first:
        x, output = x.transpose(0, 1), output.transpose(0, 1)
    torch.testing.assert_close(gru(x, h0), (output.to(dtype), h_n.to(dtype)))


@pytest.mark.parametrize("reset_after", [True, False])
def test_cell_gradcheck(reset_after):
    call, params = functional_call_of(randomize_(GRUCell(2, 3, reset_after=reset_after, dtype=torch.float64)))
    inputs = [randn(2, 2, seed=0), randn(2, 3, seed=1)]
    assert torch.autograd.gradcheck(call, [t.requires_grad_() for t in inputs] + params)


@pytest.mark.parametrize("reset_after", [True, False])
def test_layer_gradcheck(reset_after):
    gru = randomize_(GRU(2, 2, num_layers=2, bidirectional=True, reset_after=reset_after, dtype=torch.float64))
    call, params = functional_call_of(gru)
    inputs = [randn(3, 2, 2, seed=0), randn(4, 2, 2, seed=1)]
    assert torch.autograd.gradcheck(call, [t.requires_grad_() for t in inputs] + params)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reset_after", [True, False])
def test_runs_on_device(device, reset_after):
    cell = GRUCell(INPUT, HIDDEN, reset_after=reset_after, device=device)
    h = cell(torch.zeros(BATCH, INPUT, device=device))
    assert h.shape == (BATCH, HIDDEN) and h.device.type == device

    gru = GRU(INPUT, HIDDEN, num_layers=2, bidirectional=True, batch_first=True, reset_after=reset_after,
              device=device)
    output, h_n = gru(torch.zeros(BATCH, STEPS, INPUT, device=device))
    assert output.shape == (BATCH, STEPS, 2 * HIDDEN) and h_n.shape == (4, BATCH, HIDDEN)
    output.sum().backward()
    assert all(p.grad is not None and p.grad.device.type == device for p in gru.parameters())


# ---------------------------------------------------------------------------------------------
# The two reset placements: different models that meet where the reset gate is fully open.


def cho_and_torch_pair(reset_bias: float | None):
    cho = randomize_(GRU(INPUT, HIDDEN, num_layers=2, reset_after=False, dtype=torch.float64))
    if reset_bias is not None:
        with torch.no_grad():
            for layer in (0, 1):
                getattr(cho, f"bias_ih_l{layer}")[:HIDDEN] = reset_bias
    standard = GRU(INPUT, HIDDEN, num_layers=2, dtype=torch.float64)
    standard.load_state_dict(cho.state_dict())
    return cho, standard


def test_reset_placement_matters_in_general():
    cho, standard = cho_and_torch_pair(reset_bias=None)
    x = randn(STEPS, BATCH, INPUT)
    h0 = randn(2, BATCH, HIDDEN, seed=1)
    assert not torch.allclose(cho(x, h0)[0], standard(x, h0)[0])


def test_reset_placements_agree_when_the_reset_gate_is_saturated():
    # sigmoid(50) is 1 in float64: r = 1, and W (r * h) + b equals r * (W h + b).
    cho, standard = cho_and_torch_pair(reset_bias=50.0)
    x = randn(STEPS, BATCH, INPUT)
    h0 = randn(2, BATCH, HIDDEN, seed=1)
    torch.testing.assert_close(forward_backward(cho, x, h0), forward_backward(standard, x, h0))


def test_update_gate_at_one_copies_the_state():
    """torch's convention: z = 1 keeps h, whatever the input."""
    cell = randomize_(GRUCell(INPUT, HIDDEN, dtype=torch.float64))
    with torch.no_grad():
        cell.bias_ih[HIDDEN:2 * HIDDEN] = 50.0
    h = randn(BATCH, HIDDEN, seed=1)
    torch.testing.assert_close(cell(randn(BATCH, INPUT), h), h)


# ---------------------------------------------------------------------------------------------
# Errors.


@pytest.mark.parametrize("make", [GRUCell, GRU])
def test_reset_after_must_be_a_bool(make):
    with pytest.raises(ValueError, match=r"expected reset_after to be one of True, False, got 'before'"):
        make(INPUT, HIDDEN, reset_after="before")


def test_input_errors():
    cell, gru = GRUCell(3, 5), GRU(3, 5, batch_first=True)
    with pytest.raises(ValueError, match=r"expected input of shape \(B, 3\) or \(3,\), got \(2, 4\)"):
        cell(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"expected hx of shape \(2, 5\), got \(2, 4\)"):
        cell(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"expected input with 3 features .*\(B, T, 3\), got \(2, 7, 4\)"):
        gru(torch.zeros(2, 7, 4))
    with pytest.raises(ValueError, match=r"expected hx of shape \(1, 2, 5\) .* got \(2, 5\)"):
        gru(torch.zeros(2, 7, 3), torch.zeros(2, 5))
    with pytest.raises(TypeError, match=r"expected hx of dtype torch.float32 .* got torch.float64"):
        gru(torch.zeros(2, 7, 3), torch.zeros(1, 2, 5, dtype=torch.float64))


def test_step_function_errors():
    rows = r"expected weight_hh with 3\*H = 15 rows \(gate blocks r, z, n\), got shape \(10, 5\)"
    with pytest.raises(ValueError, match=rows):
        F.gru_step(torch.zeros(2, 3), torch.zeros(2, 5), torch.zeros(15, 3), torch.zeros(10, 5))
