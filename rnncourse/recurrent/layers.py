"""Torch-compatible stacked layers: :class:`RecurrentLayers`, the base of ``RNN``, ``LSTM``, ``GRU``, ``MGU``.

Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H`` hidden units,
``L`` layers, ``D`` directions (2 if bidirectional else 1).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .._validation import check_bool, check_dropout, check_like, check_size, check_tensor, shape_str
from ..cells.base import RecurrentCell, State
from .packed import sequence_input, sequence_output
from .unroll import run_layers


class RecurrentLayers(nn.Module):
    """Stacked, optionally bidirectional layers of one cell type, with torch's parameter names.

    Subclasses set ``cell_class``. Parameters are registered directly on the module as
    ``<name>_l<k>`` and ``<name>_l<k>_reverse`` (``weight_ih_l0``, ``bias_hh_l1_reverse``, …) from
    the cell's ``parameter_shapes``, which is exactly torch's ``state_dict`` layout for the standard
    cells. Layer ``k > 0`` reads the ``D * H`` features of the layer below.

    A ``cell_class`` with ``takes_time_index = True`` has its ``step`` called with the keywords
    ``t=`` and ``mask=`` of the time-index contract (:mod:`rnncourse.recurrent.unroll`); cells that
    need module state of their own (buffers) run in :class:`~rnncourse.recurrent.Stacked` instead.
    """

    cell_class: type[RecurrentCell] = RecurrentCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 device=None, dtype=None, **cell_options) -> None:
        super().__init__()
        self.input_size = check_size(input_size, "input_size")
        self.hidden_size = check_size(hidden_size, "hidden_size")
        self.num_layers = check_size(num_layers, "num_layers")
        self.bias = check_bool(bias, "bias")
        self.batch_first = check_bool(batch_first, "batch_first")
        self.bidirectional = check_bool(bidirectional, "bidirectional")
        self.dropout = check_dropout(dropout, num_layers)
        self.cell_options = cell_options
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else self.output_size * self.num_directions
            shapes = self._parameter_shapes(layer_input)
            for suffix in self._suffixes(layer):
                for name, shape in shapes.items():
                    parameter = nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
                    self.register_parameter(name + suffix, parameter)
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def state_sizes(self) -> tuple[int, ...]:
        """The feature size of each state tensor (``H`` each, unless a subclass projects ``h``)."""
        return (self.hidden_size,) * self.cell_class.state_count

    @property
    def output_size(self) -> int:
        """Features of one direction's output, ``h_t``."""
        return self.state_sizes[0]

    def _parameter_shapes(self, layer_input: int) -> dict[str, tuple]:
        return self.cell_class.parameter_shapes(layer_input, self.hidden_size, self.bias, **self.cell_options)

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.num_directions]

    def reset_parameters(self) -> None:
        """Each layer and direction initialised by the cell's ``init_parameters`` (torch's uniform
        ``(-1/sqrt(H), 1/sqrt(H))`` unless the cell family says otherwise), in registration order,
        so that the same seed gives torch's weights."""
        for layer in range(self.num_layers):
            for suffix in self._suffixes(layer):
                params = self._layer_parameters(layer, suffix)
                self.cell_class.init_parameters(params, self.hidden_size, **self.cell_options)

    def _layer_parameters(self, layer: int, suffix: str) -> dict[str, Tensor]:
        return {name: getattr(self, name + suffix) for name in self._parameter_shapes(1)}

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """The parameters of every layer and direction, as torch's ``all_weights``: one list per
        layer and direction, in registration order."""
        return [[getattr(self, name + suffix) for name in self._parameter_shapes(1)]
                for layer in range(self.num_layers) for suffix in self._suffixes(layer)]

    def flatten_parameters(self) -> None:
        """Nothing to do: the parameters are used where they are, so code written for torch runs unchanged."""

    def _initial_state(self, hx, batch: int, batched: bool, like: Tensor) -> State:
        """``hx`` as a tuple of ``(L*D, B, ·)`` tensors, zeros when ``None``."""
        count = self.cell_class.state_count
        rows = self.num_layers * self.num_directions
        if hx is None:
            return tuple(like.new_zeros(rows, batch, size) for size in self.state_sizes)
        parts = (hx,) if count == 1 and not isinstance(hx, tuple) else hx
        if not isinstance(parts, (tuple, list)) or len(parts) != count:
            got = f"{type(hx).__name__} of length {len(hx)}" if isinstance(hx, (tuple, list)) else type(hx).__name__
            raise ValueError(f"expected hx to be a tuple of {count} tensors, got {got}")
        state = []
        for index, (part, size) in enumerate(zip(parts, self.state_sizes)):
            name = "hx" if count == 1 else f"hx[{index}]"
            check_tensor(part, name)
            if batched:
                expected, layout = (rows, batch, size), "(num_layers * num_directions, B, H)"
            else:
                expected, layout = (rows, size), "(num_layers * num_directions, H) for an unbatched input (T, I)"
            if tuple(part.shape) != expected:
                raise ValueError(f"expected {name} of shape {shape_str(expected)} {layout}, "
                                 f"got {shape_str(part.shape)}")
            check_like(part, like, name)
            state.append(part if batched else part.unsqueeze(1))
        return tuple(state)

    def _step_of(self, layer: int, direction: int):
        """The reference step of one layer and direction: the cell's step function on its parameters."""
        params = self._layer_parameters(layer, self._suffixes(layer)[direction])
        cell_class, options = self.cell_class, self.cell_options
        if getattr(cell_class, "takes_time_index", False):
            return lambda x, s, t, mask: cell_class.step(x, s, params, t=t, mask=mask, **options)
        return lambda x, s: cell_class.step(x, s, params, **options)

    def forward(self, input, hx=None, lengths=None):
        """Run the stack over ``input``.

        Inputs: ``input, hx=None, lengths=None``
            - ``input (T, B, I)``, ``(B, T, I)`` with ``batch_first``, unbatched ``(T, I)``, or a
              ``torch.nn.utils.rnn.PackedSequence`` (as ``nn.LSTM`` accepts it).
            - ``hx`` the initial state, ``(L*D, B, H)`` per state tensor (a tuple or list
              ``(h_0, c_0)`` for LSTM), zeros if omitted; in the caller's batch order.
            - ``lengths (B,)`` the real steps of each sequence of a padded batch, each in
              ``[1, T]`` (a list of ints or an integer tensor); ``None``: every sequence has ``T``.

        Outputs: ``(output, h_n)``: ``output (T, B, D*H)`` is the last layer's ``h_t`` at every step
        (both directions concatenated; zero at padded steps; a ``PackedSequence`` with the input's
        layout for a packed input), ``h_n`` the final state of every layer and direction,
        ``(L*D, B, H)`` per state tensor, in the form ``hx`` takes. With lengths, the forward
        direction's final state is that of each sequence's own last step, and the backward
        direction starts there.
        """
        seq = sequence_input(input, self.input_size, self.batch_first, lengths)
        first = next(self.parameters())
        check_like(seq.inputs, first, "input")
        state = self._initial_state(hx, seq.inputs.shape[1], seq.batched, first)
        output, h_n = self._run(seq.inputs, state, seq.lengths)  # (T, B, D*H), (L*D, B, ·)
        if not seq.batched:
            h_n = tuple(h.squeeze(1) for h in h_n)  # (L*D, ·)
        output = sequence_output(output, seq, self.batch_first)
        return output, h_n[0] if len(h_n) == 1 else h_n

    def _run(self, inputs: Tensor, state: State, lengths: Tensor | None) -> tuple[Tensor, State]:
        """The whole stack over time-major ``inputs (T, B, I)``: ``(output (T, B, D*H), h_n)``."""
        return run_layers(self._step_of, self.num_layers, self.num_directions, inputs, state, lengths=lengths,
                          time_index=getattr(self.cell_class, "takes_time_index", False), dropout=self.dropout,
                          training=self.training)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, bias={self.bias}"
        text += f", batch_first={self.batch_first}, dropout={self.dropout}, bidirectional={self.bidirectional}"
        return text + "".join(f", {key}={value!r}" for key, value in self.cell_options.items())
