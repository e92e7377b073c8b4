"""rnncourse.inside: the gate traces reproduce the layers' outputs and the gates' equations; the
LSTM Jacobian product matches autograd's gradient of h_T."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import rnncourse
from rnncourse.inside import gru_gate_trace, lstm_gate_trace, lstm_jacobian_products

T, B, I, H = 6, 3, 2, 4


def inputs(batch=B, seed=0):
    return torch.randn(T, batch, I, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("make", [lambda: rnncourse.LSTM(I, H), lambda: nn.LSTM(I, H)])
def test_lstm_trace_reproduces_the_layer_and_its_cell_update(make):
    torch.manual_seed(0)
    lstm = make().double()
    x = inputs()
    trace = lstm_gate_trace(lstm, x)
    output, (_, c_n) = lstm(x)
    torch.testing.assert_close(trace["h"], output.detach())
    torch.testing.assert_close(trace["c"][-1], c_n[0].detach())
    previous = torch.cat([torch.zeros(1, B, H, dtype=x.dtype), trace["c"][:-1]])
    torch.testing.assert_close(trace["c"], trace["f"] * previous + trace["i"] * trace["g"])
    torch.testing.assert_close(trace["h"], trace["o"] * torch.tanh(trace["c"]))


@pytest.mark.parametrize("make", [lambda: rnncourse.GRU(I, H), lambda: nn.GRU(I, H)])
def test_gru_trace_reproduces_the_layer_and_its_update(make):
    torch.manual_seed(0)
    gru = make().double()
    x = inputs()
    trace = gru_gate_trace(gru, x)
    output, _ = gru(x)
    torch.testing.assert_close(trace["h"], output.detach())
    previous = torch.cat([torch.zeros(1, B, H, dtype=x.dtype), trace["h"][:-1]])
    torch.testing.assert_close(trace["h"], (1 - trace["z"]) * trace["n"] + trace["z"] * previous)


def test_traces_reject_wrong_layers_and_shapes():
    with pytest.raises(ValueError, match="4 blocks"):
        lstm_gate_trace(rnncourse.GRU(I, H), inputs())
    with pytest.raises(ValueError, match=r"\(T, B, I\)"):
        gru_gate_trace(rnncourse.GRU(I, H), inputs()[0])
    with pytest.raises(ValueError, match="one sequence"):
        lstm_jacobian_products(rnncourse.LSTM(I, H).double(), inputs())


def test_lstm_jacobian_product_matches_autograd_and_belt_is_the_forget_product():
    torch.manual_seed(0)
    lstm = rnncourse.LSTM(I, H).double()
    x = inputs(batch=1)
    full, belt = lstm_jacobian_products(lstm, x)
    assert full.shape == belt.shape == (T,)
    assert full[-1] == pytest.approx(1.0) and belt[-1] == pytest.approx(1.0)
    # Oracle for step 1: d h_T / d (h_1, c_1) by autograd through the layer from that state.
    trace = lstm_gate_trace(lstm, x)
    state = torch.cat([trace["h"][0], trace["c"][0]], dim=-1)  # (1, 2H)

    def h_T(state):
        output, _ = lstm(x[1:], (state[:, :H].unsqueeze(0), state[:, H:].unsqueeze(0)))
        return output[-1, 0]

    jacobian = torch.autograd.functional.jacobian(h_T, state)[:, 0, :]  # (H, 2H)
    assert full[0].item() == pytest.approx(torch.linalg.matrix_norm(jacobian, ord=2).item(), rel=1e-10)
    expected_belt = trace["f"][1:, 0].prod(dim=0).mean()
    assert belt[0].item() == pytest.approx(expected_belt.item(), rel=1e-10)
