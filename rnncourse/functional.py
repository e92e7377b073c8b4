"""Pure step functions: ``(x_t, state, weights) -> new state``.

These are the equations of the book, written once. The ``nn.Module`` cells in
:mod:`rnncourse.cells` hold the parameters and call these; the book builds each model from them
step by step.

Shape legend used in every docstring: ``B`` batch, ``I`` input features, ``H`` hidden units,
``O`` output units. Weights follow torch's layout: ``weight_ih`` is ``(G*H, I)`` for a cell with
``G`` gate blocks, so ``x @ weight_ih.T`` is ``(B, G*H)``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._validation import check_bool, check_choice, check_step_tensors, check_tensor

ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "identity": lambda z: z,
}


def activation(name: str):
    """The elementwise function called ``name`` (one of ``tanh, relu, sigmoid, identity``)."""
    check_choice(name, "nonlinearity", tuple(ACTIVATIONS))
    return ACTIVATIONS[name]


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x W^T + b`` for ``x (B, in)``, ``weight (out, in)``, ``bias (out,)`` -> ``(B, out)``."""
    out = x @ weight.T  # (B, out)
    return out if bias is None else out + bias


def elman_step(
    x: Tensor,
    h: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> Tensor:
    r"""One step of the Elman network (simple recurrent network).

    .. math:: h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    Args:
        x: input at step t, ``(B, I)``.
        h: previous hidden state ``h_{t-1}``, ``(B, H)``.
        weight_ih: ``(H, I)``. weight_hh: ``(H, H)``. bias_ih, bias_hh: ``(H,)`` or ``None``.
        nonlinearity: ``"tanh"`` (torch's default; Elman 1990 used logistic units) or ``"relu"``.

    Returns:
        the new hidden state ``h_t``, ``(B, H)``.
    """
    check_choice(nonlinearity, "nonlinearity", ("tanh", "relu"))
    _check_matrix(weight_ih, "weight_ih")
    hidden, inputs = _check_matrix(weight_hh, "weight_hh").shape[1], weight_ih.shape[1]
    check_step_tensors("elman_step", x, (
        ("x", x, (None, inputs), "(B, I)"), ("h", h, (None, hidden), "(B, H)"),
        ("weight_ih", weight_ih, (hidden, inputs), "(H, I)"), ("weight_hh", weight_hh, (hidden, hidden), "(H, H)"),
        ("bias_ih", bias_ih, (hidden,), "(H,)"), ("bias_hh", bias_hh, (hidden,), "(H,)")))
    pre_activation = linear(x, weight_ih, bias_ih) + linear(h, weight_hh, bias_hh)  # (B, H)
    return activation(nonlinearity)(pre_activation)


def jordan_step(
    x: Tensor,
    y: Tensor,
    weight_ih: Tensor,
    weight_yh: Tensor,
    weight_hy: Tensor,
    bias_ih: Tensor | None = None,
    bias_yh: Tensor | None = None,
    bias_hy: Tensor | None = None,
    nonlinearity: str = "tanh",
    output_nonlinearity: str = "identity",
) -> Tensor:
    r"""One step of the Jordan network: the previous *output* is fed back, not the hidden state.

    .. math::
        h_t = \phi(W_{ih} x_t + b_{ih} + W_{yh} y_{t-1} + b_{yh}) \qquad
        y_t = \psi(W_{hy} h_t + b_{hy})

    Args:
        x: input at step t, ``(B, I)``.
        y: previous output ``y_{t-1}``, the network's state, ``(B, O)``.
        weight_ih: ``(H, I)``. weight_yh: ``(H, O)``. weight_hy: ``(O, H)``.
        bias_ih, bias_yh: ``(H,)`` or ``None``. bias_hy: ``(O,)`` or ``None``.
        nonlinearity: hidden activation ``phi``, ``"tanh"`` or ``"relu"``.
        output_nonlinearity: output activation ``psi``: ``"identity"``, ``"tanh"`` or ``"sigmoid"``.

    Returns:
        the new output ``y_t``, ``(B, O)``, which is also the next state.

    Note:
        Jordan (1986) also gives the state units a decaying self-connection,
        ``s_t = mu * s_{t-1} + y_{t-1}``. We follow the common textbook form, ``mu = 0``, where
        the state is exactly the previous output; that is what makes the contrast with Elman clear.
    """
    check_choice(nonlinearity, "nonlinearity", ("tanh", "relu"))
    check_choice(output_nonlinearity, "output_nonlinearity", ("identity", "tanh", "sigmoid"))
    _check_matrix(weight_ih, "weight_ih")
    hidden, outputs = _check_matrix(weight_yh, "weight_yh").shape
    inputs = weight_ih.shape[1]
    check_step_tensors("jordan_step", x, (
        ("x", x, (None, inputs), "(B, I)"), ("y", y, (None, outputs), "(B, O)"),
        ("weight_ih", weight_ih, (hidden, inputs), "(H, I)"), ("weight_yh", weight_yh, (hidden, outputs), "(H, O)"),
        ("weight_hy", weight_hy, (outputs, hidden), "(O, H)"), ("bias_ih", bias_ih, (hidden,), "(H,)"),
        ("bias_yh", bias_yh, (hidden,), "(H,)"), ("bias_hy", bias_hy, (outputs,), "(O,)")))
    hidden = activation(nonlinearity)(linear(x, weight_ih, bias_ih) + linear(y, weight_yh, bias_yh))  # (B, H)
    return activation(output_nonlinearity)(linear(hidden, weight_hy, bias_hy))  # (B, O)


def _check_matrix(weight, name: str) -> Tensor:
    """``weight`` must be a 2-D tensor (its shape then gives the sizes the other arguments are checked against)."""
    check_tensor(weight, name)
    if weight.dim() != 2:
        raise ValueError(f"expected {name} to be a 2-D weight matrix, got shape {tuple(weight.shape)}")
    return weight


def _check_gated(function: str, x, states, weight_ih, weight_hh, bias_ih, bias_hh, gates: tuple[str, ...],
                 extra=()) -> None:
    """The arguments of a gated step: ``states`` lists ``(name, tensor)``, the last of which sets ``H``;
    the first is the one ``weight_hh`` multiplies. ``extra`` adds ``(name, value, shape, layout)`` specs."""
    for name, state in states:
        check_tensor(state, name)
    hidden, recurrent = states[-1][1].shape[-1], states[0][1].shape[-1]
    _check_gate_rows(weight_ih, "weight_ih", gates, hidden)
    _check_gate_rows(weight_hh, "weight_hh", gates, hidden)
    rows, layout = len(gates) * hidden, f"({len(gates)}*H"
    check_step_tensors(function, x, (
        ("x", x, (None, weight_ih.shape[1]), "(B, I)"), ("weight_ih", weight_ih, tuple(weight_ih.shape), layout + ", I)"),
        *((name, state, (None, hidden if k == len(states) - 1 else recurrent), "(B, H)" if k == len(states) - 1
           else "(B, P)") for k, (name, state) in enumerate(states)),
        ("weight_hh", weight_hh, (rows, recurrent), layout + (", P)" if recurrent != hidden else ", H)")),
        ("bias_ih", bias_ih, (rows,), layout + ",)"), ("bias_hh", bias_hh, (rows,), layout + ",)"), *extra))


def _check_gate_rows(weight: Tensor, name: str, gates: tuple[str, ...], hidden_size: int) -> None:
    """``weight`` must stack one ``(H, ·)`` block per gate, so that splitting it lands on the gates."""
    expected = len(gates) * hidden_size
    check_tensor(weight, name)
    if weight.dim() != 2 or weight.shape[0] != expected:
        raise ValueError(
            f"expected {name} with {len(gates)}*H = {expected} rows (gate blocks {', '.join(gates)}), "
            f"got shape {tuple(weight.shape)}"
        )


def _blocks(bias: Tensor | None, count: int) -> tuple[Tensor | None, ...]:
    """A stacked bias split into its gate blocks, or ``count`` times ``None`` when there is no bias."""
    return (None,) * count if bias is None else bias.chunk(count)


def lstm_gate_names(forget_gate: bool = True, coupled: bool = False) -> tuple[str, ...]:
    """The gate blocks stacked in an LSTM's ``weight_ih``, ``weight_hh`` and biases, in order.

    torch's ``("i", "f", "g", "o")`` when the cell has its own forget gate; ``("i", "g", "o")`` when
    it has none (Hochreiter & Schmidhuber 1997) or when the forget gate is computed from the input
    gate (``coupled``, ``f = 1 - i``), so that no block of weights is stored and never used.
    """
    # A string such as "False" is truthy; a variant switch must be a real bool.
    check_bool(forget_gate, "forget_gate")
    check_bool(coupled, "coupled")
    if coupled and not forget_gate:
        raise ValueError(
            "coupled=True computes the forget gate from the input gate (f = 1 - i), so it needs "
            "forget_gate=True; got coupled=True with forget_gate=False"
        )
    return ("i", "f", "g", "o") if forget_gate and not coupled else ("i", "g", "o")


def lstm_peephole_names(forget_gate: bool = True, coupled: bool = False) -> tuple[str, ...]:
    """The peephole weights of an LSTM with these options: one per sigmoid gate that has its own block."""
    gates = lstm_gate_names(forget_gate, coupled)
    return tuple(f"weight_c{gate}" for gate in gates if gate != "g")


def lstm_step(
    x: Tensor,
    state: tuple[Tensor, Tensor],
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
    *,
    forget_gate: bool = True,
    peephole: bool = False,
    coupled: bool = False,
    weight_ci: Tensor | None = None,
    weight_cf: Tensor | None = None,
    weight_co: Tensor | None = None,
    weight_hr: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    r"""One step of a long short-term memory (LSTM) cell, in any of its classic variants.

    The standard cell (Gers, Schmidhuber & Cummins 2000; torch's ``nn.LSTMCell``):

    .. math::
        \begin{aligned}
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t)
        \end{aligned}

    The variants change only the gates:

    - ``forget_gate=False`` (Hochreiter & Schmidhuber 1997): no ``f``, ``c_t = c_{t-1} + i_t g_t``.
    - ``coupled=True`` (CIFG, Greff et al. 2017): ``f_t = 1 - i_t``, no weights of its own.
    - ``peephole=True`` (Gers & Schmidhuber 2000): the gates also see the cell,
      ``i_t = \sigma(\dots + w_{ci} \odot c_{t-1})``, ``f_t = \sigma(\dots + w_{cf} \odot c_{t-1})``
      and ``o_t = \sigma(\dots + w_{co} \odot c_t)``, with one weight per unit.
    - ``weight_hr`` given (a projection, Sak, Senior & Beaufays 2014; torch's ``proj_size``): the
      state ``h_t = W_{hr} (o_t \odot \tanh(c_t))`` has ``P < H`` units, and ``weight_hh`` is ``(G*H, P)``.

    Args:
        x: input at step t, ``(B, I)``.
        state: ``(h_{t-1}, c_{t-1})``, each ``(B, H)``.
        weight_ih: ``(G*H, I)``, the gate blocks stacked in the order of :func:`lstm_gate_names`:
            ``i, f, g, o`` (``G = 4``, torch's layout) or ``i, g, o`` (``G = 3``) without a forget
            gate of its own. weight_hh: ``(G*H, H)``. bias_ih, bias_hh: ``(G*H,)`` or ``None``.
        forget_gate, peephole, coupled: the variant, as above.
        weight_ci, weight_cf, weight_co: peephole weights ``(H,)``, exactly those named by
            :func:`lstm_peephole_names` when ``peephole``, otherwise ``None``.
        weight_hr: the projection ``(P, H)``, or ``None`` (no projection, ``P = H``).

    Returns:
        the new state ``(h_t, c_t)``, ``(B, P)`` and ``(B, H)``.
    """
    gates = lstm_gate_names(forget_gate, coupled)
    check_bool(peephole, "peephole")
    given = {"weight_ci": weight_ci, "weight_cf": weight_cf, "weight_co": weight_co}
    needed = lstm_peephole_names(forget_gate, coupled) if peephole else ()
    for name, value in given.items():
        if (value is None) == (name in needed):
            wanted = f"peephole weights {', '.join(needed)}" if needed else "no peephole weights"
            raise ValueError(
                f"expected {wanted} for forget_gate={forget_gate}, peephole={peephole}, coupled={coupled}; "
                f"{name} was {'missing' if value is None else 'given'}"
            )
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise TypeError(f"lstm_step: expected state to be a tuple (h, c) of two tensors, got {type(state).__name__}"
                        + (f" of length {len(state)}" if isinstance(state, (tuple, list)) else ""))
    h, c = check_tensor(state[0], "h"), check_tensor(state[1], "c")
    units = (c.shape[-1],)
    projection = () if weight_hr is None else (("weight_hr", weight_hr, (h.shape[-1],) + units, "(P, H)"),)
    if weight_hr is None and h.shape[-1] != c.shape[-1]:
        raise ValueError(f"lstm_step: expected h and c of the same shape (B, H) without a projection, got "
                         f"h {tuple(h.shape)} and c {tuple(c.shape)}")
    peepholes = tuple((name, value, units, "(H,)") for name, value in given.items())
    _check_gated("lstm_step", x, (("h", h), ("c", c)), weight_ih, weight_hh, bias_ih, bias_hh, gates,
                 peepholes + projection)

    pre = linear(x, weight_ih, bias_ih) + linear(h, weight_hh, bias_hh)  # (B, G*H)
    blocks = dict(zip(gates, pre.chunk(len(gates), dim=-1)))  # G x (B, H)
    if peephole:
        # The input and forget gates look at the cell they are about to change, c_{t-1}.
        blocks["i"] = blocks["i"] + weight_ci * c  # (B, H)
        if "f" in blocks:
            blocks["f"] = blocks["f"] + weight_cf * c  # (B, H)
    input_gate = torch.sigmoid(blocks["i"])  # (B, H)
    candidate = torch.tanh(blocks["g"])  # (B, H)
    if not forget_gate:
        # Hochreiter & Schmidhuber's constant error carousel: the cell is never erased.
        c_new = c + input_gate * candidate  # (B, H)
    else:
        forget = 1 - input_gate if coupled else torch.sigmoid(blocks["f"])  # (B, H)
        c_new = forget * c + input_gate * candidate  # (B, H)
    if peephole:
        # The output gate decides what to show of the cell it has just written, c_t.
        blocks["o"] = blocks["o"] + weight_co * c_new  # (B, H)
    output_gate = torch.sigmoid(blocks["o"])  # (B, H)
    h_new = output_gate * torch.tanh(c_new)  # (B, H)
    if weight_hr is not None:
        h_new = h_new @ weight_hr.T  # (B, P)
    return h_new, c_new


def gru_step(
    x: Tensor,
    h: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
    reset_after: bool = True,
) -> Tensor:
    r"""One step of a gated recurrent unit (GRU), torch's convention.

    .. math::
        \begin{aligned}
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))
               \quad\text{(reset\_after=True)} \\
        n_t &= \tanh(W_{in} x_t + b_{in} + W_{hn} (r_t \odot h_{t-1}) + b_{hn})
               \quad\text{(reset\_after=False)} \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{aligned}

    ``reset_after=True`` is torch's and cuDNN's form; ``reset_after=False`` is Cho et al. (2014)'s.

    Args:
        x: input at step t, ``(B, I)``.
        h: previous hidden state ``h_{t-1}``, ``(B, H)``.
        weight_ih: ``(3H, I)``, blocks ``r, z, n``. weight_hh: ``(3H, H)``.
        bias_ih, bias_hh: ``(3H,)`` or ``None``.
        reset_after: apply the reset gate after the hidden matrix product (torch) or before (Cho).

    Returns:
        the new hidden state ``h_t``, ``(B, H)``.
    """
    check_bool(reset_after, "reset_after")
    _check_gated("gru_step", x, (("h", h),), weight_ih, weight_hh, bias_ih, bias_hh, ("r", "z", "n"))
    hidden_size = h.shape[-1]
    input_r, input_z, input_n = linear(x, weight_ih, bias_ih).chunk(3, dim=-1)  # 3 x (B, H)
    if reset_after:
        # torch's and cuDNN's form: r scales the product, so one product of h serves all three blocks.
        hidden_r, hidden_z, hidden_n = linear(h, weight_hh, bias_hh).chunk(3, dim=-1)  # 3 x (B, H)
        reset = torch.sigmoid(input_r + hidden_r)  # (B, H)
        update = torch.sigmoid(input_z + hidden_z)  # (B, H)
        candidate = torch.tanh(input_n + reset * hidden_n)  # (B, H)
    else:
        # Cho et al.'s form: r acts on h before its product, so the n block must wait for r.
        weight_gates, weight_hn = weight_hh.split([2 * hidden_size, hidden_size])  # (2H, H), (H, H)
        bias_gates, bias_hn = (None, None) if bias_hh is None else bias_hh.split([2 * hidden_size, hidden_size])
        hidden_r, hidden_z = linear(h, weight_gates, bias_gates).chunk(2, dim=-1)  # 2 x (B, H)
        reset = torch.sigmoid(input_r + hidden_r)  # (B, H)
        update = torch.sigmoid(input_z + hidden_z)  # (B, H)
        candidate = torch.tanh(input_n + linear(reset * h, weight_hn, bias_hn))  # (B, H)
    return (1 - update) * candidate + update * h  # (B, H)


def mgu_step(
    x: Tensor,
    h: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
) -> Tensor:
    r"""One step of the minimal gated unit (MGU, Zhou, Wu, Zhang & Zhou 2016).

    A GRU with a single gate ``f`` that does the work of both the reset and the update gate:

    .. math::
        \begin{aligned}
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        \tilde h_t &= \tanh(W_{in} x_t + b_{in} + W_{hn} (f_t \odot h_{t-1}) + b_{hn}) \\
        h_t &= (1 - f_t) \odot h_{t-1} + f_t \odot \tilde h_t
        \end{aligned}

    Args:
        x: input at step t, ``(B, I)``.
        h: previous hidden state ``h_{t-1}``, ``(B, H)``.
        weight_ih: ``(2H, I)``, blocks ``f, n``. weight_hh: ``(2H, H)``.
        bias_ih, bias_hh: ``(2H,)`` or ``None``.

    Returns:
        the new hidden state ``h_t``, ``(B, H)``.
    """
    _check_gated("mgu_step", x, (("h", h),), weight_ih, weight_hh, bias_ih, bias_hh, ("f", "n"))
    input_f, input_n = linear(x, weight_ih, bias_ih).chunk(2, dim=-1)  # 2 x (B, H)
    weight_hf, weight_hn = weight_hh.chunk(2)  # 2 x (H, H)
    bias_hf, bias_hn = _blocks(bias_hh, 2)  # 2 x (H,) or None
    forget = torch.sigmoid(input_f + linear(h, weight_hf, bias_hf))  # (B, H)
    candidate = torch.tanh(input_n + linear(forget * h, weight_hn, bias_hn))  # (B, H)
    return (1 - forget) * h + forget * candidate  # (B, H)
