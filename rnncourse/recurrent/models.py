"""The torch-compatible layers: ``RNN``, ``LSTM``, ``GRU`` and ``MGU``, each a :class:`RecurrentLayers`.

Each takes torch's arguments in torch's order, so a fully positional call written for ``torch.nn``
reads the same here. Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H``
hidden units, ``N_L`` layers, ``D`` directions.
"""
from __future__ import annotations

from .._validation import check_choice
from ..cells.elman import ElmanCell
from ..cells.gru import GRUCell
from ..cells.lstm import LSTMCell
from ..cells.mgu import MGUCell
from .layers import RecurrentLayers


def no_projection(proj_size) -> None:
    """torch keeps a ``proj_size`` slot in every layer's positional arguments; only the LSTM uses it."""
    if proj_size != 0:
        raise ValueError(f"proj_size argument is only supported for LSTM, not RNN, GRU or MGU; got proj_size={proj_size!r}")


class RNN(RecurrentLayers):
    r"""The Elman network as a multi-layer layer, a drop-in for ``torch.nn.RNN``.

    .. math:: h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    Args:
        input_size: ``I``. hidden_size: ``H``. num_layers: ``N_L`` stacked layers.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.
        bias: use ``b_ih`` and ``b_hh``. batch_first: ``(B, T, ·)`` inputs and outputs.
        dropout: dropout on the outputs of every layer but the last, in training.
        bidirectional: add a layer that reads the sequence backwards (``D = 2``).
        proj_size: torch's positional slot; only 0 (torch projects only the LSTM).
        device, dtype: where and in which precision to create the parameters.
        implementation: ``"auto"``, ``"compiled"``, ``"fast"``, ``"native"`` or ``"reference"``, see
            :class:`RecurrentLayers`.

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
                 bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None, *, implementation: str = "auto") -> None:
        check_choice(nonlinearity, "nonlinearity", ("tanh", "relu"))
        no_projection(proj_size)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, implementation=implementation, nonlinearity=nonlinearity)


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
        input_size: ``I``. hidden_size: ``H``. num_layers: ``N_L`` stacked layers.
        bias: use ``b_ih`` and ``b_hh``. batch_first: ``(B, T, ·)`` inputs and outputs.
        dropout: dropout on the outputs of every layer but the last, in training.
        bidirectional: add a layer that reads the sequence backwards (``D = 2``).
        proj_size: if ``P > 0``, project ``h`` to ``P < H`` units, as torch does (Sak, Senior &
            Beaufays 2014): ``h_t = W_{hr} (o_t \odot \tanh(c_t))`` with ``weight_hr_l{k} (P, H)``; then
            ``weight_hh_l{k}`` is ``(4H, P)``, ``h_n`` and each direction's output have ``P`` units.
        forget_gate, peephole, coupled, forget_bias: the variant and the initial forget-gate bias,
            as in :class:`~rnncourse.cells.LSTMCell`, whose notes say which paper each follows.
        device, dtype: where and in which precision to create the parameters.
        implementation: ``"auto"``, ``"compiled"``, ``"fast"``, ``"native"`` or ``"reference"``, see
            :class:`RecurrentLayers`.

    Inputs: ``input, (h_0, c_0)``
        - ``input (T, B, I)``, ``(B, T, I)`` with ``batch_first``, or unbatched ``(T, I)``.
        - ``h_0, c_0`` each ``(N_L*D, B, H)`` (``(N_L*D, H)`` unbatched); zeros if the tuple is omitted.

    Outputs: ``output, (h_n, c_n)``
        - ``output (T, B, D*H)`` (``(B, T, D*H)`` with ``batch_first``): the last layer's ``h_t``
          at every step, both directions concatenated.
        - ``h_n, c_n`` each ``(N_L*D, B, H)``: the final state of every layer and direction.

    Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H`` hidden units,
    ``N_L`` layers, ``D`` directions.

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
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None, *, forget_gate: bool = True, peephole: bool = False,
                 coupled: bool = False, forget_bias: float | None = None, implementation: str = "auto") -> None:
        if not isinstance(proj_size, int) or isinstance(proj_size, bool) or proj_size < 0:
            raise ValueError(f"expected proj_size to be a non-negative int, got {proj_size!r}")
        if proj_size and isinstance(hidden_size, int) and proj_size >= hidden_size:
            raise ValueError(f"expected proj_size smaller than hidden_size ({hidden_size}), got proj_size={proj_size}")
        self.proj_size = proj_size
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, implementation=implementation, forget_gate=forget_gate,
                         peephole=peephole,
                         coupled=coupled, forget_bias=forget_bias)


    @property
    def state_sizes(self) -> tuple[int, ...]:
        """``(P, H)``: ``h`` has ``proj_size`` units when projected, ``c`` always ``hidden_size``."""
        return (self.proj_size or self.hidden_size, self.hidden_size)

    def _parameter_shapes(self, layer_input: int) -> dict[str, tuple]:
        shapes = super()._parameter_shapes(layer_input)
        if self.proj_size:  # torch's layout: weight_hh reads the projected h, weight_hr comes last
            shapes["weight_hh"] = (shapes["weight_hh"][0], self.proj_size)
            shapes["weight_hr"] = (self.proj_size, self.hidden_size)
        return shapes

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", proj_size={self.proj_size}" if self.proj_size else "")


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
        input_size: ``I``. hidden_size: ``H``. num_layers: ``N_L`` stacked layers.
        bias: use ``b_ih`` and ``b_hh``. batch_first: ``(B, T, ·)`` inputs and outputs.
        dropout: dropout on the outputs of every layer but the last, in training.
        bidirectional: add a layer that reads the sequence backwards (``D = 2``).
        reset_after: where the reset gate acts, as in :class:`~rnncourse.cells.GRUCell`, whose
            notes explain this and the update convention.
        device, dtype: where and in which precision to create the parameters.
        implementation: ``"auto"``, ``"compiled"``, ``"fast"``, ``"native"`` or ``"reference"``, see
            :class:`RecurrentLayers`.

    Inputs: ``input (T, B, I)`` (``(B, T, I)`` with ``batch_first``, or unbatched ``(T, I)``) and
    ``h_0 (N_L*D, B, H)`` (``(N_L*D, H)`` unbatched), zeros if omitted.

    Outputs: ``output (T, B, D*H)``, the last layer's ``h_t`` at every step (both directions
    concatenated), and ``h_n (N_L*D, B, H)``, the final state of every layer and direction.

    Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H`` hidden units,
    ``N_L`` layers, ``D`` directions.

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
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None, *, reset_after: bool = True, implementation: str = "auto") -> None:
        no_projection(proj_size)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, implementation=implementation, reset_after=reset_after)


class MGU(RecurrentLayers):
    r"""Multi-layer minimal gated unit (Zhou, Wu, Zhang & Zhou 2016).

    .. math::
        \begin{aligned}
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        \tilde h_t &= \tanh(W_{in} x_t + b_{in} + W_{hn} (f_t \odot h_{t-1}) + b_{hn}) \\
        h_t &= (1 - f_t) \odot h_{t-1} + f_t \odot \tilde h_t
        \end{aligned}

    Args:
        input_size: ``I``. hidden_size: ``H``. num_layers: ``N_L`` stacked layers.
        bias: use ``b_ih`` and ``b_hh``. batch_first: ``(B, T, ·)`` inputs and outputs.
        dropout: dropout on the outputs of every layer but the last, in training.
        bidirectional: add a layer that reads the sequence backwards (``D = 2``).
        device, dtype: where and in which precision to create the parameters.
        implementation: ``"auto"``, ``"compiled"``, ``"fast"``, ``"native"`` or ``"reference"``, see
            :class:`RecurrentLayers`.

    Inputs and outputs are those of :class:`GRU`: ``input (T, B, I)`` and ``h_0 (N_L*D, B, H)`` in,
    ``output (T, B, D*H)`` and ``h_n (N_L*D, B, H)`` out.

    Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H`` hidden units,
    ``N_L`` layers, ``D`` directions.

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
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None, *, implementation: str = "auto") -> None:
        no_projection(proj_size)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, implementation=implementation)
