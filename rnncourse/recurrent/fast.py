"""Fast paths of the layers, equal to the reference step functions of :mod:`rnncourse.functional`.

The reference path calls a readable step function at every step: two matrix products (input and
hidden), a split into gate blocks and one operation per gate. The fast path computes the same
numbers with fewer operations:

- the input projection of *all* time steps in one matrix product, ``(T*B, I) @ (I, G*H)``, with
  every bias that sits outside a reset folded into it;
- one ``addmm`` per step for all gate blocks of the hidden product (two where a reset gate acts
  before the product: Cho et al.'s GRU and the MGU);
- fused elementwise work: one ``sigmoid`` over all sigmoid blocks, ``addcmul`` for peepholes,
  ``lerp`` for the GRU's and MGU's interpolation; no per-step copies of the weights.

It runs in the same time loop (:func:`~rnncourse.recurrent.unroll.unroll`), so lengths, the
backward direction and dropout behave exactly as on the reference path; tests compare both,
forward and backward, in float32 and float64.

Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H`` hidden units, ``G`` gate
blocks, ``P`` projected units.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch
from torch import Tensor

from ..cells.base import State
from ..cells.elman import ElmanCell
from ..cells.gru import GRUCell
from ..cells.lstm import LSTMCell
from ..cells.mgu import MGUCell
from .unroll import unroll


class Kernel(NamedTuple):
    """One layer and direction on the fast path: ``project`` all inputs, then ``step`` per time step."""

    project: Callable[[Tensor], Tensor]  # (T, B, I) -> (T, B, G*H)
    step: Callable[[Tensor, State], State]  # (projected x_t (B, G*H), state) -> state


def project_all(weight_ih: Tensor, bias: Tensor | None) -> Callable[[Tensor], Tensor]:
    """``x -> x W_ih^T + bias`` for every step at once: one ``(T*B, I) @ (I, G*H)`` product."""
    def project(inputs: Tensor) -> Tensor:
        steps, batch, features = inputs.shape
        flat = inputs.reshape(steps * batch, features)  # (T*B, I)
        out = flat @ weight_ih.T if bias is None else torch.addmm(bias, flat, weight_ih.T)  # (T*B, G*H)
        return out.view(steps, batch, -1)  # (T, B, G*H)
    return project


def _sum(*biases):
    present = [b for b in biases if b is not None]
    return None if not present else present[0] if len(present) == 1 else sum(present[1:], present[0])


def elman_kernel(p: dict, nonlinearity: str = "tanh") -> Kernel:
    weight_hh_t = p["weight_hh"].T  # (H, H), a view
    act = torch.tanh if nonlinearity == "tanh" else torch.relu

    def step(xp: Tensor, state: State) -> State:
        return (act(torch.addmm(xp, state[0], weight_hh_t)),)  # (B, H)
    return Kernel(project_all(p["weight_ih"], _sum(p.get("bias_ih"), p.get("bias_hh"))), step)


def lstm_kernel(p: dict, forget_gate: bool = True, peephole: bool = False, coupled: bool = False,
                forget_bias=None) -> Kernel:
    weight_hh_t, weight_hr = p["weight_hh"].T, p.get("weight_hr")  # (P, G*H), (P, H) or None
    four = forget_gate and not coupled  # blocks i, f, g, o; else i, g, o
    if peephole:
        w_if = torch.stack([p["weight_ci"], p["weight_cf"]]) if four else p["weight_ci"]  # (2, H) or (H,)
        w_co = p["weight_co"]

    def step(xp: Tensor, state: State) -> State:
        h, c = state
        gates = torch.addmm(xp, h, weight_hh_t)  # (B, G*H)
        blocks = gates.view(gates.shape[0], 4 if four else 3, -1)  # (B, G, H)
        if four:
            pre_if = torch.addcmul(blocks[:, :2], w_if, c.unsqueeze(1)) if peephole else blocks[:, :2]  # (B, 2, H)
            input_gate, forget = torch.sigmoid(pre_if).unbind(1)  # 2 x (B, H)
            candidate, pre_o = torch.tanh(blocks[:, 2]), blocks[:, 3]
            c_new = torch.addcmul(forget * c, input_gate, candidate)  # (B, H)
        else:
            pre_i = torch.addcmul(blocks[:, 0], w_if, c) if peephole else blocks[:, 0]
            input_gate, candidate, pre_o = torch.sigmoid(pre_i), torch.tanh(blocks[:, 1]), blocks[:, 2]
            if coupled:  # f = 1 - i: c' = c + i (g - c)
                c_new = torch.addcmul(c, input_gate, candidate - c)  # (B, H)
            else:  # the 1997 cell: c' = c + i g
                c_new = torch.addcmul(c, input_gate, candidate)  # (B, H)
        if peephole:
            pre_o = torch.addcmul(pre_o, w_co, c_new)  # the output gate sees the new cell
        h_new = torch.sigmoid(pre_o) * torch.tanh(c_new)  # (B, H)
        return (h_new if weight_hr is None else h_new @ weight_hr.T), c_new  # (B, P), (B, H)
    return Kernel(project_all(p["weight_ih"], _sum(p.get("bias_ih"), p.get("bias_hh"))), step)


def gru_kernel(p: dict, reset_after: bool = True) -> Kernel:
    weight_hh, bias_ih, bias_hh = p["weight_hh"], p.get("bias_ih"), p.get("bias_hh")
    hidden = weight_hh.shape[1]
    if reset_after:
        # b_hr, b_hz fold into the projection; b_hn stays inside the reset: r * (W_hn h + b_hn).
        folded = None if bias_hh is None else torch.cat([bias_hh[:2 * hidden], torch.zeros_like(bias_hh[2 * hidden:])])
        inner = None if bias_hh is None else torch.cat([torch.zeros_like(bias_hh[:2 * hidden]), bias_hh[2 * hidden:]])
        weight_hh_t = weight_hh.T  # (H, 3H)

        def step(xp: Tensor, state: State) -> State:
            h = state[0]
            hh = h @ weight_hh_t if inner is None else torch.addmm(inner, h, weight_hh_t)  # (B, 3H)
            reset, update = torch.sigmoid(xp[:, :2 * hidden] + hh[:, :2 * hidden]).chunk(2, 1)  # 2 x (B, H)
            candidate = torch.tanh(torch.addcmul(xp[:, 2 * hidden:], reset, hh[:, 2 * hidden:]))  # (B, H)
            return (torch.lerp(candidate, h, update),)  # (1 - z) n + z h
        return Kernel(project_all(p["weight_ih"], _sum(bias_ih, folded)), step)
    weight_gates_t, weight_hn_t = weight_hh[:2 * hidden].T, weight_hh[2 * hidden:].T  # (H, 2H), (H, H)

    def step_before(xp: Tensor, state: State) -> State:
        h = state[0]
        reset, update = torch.sigmoid(torch.addmm(xp[:, :2 * hidden], h, weight_gates_t)).chunk(2, 1)
        candidate = torch.tanh(torch.addmm(xp[:, 2 * hidden:], reset * h, weight_hn_t))  # (B, H)
        return (torch.lerp(candidate, h, update),)
    return Kernel(project_all(p["weight_ih"], _sum(bias_ih, bias_hh)), step_before)


def mgu_kernel(p: dict) -> Kernel:
    weight_hh = p["weight_hh"]
    hidden = weight_hh.shape[1]
    weight_hf_t, weight_hn_t = weight_hh[:hidden].T, weight_hh[hidden:].T  # 2 x (H, H)

    def step(xp: Tensor, state: State) -> State:
        h = state[0]
        forget = torch.sigmoid(torch.addmm(xp[:, :hidden], h, weight_hf_t))  # (B, H)
        candidate = torch.tanh(torch.addmm(xp[:, hidden:], forget * h, weight_hn_t))  # (B, H)
        return (torch.lerp(h, candidate, forget),)  # (1 - f) h + f h~
    return Kernel(project_all(p["weight_ih"], _sum(p.get("bias_ih"), p.get("bias_hh"))), step)


#: The fast kernel of each cell family, by cell class (exact class: a subclass may change the step).
KERNELS = {ElmanCell: elman_kernel, LSTMCell: lstm_kernel, GRUCell: gru_kernel, MGUCell: mgu_kernel}


def fast_unroll(kernel: Kernel, inputs: Tensor, state: State, reverse: bool = False, *, lengths=None,
                time_index: bool = False) -> tuple[Tensor, State]:
    """:func:`~rnncourse.recurrent.unroll.unroll` with the input projection done once for all steps."""
    return unroll(kernel.step, kernel.project(inputs), state, reverse, lengths=lengths)
