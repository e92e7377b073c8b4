"""Checks of exercise 08 (encoder-decoders on Moving MNIST: the bounce, the frames' cross-entropy, the composite loss).

Frames are time-major ``(T, B, C, Hf, Wf)`` with values in ``[0, 1]``; the decoders output logits of
the same shape. Positions and velocities are ``(B, D, 2)`` (row, column of each digit), the walls
``low`` and ``high`` single numbers (0-d arrays at the boundary, like every input). The answers come
from :func:`rnncourse.data.moving_mnist.bounce_step` and from :mod:`rnncourse.models.seq2seq`
(:func:`~rnncourse.models.seq2seq.frame_loss` with ``kind="logistic"`` and
:func:`~rnncourse.models.seq2seq.reconstruction_target`, the two losses of ``CompositeLSTM.losses``).
"""
from __future__ import annotations

import numpy as np

from ...data.moving_mnist import bounce_step as moving_mnist_bounce
from ...models.seq2seq import frame_loss, reconstruction_target
from ..core import Check, normal
from ..forbidden import BINARY_CROSS_ENTROPY

#: The bounce may not call the course's generator (``rnncourse.data.moving_mnist`` is its function).
BOUNCE_SHORTCUTS = ("rnncourse.data.bounce_step", "rnncourse.data.moving_mnist")

#: The losses may not call a finished binary cross-entropy (every route, at the dispatcher) or the course's losses.
LOSS_SHORTCUTS = (BINARY_CROSS_ENTROPY, "rnncourse.models.frame_loss", "rnncourse.models.seq2seq.frame_loss",
                  "rnncourse.models.reconstruction_target", "rnncourse.models.seq2seq.reconstruction_target",
                  "rnncourse.models.CompositeLSTM", "rnncourse.models.seq2seq.CompositeLSTM",
                  "rnncourse.models.LSTMAutoencoder", "rnncourse.models.seq2seq.LSTMAutoencoder")


def _bounce_cases(rng: np.random.Generator, hidden: bool):
    """Digits anywhere between the walls, speeds up to the free range (one reflection per step is exact then).

    Hidden: random walls (a negative ``low`` too), a batch aimed at a corner (both coordinates
    reflect), velocities of zero, and speeds as large as the free range.
    """
    if not hidden:
        return [{"position": rng.uniform(0.0, 36.0, (3, 2, 2)), "velocity": rng.uniform(-5.0, 5.0, (3, 2, 2)),
                 "low": np.array(0.0), "high": np.array(36.0)} for _ in range(2)]
    cases = []
    for k in range(7):
        batch, digits = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        low = float(rng.uniform(-10.0, 5.0)) if k % 2 else 0.0
        high = low + float(rng.uniform(2.0, 40.0))
        span = high - low
        position = rng.uniform(low, high, (batch, digits, 2))
        speed = span if k == 3 else rng.uniform(0.0, 0.5 * span)
        velocity = rng.uniform(-1.0, 1.0, (batch, digits, 2)) * speed
        if k == 4:  # near a corner, heading into it
            position = high - rng.uniform(0.0, 0.1 * span, (batch, digits, 2))
            velocity = rng.uniform(0.2, 0.5, (batch, digits, 2)) * span
        if k == 5:  # at rest
            velocity[:] = 0.0
        cases.append({"position": position, "velocity": velocity, "low": np.array(low), "high": np.array(high)})
    return cases


def _frames(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Binary-like frames in ``[0, 1]``: mostly background 0, some ink 1, some grey in between."""
    frames = np.zeros(shape)
    ink = rng.uniform(0.0, 1.0, shape)
    frames[ink > 0.7] = 1.0
    grey = (ink > 0.55) & (ink <= 0.7)
    frames[grey] = rng.uniform(0.0, 1.0, int(grey.sum()))
    return frames


def _frame_shapes(rng: np.random.Generator, hidden: bool, count: int) -> list[tuple[int, int, int, int, int]]:
    """``(T, B, C, Hf, Wf)`` of each case: fixed when visible; random, then one of every size 1, when hidden."""
    if not hidden:
        return [(4, 3, 1, 6, 6)] * count
    shapes = [(int(rng.integers(1, 6)), int(rng.integers(1, 5)), int(rng.integers(1, 3)), int(rng.integers(1, 8)),
               int(rng.integers(1, 8))) for _ in range(count - 1)]
    return shapes + [(1, 1, 1, 1, 1)]


def _logits(rng: np.random.Generator, shape, large: bool) -> np.ndarray:
    """Decoder logits; ``large``: confident ones, up to ±200 (``log(sigmoid(z))`` computed naively is ``log 0``)."""
    logits = normal(rng, *shape, scale=3.0)
    if large:
        logits *= 40.0
        logits.flat[0] = 200.0
        logits.flat[-1] = -200.0
    return logits


def _cross_entropy_cases(rng: np.random.Generator, hidden: bool):
    shapes = _frame_shapes(rng, hidden, 6 if hidden else 2)
    return [{"logits": _logits(rng, shape, hidden and k == 0), "target": _frames(rng, shape)}
            for k, shape in enumerate(shapes)]


def _composite_cases(rng: np.random.Generator, hidden: bool):
    cases = []
    for k, (steps, batch, channels, height, width) in enumerate(_frame_shapes(rng, hidden, 6 if hidden else 2)):
        future = int(rng.integers(1, 6)) if hidden else 3
        inputs = _frames(rng, (steps, batch, channels, height, width))
        cases.append({"inputs": inputs,
                      "reconstruction": _logits(rng, inputs.shape, hidden and k == 0),
                      "future": _frames(rng, (future, batch, channels, height, width)),
                      "prediction": _logits(rng, (future, batch, channels, height, width), hidden and k == 1)})
    return cases


def reference_bounce_step(position, velocity, low, high):
    return moving_mnist_bounce(position, velocity, float(low), float(high))


def reference_frame_cross_entropy(logits, target):
    return frame_loss(logits, target, "logistic")


def reference_composite_loss(inputs, reconstruction, future, prediction):
    reconstruction_loss = frame_loss(reconstruction, reconstruction_target(inputs), "logistic")
    future_loss = frame_loss(prediction, future, "logistic")
    return reconstruction_loss + future_loss, reconstruction_loss, future_loss


bounce_step = Check(
    name="bounce_step",
    signature="bounce_step(position, velocity, low, high)",
    outputs=("position", "velocity"),
    make_cases=_bounce_cases,
    reference=reference_bounce_step,
    forbidden=BOUNCE_SHORTCUTS,
)

frame_cross_entropy = Check(
    name="frame_cross_entropy",
    signature="frame_cross_entropy(logits, target)",
    outputs=("loss",),
    make_cases=_cross_entropy_cases,
    reference=reference_frame_cross_entropy,
    forbidden=LOSS_SHORTCUTS,
)

composite_loss = Check(
    name="composite_loss",
    signature="composite_loss(inputs, reconstruction, future, prediction)",
    outputs=("loss", "reconstruction_loss", "future_loss"),
    make_cases=_composite_cases,
    reference=reference_composite_loss,
    forbidden=LOSS_SHORTCUTS,
)

#: The parts of exercise 08_seq2seq, in the order of the notebook.
CHECKS = (bounce_step, frame_cross_entropy, composite_loss)
