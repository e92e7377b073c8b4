"""Layers built from cell *instances*: one direction (:class:`Recurrent`) and a stack (:class:`Stacked`).

These run any :class:`~rnncourse.cells.RecurrentCell`, including the cells that take a time index
(``takes_time_index = True``, e.g. batch-normalised cells with statistics per time step), which
are called as ``cell(x_t, state, t=t, mask=m)``; see :mod:`rnncourse.recurrent.unroll` for what
``t`` and ``m`` are in each direction.

Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H`` hidden units,
``N_L`` layers, ``D`` directions (2 if bidirectional else 1).
"""
from __future__ import annotations

from typing import Callable

from torch import Tensor, nn

from .._validation import check_bool, check_dropout, check_like, check_size
from ..cells.base import RecurrentCell, State
from .packed import sequence_input, sequence_output
from .unroll import run_layers, unroll


def refuse_scripting(module) -> None:
    raise RuntimeError(f"{type(module).__name__} cannot be scripted with torch.jit.script (its Python loop over time, "
                       f"keyword options and cell classes are beyond TorchScript); use torch.compile, which "
                       f"captures it in one graph")


def cell_step(cell: RecurrentCell) -> Callable:
    """The step ``unroll`` calls for ``cell``: the cell's pure ``step`` on its own parameters, or, for a
    cell that takes a time index, the cell itself as ``cell(x_t, state, t=t, mask=m)``."""
    if getattr(cell, "takes_time_index", False):
        def indexed(x: Tensor, state: State, t: int, mask: Tensor | None) -> State:
            new = cell(x, state[0] if cell.state_count == 1 else state, t=t, mask=mask)
            return (new,) if isinstance(new, Tensor) else tuple(new)
        return indexed
    params = dict(cell.named_parameters(recurse=False))
    return lambda x, state: cell.step(x, state, params, **cell.options)


def set_layer_options(module: nn.Module, input_size, hidden_size, num_layers, batch_first, dropout,
                      bidirectional) -> None:
    """Check torch's layer arguments and set them as attributes of ``module`` (shared by the stacks)."""
    module.input_size = check_size(input_size, "input_size")
    module.hidden_size = check_size(hidden_size, "hidden_size")
    module.num_layers = check_size(num_layers, "num_layers")
    module.batch_first = check_bool(batch_first, "batch_first")
    module.bidirectional = check_bool(bidirectional, "bidirectional")
    module.dropout = check_dropout(dropout, num_layers)


class Recurrent(nn.Module):
    """Runs any :class:`~rnncourse.cells.RecurrentCell` over a sequence.

    Args:
        cell: the cell applied at every step (its parameters are shared across time).
        batch_first: inputs and outputs are ``(B, T, ·)`` instead of ``(T, B, ·)``.
        reverse: read the sequence from its last step to the first (each sequence's own last step
            when ``lengths`` are given).

    Inputs: ``input, hx=None, lengths=None``
        - ``input (T, B, I)`` (or ``(B, T, I)``, or unbatched ``(T, I)``), or a ``PackedSequence``.
        - ``hx`` the initial state as the cell takes it (``(B, H)``, or a tuple such as
          ``(h0, c0)``), zeros if omitted.
        - ``lengths (B,)`` real steps per sequence of a padded batch (ints, each in ``[1, T]``).

    Outputs: ``(output, h_n)``: ``output (T, B, H)`` holds the cell's output at each step
    (``h_t``, or ``y_t`` for a Jordan cell; zero at padded steps; a ``PackedSequence`` for a packed
    input), ``h_n`` the final state of each sequence, at its own last step, in the form ``hx`` takes.

    Example:
        >>> import torch
        >>> from rnncourse.cells import ElmanCell
        >>> layer = Recurrent(ElmanCell(3, 5))
        >>> output, h_n = layer(torch.zeros(7, 2, 3), lengths=[7, 4])
        >>> output.shape, h_n.shape, bool(output[4:, 1].eq(0).all())
        (torch.Size([7, 2, 5]), torch.Size([2, 5]), True)
    """

    def __init__(self, cell: RecurrentCell, batch_first: bool = False, reverse: bool = False) -> None:
        super().__init__()
        if not isinstance(cell, RecurrentCell):
            raise TypeError(f"expected cell to be a rnncourse.cells.RecurrentCell, got {type(cell).__name__}")
        self.cell = cell
        self.batch_first = check_bool(batch_first, "batch_first")
        self.reverse = check_bool(reverse, "reverse")

    def forward(self, input, hx=None, lengths=None):
        seq = sequence_input(input, self.cell.input_size, self.batch_first, lengths)
        first = next(self.cell.parameters(recurse=False))
        check_like(seq.inputs, first, "input")
        state = self.cell.prepare_state(hx, seq.inputs.shape[1], seq.batched, first)
        output, state_n = unroll(cell_step(self.cell), seq.inputs, state, self.reverse, lengths=seq.lengths,
                                 time_index=getattr(self.cell, "takes_time_index", False))  # (T, B, H)
        if not seq.batched:
            state_n = tuple(s.squeeze(0) for s in state_n)
        output = sequence_output(output, seq, self.batch_first)
        return output, state_n[0] if self.cell.state_count == 1 else state_n

    __prepare_scriptable__ = refuse_scripting


class Stacked(nn.Module):
    """Stacked, optionally bidirectional layers of cell instances, with torch's input and output layout.

    For cells that have no torch-named layer class (batch-normalised cells, cells with buffers):
    ``make_cell(input_size, hidden_size)`` builds each layer and direction's cell, kept in
    ``self.cells[layer][direction]``. Layer ``k > 0`` reads the ``D * H`` features of the layer below.

    Args:
        make_cell: ``make_cell(input_size, hidden_size) -> RecurrentCell``, called ``N_L * D`` times.
        input_size: ``I``. hidden_size: ``H``. num_layers: ``N_L``.
        batch_first: ``(B, T, ·)`` inputs and outputs. dropout: on the outputs of every layer but
            the last, in training. bidirectional: add a backward direction to every layer (``D = 2``).

    Inputs and outputs are those of :class:`RecurrentLayers`: ``input`` (tensor or
    ``PackedSequence``), ``hx`` with ``(N_L*D, B, H)`` per state tensor, ``lengths (B,)``; returns
    ``output (T, B, D*H)`` and ``h_n``.

    Example:
        >>> import torch
        >>> from rnncourse.cells import GRUCell
        >>> stack = Stacked(GRUCell, 3, 5, num_layers=2, bidirectional=True)
        >>> output, h_n = stack(torch.zeros(7, 4, 3), lengths=[7, 6, 2, 1])
        >>> output.shape, h_n.shape
        (torch.Size([7, 4, 10]), torch.Size([4, 4, 5]))
    """

    def __init__(self, make_cell: Callable[[int, int], RecurrentCell], input_size: int, hidden_size: int,
                 num_layers: int = 1, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False) -> None:
        super().__init__()
        set_layer_options(self, input_size, hidden_size, num_layers, batch_first, dropout, bidirectional)
        directions = 2 if bidirectional else 1
        self.cells = nn.ModuleList(
            nn.ModuleList(make_cell(input_size if layer == 0 else directions * hidden_size, hidden_size)
                          for _ in range(directions))
            for layer in range(num_layers))
        for cell in (c for layer in self.cells for c in layer):
            if not isinstance(cell, RecurrentCell):
                raise TypeError(f"expected make_cell to build rnncourse.cells.RecurrentCell, got {type(cell).__name__}")

    def forward(self, input, hx=None, lengths=None):
        seq = sequence_input(input, self.input_size, self.batch_first, lengths)
        first = self.cells[0][0]
        like = next(first.parameters(recurse=False))
        check_like(seq.inputs, like, "input")
        directions = 2 if self.bidirectional else 1
        rows = self.num_layers * directions
        state = self._initial_state(hx, rows, seq.inputs.shape[1], seq.batched, like)
        time_index = getattr(first, "takes_time_index", False)
        output, h_n = run_layers(lambda layer, direction: cell_step(self.cells[layer][direction]), self.num_layers,
                                 directions, seq.inputs, state, lengths=seq.lengths, time_index=time_index,
                                 dropout=self.dropout, training=self.training)
        if not seq.batched:
            h_n = tuple(h.squeeze(1) for h in h_n)  # (N_L*D, H)
        output = sequence_output(output, seq, self.batch_first)
        return output, h_n[0] if first.state_count == 1 else h_n

    __prepare_scriptable__ = refuse_scripting

    def _initial_state(self, hx, rows: int, batch: int, batched: bool, like: Tensor) -> State:
        """``hx`` as ``(N_L*D, B, ·)`` tensors, each row checked by its cell; zeros when ``None``."""
        cells = [c for layer in self.cells for c in layer]
        if hx is None:
            return tuple(like.new_zeros(rows, batch, size) for size in cells[0].state_sizes)
        parts = (hx,) if isinstance(hx, Tensor) else hx
        stacked = tuple(part if batched else part.unsqueeze(1) for part in parts if isinstance(part, Tensor))
        if len(stacked) != len(parts) or any(part.dim() != 3 or part.shape[0] != rows for part in stacked):
            raise ValueError(f"expected hx with (num_layers * num_directions = {rows}, B, H) per state tensor")
        for row, cell in enumerate(cells):
            cell.prepare_state(tuple(part[row] for part in stacked), batch, True, like)
        return stacked
