"""Torch-compatible stacked layers: :class:`RecurrentLayers`, the base of ``RNN``, ``LSTM``, ``GRU``, ``MGU``.

Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H`` hidden units,
``N_L`` layers, ``D`` directions (2 if bidirectional else 1).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .._validation import check_bool, check_choice, check_like, check_tensor, shape_str
from ..cells.base import RecurrentCell, State
from ..cells.lstm import LSTMCell
from .packed import sequence_input, sequence_output
from .fast import KERNELS, compiled, fast_unroll
from .layer import refuse_scripting, set_layer_options
from .native import lstm_weights, native_kernel, native_run
from .unroll import run_layers, unroll

IMPLEMENTATIONS = ("auto", "compiled", "fast", "native", "reference")


class RecurrentLayers(nn.Module):
    """Stacked, optionally bidirectional layers of one cell type, with torch's parameter names.

    Subclasses set ``cell_class``. Parameters are registered directly on the module as
    ``<name>_l<k>`` and ``<name>_l<k>_reverse`` (``weight_ih_l0``, ``bias_hh_l1_reverse``, …) from
    the cell's ``parameter_shapes``, which is exactly torch's ``state_dict`` layout for the standard
    cells. Layer ``k > 0`` reads the ``D * H`` features of the layer below.

    A ``cell_class`` with ``takes_time_index = True`` has its ``step`` called with the keywords
    ``t=`` and ``mask=`` of the time-index contract (:mod:`rnncourse.recurrent.unroll`); cells that
    need module state of their own (buffers) run in :class:`~rnncourse.recurrent.Stacked` instead.

    Implementations (the attribute ``implementation``, also a constructor argument), all equal
    within floating-point rounding, tested forward and backward:

    - ``"reference"``: the readable step functions of :mod:`rnncourse.functional`, step by step,
      as the book teaches them;
    - ``"fast"``: :mod:`rnncourse.recurrent.fast`: the input projection of all steps in one
      product, one fused hidden product per step, fused elementwise operations;
    - ``"compiled"``: the fast path with its step compiled by ``torch.compile`` (opt-in: see
      :mod:`rnncourse.recurrent.fast` for when it pays);
    - ``"native"``: torch's own kernel (:mod:`rnncourse.recurrent.native`; cuDNN on a GPU), for
      the variants torch has: ``RNN``, the ``LSTM`` (also with ``proj_size``, and the coupled and
      no-forget-gate variants through derived weights) and the ``GRU`` with ``reset_after=True``;
      an error for the others;
    - ``"auto"`` (default): native where torch has the variant (for the two derived LSTM variants
      only on a GPU), else fast (reference for a cell class without a fast kernel, such as a cell
      that takes a time index).

    ``torch.jit.trace`` is refused wherever the layer loops over time in Python (it would record
    the traced sequence length only); ``torch.jit.script`` is not supported: use ``torch.compile``,
    which captures a layer in one graph (tested with ``fullgraph=True``).
    """

    cell_class: type[RecurrentCell] = RecurrentCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 device=None, dtype=None, implementation: str = "auto", **cell_options) -> None:
        super().__init__()
        check_choice(implementation, "implementation", IMPLEMENTATIONS)
        self.implementation = implementation
        self.bias = check_bool(bias, "bias")
        set_layer_options(self, input_size, hidden_size, num_layers, batch_first, dropout, bidirectional)
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
        """``hx`` as a tuple of ``(N_L*D, B, ·)`` tensors, zeros when ``None``."""
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
            - ``hx`` the initial state, ``(N_L*D, B, H)`` per state tensor (a tuple or list
              ``(h_0, c_0)`` for LSTM), zeros if omitted; in the caller's batch order.
            - ``lengths (B,)`` the real steps of each sequence of a padded batch, each in
              ``[1, T]`` (a list of ints or an integer tensor); ``None``: every sequence has ``T``.

        Outputs: ``(output, h_n)``: ``output (T, B, D*H)`` is the last layer's ``h_t`` at every step
        (both directions concatenated; zero at padded steps; a ``PackedSequence`` with the input's
        layout for a packed input), ``h_n`` the final state of every layer and direction,
        ``(N_L*D, B, H)`` per state tensor, in the form ``hx`` takes. With lengths, the forward
        direction's final state is that of each sequence's own last step, and the backward
        direction starts there.
        """
        seq = sequence_input(input, self.input_size, self.batch_first, lengths)
        first = next(self.parameters())
        check_like(seq.inputs, first, "input")
        state = self._initial_state(hx, seq.inputs.shape[1], seq.batched, first)
        output, h_n = self._run(seq.inputs, state, seq.lengths)  # (T, B, D*H), (N_L*D, B, ·)
        if not seq.batched:
            h_n = tuple(h.squeeze(1) for h in h_n)  # (N_L*D, ·)
        output = sequence_output(output, seq, self.batch_first)
        return output, h_n[0] if len(h_n) == 1 else h_n

    def path(self, device_type: str = "cpu") -> str:
        """The implementation a call on ``device_type`` takes: ``"native"``, ``"compiled"``, ``"fast"`` or
        ``"reference"`` (what ``"auto"`` resolves to, or the forced one)."""
        check_choice(self.implementation, "implementation", IMPLEMENTATIONS)
        native = native_kernel(self.cell_class, self.cell_options) is not None
        fast = type(self).cell_class in KERNELS and not getattr(self.cell_class, "takes_time_index", False)
        if self.implementation == "native" and not native:
            raise ValueError(f"implementation='native' needs a model torch implements (RNN, an LSTM without peepholes, "
                             f"the GRU with reset_after=True); {type(self).__name__} with {self.cell_options} is not one")
        if self.implementation == "auto":
            # The derived LSTM variants compute a fourth gate block they do not need: measured on a CPU,
            # that costs what the kernel saves (T=200, B=64, I=H=512: 1.3x slower than the fast path),
            # so they take torch's kernel on a GPU only, where it replaces a loop of kernel launches.
            derived = self.cell_class is LSTMCell and (self.cell_options.get("coupled")
                                                        or not self.cell_options.get("forget_gate", True))
            if native and device_type != "meta" and (device_type == "cuda" or not derived):
                return "native"
            return "fast" if fast else "reference"
        if self.implementation in ("fast", "compiled") and not fast:
            return "reference"
        return self.implementation

    def _fast_step_of(self, layer: int, direction: int):
        params = self._layer_parameters(layer, self._suffixes(layer)[direction])
        return KERNELS[self.cell_class](params, **self.cell_options)

    def _compiled_step_of(self, layer: int, direction: int):
        return compiled(self._fast_step_of(layer, direction))

    def _run(self, inputs: Tensor, state: State, lengths: Tensor | None) -> tuple[Tensor, State]:
        """The whole stack over time-major ``inputs (T, B, I)``: ``(output (T, B, D*H), h_n)``."""
        path = self.path(inputs.device.type)
        if path == "native":
            if self.cell_class is LSTMCell:  # the coupled and no-forget-gate variants in torch's layout
                weights = [w for layer in range(self.num_layers) for suffix in self._suffixes(layer)
                           for w in lstm_weights(self._layer_parameters(layer, suffix), **self.cell_options)]
                has_biases = self.bias or not self.cell_options.get("forget_gate", True)
            else:
                weights, has_biases = [w for direction in self.all_weights for w in direction], self.bias
            return native_run(native_kernel(self.cell_class, self.cell_options), weights, has_biases, self.num_layers,
                              self.dropout, self.training, self.bidirectional, inputs, state, lengths)
        fast = path in ("fast", "compiled")
        step_of = self._compiled_step_of if path == "compiled" else self._fast_step_of if fast else self._step_of
        return run_layers(step_of, self.num_layers, self.num_directions,
                          inputs, state, lengths=lengths, dropout=self.dropout, training=self.training,
                          time_index=getattr(self.cell_class, "takes_time_index", False),
                          run=fast_unroll if fast else unroll)

    __prepare_scriptable__ = refuse_scripting

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, bias={self.bias}"
        text += f", batch_first={self.batch_first}, dropout={self.dropout}, bidirectional={self.bidirectional}"
        return text + "".join(f", {key}={value!r}" for key, value in self.cell_options.items())
