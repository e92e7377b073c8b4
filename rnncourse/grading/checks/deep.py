"""Checks of exercise 04 (deep and bidirectional layers: directions, a stack, variable lengths, sampling).

The layers run the LSTM step the notebook gives, with torch's weights per direction stacked along a
leading axis ``D = 2`` (forward first): ``W_ih (2, 4H, I)``, ``W_hh (2, 4H, H)``, ``b_ih, b_hh (2, 4H)``.
States are torch's ``(N_L*D, B, H)``, row ``layer * 2 + direction``. The layers return the flat tuple
``(output (T, B, 2H), h_n (L*2, B, H), c_n (L*2, B, H))``; torch nests it as ``(output, (h_n, c_n))``.

Lengths arrive as float64 like every other input (whole numbers in ``[1, T]``). The answers come from
the course's layers (:func:`rnncourse.recurrent.unroll.run_layers` with ``lengths=``, equal to
``torch.nn.LSTM`` on packed sequences) and from
:func:`rnncourse.models.language_model.next_character_probabilities`; the draw is by the inverse
cumulative distribution from given uniforms, so that it is deterministic and checkable.
"""
from __future__ import annotations

import numpy as np
import torch

from ... import functional
from ...models.language_model import next_character_probabilities
from ...recurrent.unroll import run_layers
from ..core import Check, normal
from ..forbidden import GRU_CELLS, LSTM_CELLS, RNN_CELLS
from .lstm import case_sizes, gate_weights

#: What a layer part must not use: torch's finished recurrent layers and cells (every route, at the
#: dispatcher) and the course's layers, which the grading sandbox does not contain anyway.
LAYER_SHORTCUTS = (LSTM_CELLS, GRU_CELLS, RNN_CELLS, "rnncourse.functional.lstm_step", "rnncourse.cells.LSTMCell",
                   "rnncourse.LSTM", "rnncourse.Recurrent", "rnncourse.Stacked", "rnncourse.unroll", "rnncourse.recurrent.unroll",
                   "rnncourse.recurrent.reverse_padded", "rnncourse.recurrent.RecurrentLayers")

#: What the sampling part must not use: the course's sampling.
SAMPLING_SHORTCUTS = ("rnncourse.models.next_character_probabilities", "rnncourse.models.sample",
                      "rnncourse.models.generate")

#: Padded steps of a variable-length case hold values this large, so that a step that reads them shows.
PADDING_SCALE = 10.0


def direction_weights(rng: np.random.Generator, sizes: dict[str, int], saturated: bool, suffix: str = "") -> dict:
    """``W_ih (2, 4H, I)``, ``W_hh (2, 4H, H)``, ``b_ih, b_hh (2, 4H)``: one LSTM per direction, forward first."""
    forward, backward = gate_weights(rng, sizes, 4, saturated), gate_weights(rng, sizes, 4, saturated)
    return {name + suffix: np.stack([forward[name], backward[name]]) for name in forward}


def _states(rng: np.random.Generator, rows: int, sizes: dict[str, int]) -> dict:
    return {"h0": normal(rng, rows, sizes["B"], sizes["H"]), "c0": normal(rng, rows, sizes["B"], sizes["H"])}


def _bidirectional_cases(rng: np.random.Generator, hidden: bool):
    return [{"xs": normal(rng, sizes["T"], sizes["B"], sizes["I"]), **_states(rng, 2, sizes),
             **direction_weights(rng, sizes, saturated)}
            for sizes, saturated in case_sizes(rng, hidden, 6 if hidden else 2)]


def _stacked_cases(rng: np.random.Generator, hidden: bool):
    cases = []
    for sizes, saturated in case_sizes(rng, hidden, 5 if hidden else 2):
        upper = {**sizes, "I": 2 * sizes["H"]}  # layer 2 reads both directions of layer 1
        cases.append({"xs": normal(rng, sizes["T"], sizes["B"], sizes["I"]), **_states(rng, 4, sizes),
                      **direction_weights(rng, sizes, saturated, "_l0"),
                      **direction_weights(rng, upper, saturated, "_l1")})
    return cases


def _masked_cases(rng: np.random.Generator, hidden: bool):
    """Padded batches: lengths in ``[1, T]``, the shortest 1 where ``B > 1``; one hidden case has every length ``T``."""
    cases = []
    sized = case_sizes(rng, hidden, 6 if hidden else 2)
    if not hidden:
        sized = [({**sizes, "T": 5, "B": 4}, saturated) for sizes, saturated in sized]
    for k, (sizes, saturated) in enumerate(sized):
        sizes = dict(sizes)
        steps, batch = sizes["T"], sizes["B"]
        if hidden and steps == 1 and batch > 1:
            steps = sizes["T"] = 3
        lengths = rng.integers(1, steps + 1, batch)
        if batch > 1:
            lengths[rng.integers(0, batch)] = 1
            lengths[rng.integers(0, batch)] = steps
        if hidden and k == 1:  # nothing padded: the layer of part 1
            lengths[:] = steps
        xs = normal(rng, steps, batch, sizes["I"])
        padded = np.arange(steps)[:, None] >= lengths[None, :]  # (T, B)
        xs[padded] *= PADDING_SCALE
        cases.append({"xs": xs, "lengths": lengths.astype(np.float64), **_states(rng, 2, sizes),
                      **direction_weights(rng, sizes, saturated)})
    return cases


def _sampling_cases(rng: np.random.Generator, hidden: bool):
    """Logits, a temperature and uniforms in ``[0, 1)``: arg-max at 0 (ties to the first), large logits
    at a small temperature (a softmax that does not subtract the maximum overflows), near-uniform at 100."""
    if not hidden:
        return [{"logits": normal(rng, 3, 5, scale=2.0), "temperature": np.array(t),
                 "uniforms": rng.uniform(0.0, 0.999, 3)} for t in (1.0, 0.5)]
    cases = []
    for k, temperature in enumerate((1.0, 0.7, 2.0, 0.0, 0.0, 0.02, 100.0, float(rng.uniform(0.2, 3.0)))):
        batch, vocabulary = int(rng.integers(1, 7)), int(rng.integers(1, 12))
        logits = normal(rng, batch, vocabulary, scale=3.0)
        if k == 4:  # ties at the maximum: arg-max takes the first
            logits = np.round(logits)
            logits[:, -1] = logits[:, 0] = logits.max() + 1.0
        if k == 5:
            logits *= 10.0
        cases.append({"logits": logits, "temperature": np.array(temperature),
                      "uniforms": rng.uniform(0.0, 0.999, batch)})
    return cases


def _step(W_ih, W_hh, b_ih, b_hh):
    return lambda x, state: functional.lstm_step(x, state, W_ih, W_hh, b_ih, b_hh)


def _layers(xs, h0, c0, weights, lengths=None):
    """``weights[layer] = (W_ih, W_hh, b_ih, b_hh)``, each ``(2, ...)``: the course's stacked bidirectional LSTM."""
    def step_of(layer, direction):
        return _step(*(w[direction] for w in weights[layer]))

    output, (h_n, c_n) = run_layers(step_of, len(weights), 2, xs, (h0, c0), lengths=lengths)
    return output, h_n, c_n


def reference_bidirectional_lstm(xs, h0, c0, W_ih, W_hh, b_ih, b_hh):
    return _layers(xs, h0, c0, [(W_ih, W_hh, b_ih, b_hh)])


def reference_stacked_bidirectional_lstm(xs, h0, c0, W_ih_l0, W_hh_l0, b_ih_l0, b_hh_l0,
                                         W_ih_l1, W_hh_l1, b_ih_l1, b_hh_l1):
    return _layers(xs, h0, c0, [(W_ih_l0, W_hh_l0, b_ih_l0, b_hh_l0), (W_ih_l1, W_hh_l1, b_ih_l1, b_hh_l1)])


def reference_masked_bidirectional_lstm(xs, lengths, h0, c0, W_ih, W_hh, b_ih, b_hh):
    return _layers(xs, h0, c0, [(W_ih, W_hh, b_ih, b_hh)], lengths=lengths.round().to(torch.int64))


def reference_sample_with_temperature(logits, temperature, uniforms):
    probabilities = next_character_probabilities(logits, float(temperature))  # (B, V)
    cumulative = probabilities.cumsum(-1)  # (B, V)
    index = torch.searchsorted(cumulative, uniforms.unsqueeze(-1), right=True).squeeze(-1)  # (B,)
    return probabilities, index.clamp(max=logits.shape[-1] - 1)


bidirectional_lstm = Check(
    name="bidirectional_lstm",
    signature="bidirectional_lstm(xs, h0, c0, W_ih, W_hh, b_ih, b_hh)",
    outputs=("output", "h_n", "c_n"),
    make_cases=_bidirectional_cases,
    reference=reference_bidirectional_lstm,
    forbidden=LAYER_SHORTCUTS,
)

stacked_bidirectional_lstm = Check(
    name="stacked_bidirectional_lstm",
    signature="stacked_bidirectional_lstm(xs, h0, c0, W_ih_l0, W_hh_l0, b_ih_l0, b_hh_l0, "
              "W_ih_l1, W_hh_l1, b_ih_l1, b_hh_l1)",
    outputs=("output", "h_n", "c_n"),
    make_cases=_stacked_cases,
    reference=reference_stacked_bidirectional_lstm,
    forbidden=LAYER_SHORTCUTS,
)

masked_bidirectional_lstm = Check(
    name="masked_bidirectional_lstm",
    signature="masked_bidirectional_lstm(xs, lengths, h0, c0, W_ih, W_hh, b_ih, b_hh)",
    outputs=("output", "h_n", "c_n"),
    make_cases=_masked_cases,
    reference=reference_masked_bidirectional_lstm,
    forbidden=LAYER_SHORTCUTS,
)

sample_with_temperature = Check(
    name="sample_with_temperature",
    signature="sample_with_temperature(logits, temperature, uniforms)",
    outputs=("probabilities", "indices"),
    make_cases=_sampling_cases,
    reference=reference_sample_with_temperature,
    forbidden=SAMPLING_SHORTCUTS,
)

#: The parts of exercise 04_deep_bidirectional, in the order of the notebook.
CHECKS = (bidirectional_lstm, stacked_bidirectional_lstm, masked_bidirectional_lstm, sample_with_temperature)
