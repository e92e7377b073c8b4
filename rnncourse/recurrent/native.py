"""Dispatch to torch's own recurrent kernels (``torch._VF``; cuDNN on a GPU) for the variants torch has.

torch implements the Elman network (tanh or ReLU), the standard LSTM (with or without ``proj_size``)
and the GRU with the reset after the hidden product. For exactly those, with torch's parameter
layout (which :class:`~rnncourse.recurrent.RecurrentLayers` keeps), the whole stack runs in one
call of torch's kernel, as ``torch.nn.LSTM.forward`` does. Variable lengths go through a packed
sequence, as with ``nn.LSTM``. Everything else takes the fast path of
:mod:`rnncourse.recurrent.fast`.
"""
from __future__ import annotations

from typing import Callable

from torch import Tensor, _VF
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ..cells.base import State
from ..cells.elman import ElmanCell
from ..cells.gru import GRUCell
from ..cells.lstm import LSTMCell


def native_kernel(cell_class: type, options: dict) -> Callable | None:
    """torch's kernel for this cell class and options, or ``None`` where torch has no such model."""
    if cell_class is LSTMCell:
        standard = options.get("forget_gate", True) and not options.get("peephole") and not options.get("coupled")
        return _VF.lstm if standard else None
    if cell_class is GRUCell:
        return _VF.gru if options.get("reset_after", True) else None
    if cell_class is ElmanCell:
        return _VF.rnn_tanh if options.get("nonlinearity", "tanh") == "tanh" else _VF.rnn_relu
    return None


def native_run(kernel: Callable, weights: list[Tensor], bias: bool, num_layers: int, dropout: float,
               training: bool, bidirectional: bool, inputs: Tensor, state: State,
               lengths: Tensor | None) -> tuple[Tensor, State]:
    """The whole stack in one call of ``kernel``: ``inputs (T, B, I)``, ``state`` ``(L*D, B, ·)`` per
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
