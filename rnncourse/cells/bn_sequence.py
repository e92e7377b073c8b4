"""Sequence-wise batch normalisation (Laurent et al. 2016): ``W_x x`` normalised over batch *and* time.

Shape legend: ``T`` steps, ``B`` batch, ``I`` input features, ``H`` hidden units, ``G`` gate blocks.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .._validation import check_like, check_sequence_input
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

    def forward(self, input: Tensor, hx=None, lengths=None):
        inputs, batched = check_sequence_input(input, self.cell.input_size, self.batch_first)  # (T, B, I)
        check_like(inputs, self.cell.weight_ih, "input")
        steps, batch = inputs.shape[:2]
        mask = None  # (T, B) true at real steps
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=inputs.device)
            if tuple(lengths.shape) != (batch,):
                raise ValueError(f"expected lengths ({batch},), got {tuple(lengths.shape)}")
            mask = torch.arange(steps, device=inputs.device).unsqueeze(1) < lengths  # (T, B)
        flat = self.cell.project(inputs.reshape(steps * batch, -1), 0, None if mask is None else mask.reshape(-1))
        projected = flat.reshape(steps, batch, -1)  # (T, B, G*H)
        state = self.cell.prepare_state(hx, batch, batched, self.cell.weight_ih)
        outputs = []
        for t in range(steps):
            new = self.cell.recur(projected[t], state, t, None if mask is None else mask[t])
            if mask is not None:
                real = mask[t].unsqueeze(1)  # (B, 1)
                new = tuple(torch.where(real, n, s) for n, s in zip(new, state))
            state = new
            outputs.append(state[0] if mask is None else state[0] * mask[t].unsqueeze(1))  # (B, H)
        output = torch.stack(outputs)  # (T, B, H)
        if not batched:
            output, state = output.squeeze(1), tuple(s.squeeze(0) for s in state)
        elif self.batch_first:
            output = output.transpose(0, 1)  # (B, T, H)
        return output, state[0] if self.cell.state_count == 1 else state
