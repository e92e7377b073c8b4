"""Running cells over time: one layer for any cell, and the torch-compatible stacked layers.

Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H`` hidden units,
``L`` layers, ``D`` directions (2 if bidirectional else 1).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ._validation import check_choice, check_like, check_sequence_input, check_tensor, shape_str
from .cells.base import RecurrentCell, State
from .cells.elman import ElmanCell
from .cells.gru import GRUCell
from .cells.lstm import LSTMCell
from .cells.mgu import MGUCell


def unroll(step, inputs: Tensor, state: State, reverse: bool = False) -> tuple[Tensor, State]:
    """Apply ``state = step(x_t, state)`` for every ``t`` of ``inputs (T, B, I)``.

    Returns ``(outputs (T, B, H), final state)`` where ``outputs[t]`` is the first state tensor after
    step ``t`` (``h_t``). With ``reverse=True`` the sequence is read from ``T-1`` down to ``0`` and
    ``outputs[t]`` is still aligned with ``inputs[t]``.
    """
    steps = range(inputs.shape[0] - 1, -1, -1) if reverse else range(inputs.shape[0])
    outputs = [None] * inputs.shape[0]
    for t in steps:
        state = step(inputs[t], state)
        outputs[t] = state[0]  # (B, H)
    return torch.stack(outputs), state  # (T, B, H)


class Recurrent(nn.Module):
    """Runs any :class:`~rnncourse.cells.RecurrentCell` over a sequence.

    Args:
        cell: the cell applied at every step (its parameters are shared across time).
        batch_first: inputs and outputs are ``(B, T, ·)`` instead of ``(T, B, ·)``.
        reverse: read the sequence from the last step to the first.

    Inputs: ``input (T, B, I)`` (or ``(B, T, I)``, or unbatched ``(T, I)``); ``hx`` the initial
    state as the cell takes it (``(B, H)``, or a tuple such as ``(h0, c0)``), zeros if omitted.

    Outputs: ``(output, h_n)``: ``output (T, B, H)`` holds the cell's output at each step
    (``h_t``, or ``y_t`` for a Jordan cell), ``h_n`` the final state in the form ``hx`` takes.

    Example:
        >>> import torch
        >>> from rnncourse.cells import ElmanCell
        >>> layer = Recurrent(ElmanCell(3, 5))
        >>> output, h_n = layer(torch.zeros(7, 2, 3))
        >>> output.shape, h_n.shape
        (torch.Size([7, 2, 5]), torch.Size([2, 5]))
    """

    def __init__(self, cell: RecurrentCell, batch_first: bool = False, reverse: bool = False) -> None:
        super().__init__()
        if not isinstance(cell, RecurrentCell):
            raise TypeError(f"expected cell to be a rnncourse.cells.RecurrentCell, got {type(cell).__name__}")
        self.cell = cell
        self.batch_first = batch_first
        self.reverse = reverse

    def forward(self, input: Tensor, hx=None):
        inputs, batched = check_sequence_input(input, self.cell.input_size, self.batch_first)  # (T, B, I)
        first = next(self.cell.parameters(recurse=False))
        check_like(inputs, first, "input")
        state = self.cell.prepare_state(hx, inputs.shape[1], batched, first)
        params = dict(self.cell.named_parameters(recurse=False))

        def step(x, s):
            return self.cell.step(x, s, params, **self.cell.options)

        output, state_n = unroll(step, inputs, state, self.reverse)  # (T, B, H)
        if not batched:
            output = output.squeeze(1)  # (T, H)
            state_n = tuple(s.squeeze(0) for s in state_n)
        elif self.batch_first:
            output = output.transpose(0, 1)  # (B, T, H)
        return output, state_n[0] if self.cell.state_count == 1 else state_n


class RecurrentLayers(nn.Module):
    """Stacked, optionally bidirectional layers of one cell type, with torch's parameter names.

    Subclasses set ``cell_class``. Parameters are registered directly on the module as
    ``<name>_l<k>`` and ``<name>_l<k>_reverse`` (``weight_ih_l0``, ``bias_hh_l1_reverse``, …) from
    the cell's ``parameter_shapes``, which is exactly torch's ``state_dict`` layout for the standard
    cells. Layer ``k > 0`` reads the ``D * H`` features of the layer below.
    """

    cell_class: type[RecurrentCell] = RecurrentCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 device=None, dtype=None, **cell_options) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(f"expected dropout to be a number in [0, 1], got {dropout!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.cell_options = cell_options
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            shapes = self.cell_class.parameter_shapes(layer_input, hidden_size, bias, **cell_options)
            for suffix in self._suffixes(layer):
                for name, shape in shapes.items():
                    parameter = nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
                    self.register_parameter(name + suffix, parameter)
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

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
        names = self.cell_class.parameter_shapes(1, 1, self.bias, **self.cell_options)
        return {name: getattr(self, name + suffix) for name in names}

    def _initial_state(self, hx, batch: int, batched: bool, like: Tensor) -> State:
        """``hx`` as a tuple of ``(L*D, B, H)`` tensors, zeros when ``None``."""
        count = self.cell_class.state_count
        rows = self.num_layers * self.num_directions
        if hx is None:
            return tuple(like.new_zeros(rows, batch, self.hidden_size) for _ in range(count))
        parts = (hx,) if count == 1 and not isinstance(hx, tuple) else hx
        if not isinstance(parts, tuple) or len(parts) != count:
            raise ValueError(f"expected hx to be a tuple of {count} tensors, got {type(hx).__name__}")
        expected = (rows, batch, self.hidden_size) if batched else (rows, self.hidden_size)
        state = []
        for index, part in enumerate(parts):
            name = "hx" if count == 1 else f"hx[{index}]"
            check_tensor(part, name)
            if tuple(part.shape) != expected:
                raise ValueError(
                    f"expected {name} of shape {shape_str(expected)} (num_layers * num_directions, B, H), "
                    f"got {shape_str(part.shape)}"
                )
            check_like(part, like, name)
            state.append(part if batched else part.unsqueeze(1))
        return tuple(state)

    def forward(self, input: Tensor, hx=None):
        """Run the stack over ``input``.

        Inputs: ``input (T, B, I)``, or ``(B, T, I)`` with ``batch_first``, or unbatched ``(T, I)``;
        ``hx`` the initial state, ``(L*D, B, H)`` per state tensor (a tuple ``(h_0, c_0)`` for LSTM),
        zeros if omitted.

        Outputs: ``(output, h_n)``: ``output (T, B, D*H)`` is the last layer's ``h_t`` at every step
        (both directions concatenated), ``h_n`` the final state of every layer and direction,
        ``(L*D, B, H)`` per state tensor, in the form ``hx`` takes.
        """
        layer_input, batched = check_sequence_input(input, self.input_size, self.batch_first)  # (T, B, I)
        first = next(self.parameters())
        check_like(layer_input, first, "input")
        state = self._initial_state(hx, layer_input.shape[1], batched, first)
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self._suffixes(layer)):
                row = layer * self.num_directions + direction
                params = self._layer_parameters(layer, suffix)

                def step(x, s, params=params):
                    return self.cell_class.step(x, s, params, **self.cell_options)

                output, final = unroll(step, layer_input, tuple(s[row] for s in state), reverse=direction == 1)
                outputs.append(output)  # (T, B, H)
                finals.append(final)
            layer_input = torch.cat(outputs, dim=-1)  # (T, B, D*H)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = nn.functional.dropout(layer_input, self.dropout, training=True)
        h_n = tuple(torch.stack([final[i] for final in finals]) for i in range(len(state)))  # (L*D, B, H)
        output = layer_input  # (T, B, D*H)
        if not batched:
            output = output.squeeze(1)  # (T, D*H)
            h_n = tuple(h.squeeze(1) for h in h_n)  # (L*D, H)
        elif self.batch_first:
            output = output.transpose(0, 1)  # (B, T, D*H)
        return output, h_n[0] if len(h_n) == 1 else h_n

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, bias={self.bias}"
        text += f", batch_first={self.batch_first}, dropout={self.dropout}, bidirectional={self.bidirectional}"
        return text + "".join(f", {key}={value!r}" for key, value in self.cell_options.items())


class RNN(RecurrentLayers):
    r"""The Elman network as a multi-layer layer, a drop-in for ``torch.nn.RNN``.

    .. math:: h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    Args:
        input_size: ``I``. hidden_size: ``H``. num_layers: ``L`` stacked layers.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.
        bias: use ``b_ih`` and ``b_hh``. batch_first: ``(B, T, ·)`` inputs and outputs.
        dropout: dropout on the outputs of every layer but the last, in training.
        bidirectional: add a layer that reads the sequence backwards (``D = 2``).

    Inputs ``(input, hx)`` and outputs ``(output, h_n)`` are torch's; see
    :meth:`RecurrentLayers.forward`. The ``state_dict`` is torch's (``weight_ih_l0 (H, I)``,
    ``weight_hh_l0 (H, H)``, ``bias_ih_l0``, ``bias_hh_l0``, ``…_reverse``), so weights load from
    and into ``torch.nn.RNN`` and give the same outputs and gradients.

    Example:
        >>> import torch
        >>> rnn = RNN(3, 5, num_layers=2)
        >>> output, h_n = rnn(torch.zeros(7, 4, 3))
        >>> output.shape, h_n.shape
        (torch.Size([7, 4, 5]), torch.Size([2, 4, 5]))
    """

    cell_class = ElmanCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, *, device=None, dtype=None) -> None:
        check_choice(nonlinearity, "nonlinearity", ("tanh", "relu"))
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, nonlinearity=nonlinearity)


class LSTM(RecurrentLayers):
    r"""Multi-layer LSTM; with its defaults, a drop-in for ``torch.nn.LSTM``.

    .. math::
        \begin{aligned}
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t)
        \end{aligned}

    where ``x_t`` is the input of layer ``k`` (the layer below's ``h_t`` for ``k > 0``).

    Args:
        input_size: ``I``. hidden_size: ``H``. num_layers: ``L`` stacked layers.
        bias: use ``b_ih`` and ``b_hh``. batch_first: ``(B, T, ·)`` inputs and outputs.
        dropout: dropout on the outputs of every layer but the last, in training.
        bidirectional: add a layer that reads the sequence backwards (``D = 2``).
        proj_size: accepted for torch's signature; only 0 (no projection) is supported.
        forget_gate, peephole, coupled, forget_bias: the variant and the initial forget-gate bias,
            as in :class:`~rnncourse.cells.LSTMCell`, whose notes say which paper each follows.
        device, dtype: where and in which precision to create the parameters.

    Inputs: ``input, (h_0, c_0)``
        - ``input (T, B, I)``, ``(B, T, I)`` with ``batch_first``, or unbatched ``(T, I)``.
        - ``h_0, c_0`` each ``(L*D, B, H)`` (``(L*D, H)`` unbatched); zeros if the tuple is omitted.

    Outputs: ``output, (h_n, c_n)``
        - ``output (T, B, D*H)`` (``(B, T, D*H)`` with ``batch_first``): the last layer's ``h_t``
          at every step, both directions concatenated.
        - ``h_n, c_n`` each ``(L*D, B, H)``: the final state of every layer and direction.

    Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H`` hidden units,
    ``L`` layers, ``D`` directions.

    With the defaults the ``state_dict`` is torch's (``weight_ih_l0 (4H, I)``, ``weight_hh_l0 (4H, H)``,
    ``bias_ih_l0``, ``bias_hh_l0``, ``…_reverse``, gate blocks ``i, f, g, o``), so weights load
    from and into ``torch.nn.LSTM`` and give the same outputs and gradients. The variants add or
    remove blocks as :class:`~rnncourse.cells.LSTMCell` describes (``weight_ci_l0``, …).

    Example:
        >>> import torch
        >>> reference = torch.nn.LSTM(3, 5, num_layers=2)
        >>> lstm = LSTM(3, 5, num_layers=2)
        >>> lstm.load_state_dict(reference.state_dict())
        <All keys matched successfully>
        >>> x = torch.randn(7, 4, 3)
        >>> output, (h_n, c_n) = lstm(x)
        >>> output.shape, h_n.shape, c_n.shape
        (torch.Size([7, 4, 5]), torch.Size([2, 4, 5]), torch.Size([2, 4, 5]))
        >>> torch.allclose(output, reference(x)[0], atol=1e-6)
        True
    """

    cell_class = LSTMCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 proj_size: int = 0, forget_gate: bool = True, peephole: bool = False, coupled: bool = False,
                 forget_bias: float | None = None, device=None, dtype=None) -> None:
        if proj_size != 0:
            raise ValueError(
                f"expected proj_size=0: LSTM with a projected hidden state (torch's proj_size) is not "
                f"implemented here, got proj_size={proj_size!r}"
            )
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, forget_gate=forget_gate, peephole=peephole,
                         coupled=coupled, forget_bias=forget_bias)


class GRU(RecurrentLayers):
    r"""Multi-layer GRU; with its defaults, a drop-in for ``torch.nn.GRU``.

    .. math::
        \begin{aligned}
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{aligned}

    or, with ``reset_after=False`` (Cho et al. 2014),
    ``n_t = \tanh(W_{in} x_t + b_{in} + W_{hn} (r_t \odot h_{t-1}) + b_{hn})``.

    Args:
        input_size: ``I``. hidden_size: ``H``. num_layers: ``L`` stacked layers.
        bias: use ``b_ih`` and ``b_hh``. batch_first: ``(B, T, ·)`` inputs and outputs.
        dropout: dropout on the outputs of every layer but the last, in training.
        bidirectional: add a layer that reads the sequence backwards (``D = 2``).
        reset_after: where the reset gate acts, as in :class:`~rnncourse.cells.GRUCell`, whose
            notes explain this and the update convention.
        device, dtype: where and in which precision to create the parameters.

    Inputs: ``input (T, B, I)`` (``(B, T, I)`` with ``batch_first``, or unbatched ``(T, I)``) and
    ``h_0 (L*D, B, H)`` (``(L*D, H)`` unbatched), zeros if omitted.

    Outputs: ``output (T, B, D*H)``, the last layer's ``h_t`` at every step (both directions
    concatenated), and ``h_n (L*D, B, H)``, the final state of every layer and direction.

    Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H`` hidden units,
    ``L`` layers, ``D`` directions.

    The ``state_dict`` is torch's for both settings (``weight_ih_l0 (3H, I)``, ``weight_hh_l0 (3H, H)``,
    ``bias_ih_l0``, ``bias_hh_l0``, ``…_reverse``, gate blocks ``r, z, n``); with ``reset_after=True``
    the weights of a ``torch.nn.GRU`` give the same outputs and gradients.

    Example:
        >>> import torch
        >>> gru = GRU(3, 5, num_layers=2, batch_first=True, bidirectional=True)
        >>> output, h_n = gru(torch.zeros(4, 7, 3))
        >>> output.shape, h_n.shape
        (torch.Size([4, 7, 10]), torch.Size([4, 4, 5]))
    """

    cell_class = GRUCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 reset_after: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, reset_after=reset_after)


class MGU(RecurrentLayers):
    r"""Multi-layer minimal gated unit (Zhou, Wu, Zhang & Zhou 2016).

    .. math::
        \begin{aligned}
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        \tilde h_t &= \tanh(W_{in} x_t + b_{in} + W_{hn} (f_t \odot h_{t-1}) + b_{hn}) \\
        h_t &= (1 - f_t) \odot h_{t-1} + f_t \odot \tilde h_t
        \end{aligned}

    Args:
        input_size: ``I``. hidden_size: ``H``. num_layers: ``L`` stacked layers.
        bias: use ``b_ih`` and ``b_hh``. batch_first: ``(B, T, ·)`` inputs and outputs.
        dropout: dropout on the outputs of every layer but the last, in training.
        bidirectional: add a layer that reads the sequence backwards (``D = 2``).
        device, dtype: where and in which precision to create the parameters.

    Inputs and outputs are those of :class:`GRU`: ``input (T, B, I)`` and ``h_0 (L*D, B, H)`` in,
    ``output (T, B, D*H)`` and ``h_n (L*D, B, H)`` out.

    Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H`` hidden units,
    ``L`` layers, ``D`` directions.

    Parameters in torch's style, gate blocks ``f, n``: ``weight_ih_l0 (2H, I)``,
    ``weight_hh_l0 (2H, H)``, ``bias_ih_l0 (2H,)``, ``bias_hh_l0 (2H,)``, ``…_reverse``. See
    :class:`~rnncourse.cells.MGUCell` for how they map onto the paper's.

    Example:
        >>> import torch
        >>> mgu = MGU(3, 5, num_layers=2)
        >>> output, h_n = mgu(torch.zeros(7, 4, 3))
        >>> output.shape, h_n.shape
        (torch.Size([7, 4, 5]), torch.Size([2, 4, 5]))
        >>> sum(p.numel() for p in mgu.parameters()) * 3 == sum(p.numel() for p in GRU(3, 5, 2).parameters()) * 2
        True
    """

    cell_class = MGUCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
