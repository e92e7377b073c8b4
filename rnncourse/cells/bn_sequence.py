"""Sequence-wise batch normalisation (Laurent et al. 2016): ``W_x x`` normalised over batch *and* time.

Shape legend: ``T`` steps, ``B`` batch, ``I`` input features, ``H`` hidden units, ``G`` gate blocks.
"""
from __future__ import annotations

import torch
from torch import nn

from .._validation import check_like
from ..recurrent.packed import sequence_input, sequence_output
from ..recurrent.unroll import unroll
from .bn import BNLSTMCell, BNRNNCell


class SequenceWise(nn.Module):
    """Runs a :class:`BNRNNCell` or a ``normalize="laurent"`` :class:`BNLSTMCell` built with
    ``statistics="sequence"``: the input projection ``W_x x`` of every step is computed first and
    normalised with one mean and variance per feature over all real ``(t, b)`` entries (a single
    row of running statistics), then the recurrence runs step by step on it.

    Inputs: ``input (T, B, I)`` (``(B, T, I)`` with ``batch_first``), ``hx`` as the cell takes it,
    ``lengths (B,)`` the real steps of each sequence (padding left out of the statistics, the state
    held and the output zero there). Outputs: ``(output (T, B, H), h_n)`` as
    :class:`rnncourse.Recurrent`'s.
    """

    def __init__(self, cell: BNRNNCell | BNLSTMCell, batch_first: bool = False) -> None:
        super().__init__()
        if not isinstance(cell, (BNRNNCell, BNLSTMCell)) or cell.options["statistics"] != "sequence":
            raise TypeError("expected a BNRNNCell or BNLSTMCell built with statistics='sequence', got "
                            f"{type(cell).__name__}{'' if not hasattr(cell, 'options') else cell.options}")
        self.cell, self.batch_first = cell, batch_first

    def forward(self, input, hx=None, lengths=None):
        seq = sequence_input(input, self.cell.input_size, self.batch_first, lengths)
        inputs = seq.inputs  # (T, B, I)
        check_like(inputs, self.cell.weight_ih, "input")
        steps, batch = inputs.shape[:2]
        real = None  # (T*B,) true at real steps, for the statistics
        if seq.lengths is not None:
            real = (torch.arange(steps).unsqueeze(1) < seq.lengths).reshape(-1).to(inputs.device)
        projected = self.cell.project(inputs.reshape(steps * batch, -1), 0, real).reshape(steps, batch, -1)
        state = self.cell.prepare_state(hx, batch, seq.batched, self.cell.weight_ih)
        output, state = unroll(self.cell.recur, projected, state, lengths=seq.lengths, time_index=True)  # (T, B, H)
        if not seq.batched:
            state = tuple(s.squeeze(0) for s in state)
        return sequence_output(output, seq, self.batch_first), state[0] if self.cell.state_count == 1 else state
