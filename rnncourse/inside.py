"""What a trained gated layer does inside: its gates and states at every step of a sequence, and
the Jacobian products of the LSTM's two-part state.

Chapter 3 multiplies the LSTM's one-step Jacobians (:func:`lstm_jacobian_products`); chapter 4
plots the gates of trained cells over a sequence (:func:`lstm_gate_trace`, :func:`gru_gate_trace`).
Both work on the first layer, forward direction, of :class:`rnncourse.LSTM` / :class:`rnncourse.GRU`
(or ``torch.nn.LSTM`` / ``torch.nn.GRU``, whose parameter names are the same).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from . import functional as F


def _first_layer(layer: nn.Module, blocks: int, inputs: Tensor) -> tuple[Tensor, ...]:
    """``(weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0)`` of ``layer``, checked."""
    if inputs.dim() != 3:
        raise ValueError(f"expected inputs of shape (T, B, I), got {tuple(inputs.shape)}")
    weight_ih = getattr(layer, "weight_ih_l0", None)
    if weight_ih is None or weight_ih.shape[0] != blocks * layer.hidden_size:
        raise ValueError(f"expected a layer with weight_ih_l0 of {blocks} blocks of hidden_size rows")
    if getattr(layer, "batch_first", False):
        raise ValueError("expected a time-major layer (batch_first=False)")
    return (weight_ih, layer.weight_hh_l0, getattr(layer, "bias_ih_l0", None), getattr(layer, "bias_hh_l0", None))


@torch.no_grad()
def lstm_gate_trace(lstm: nn.Module, inputs: Tensor) -> dict[str, Tensor]:
    r"""The gates :math:`i_t, f_t, g_t, o_t` and states :math:`c_t, h_t` of an LSTM's first layer
    (gate order ``i, f, g, o``, zero initial state) at every step of ``inputs (T, B, I)``.

    Returns a dict with keys ``"i", "f", "g", "o", "c", "h"``, each ``(T, B, H)``.
    """
    weights = _first_layer(lstm, 4, inputs)
    h = c = inputs.new_zeros(inputs.shape[1], lstm.hidden_size)  # (B, H)
    trace = {name: [] for name in "ifgoch"}
    for x in inputs:  # x: (B, I)
        pre = F.linear(x, weights[0], weights[2]) + F.linear(h, weights[1], weights[3])  # (B, 4H)
        a_i, a_f, a_g, a_o = pre.chunk(4, dim=-1)  # 4 x (B, H)
        gates = {"i": torch.sigmoid(a_i), "f": torch.sigmoid(a_f), "g": torch.tanh(a_g), "o": torch.sigmoid(a_o)}
        h, c = F.lstm_step(x, (h, c), *weights)  # (B, H) each, from the package's step
        for name, value in {**gates, "c": c, "h": h}.items():
            trace[name].append(value)
    return {name: torch.stack(values) for name, values in trace.items()}  # each (T, B, H)


@torch.no_grad()
def gru_gate_trace(gru: nn.Module, inputs: Tensor) -> dict[str, Tensor]:
    r"""The reset gate :math:`r_t`, update gate :math:`z_t`, candidate :math:`n_t` and state
    :math:`h_t` of a GRU's first layer (PyTorch's convention: reset after the product, zero initial
    state) at every step of ``inputs (T, B, I)``.

    Returns a dict with keys ``"r", "z", "n", "h"``, each ``(T, B, H)``.
    """
    if not getattr(gru, "reset_after", True):
        raise ValueError("expected a GRU with the reset after the product (reset_after=True)")
    weights = _first_layer(gru, 3, inputs)
    h = inputs.new_zeros(inputs.shape[1], gru.hidden_size)  # (B, H)
    trace = {name: [] for name in "rznh"}
    for x in inputs:  # x: (B, I)
        input_r, input_z, input_n = F.linear(x, weights[0], weights[2]).chunk(3, dim=-1)  # 3 x (B, H)
        hidden_r, hidden_z, hidden_n = F.linear(h, weights[1], weights[3]).chunk(3, dim=-1)  # 3 x (B, H)
        reset = torch.sigmoid(input_r + hidden_r)  # (B, H)
        values = {"r": reset, "z": torch.sigmoid(input_z + hidden_z),
                  "n": torch.tanh(input_n + reset * hidden_n)}
        h = F.gru_step(x, h, *weights)  # (B, H), from the package's step
        for name, value in {**values, "h": h}.items():
            trace[name].append(value)
    return {name: torch.stack(values) for name, values in trace.items()}  # each (T, B, H)


def lstm_jacobian_products(lstm: nn.Module, inputs: Tensor) -> tuple[Tensor, Tensor]:
    r"""For one sequence ``inputs (T, 1, I)`` through an LSTM's first layer (zero initial state):

    - ``full (T,)``: entry ``t - 1`` is :math:`\Vert \partial h_T / \partial (h_t, c_t) \Vert_2`,
      the product of the one-step Jacobians of the whole state :math:`(h, c)`, each computed by
      autograd from :func:`rnncourse.functional.lstm_step`;
    - ``belt (T,)``: entry ``t - 1`` is the mean over units of :math:`\prod_{k=t+1}^{T} f_k`, the
      part of that product carried by the cell state alone.

    Both on the CPU, float as ``inputs``.
    """
    weights = _first_layer(lstm, 4, inputs)
    if inputs.shape[1] != 1:
        raise ValueError(f"expected one sequence, inputs of shape (T, 1, I), got {tuple(inputs.shape)}")
    trace = lstm_gate_trace(lstm, inputs)
    H, steps = lstm.hidden_size, inputs.shape[0]
    zeros = inputs.new_zeros(1, 2 * H)  # (1, 2H): the state (h_0, c_0)
    states = torch.cat([zeros, torch.cat([trace["h"][:-1, 0], trace["c"][:-1, 0]], dim=-1)])  # (T, 2H)

    def step(t):
        """(h_t, c_t) stacked, as a function of (h_{t-1}, c_{t-1}) stacked, both (1, 2H)."""
        return lambda state: torch.cat(F.lstm_step(inputs[t], (state[:, :H], state[:, H:]), *weights), dim=-1)

    product = torch.eye(2 * H, dtype=inputs.dtype, device=inputs.device)[:H]  # (H, 2H): d h_T / d (h_T, c_T)
    norms = [torch.linalg.matrix_norm(product, ord=2).item()]
    with torch.no_grad():
        for t in range(steps - 1, 0, -1):  # multiply in the Jacobian of step t+1: now d h_T / d (h_t, c_t)
            jacobian = torch.autograd.functional.jacobian(step(t), states[t:t + 1], vectorize=True)  # (1, 2H, 1, 2H)
            product = product @ jacobian[0, :, 0, :]
            norms.append(torch.linalg.matrix_norm(product, ord=2).item())
    log_forget = trace["f"][:, 0].double().log()  # (T, H)
    from_end = log_forget.flip(0).cumsum(0).flip(0)  # (T, H): sum of log f_k over k = t..T
    belt = torch.cat([from_end[1:], torch.zeros_like(from_end[:1])]).exp().mean(dim=-1)  # (T,): k = t+1..T
    return torch.tensor(norms[::-1], dtype=torch.float64), belt.cpu()
