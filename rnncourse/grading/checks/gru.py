"""Checks of exercise 03 (gated recurrent units: torch's GRU, Cho et al.'s GRU, the minimal gated unit).

Weights are torch's layout: for the GRUs ``W_ih (3H, I)`` and ``W_hh (3H, H)`` stack the blocks
``r, z, n``; for the MGU ``W_ih (2H, I)`` and ``W_hh (2H, H)`` stack ``f, n``. Biases ``b_ih, b_hh``
have as many rows as the weights.
"""
from __future__ import annotations

import numpy as np

from ... import functional
from ..core import Check, normal
from ..forbidden import GRU_CELLS
from .lstm import case_sizes, gate_weights

#: What a part of this exercise must not use: torch's finished GRU (every route, at the dispatcher;
#: torch has no MGU) and the reference in rnncourse, as in lstm.py.
GRU_SHORTCUTS = (GRU_CELLS, "rnncourse.functional.gru_step", "rnncourse.functional.mgu_step",
                 "rnncourse.cells.GRUCell", "rnncourse.cells.MGUCell", "rnncourse.GRU", "rnncourse.MGU",
                 "rnncourse.Recurrent")


def _cases_with(gates: int):
    """The case generator of a one-state cell whose weights stack ``gates`` blocks."""

    def make_cases(rng: np.random.Generator, hidden: bool):
        return [{"x": normal(rng, sizes["B"], sizes["I"]), "h": normal(rng, sizes["B"], sizes["H"]),
                 **gate_weights(rng, sizes, gates, saturated)}
                for sizes, saturated in case_sizes(rng, hidden, 6 if hidden else 2)]

    return make_cases


def reference_gru_step(x, h, W_ih, W_hh, b_ih, b_hh):
    return functional.gru_step(x, h, W_ih, W_hh, b_ih, b_hh, reset_after=True)


def reference_cho_gru_step(x, h, W_ih, W_hh, b_ih, b_hh):
    return functional.gru_step(x, h, W_ih, W_hh, b_ih, b_hh, reset_after=False)


def reference_mgu_step(x, h, W_ih, W_hh, b_ih, b_hh):
    return functional.mgu_step(x, h, W_ih, W_hh, b_ih, b_hh)


gru_step = Check(
    name="gru_step",
    signature="gru_step(x, h, W_ih, W_hh, b_ih, b_hh)",
    outputs=("h_new",),
    make_cases=_cases_with(3),
    reference=reference_gru_step,
    forbidden=GRU_SHORTCUTS,
)

cho_gru_step = Check(
    name="cho_gru_step",
    signature="cho_gru_step(x, h, W_ih, W_hh, b_ih, b_hh)",
    outputs=("h_new",),
    make_cases=_cases_with(3),
    reference=reference_cho_gru_step,
    forbidden=GRU_SHORTCUTS,
)

mgu_step = Check(
    name="mgu_step",
    signature="mgu_step(x, h, W_ih, W_hh, b_ih, b_hh)",
    outputs=("h_new",),
    make_cases=_cases_with(2),
    reference=reference_mgu_step,
    forbidden=GRU_SHORTCUTS,
)

#: The parts of exercise 03_gru_mgu, in the order of the notebook.
CHECKS = (gru_step, cho_gru_step, mgu_step)
