"""Checks of exercise 06 (the convolutional LSTM: one step, Shi et al.'s peepholes, a sequence of frames).

Weights stack the gate blocks in torch's LSTM order ``i, f, g, o``: ``W_ih (4C_h, C_in, kh, kw)``,
``W_hh (4C_h, C_h, kh', kw')`` and one bias per gate and channel ``b (4C_h,)``, as Shi et al. (2015)
and Keras have it. The peepholes of Shi et al. are full maps, ``w_ci, w_cf, w_co (C_h, H, W)``.
Every convolution has stride 1 and 'same' zero padding, ``(k - 1) // 2`` zeros before and the rest
after (one more at the bottom and on the right for an even kernel), so ``h`` and ``c`` keep the
input's spatial size ``H x W``.
"""
from __future__ import annotations

import numpy as np

from ... import functional_conv
from ...recurrent import unroll
from ..core import Check, normal
from ..forbidden import LSTM_CELLS

#: What a ConvLSTM part must not use: torch's finished LSTM (its gating could finish the step once
#: the convolutions are done; every route is refused at the dispatcher) and the reference in
#: rnncourse (refused in the student's notebook; the grading sandbox does not contain it).
#: ``torch.nn.functional.conv2d`` is allowed: the exercise is the recurrence, not the convolution.
CONV_LSTM_SHORTCUTS = (LSTM_CELLS, "rnncourse.functional_conv.conv_lstm_step", "rnncourse.functional_conv.conv2d_same",
                       "rnncourse.cells.ConvLSTMCell", "rnncourse.cells.ConvLSTM",
                       "rnncourse.cells.conv_lstm.ConvLSTMCell", "rnncourse.cells.conv_lstm.ConvLSTM")

#: How much wider than the initialisation the weights of a saturating case are drawn.
SATURATING = 5.0
#: The sizes of the edge case every hidden test includes: one of everything, on a 1x1 map.
ONES = {"T": 1, "B": 1, "C_in": 1, "C_h": 1, "H": 1, "W": 1, "k_ih": (1, 1), "k_hh": (1, 1)}


def _sizes(rng: np.random.Generator, hidden: bool, count: int) -> list[tuple[dict, bool]]:
    """``(sizes, saturated)`` of each case.

    Visible: a 5x4 map (not square, so swapped axes show), one case with odd kernels and one with
    even ones. Hidden: random sizes and kernels from 1 to 5 on each axis (odd, even, not square,
    larger than the map), then the case of ones, then a saturating case with even kernels.
    """
    if not hidden:
        base = {"T": 3, "B": 2, "C_in": 2, "C_h": 3, "H": 5, "W": 4}
        return [({**base, "k_ih": (3, 3), "k_hh": (3, 3)}, False), ({**base, "k_ih": (2, 2), "k_hh": (4, 4)}, False)][:count]

    def draw() -> dict:
        kernel = lambda: (int(rng.integers(1, 6)), int(rng.integers(1, 6)))  # noqa: E731
        return {"T": int(rng.integers(1, 5)), "B": int(rng.integers(1, 4)), "C_in": int(rng.integers(1, 4)),
                "C_h": int(rng.integers(1, 5)), "H": int(rng.integers(1, 8)), "W": int(rng.integers(1, 8)),
                "k_ih": kernel(), "k_hh": kernel()}

    even = {**draw(), "k_ih": (2, 4), "k_hh": (4, 2)}
    return [(draw(), False) for _ in range(count - 2)] + [(ONES, False), (even, True)]


def conv_weights(rng: np.random.Generator, sizes: dict, peephole: bool, saturated: bool) -> dict:
    """``W_ih``, ``W_hh``, ``b`` and, with ``peephole``, ``w_ci, w_cf, w_co``.

    Uniform in ``±1/sqrt(fan_in)`` of each convolution (``fan_in = C * kh * kw``), so that the
    pre-activations stay of order one whatever the kernel; ``saturated`` widens every range.
    """
    scale = SATURATING if saturated else 1.0
    channels, inputs = sizes["C_h"], sizes["C_in"]

    def uniform(fan_in: int, *shape: int) -> np.ndarray:
        bound = scale / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape)

    weights = {"W_ih": uniform(inputs * int(np.prod(sizes["k_ih"])), 4 * channels, inputs, *sizes["k_ih"]),
               "W_hh": uniform(channels * int(np.prod(sizes["k_hh"])), 4 * channels, channels, *sizes["k_hh"]),
               "b": uniform(channels, 4 * channels)}
    if peephole:
        weights.update({name: uniform(1, channels, sizes["H"], sizes["W"]) for name in ("w_ci", "w_cf", "w_co")})
    return weights


def _state(rng: np.random.Generator, sizes: dict, saturated: bool) -> tuple[np.ndarray, np.ndarray]:
    shape = (sizes["B"], sizes["C_h"], sizes["H"], sizes["W"])
    # A saturating case also gets a large cell, as a long run builds up.
    return normal(rng, *shape), normal(rng, *shape, scale=3.0 if saturated else 1.0)


def _step_cases(peephole: bool):
    def make_cases(rng: np.random.Generator, hidden: bool):
        cases = []
        for sizes, saturated in _sizes(rng, hidden, 7 if hidden else 2):
            h, c = _state(rng, sizes, saturated)
            cases.append({"x": normal(rng, sizes["B"], sizes["C_in"], sizes["H"], sizes["W"]), "h": h, "c": c,
                          **conv_weights(rng, sizes, peephole, saturated)})
        return cases

    return make_cases


def _sequence_cases(rng: np.random.Generator, hidden: bool):
    cases = []
    for sizes, saturated in _sizes(rng, hidden, 5 if hidden else 2):
        h0, c0 = _state(rng, sizes, saturated)
        cases.append({"xs": normal(rng, sizes["T"], sizes["B"], sizes["C_in"], sizes["H"], sizes["W"]),
                      "h0": h0, "c0": c0, **conv_weights(rng, sizes, True, saturated)})
    return cases


def reference_conv_lstm_step(x, h, c, W_ih, W_hh, b):
    return functional_conv.conv_lstm_step(x, (h, c), W_ih, W_hh, b)


def reference_peephole_conv_lstm_step(x, h, c, W_ih, W_hh, b, w_ci, w_cf, w_co):
    return functional_conv.conv_lstm_step(x, (h, c), W_ih, W_hh, b, peephole=True,
                                          weight_ci=w_ci, weight_cf=w_cf, weight_co=w_co)


def reference_conv_lstm_forward(xs, h0, c0, W_ih, W_hh, b, w_ci, w_cf, w_co):
    def step(x, state):
        return functional_conv.conv_lstm_step(x, state, W_ih, W_hh, b, peephole=True,
                                              weight_ci=w_ci, weight_cf=w_cf, weight_co=w_co)

    hs, (h_last, c_last) = unroll(step, xs, (h0, c0))
    return hs, h_last, c_last


conv_lstm_step = Check(
    name="conv_lstm_step",
    signature="conv_lstm_step(x, h, c, W_ih, W_hh, b)",
    outputs=("h_new", "c_new"),
    make_cases=_step_cases(peephole=False),
    reference=reference_conv_lstm_step,
    forbidden=CONV_LSTM_SHORTCUTS,
)

peephole_conv_lstm_step = Check(
    name="peephole_conv_lstm_step",
    signature="peephole_conv_lstm_step(x, h, c, W_ih, W_hh, b, w_ci, w_cf, w_co)",
    outputs=("h_new", "c_new"),
    make_cases=_step_cases(peephole=True),
    reference=reference_peephole_conv_lstm_step,
    forbidden=CONV_LSTM_SHORTCUTS,
)

conv_lstm_forward = Check(
    name="conv_lstm_forward",
    signature="conv_lstm_forward(xs, h0, c0, W_ih, W_hh, b, w_ci, w_cf, w_co)",
    outputs=("hs", "h_last", "c_last"),
    make_cases=_sequence_cases,
    reference=reference_conv_lstm_forward,
    forbidden=CONV_LSTM_SHORTCUTS,
)

#: The parts of exercise 06_convlstm, in the order of the notebook.
CHECKS = (conv_lstm_step, peephole_conv_lstm_step, conv_lstm_forward)
