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

With ``implementation="compiled"`` the step is also given to ``torch.compile`` (the step, not the
time loop, whose graph would grow with the sequence length), which fuses its elementwise work into
a few kernels. The options of that call are :data:`COMPILE_OPTIONS`. On a CPU it was measured no
faster than the fast path (LSTM with peepholes, T=100, B=32, I=128, H=256: 62.3 ms eager, 62.6 ms
compiled, forward and backward) after a compilation of about 15 s, so no automatic choice takes
it; on a GPU, where each elementwise operation is a kernel launch, it is the one to try for the
variants torch has no kernel for.

The fast path runs in the same time loop (:func:`~rnncourse.recurrent.unroll.unroll`), so lengths, the
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


def hidden_product(weight: Tensor) -> Callable[[Tensor, Tensor], Tensor]:
    """``(base, h) -> base + h @ weight^T`` in one ``addmm``; the transpose is taken once, as a view.

    (Batching the weight gradient of all steps into one product, with a custom autograd function,
    was measured no faster on a CPU than autograd's per-step accumulation, so it is not done.)
    """
    weight_t = weight.T  # (H, G*H)
    return lambda base, h: torch.addmm(base, h, weight_t)


def _sum(*biases):
    present = [b for b in biases if b is not None]
    return None if not present else present[0] if len(present) == 1 else sum(present[1:], present[0])


def elman_kernel(p: dict, nonlinearity: str = "tanh") -> Kernel:
    product = hidden_product(p["weight_hh"])
    act = torch.tanh if nonlinearity == "tanh" else torch.relu

    def step(xp: Tensor, state: State) -> State:
        return (act(product(xp, state[0])),)  # (B, H)
    return Kernel(project_all(p["weight_ih"], _sum(p.get("bias_ih"), p.get("bias_hh"))), step)


def lstm_kernel(p: dict, forget_gate: bool = True, peephole: bool = False, coupled: bool = False,
                forget_bias=None) -> Kernel:
    product, weight_hr = hidden_product(p["weight_hh"]), p.get("weight_hr")  # weight_hr (P, H) or None
    four = forget_gate and not coupled  # blocks i, f, g, o; else i, g, o
    w_ci, w_cf, w_co = p.get("weight_ci"), p.get("weight_cf"), p.get("weight_co")  # (H,) each, or None

    def step(xp: Tensor, state: State) -> State:
        h, c = state
        # chunk, not indexing: one backward node that concatenates the blocks' gradients.
        blocks = product(xp, h).chunk(4 if four else 3, 1)  # G x (B, H)
        pre_i, pre_g, pre_o = (blocks[0], blocks[2], blocks[3]) if four else blocks
        input_gate = torch.sigmoid(torch.addcmul(pre_i, w_ci, c) if peephole else pre_i)  # (B, H)
        candidate = torch.tanh(pre_g)  # (B, H)
        if four:
            forget = torch.sigmoid(torch.addcmul(blocks[1], w_cf, c) if peephole else blocks[1])  # (B, H)
            c_new = torch.addcmul(forget * c, input_gate, candidate)  # (B, H)
        elif coupled:  # f = 1 - i: c' = c + i (g - c)
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
    sizes = [2 * hidden, hidden]  # the r, z blocks and the n block
    if reset_after:
        # b_hr, b_hz fold into the projection; b_hn stays inside the reset: r * (W_hn h + b_hn).
        folded = None if bias_hh is None else torch.cat([bias_hh[:2 * hidden], torch.zeros_like(bias_hh[2 * hidden:])])
        inner = None if bias_hh is None else torch.cat([torch.zeros_like(bias_hh[:2 * hidden]), bias_hh[2 * hidden:]])
        weight_hh_t = weight_hh.T  # (H, 3H)

        def step(xp: Tensor, state: State) -> State:
            h = state[0]
            hh = h @ weight_hh_t if inner is None else torch.addmm(inner, h, weight_hh_t)  # (B, 3H)
            x_rz, x_n = xp.split(sizes, 1)  # (B, 2H), (B, H)
            h_rz, h_n = hh.split(sizes, 1)
            reset, update = torch.sigmoid(x_rz + h_rz).chunk(2, 1)  # 2 x (B, H)
            candidate = torch.tanh(torch.addcmul(x_n, reset, h_n))  # (B, H)
            return (torch.lerp(candidate, h, update),)  # (1 - z) n + z h
        return Kernel(project_all(p["weight_ih"], _sum(bias_ih, folded)), step)
    gates_product, candidate_product = hidden_product(weight_hh[:2 * hidden]), hidden_product(weight_hh[2 * hidden:])

    def step_before(xp: Tensor, state: State) -> State:
        h = state[0]
        x_rz, x_n = xp.split(sizes, 1)  # (B, 2H), (B, H)
        reset, update = torch.sigmoid(gates_product(x_rz, h)).chunk(2, 1)  # 2 x (B, H)
        candidate = torch.tanh(candidate_product(x_n, reset * h))  # (B, H)
        return (torch.lerp(candidate, h, update),)
    return Kernel(project_all(p["weight_ih"], _sum(bias_ih, bias_hh)), step_before)


def mgu_kernel(p: dict) -> Kernel:
    weight_hh = p["weight_hh"]
    hidden = weight_hh.shape[1]
    gate_product, candidate_product = hidden_product(weight_hh[:hidden]), hidden_product(weight_hh[hidden:])

    def step(xp: Tensor, state: State) -> State:
        h = state[0]
        x_f, x_n = xp.chunk(2, 1)  # 2 x (B, H)
        forget = torch.sigmoid(gate_product(x_f, h))  # (B, H)
        candidate = torch.tanh(candidate_product(x_n, forget * h))  # (B, H)
        return (torch.lerp(h, candidate, forget),)  # (1 - f) h + f h~
    return Kernel(project_all(p["weight_ih"], _sum(p.get("bias_ih"), p.get("bias_hh"))), step)


#: The keyword arguments of ``torch.compile`` for ``implementation="compiled"``.
COMPILE_OPTIONS: dict = {"dynamic": False}


def compiled(kernel: Kernel) -> Kernel:
    """``kernel`` with its step compiled; compiled graphs are cached by torch and shared by every layer."""
    return Kernel(kernel.project, torch.compile(kernel.step, **COMPILE_OPTIONS))


#: The fast kernel of each cell family, by cell class (exact class: a subclass may change the step).
KERNELS = {ElmanCell: elman_kernel, LSTMCell: lstm_kernel, GRUCell: gru_kernel, MGUCell: mgu_kernel}


def fast_unroll(kernel: Kernel, inputs: Tensor, state: State, reverse: bool = False, *, lengths=None,
                time_index: bool = False) -> tuple[Tensor, State]:
    """:func:`~rnncourse.recurrent.unroll.unroll` with the input projection done once for all steps."""
    return unroll(kernel.step, kernel.project(inputs), state, reverse, lengths=lengths)
