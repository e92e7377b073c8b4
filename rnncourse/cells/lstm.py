"""The LSTM family (Hochreiter & Schmidhuber 1997 and its descendants) as one cell with named variants."""
from __future__ import annotations

import torch
from torch import Tensor

from .. import functional as F
from .._validation import check_bool
from .base import RecurrentCell, State


def check_forget_bias(forget_bias, bias: bool, forget_gate: bool) -> None:
    """``forget_bias`` is ``None`` or a number, and there must be a forget-gate bias to set."""
    if forget_bias is None:
        return
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)):
        raise TypeError(f"expected forget_bias to be a number or None, got {forget_bias!r}")
    if not bias:
        raise ValueError("forget_bias sets the initial forget-gate bias, so it needs bias=True; got bias=False")
    if not forget_gate:
        raise ValueError("forget_bias needs a forget gate, got forget_gate=False (the 1997 LSTM has none)")


class LSTMCell(RecurrentCell):
    r"""A long short-term memory cell; with its defaults, torch's ``nn.LSTMCell``.

    .. math::
        \begin{aligned}
        i &= \sigma(W_{ii} x + b_{ii} + W_{hi} h + b_{hi}) \\
        f &= \sigma(W_{if} x + b_{if} + W_{hf} h + b_{hf}) \\
        g &= \tanh(W_{ig} x + b_{ig} + W_{hg} h + b_{hg}) \\
        o &= \sigma(W_{io} x + b_{io} + W_{ho} h + b_{ho}) \\
        c' &= f \odot c + i \odot g \\
        h' &= o \odot \tanh(c')
        \end{aligned}

    The variants, each selected by an argument (see :func:`rnncourse.functional.lstm_step`):

    =====================  ===================================================  =======
    arguments              variant                                              blocks
    =====================  ===================================================  =======
    defaults               forget gate: Gers, Schmidhuber & Cummins (2000);     i f g o
                           torch's ``nn.LSTMCell``
    ``forget_gate=False``  the original LSTM, Hochreiter & Schmidhuber (1997):  i g o
                           ``c' = c + i * g``
    ``peephole=True``      peephole connections, Gers & Schmidhuber (2000):     i f g o
                           ``i``, ``f`` see ``c``, ``o`` sees ``c'``
    ``coupled=True``       coupled input and forget gates, ``f = 1 - i``        i g o
                           ("CIFG", Greff et al. 2017)
    =====================  ===================================================  =======

    ``peephole=True`` combines with either of the others (Greff et al.'s "vanilla" LSTM is
    ``peephole=True``; their NFG and CIFG variants add ``forget_gate=False`` or ``coupled=True``).

    Args:
        input_size: ``I``, features of ``x``.
        hidden_size: ``H``, units of ``h`` and ``c``.
        bias: whether to use ``b_ih`` and ``b_hh``.
        forget_gate: give the cell a forget gate (default). ``False`` is the 1997 cell.
        peephole: let the gates see the cell state through diagonal weights.
        coupled: compute the forget gate as ``1 - i`` instead of learning it; needs ``forget_gate``.
        forget_bias: if given, the initial bias of the forget gate (torch draws it at random like
            every other parameter). Gers et al. (2000) start the forget gates open with a positive
            bias, and Jozefowicz, Zaremba & Sutskever (2015) found a bias of 1 to help consistently.
            It sets ``b_if`` to ``forget_bias`` and ``b_hf`` to 0, so the gate's total bias is
            ``forget_bias``; with ``coupled`` it sets ``b_ii = -forget_bias`` instead, which starts
            ``f = 1 - i`` exactly where a forget bias of ``forget_bias`` would, since
            ``1 - sigma(a) = sigma(-a)``. Needs ``bias`` and a forget gate.
        device, dtype: where and in which precision to create the parameters.

    Inputs: ``input, (h, c)``
        - ``input (B, I)`` or unbatched ``(I,)``.
        - ``h, c`` each ``(B, H)`` or ``(H,)``; zeros if the tuple is omitted.

    Outputs: ``(h', c')``, each ``(B, H)`` or ``(H,)``.

    Parameters are torch's, with ``G`` gate blocks in the order of the table (``G = 4`` for
    ``i, f, g, o``, ``G = 3`` for ``i, g, o``): ``weight_ih (G*H, I)``, ``weight_hh (G*H, H)``,
    ``bias_ih (G*H,)``, ``bias_hh (G*H,)``; with ``peephole`` also ``weight_ci``, ``weight_co`` and,
    when the forget gate has its own block, ``weight_cf``, each ``(H,)``. With the defaults,
    ``load_state_dict`` works both ways with ``nn.LSTMCell``.

    Note:
        Without a forget gate (``forget_gate=False``) the block ``f`` is left out rather than
        stored and ignored, so the weights are ``(3H, ·)`` in the order ``i, g, o``: torch's order
        with ``f`` removed. Hochreiter & Schmidhuber (1997) also squashed ``g`` into ``(-2, 2)`` and
        the cell output into ``(-1, 1)`` with scaled sigmoids, and trained with a truncated
        gradient in which errors flow back through time only along the cell state; we use
        ``tanh`` for both, as later papers do (Greff et al.'s NFG variant), and autograd gives the
        full gradient.

    Note:
        Peepholes: we follow Gers & Schmidhuber (2000) and Greff et al. (2017): one weight per unit
        (``w_{ci} \odot c``, a diagonal matrix), the input and forget gates see the old cell ``c``
        and the output gate sees the new cell ``c'``. Texts disagree on both points: some feed the
        old ``c`` to the output gate as well, and some write full ``H x H`` matrices (Olah's
        widely read 2015 blog post concatenates ``[c, h, x]`` into one matrix product), which gives
        ``H`` times as many peephole weights.

    Note:
        Coupled gates (``coupled=True``) leave the block ``f`` out as well: weights ``(3H, ·)`` in
        the order ``i, g, o``, and with peepholes only ``weight_ci`` and ``weight_co``. The input
        gate alone decides how much to write, and the cell keeps the rest: ``c' = (1 - i) c + i g``.

    Example:
        >>> import torch
        >>> cell = LSTMCell(3, 5)
        >>> h, c = cell(torch.zeros(2, 3))
        >>> h.shape, c.shape
        (torch.Size([2, 5]), torch.Size([2, 5]))
        >>> original = LSTMCell(3, 5, forget_gate=False)
        >>> original.weight_ih.shape
        torch.Size([15, 3])
        >>> peephole = LSTMCell(3, 5, peephole=True, forget_bias=1.0)
        >>> sorted(name for name, _ in peephole.named_parameters())
        ['bias_hh', 'bias_ih', 'weight_cf', 'weight_ci', 'weight_co', 'weight_hh', 'weight_ih']
        >>> peephole.bias_ih[5:10]
        tensor([1., 1., 1., 1., 1.], grad_fn=<SliceBackward0>)
    """

    state_count = 2

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, forget_gate: bool = True,
                 peephole: bool = False, coupled: bool = False, forget_bias: float | None = None, *,
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype, forget_gate=forget_gate,
                         peephole=peephole, coupled=coupled, forget_bias=forget_bias)

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size, bias, forget_gate=True, peephole=False, coupled=False,
                         forget_bias=None):
        # Checked here because the cell and RecurrentLayers both start from this call, so both
        # reject the same combinations.
        gates = F.lstm_gate_names(forget_gate, coupled)
        check_bool(peephole, "peephole")
        check_forget_bias(forget_bias, bias, forget_gate)
        rows = len(gates) * hidden_size
        shapes = {"weight_ih": (rows, input_size), "weight_hh": (rows, hidden_size)}
        if bias:
            shapes.update(bias_ih=(rows,), bias_hh=(rows,))
        if peephole:
            shapes.update({name: (hidden_size,) for name in F.lstm_peephole_names(forget_gate, coupled)})
        return shapes

    @classmethod
    def init_parameters(cls, params, hidden_size, forget_gate=True, peephole=False, coupled=False,
                        forget_bias=None) -> None:
        """torch's uniform initialisation, then the forget-gate bias if ``forget_bias`` is given."""
        super().init_parameters(params, hidden_size)
        if forget_bias is None:
            return
        # With coupled gates, f = 1 - sigmoid(a_i) = sigmoid(-a_i): the input gate carries the bias.
        block, value = ("i", -forget_bias) if coupled else ("f", forget_bias)
        start = F.lstm_gate_names(forget_gate, coupled).index(block) * hidden_size
        rows = slice(start, start + hidden_size)
        with torch.no_grad():
            params["bias_ih"][rows] = value
            params["bias_hh"][rows] = 0.0

    @classmethod
    def step(cls, x: Tensor, state: State, params: dict[str, Tensor], forget_gate: bool = True,
             peephole: bool = False, coupled: bool = False, forget_bias: float | None = None) -> State:
        # forget_bias only chooses the initial parameters (init_parameters); a step does not use it.
        return F.lstm_step(
            x, state, params["weight_ih"], params["weight_hh"], params.get("bias_ih"), params.get("bias_hh"),
            forget_gate=forget_gate, peephole=peephole, coupled=coupled,
            weight_ci=params.get("weight_ci"), weight_cf=params.get("weight_cf"), weight_co=params.get("weight_co"),
            weight_hr=params.get("weight_hr"),
        )
