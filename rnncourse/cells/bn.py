r"""Batch normalisation in recurrent networks: statistics per time step, BN-RNN and BN-LSTM.

Read top to bottom: the per-step normalisation (:func:`batch_norm_step`, a pure function, and
:class:`StepwiseBatchNorm`, the module that holds its statistics), the pure BN-LSTM step
(:func:`bn_lstm_step`), the cells (:class:`BNRNNCell` after Laurent et al. 2016,
:class:`BNLSTMCell` after Cooijmans et al. 2017 or Laurent et al.), and the layer that gives
Laurent's *sequence-wise* statistics (:class:`SequenceWise`).

Frame-wise and sequence-wise statistics (Laurent et al.'s terms). Frame-wise: the mean and
variance of a feature at step ``t`` are taken over the ``B`` entries of the batch at that step, a
separate pair per step. Sequence-wise: over all ``T * B`` (real) entries of the batch, one pair
for the whole sequence. A cell sees one step at a time, so it can only do the first;
:class:`SequenceWise` does the second by normalising ``W_x x`` over every step *before* the
recurrence, which is possible because the input projection does not depend on the state.

Shape legend: ``T`` steps, ``B`` batch, ``I`` input features, ``H`` hidden units, ``F`` features
normalised, ``T_max`` steps with statistics of their own (``max_length``).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .._validation import check_choice, check_like, check_step_input, check_tensor
from ..functional import linear
from .base import RecurrentCell, State


def batch_norm_step(x: Tensor, t: int, running_mean: Tensor, running_var: Tensor, weight: Tensor | None = None,
                    bias: Tensor | None = None, *, training: bool, momentum: float | None = 0.1, eps: float = 1e-5,
                    mask: Tensor | None = None, num_batches_tracked: Tensor | None = None) -> Tensor:
    r"""Batch normalisation of step ``t`` with statistics of its own step.

    .. math:: \mathrm{BN}(z; \gamma, \beta) = \gamma \odot \frac{z - \hat\mu_t}{\sqrt{\hat\sigma^2_t + \epsilon}} + \beta

    In training, :math:`\hat\mu_t, \hat\sigma^2_t` are the mean and the biased variance of ``x``
    over the batch (the entries where ``mask`` is true), and row ``s = min(t, T_max - 1)`` of the
    running statistics moves towards them exactly as ``torch.nn.BatchNorm1d``'s do:
    ``running = (1 - momentum) * running + momentum * batch``, with the *unbiased* variance, or a
    cumulative average (``momentum=None``, which needs ``num_batches_tracked``). In evaluation row
    ``s`` is used, so steps beyond ``T_max`` reuse the last step's statistics (Cooijmans et al.).

    A step with fewer than two real entries has no variance to estimate: it is normalised with
    its running statistics and leaves them unchanged (``BatchNorm1d`` raises an error instead).

    Args:
        x: ``(B, F)``. t: the 0-based step. running_mean, running_var: ``(T_max, F)``, updated in
            place when ``training``. weight, bias: ``gamma, beta (F,)`` or ``None`` (1 and 0).
        mask: ``(B,)`` bool, true for the real (not padded) entries; ``None`` when all are real.
        num_batches_tracked: ``(T_max,)`` integer counts, incremented in place when given.

    Returns: ``(B, F)``.
    """
    if x.dim() != 2 or running_mean.dim() != 2 or running_mean.shape[1] != x.shape[1]:
        raise ValueError(f"expected x (B, F) and running_mean (T_max, F), got {tuple(x.shape)} and "
                         f"{tuple(running_mean.shape)}")
    if isinstance(t, bool) or not isinstance(t, int) or t < 0:
        raise ValueError(f"expected t to be a non-negative int, got {t!r}")
    if training and momentum is None and num_batches_tracked is None:
        raise ValueError("momentum=None (a cumulative average) needs num_batches_tracked")
    slot = min(t, running_mean.shape[0] - 1)
    mean, var = running_mean[slot], running_var[slot]  # (F,)
    if training:
        if mask is not None and (mask.dtype != torch.bool or tuple(mask.shape) != (x.shape[0],)):
            raise ValueError(f"expected mask to be a bool tensor ({x.shape[0]},), got {mask.dtype} {tuple(mask.shape)}")
        real = x.new_ones(x.shape[0], 1) if mask is None else mask.to(x.dtype).unsqueeze(1)  # (B, 1)
        count = real.sum()  # real entries at this step
        enough = count >= 2
        batch_mean = (x * real).sum(0) / count.clamp_min(1)  # (F,)
        batch_var = ((x - batch_mean) ** 2 * real).sum(0) / count.clamp_min(1)  # (F,), biased
        with torch.no_grad():
            if num_batches_tracked is not None:
                num_batches_tracked[slot] += enough.to(num_batches_tracked.dtype)
            factor = 1 / num_batches_tracked[slot].clamp_min(1) if momentum is None else momentum
            unbiased = batch_var * count / (count - 1).clamp_min(1)  # (F,)
            running_mean[slot] = torch.where(enough, (1 - factor) * mean + factor * batch_mean, mean)
            running_var[slot] = torch.where(enough, (1 - factor) * var + factor * unbiased, var)
        mean = torch.where(enough, batch_mean, mean.detach())  # (F,)
        var = torch.where(enough, batch_var, var.detach())  # (F,)
    out = (x - mean) / torch.sqrt(var + eps)  # (B, F)
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


class StepwiseBatchNorm(nn.Module):
    """Batch normalisation with separate running statistics for each time step up to ``max_length``.

    ``gamma`` and ``beta`` are shared by all steps; the mean and variance are kept per step
    (Cooijmans et al. 2017, §3), ``running_mean, running_var (T_max, F)`` and
    ``num_batches_tracked (T_max,)``. See :func:`batch_norm_step` for training, evaluation, steps
    beyond ``max_length`` and the mask. With ``max_length=1`` it is ``torch.nn.BatchNorm1d``.

    Args:
        num_features: ``F``. max_length: ``T_max``. eps, momentum: as ``BatchNorm1d``'s.
        shift: learn ``beta`` (``bias``); ``False`` fixes it at zero, for a sum that has a bias.
        gamma_init: the initial ``gamma`` (``weight``): 1 in ``BatchNorm1d``, 0.1 in Cooijmans et al.

    Inputs: ``z (B, F)``, ``t`` the 0-based step, ``mask (B,)`` bool or ``None``. Output: ``(B, F)``.
    """

    def __init__(self, num_features: int, max_length: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 shift: bool = True, gamma_init: float = 1.0, *, device=None, dtype=None) -> None:
        super().__init__()
        for name, value in (("num_features", num_features), ("max_length", max_length)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        self.num_features, self.max_length, self.eps, self.momentum = num_features, max_length, eps, momentum
        self.gamma_init = gamma_init
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(num_features, **factory))  # gamma (F,)
        self.bias = nn.Parameter(torch.empty(num_features, **factory)) if shift else None  # beta (F,)
        self.register_buffer("running_mean", torch.zeros(max_length, num_features, **factory))  # (T_max, F)
        self.register_buffer("running_var", torch.ones(max_length, num_features, **factory))  # (T_max, F)
        self.register_buffer("num_batches_tracked", torch.zeros(max_length, dtype=torch.long, device=device))
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        self.running_mean.zero_()
        self.running_var.fill_(1)
        self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        nn.init.constant_(self.weight, self.gamma_init)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, z: Tensor, t: int = 0, mask: Tensor | None = None) -> Tensor:
        return batch_norm_step(z, t, self.running_mean, self.running_var, self.weight, self.bias,
                               training=self.training, momentum=self.momentum, eps=self.eps, mask=mask,
                               num_batches_tracked=self.num_batches_tracked)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, max_length={self.max_length}, eps={self.eps}, momentum={self.momentum}, "
                f"shift={self.bias is not None}, gamma_init={self.gamma_init}")


def bn_lstm_step(x: Tensor, state: tuple[Tensor, Tensor], weight_ih: Tensor, weight_hh: Tensor,
                 bias: Tensor | None = None, *, norm_ih=None, norm_hh=None, norm_c=None) -> tuple[Tensor, Tensor]:
    r"""One step of a batch-normalised LSTM (Cooijmans et al. 2017), pure.

    .. math::
        \begin{aligned}
        (\tilde\imath, \tilde f, \tilde g, \tilde o) &= \mathrm{BN}_x(W_{x} x_t) + \mathrm{BN}_h(W_{h} h_{t-1}) + b \\
        c_t &= \sigma(\tilde f) \odot c_{t-1} + \sigma(\tilde\imath) \odot \tanh(\tilde g) \\
        h_t &= \sigma(\tilde o) \odot \tanh(\mathrm{BN}_c(c_t))
        \end{aligned}

    Args:
        x: ``(B, I)``. state: ``(h_{t-1}, c_{t-1})``, each ``(B, H)``.
        weight_ih: ``(4H, I)``, weight_hh: ``(4H, H)``, bias: ``(4H,)``, blocks ``i, f, g, o``.
        norm_ih, norm_hh: ``(B, 4H) -> (B, 4H)``, norm_c: ``(B, H) -> (B, H)``, or ``None`` for the
            identity: all three is Cooijmans' BN-LSTM, ``norm_ih`` alone Laurent's, none the LSTM.

    Returns: ``(h_t, c_t)``, each ``(B, H)``.
    """
    h, c = state
    projected = linear(x, weight_ih)  # (B, 4H)
    return lstm_update(projected if norm_ih is None else norm_ih(projected), (h, c), weight_hh, bias,
                       norm_hh=norm_hh, norm_c=norm_c)


def lstm_update(ih: Tensor, state: tuple[Tensor, Tensor], weight_hh: Tensor, bias: Tensor | None = None, *,
                norm_hh=None, norm_c=None) -> tuple[Tensor, Tensor]:
    """The rest of :func:`bn_lstm_step` once the (normalised) input projection ``ih (B, 4H)`` is known."""
    h, c = state
    hh = linear(h, weight_hh)  # (B, 4H)
    pre = ih + (hh if norm_hh is None else norm_hh(hh))  # (B, 4H)
    if bias is not None:
        pre = pre + bias
    i, f, g, o = pre.chunk(4, dim=-1)  # 4 x (B, H)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # (B, H)
    h_new = torch.sigmoid(o) * torch.tanh(c_new if norm_c is None else norm_c(c_new))  # (B, H)
    return h_new, c_new


NORMALIZE = ("cooijmans", "laurent", "layer", "none")


class _NormalizedCell(RecurrentCell):
    """What the batch-normalised cells share: a time index, the norms, and the sequence-wise switch."""

    takes_time_index = True

    def _norm(self, features: int, shift: bool, gamma_init: float, kind: str, factory: dict) -> nn.Module:
        o = self.options
        if kind == "layer":
            norm = nn.LayerNorm(features, eps=o["eps"], bias=shift, **factory)
            nn.init.constant_(norm.weight, gamma_init)
            return norm
        length = 1 if o["statistics"] == "sequence" else o["max_length"]
        return StepwiseBatchNorm(features, length, o["eps"], o["momentum"], shift, gamma_init, **factory)

    @staticmethod
    def _normalize(norm: nn.Module | None, z: Tensor, t: int, mask: Tensor | None) -> Tensor:
        if norm is None:
            return z
        return norm(z) if isinstance(norm, nn.LayerNorm) else norm(z, t, mask)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for name in ("norm_ih", "norm_hh", "norm_c"):
            if getattr(self, name, None) is not None:
                getattr(self, name).reset_parameters()

    @classmethod
    def init_parameters(cls, params, hidden_size, **options) -> None:
        super().init_parameters(params, hidden_size)
        if "bias_ih" in params:
            nn.init.zeros_(params["bias_ih"])

    def project(self, input: Tensor, t: int = 0, mask: Tensor | None = None) -> Tensor:
        """The normalised input projection ``norm_ih(W_x x)``, ``(B, I) -> (B, G*H)`` (or, in
        :class:`SequenceWise`, ``(T*B, I) -> (T*B, G*H)`` with ``t = 0``)."""
        return self._normalize(self.norm_ih, linear(input, self.weight_ih), t, mask)

    def forward(self, input: Tensor, hx=None, t: int = 0, mask: Tensor | None = None):
        """One step ``t`` (0-based). ``input (B, I)``; ``hx`` the state, zeros when ``None``;
        ``mask (B,)`` bool, true where step ``t`` is real. Returns the new state, as ``hx``."""
        if self.options["statistics"] == "sequence":
            raise ValueError("statistics='sequence' normalises W_x x over all steps at once, which one step cannot "
                             "do: run the cell with rnncourse.cells.SequenceWise")
        x, batched = check_step_input(input, self.input_size)
        check_like(x, self.weight_ih, "input")
        if mask is not None:
            check_tensor(mask, "mask")
            mask = mask if batched else mask.reshape(1)
        state = self.prepare_state(hx, x.shape[0], batched, self.weight_ih)
        new_state = self.recur(self.project(x, t, mask), state, t, mask)
        if not batched:
            new_state = tuple(s.squeeze(0) for s in new_state)
        return new_state[0] if self.state_count == 1 else new_state

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}" + "".join(
            f", {key}={value!r}" for key, value in self.options.items())


class BNRNNCell(_NormalizedCell):
    r"""An Elman cell with batch normalisation of the input projection only (Laurent et al. 2016).

    .. math:: h_t = \phi(\mathrm{BN}(W_x x_t) + W_h h_{t-1} + b)

    The source writes a generic :math:`\sigma` for :math:`\phi`; this code uses ``tanh`` (or
    ``relu``, ``nonlinearity=``). Laurent et al. found that normalising ``W_h h`` as well did not
    help, so it is left alone. ``BN`` has no shift of its own (``beta = 0``): ``b`` plays that role.

    Args:
        input_size: ``I``. hidden_size: ``H``. max_length: ``T_max``, steps with statistics of their own.
        bias: learn ``b (H,)`` (initialised to 0). nonlinearity: ``"tanh"`` or ``"relu"``.
        statistics: ``"frame"``: per step over the batch (this cell, in any layer);
            ``"sequence"``: over batch and time, only inside :class:`SequenceWise`.
        gamma_init: initial ``gamma``. momentum, eps: of the batch normalisation.

    Inputs: ``input (B, I)``, ``hx (B, H)``, ``t``, ``mask (B,)``. Output: ``h' (B, H)``.
    Parameters ``weight_ih (H, I)``, ``weight_hh (H, H)``, ``bias_ih (H,)`` (the one bias ``b``: a
    second, torch's ``bias_hh``, would only add to it), and ``norm_ih``.
    """

    def __init__(self, input_size: int, hidden_size: int, max_length: int, bias: bool = True,
                 nonlinearity: str = "tanh", statistics: str = "frame", gamma_init: float = 0.1,
                 momentum: float | None = 0.1, eps: float = 1e-5, *, device=None, dtype=None) -> None:
        check_choice(nonlinearity, "nonlinearity", ("tanh", "relu"))
        check_choice(statistics, "statistics", ("frame", "sequence"))
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype, max_length=max_length,
                         nonlinearity=nonlinearity, statistics=statistics, gamma_init=gamma_init,
                         momentum=momentum, eps=eps)
        self.norm_ih = self._norm(hidden_size, False, gamma_init, "batch", {"device": device, "dtype": dtype})

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size, bias, **options):
        shapes = {"weight_ih": (hidden_size, input_size), "weight_hh": (hidden_size, hidden_size)}
        return {**shapes, "bias_ih": (hidden_size,)} if bias else shapes

    def recur(self, ih: Tensor, state: State, t: int = 0, mask: Tensor | None = None) -> State:
        """The step once ``ih = BN(W_x x_t) (B, H)`` is known."""
        (h,) = state
        pre = ih + linear(h, self.weight_hh, getattr(self, "bias_ih", None))  # (B, H)
        return (torch.tanh(pre) if self.options["nonlinearity"] == "tanh" else torch.relu(pre),)


class BNLSTMCell(_NormalizedCell):
    r"""A normalised LSTM cell: Cooijmans et al.'s BN-LSTM, Laurent et al.'s, or a layer-normalised one.

    See :func:`bn_lstm_step` for the equations. ``normalize`` chooses what is normalised:

    ==============  ====================================================  ===================
    ``normalize``   normalised                                            after
    ==============  ====================================================  ===================
    ``cooijmans``   ``W_x x`` and ``W_h h`` apart (shift 0), ``c`` before  Cooijmans et al. 2017
                    the output tanh (with a shift); statistics per step
    ``laurent``     ``W_x x`` only (shift 0), frame- or sequence-wise     Laurent et al. 2016
    ``layer``       as ``cooijmans``, with layer normalisation over the   Ba et al. 2016
                    features of each entry: no statistics to keep
    ``none``        nothing: the LSTM, for comparisons                    Gers et al. 2000
    ==============  ====================================================  ===================

    The gate blocks are stacked ``i, f, g, o`` and normalised per feature of the ``4H`` vector,
    which is the same as the source's separate ``BN_ix, BN_fx, ...`` per gate. The biases ``b`` start
    at zero; the weights are torch's uniform initialisation (the paper uses orthogonal ``W_h``).

    Args:
        input_size: ``I``. hidden_size: ``H``. max_length: ``T_max``, steps with statistics of their own.
        bias: learn ``b (4H,)``. normalize: as above. statistics: ``"frame"`` or, for ``laurent``
            only, ``"sequence"`` (inside :class:`SequenceWise`). gamma_init: the initial ``gamma``
            of every norm (0.1 as Cooijmans et al. recommend; 1 is ``BatchNorm1d``'s).
        momentum, eps: of the batch normalisation.

    Inputs: ``input (B, I)``, ``(h, c)`` each ``(B, H)``, ``t``, ``mask (B,)``.
    Outputs: ``(h', c')``, each ``(B, H)``.

    Parameters ``weight_ih (4H, I)``, ``weight_hh (4H, H)``, ``bias_ih (4H,)`` (the one bias ``b``),
    and the norms ``norm_ih``, ``norm_hh``, ``norm_c`` (``None`` where not used).

    Example:
        >>> import torch
        >>> cell = BNLSTMCell(3, 5, max_length=10)
        >>> h, c = cell(torch.randn(4, 3), t=0)
        >>> cell.norm_ih.running_mean.shape, round(float(cell.norm_ih.weight[0]), 6)
        (torch.Size([10, 20]), 0.1)
    """

    state_count = 2

    def __init__(self, input_size: int, hidden_size: int, max_length: int, bias: bool = True,
                 normalize: str = "cooijmans", statistics: str = "frame", gamma_init: float = 0.1,
                 momentum: float | None = 0.1, eps: float = 1e-5, *, device=None, dtype=None) -> None:
        check_choice(normalize, "normalize", NORMALIZE)
        check_choice(statistics, "statistics", ("frame", "sequence"))
        if statistics == "sequence" and normalize != "laurent":
            raise ValueError(f"statistics='sequence' normalises only the input projection, so it needs "
                             f"normalize='laurent', got normalize={normalize!r}")
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype, max_length=max_length,
                         normalize=normalize, statistics=statistics, gamma_init=gamma_init,
                         momentum=momentum, eps=eps)
        factory, kind = {"device": device, "dtype": dtype}, "layer" if normalize == "layer" else "batch"
        self.norm_ih = None if normalize == "none" else self._norm(4 * hidden_size, False, gamma_init, kind, factory)
        both = normalize in ("cooijmans", "layer")
        self.norm_hh = self._norm(4 * hidden_size, False, gamma_init, kind, factory) if both else None
        self.norm_c = self._norm(hidden_size, True, gamma_init, kind, factory) if both else None

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size, bias, **options):
        shapes = {"weight_ih": (4 * hidden_size, input_size), "weight_hh": (4 * hidden_size, hidden_size)}
        return {**shapes, "bias_ih": (4 * hidden_size,)} if bias else shapes

    def recur(self, ih: Tensor, state: State, t: int = 0, mask: Tensor | None = None) -> State:
        """The step once ``ih = norm_ih(W_x x_t) (B, 4H)`` is known."""
        return lstm_update(ih, state, self.weight_hh, getattr(self, "bias_ih", None),
                           norm_hh=lambda z: self._normalize(self.norm_hh, z, t, mask),
                           norm_c=lambda z: self._normalize(self.norm_c, z, t, mask))
