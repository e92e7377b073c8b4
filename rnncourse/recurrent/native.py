"""Dispatch to torch's own recurrent kernels (``torch._VF``; cuDNN on a GPU) for the variants torch has.

torch implements the Elman network (tanh or ReLU), the standard LSTM (with or without ``proj_size``)
and the GRU with the reset after the hidden product. For those, with torch's parameter layout
(which :class:`~rnncourse.recurrent.RecurrentLayers` keeps), the whole stack runs in one call of
torch's kernel, as ``torch.nn.LSTM.forward`` does. Variable lengths go through a packed sequence,
as with ``nn.LSTM``.

Two more LSTM variants are torch's LSTM with weights derived from their own, exactly:

- coupled gates (``f = 1 - i``): since ``1 - sigma(a) = sigma(-a)``, a forget block that is minus
  the input block (weights and biases) gives ``f = 1 - i``;
- no forget gate (``c' = c + i g``): a forget block of zero weights and a bias of 50 gives
  ``f = sigma(50)``, which is exactly 1 in float32 and float64, so ``f c = c``.

The derived ``(4H, ·)`` weights are built from the parameters at every call, so gradients reach
the parameters through them. The peephole variants, Cho et al.'s GRU and the MGU have no torch
kernel; they take the fast path of :mod:`rnncourse.recurrent.fast`.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, _VF
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ..cells.base import State
from ..cells.elman import ElmanCell
from ..cells.gru import GRUCell
from ..cells.lstm import LSTMCell


#: The bias of the derived forget block of an LSTM without a forget gate: sigmoid(50) == 1 exactly.
OPEN_FORGET_GATE = 50.0


def native_kernel(cell_class: type, options: dict) -> Callable | None:
    """torch's kernel for this cell class and options, or ``None`` where torch has no such model."""
    if cell_class is LSTMCell:
        return None if options.get("peephole") else _VF.lstm
    if cell_class is GRUCell:
        return _VF.gru if options.get("reset_after", True) else None
    if cell_class is ElmanCell:
        return _VF.rnn_tanh if options.get("nonlinearity", "tanh") == "tanh" else _VF.rnn_relu
    return None


def lstm_weights(params: dict[str, Tensor], forget_gate: bool = True, coupled: bool = False, **_) -> list[Tensor]:
    """One layer and direction's weights in torch's LSTM layout ``i, f, g, o``, derived for the
    coupled and no-forget-gate variants as the module docstring explains; biases always present
    for the no-forget-gate variant (its open forget gate needs one)."""
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    if forget_gate and not coupled:
        return [params[name] for name in (*names, "weight_hr") if name in params]
    weights = []
    for name in names:
        value = params.get(name)
        if value is None:
            if coupled:
                continue
            value = params["weight_ih"].new_zeros(params["weight_ih"].shape[0])  # (3H,): no bias of its own
        i, g, o = value.chunk(3)
        if coupled:
            forget = -i  # sigma(-a) = 1 - sigma(a)
        else:
            forget = torch.full_like(i, OPEN_FORGET_GATE if name == "bias_ih" else 0.0)
        weights.append(torch.cat([i, forget, g, o]))  # (4H, ·)
    return weights + ([params["weight_hr"]] if "weight_hr" in params else [])


def native_run(kernel: Callable, weights: list[Tensor], bias: bool, num_layers: int, dropout: float,
               training: bool, bidirectional: bool, inputs: Tensor, state: State,
               lengths: Tensor | None) -> tuple[Tensor, State]:
    """The whole stack in one call of ``kernel``: ``inputs (T, B, I)``, ``state`` ``(N_L*D, B, ·)`` per
    tensor, ``weights`` flat in torch's order. Returns ``output (T, B, D*H)`` (zero at padded steps)
    and the final state."""
    hx = state if len(state) == 2 else state[0]
    options = (weights, bias, num_layers, dropout, training, bidirectional)
    if lengths is None:
        output, *finals = kernel(inputs, hx, *options, False)
        return output, tuple(finals)
    packed = pack_padded_sequence(inputs, lengths, enforce_sorted=False)
    order, unorder = packed.sorted_indices, packed.unsorted_indices
    hx = tuple(s.index_select(1, order) for s in state)  # in the packed (decreasing length) order
    data, *finals = kernel(packed.data, packed.batch_sizes, hx if len(hx) == 2 else hx[0], *options)
    output, _ = pad_packed_sequence(PackedSequence(data, packed.batch_sizes, order, unorder),
                                    total_length=inputs.shape[0])  # (T, B, D*H)
    return output, tuple(s.index_select(1, unorder) for s in finals)
