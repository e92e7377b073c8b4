"""A layer's input and output: padded or unbatched tensors, ``lengths``, and torch's ``PackedSequence``.

Every layer turns its input into time-major ``(T, B, I)`` plus optional ``lengths`` with
:func:`sequence_input`, runs, and gives its output back in the caller's form with
:func:`sequence_output`: ``(B, T, ·)`` with ``batch_first``, unbatched ``(T, ·)``, or a
``PackedSequence`` laid out exactly as torch's ``nn.LSTM`` returns it (same ``batch_sizes``,
``sorted_indices`` and ``unsorted_indices`` as the input). As in torch, ``hx`` and ``h_n`` are in
the batch order of the caller, not in the packed (sorted) order.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .._validation import check_sequence_input, shape_str
from .unroll import as_lengths


class SequenceInput(NamedTuple):
    inputs: Tensor  # (T, B, I), time-major
    batched: bool  # False for an unbatched (T, I) input, run as B = 1
    lengths: Tensor | None  # (B,) int64 on the CPU, None when every sequence has all T steps
    packed: PackedSequence | None  # the packed input, to lay the output out like it


def sequence_input(input, size: int, batch_first: bool, lengths=None) -> SequenceInput:
    """Validate a layer's ``input`` (tensor or ``PackedSequence``) and ``lengths``; see :class:`SequenceInput`."""
    if isinstance(input, PackedSequence):
        if lengths is not None:
            raise ValueError("a PackedSequence carries its own lengths; got lengths as well, pass one or the other")
        if input.data.dim() != 2 or input.data.shape[-1] != size:
            raise ValueError(f"expected a PackedSequence whose data is (N, {size}), got {shape_str(input.data.shape)}")
        padded, packed_lengths = pad_packed_sequence(input)  # (T, B, I), lengths in the caller's order
        return SequenceInput(padded, True, as_lengths(packed_lengths, padded.shape[1], padded.shape[0]), input)
    inputs, batched = check_sequence_input(input, size, batch_first)  # (T, B, I)
    if lengths is not None and not batched:
        raise ValueError(f"lengths need a batch of sequences, (T, B, {size}) or (B, T, {size}); got the unbatched "
                         f"input {shape_str(input.shape)}")
    return SequenceInput(inputs, batched, as_lengths(lengths, inputs.shape[1], inputs.shape[0]), None)


def sequence_output(output: Tensor, seq: SequenceInput, batch_first: bool):
    """``output (T, B, ·)`` in the form of the input: packed, ``(B, T, ·)``, ``(T, ·)`` or as it is."""
    if seq.packed is not None:
        packed = seq.packed
        order = packed.sorted_indices
        lengths = seq.lengths if seq.lengths is not None else torch.full((output.shape[1],), output.shape[0])
        if order is not None:
            output = output.index_select(1, order)  # (T, B, ·) in decreasing length
            lengths = lengths.index_select(0, order.cpu())
        data = pack_padded_sequence(output, lengths, enforce_sorted=True).data  # (N, ·)
        return PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    if not seq.batched:
        return output.squeeze(1)  # (T, ·)
    return output.transpose(0, 1) if batch_first else output  # (B, T, ·)
