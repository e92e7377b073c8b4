"""Checks of exercise 01 (Elman networks and backpropagation through time)."""
from __future__ import annotations

import numpy as np
import torch

from ... import functional
from ...recurrent import unroll
from ..core import Check, normal, random_sizes
from ..forbidden import AUTOGRAD, RNN_CELLS

#: What an Elman part must not use: a finished RNN (torch's, refused at the dispatcher), or ours
#: (refused by name in the student's notebook; the grading sandbox does not even contain it).
RNN_SHORTCUTS = (RNN_CELLS, "rnncourse.functional.elman_step", "rnncourse.cells.ElmanCell", "rnncourse.RNN",
                 "rnncourse.Recurrent")


def _weights(rng, sizes, scale=1.0):
    hidden, inputs = sizes["H"], sizes["I"]
    bound = scale / np.sqrt(hidden)
    return {
        "W_ih": rng.uniform(-bound, bound, (hidden, inputs)),
        "W_hh": rng.uniform(-bound, bound, (hidden, hidden)),
        "b_ih": rng.uniform(-bound, bound, (hidden,)),
        "b_hh": rng.uniform(-bound, bound, (hidden,)),
    }


def _step_cases(rng: np.random.Generator, hidden: bool):
    cases = []
    for index in range(6 if hidden else 2):
        sizes = random_sizes(rng, hidden)
        # The last hidden case uses large weights so that tanh saturates: a sign or an
        # activation mistake cannot hide in the linear range.
        scale = 4.0 if hidden and index == 5 else 1.0
        cases.append({"x": normal(rng, sizes["B"], sizes["I"]), "h": normal(rng, sizes["B"], sizes["H"]),
                      **_weights(rng, sizes, scale)})
    return cases


def _sequence_cases(rng: np.random.Generator, hidden: bool):
    cases = []
    for _ in range(5 if hidden else 2):
        sizes = random_sizes(rng, hidden)
        cases.append({"xs": normal(rng, sizes["T"], sizes["B"], sizes["I"]),
                      "h0": normal(rng, sizes["B"], sizes["H"]), **_weights(rng, sizes)})
    return cases


def _bptt_cases(rng: np.random.Generator, hidden: bool):
    cases = _sequence_cases(rng, hidden)
    for case in cases:
        steps, batch, _ = case["xs"].shape
        case["grad_hs"] = normal(rng, steps, batch, case["W_hh"].shape[0])
    return cases


def reference_elman_step(x, h, W_ih, W_hh, b_ih, b_hh):
    return functional.elman_step(x, h, W_ih, W_hh, b_ih, b_hh)


def reference_rnn_forward(xs, h0, W_ih, W_hh, b_ih, b_hh):
    def step(x, state):
        return (functional.elman_step(x, state[0], W_ih, W_hh, b_ih, b_hh),)

    hs, (h_last,) = unroll(step, xs, (h0,))
    return hs, h_last


def reference_bptt_gradients(xs, h0, W_ih, W_hh, b_ih, b_hh, grad_hs):
    """Gradients of ``L = sum_t <grad_hs[t], h_t>`` by autograd: the answer the hand-derived BPTT must give."""
    with torch.enable_grad():
        params = [p.clone().requires_grad_(True) for p in (W_ih, W_hh, b_ih, h0)]
        w_ih, w_hh, b, start = params
        hs, _ = reference_rnn_forward(xs, start, w_ih, w_hh, b, b_hh)
        loss = (hs * grad_hs).sum()
        return tuple(torch.autograd.grad(loss, params))


elman_step = Check(
    name="elman_step",
    signature="elman_step(x, h, W_ih, W_hh, b_ih, b_hh)",
    outputs=("h_new",),
    make_cases=_step_cases,
    reference=reference_elman_step,
    forbidden=RNN_SHORTCUTS,
)

rnn_forward = Check(
    name="rnn_forward",
    signature="rnn_forward(xs, h0, W_ih, W_hh, b_ih, b_hh)",
    outputs=("hs", "h_last"),
    make_cases=_sequence_cases,
    reference=reference_rnn_forward,
    forbidden=RNN_SHORTCUTS,
)

bptt_gradients = Check(
    name="bptt_gradients",
    signature="bptt_gradients(xs, h0, W_ih, W_hh, b_ih, b_hh, grad_hs)",
    outputs=("dW_ih", "dW_hh", "db", "dh0"),
    make_cases=_bptt_cases,
    reference=reference_bptt_gradients,
    forbidden=(*RNN_SHORTCUTS, AUTOGRAD),  # gradients by hand: autograd is refused too
)

#: The parts of exercise 01_rnn, in the order of the notebook.
CHECKS = (elman_step, rnn_forward, bptt_gradients)
