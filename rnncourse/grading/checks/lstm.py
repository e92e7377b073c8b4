"""Checks of exercise 02 (the LSTM: one step, peepholes, the forward pass over a sequence).

Weights are torch's: ``W_ih (4H, I)`` and ``W_hh (4H, H)`` stack the gate blocks ``i, f, g, o``,
and the biases ``b_ih, b_hh (4H,)`` likewise. The state is passed as two tensors ``h, c`` rather
than a tuple because every argument of a check is one array.
"""
from __future__ import annotations

import numpy as np

from ... import functional
from ...recurrent import unroll
from ..core import Check, normal, random_sizes
from ..forbidden import LSTM_CELLS

#: What an LSTM part must not use: torch's finished LSTM (every route, at the dispatcher) and the
#: reference in rnncourse (refused in the student's notebook; the grading sandbox does not contain it).
LSTM_SHORTCUTS = (LSTM_CELLS, "rnncourse.functional.lstm_step", "rnncourse.cells.LSTMCell", "rnncourse.LSTM",
                  "rnncourse.Recurrent")

#: The sizes of the edge case every hidden test includes: one of everything.
ONES = {"T": 1, "B": 1, "I": 1, "H": 1}
#: How much wider than torch's initialisation the weights of a saturating case are drawn.
SATURATING = 5.0


def gate_weights(rng: np.random.Generator, sizes: dict[str, int], gates: int, saturated: bool = False) -> dict:
    """``W_ih (G*H, I)``, ``W_hh (G*H, H)``, ``b_ih, b_hh (G*H,)`` for ``G = gates`` blocks.

    Drawn like torch's initialisation, uniform in ``±1/sqrt(H)``; ``saturated`` widens the range
    so that the gates saturate (sigmoids near 0 or 1, tanh near -1 or 1), where a wrong
    activation or a swapped gate cannot hide in the nearly linear range around 0.
    """
    hidden, inputs = sizes["H"], sizes["I"]
    bound = (SATURATING if saturated else 1.0) / np.sqrt(hidden)
    return {
        "W_ih": rng.uniform(-bound, bound, (gates * hidden, inputs)),
        "W_hh": rng.uniform(-bound, bound, (gates * hidden, hidden)),
        "b_ih": rng.uniform(-bound, bound, (gates * hidden,)),
        "b_hh": rng.uniform(-bound, bound, (gates * hidden,)),
    }


def case_sizes(rng: np.random.Generator, hidden: bool, count: int) -> list[tuple[dict[str, int], bool]]:
    """``(sizes, saturated)`` of each of ``count`` cases.

    Visible: the fixed small sizes. Hidden: random sizes, then a case with every size 1, then a
    case with random sizes and saturating weights.
    """
    if not hidden:
        return [(random_sizes(rng, False), False)] * count
    return ([(random_sizes(rng, True), False) for _ in range(count - 2)]
            + [(ONES, False), (random_sizes(rng, True), True)])


def _step_cases(rng: np.random.Generator, hidden: bool):
    cases = []
    for sizes, saturated in case_sizes(rng, hidden, 6 if hidden else 2):
        batch, units = sizes["B"], sizes["H"]
        cases.append({"x": normal(rng, batch, sizes["I"]), "h": normal(rng, batch, units),
                      # A saturating case also gets a large cell, as a long run builds up.
                      "c": normal(rng, batch, units, scale=3.0 if saturated else 1.0),
                      **gate_weights(rng, sizes, 4, saturated)})
    return cases


def _peephole_cases(rng: np.random.Generator, hidden: bool):
    cases = _step_cases(rng, hidden)
    for case in cases:
        units = case["h"].shape[1]
        bound = 1.0 / np.sqrt(units)
        case.update({name: rng.uniform(-bound, bound, (units,)) for name in ("w_ci", "w_cf", "w_co")})
    return cases


def _sequence_cases(rng: np.random.Generator, hidden: bool):
    cases = []
    for sizes, saturated in case_sizes(rng, hidden, 5 if hidden else 2):
        batch, units = sizes["B"], sizes["H"]
        cases.append({"xs": normal(rng, sizes["T"], batch, sizes["I"]), "h0": normal(rng, batch, units),
                      "c0": normal(rng, batch, units), **gate_weights(rng, sizes, 4, saturated)})
    return cases


def reference_lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh):
    return functional.lstm_step(x, (h, c), W_ih, W_hh, b_ih, b_hh)


def reference_peephole_lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    return functional.lstm_step(x, (h, c), W_ih, W_hh, b_ih, b_hh, peephole=True,
                                weight_ci=w_ci, weight_cf=w_cf, weight_co=w_co)


def reference_lstm_forward(xs, h0, c0, W_ih, W_hh, b_ih, b_hh):
    def step(x, state):
        return functional.lstm_step(x, state, W_ih, W_hh, b_ih, b_hh)

    hs, (h_last, c_last) = unroll(step, xs, (h0, c0))
    return hs, h_last, c_last


lstm_step = Check(
    name="lstm_step",
    signature="lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh)",
    outputs=("h_new", "c_new"),
    make_cases=_step_cases,
    reference=reference_lstm_step,
    forbidden=LSTM_SHORTCUTS,
)

peephole_lstm_step = Check(
    name="peephole_lstm_step",
    signature="peephole_lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co)",
    outputs=("h_new", "c_new"),
    make_cases=_peephole_cases,
    reference=reference_peephole_lstm_step,
    forbidden=LSTM_SHORTCUTS,
)

lstm_forward = Check(
    name="lstm_forward",
    signature="lstm_forward(xs, h0, c0, W_ih, W_hh, b_ih, b_hh)",
    outputs=("hs", "h_last", "c_last"),
    make_cases=_sequence_cases,
    reference=reference_lstm_forward,
    forbidden=LSTM_SHORTCUTS,
)

#: The parts of exercise 02_lstm, in the order of the notebook.
CHECKS = (lstm_step, peephole_lstm_step, lstm_forward)
