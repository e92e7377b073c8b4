"""Checks of exercise 07 (batch normalization in recurrent networks: per-step statistics, evaluation, BN-LSTM).

Shapes: ``T`` steps, ``B`` batch, ``F`` features normalised, ``T_max`` steps with statistics of their
own, ``I`` inputs, ``H`` hidden units. The constants are ``torch.nn.BatchNorm1d``'s defaults, which
the notebook states: ``momentum = 0.1``, ``eps = 1e-5``. A mask is a float array, 1 for a real entry
and 0 for padding, since every argument of a check is one float64 array.
"""
from __future__ import annotations

import numpy as np
import torch

from ...cells.bn import batch_norm_step, bn_lstm_step as reference_cell_step
from ..core import Check, normal
from ..forbidden import BATCH_NORM, LSTM_CELLS, NORMALIZATION

MOMENTUM, EPS = 0.1, 1e-5

#: What a batch-normalization part must not use: torch's finished batch normalization (every route
#: at the dispatcher: torch.nn.BatchNorm1d under any module path, torch.nn.functional.batch_norm,
#: the aten kernels), the other finished normalizations (each one, applied to the transposed
#: tensor, is a batch normalization), and the reference in rnncourse.
BN_SHORTCUTS = (BATCH_NORM, NORMALIZATION, "rnncourse.cells.batch_norm_step", "rnncourse.cells.bn.batch_norm_step",
                "rnncourse.cells.StepwiseBatchNorm", "rnncourse.cells.bn.StepwiseBatchNorm",
                "rnncourse.cells.bn_lstm_step", "rnncourse.cells.bn.bn_lstm_step", "rnncourse.cells.bn.lstm_update",
                "rnncourse.cells.BNLSTMCell", "rnncourse.cells.bn.BNLSTMCell", "rnncourse.cells.BNRNNCell",
                "rnncourse.cells.SequenceWise")
#: The BN-LSTM step may not hand its gating to torch's LSTM cell either.
BN_LSTM_SHORTCUTS = (*BN_SHORTCUTS, LSTM_CELLS)


def _features(rng: np.random.Generator, steps: int, batch: int, features: int) -> np.ndarray:
    """``(T, B, F)`` values with a mean and a spread of their own per step and feature, as the
    projections of a recurrent network have, so that normalising them changes them."""
    loc = normal(rng, steps, 1, features, scale=2.0)
    spread = rng.uniform(0.3, 3.0, (steps, 1, features))
    return loc + spread * normal(rng, steps, batch, features)


def _running(rng: np.random.Generator, rows: int, features: int) -> dict:
    """Running statistics ``(T_max, F)`` as after some training: means near 0, variances in (0.5, 2)."""
    return {"running_mean": normal(rng, rows, features), "running_var": rng.uniform(0.5, 2.0, (rows, features))}


def _affine(rng: np.random.Generator, features: int) -> dict:
    return {"gamma": rng.uniform(0.1, 2.0, features), "beta": normal(rng, features, scale=0.5)}


def _mask(steps: int, batch: int, lengths) -> np.ndarray:
    """``(T, B)``: 1 where step ``t`` of sequence ``b`` is real (``t < lengths[b]``), 0 in the padding."""
    if lengths is None:
        return np.ones((steps, batch))
    return (np.arange(steps)[:, None] < np.asarray(lengths)[None, :]).astype(np.float64)


def _train_sizes(rng: np.random.Generator, hidden: bool) -> list[tuple[int, int, int, int, list | None]]:
    """``(T, B, F, T_max, lengths)`` of each case; ``lengths`` ``None`` means no padding.

    Visible: 5 steps of which 3 have statistics of their own, once without and once with padding
    (down to one real entry at the last step).
    Hidden: random sizes and lengths; ``T_max = 1`` (``BatchNorm1d`` itself); ``T < T_max`` (rows no
    step reaches stay as they were); steps with one real entry and with none; a batch of two.
    """
    if not hidden:
        return [(5, 4, 3, 3, None), (5, 4, 3, 3, [5, 4, 2, 1])]
    cases = []
    for k in range(7):
        steps, batch, features = int(rng.integers(2, 8)), int(rng.integers(2, 7)), int(rng.integers(1, 6))
        rows = {0: 1, 1: steps + int(rng.integers(1, 3))}.get(k, int(rng.integers(1, 6)))
        lengths = [int(n) for n in rng.integers(1, steps + 1, batch)]
        lengths[int(rng.integers(batch))] = steps  # the batch is padded to its longest sequence
        if k in (0, 1):
            lengths = None
        if k == 3:  # step 0 with every entry, then steps with one real entry, then one with none
            steps = max(steps, 3)
            lengths = [steps - 1] + [1] * (batch - 1)
        if k == 4:
            batch, lengths = 2, None
        cases.append((steps, batch, features, rows, lengths))
    return cases


def _train_cases(rng: np.random.Generator, hidden: bool):
    cases = []
    for steps, batch, features, rows, lengths in _train_sizes(rng, hidden):
        cases.append({"zs": _features(rng, steps, batch, features), "mask": _mask(steps, batch, lengths),
                      **_affine(rng, features), **_running(rng, rows, features)})
    return cases


def _eval_cases(rng: np.random.Generator, hidden: bool):
    """Visible: 5 steps, 3 rows of statistics. Hidden: random sizes, ``T_max = 1``, ``T < T_max``, a batch of one."""
    sizes = [(5, 4, 3, 3), (5, 1, 2, 3)] if not hidden else [
        (int(rng.integers(1, 9)), int(rng.integers(1, 6)), int(rng.integers(1, 6)), rows)
        for rows in (int(rng.integers(1, 6)), int(rng.integers(1, 6)), 1, 8, int(rng.integers(1, 4)))]
    if hidden:
        sizes[-1] = (sizes[-1][0], 1, sizes[-1][2], sizes[-1][3])
    return [{"zs": _features(rng, steps, batch, features), **_affine(rng, features), **_running(rng, rows, features)}
            for steps, batch, features, rows in sizes]


def _bn_lstm_cases(rng: np.random.Generator, hidden: bool):
    """Visible: fixed small sizes. Hidden: random sizes (a batch of two, a hidden size of one), one
    case with the paper's initial scale 0.1 and one with wide weights, whose gates saturate."""
    sizes = [(3, 2, 5)] * 2 if not hidden else [
        (int(rng.integers(2, 7)), int(rng.integers(1, 6)), int(rng.integers(1, 7))) for _ in range(6)]
    if hidden:
        sizes[0] = (2, sizes[0][1], sizes[0][2])
        sizes[1] = (sizes[1][0], sizes[1][1], 1)
    cases = []
    for k, (batch, inputs, units) in enumerate(sizes):
        wide = 5.0 if hidden and k == 5 else 1.0
        bound = wide / np.sqrt(units)
        case = {"x": normal(rng, batch, inputs, scale=2.0), "h": normal(rng, batch, units), "c": normal(rng, batch, units),
                "W_ih": rng.uniform(-bound, bound, (4 * units, inputs)),
                "W_hh": rng.uniform(-bound, bound, (4 * units, units)),
                "b": rng.uniform(-bound, bound, 4 * units),
                "gamma_x": rng.uniform(0.1, 2.0, 4 * units) * wide, "gamma_h": rng.uniform(0.1, 2.0, 4 * units) * wide,
                "gamma_c": rng.uniform(0.1, 2.0, units), "beta_c": normal(rng, units, scale=0.5)}
        if hidden and k == 4:  # Cooijmans et al.'s initialisation of every scale
            for name in ("gamma_x", "gamma_h", "gamma_c"):
                case[name] = np.full_like(case[name], 0.1)
        cases.append(case)
    return cases


def reference_batch_norm_train(zs, mask, gamma, beta, running_mean, running_var):
    running_mean, running_var = running_mean.clone(), running_var.clone()  # batch_norm_step updates them in place
    ys = [batch_norm_step(z, t, running_mean, running_var, gamma, beta, training=True, momentum=MOMENTUM, eps=EPS,
                          mask=real > 0.5) for t, (z, real) in enumerate(zip(zs, mask))]
    return torch.stack(ys), running_mean, running_var


def reference_batch_norm_eval(zs, gamma, beta, running_mean, running_var):
    return torch.stack([batch_norm_step(z, t, running_mean, running_var, gamma, beta, training=False, eps=EPS)
                        for t, z in enumerate(zs)])


def reference_bn_lstm_step(x, h, c, W_ih, W_hh, b, gamma_x, gamma_h, gamma_c, beta_c):
    def norm(weight, bias):
        rows = weight.shape[0]
        mean, var = weight.new_zeros(1, rows), weight.new_ones(1, rows)  # never used: B >= 2 in training
        return lambda z: batch_norm_step(z, 0, mean, var, weight, bias, training=True, momentum=MOMENTUM, eps=EPS)

    return reference_cell_step(x, (h, c), W_ih, W_hh, b, norm_ih=norm(gamma_x, None), norm_hh=norm(gamma_h, None),
                               norm_c=norm(gamma_c, beta_c))


batch_norm_train = Check(
    name="batch_norm_train",
    signature="batch_norm_train(zs, mask, gamma, beta, running_mean, running_var)",
    outputs=("ys", "new_running_mean", "new_running_var"),
    make_cases=_train_cases,
    reference=reference_batch_norm_train,
    forbidden=BN_SHORTCUTS,
)

batch_norm_eval = Check(
    name="batch_norm_eval",
    signature="batch_norm_eval(zs, gamma, beta, running_mean, running_var)",
    outputs=("ys",),
    make_cases=_eval_cases,
    reference=reference_batch_norm_eval,
    forbidden=BN_SHORTCUTS,
)

bn_lstm_step = Check(
    name="bn_lstm_step",
    signature="bn_lstm_step(x, h, c, W_ih, W_hh, b, gamma_x, gamma_h, gamma_c, beta_c)",
    outputs=("h_new", "c_new"),
    make_cases=_bn_lstm_cases,
    reference=reference_bn_lstm_step,
    forbidden=BN_LSTM_SHORTCUTS,
)

#: The parts of exercise 07_batchnorm, in the order of the notebook.
CHECKS = (batch_norm_train, batch_norm_eval, bn_lstm_step)
