"""Checks of exercise 05 (the Neural Turing Machine: content addressing, shift and sharpening, the write).

Shapes: ``B`` batch, ``H`` heads, ``N`` memory rows, ``M`` row width, ``S`` shifts (odd). The
epsilons are the ones the notebook states: the cosine similarity is
``u.v / (|u| |v| + 1e-8)`` and sharpening raises ``w + 1e-12`` to the power ``gamma``.
"""
from __future__ import annotations

import numpy as np

from ...models import ntm_addressing as A
from ..core import Check, normal

#: What an NTM part must not call: the reference in rnncourse and torch's finished cosine.
NTM_SHORTCUTS = (
    "rnncourse.models.ntm_addressing.cosine_similarity", "rnncourse.models.ntm_addressing.content_addressing",
    "rnncourse.models.ntm_addressing.circular_shift", "rnncourse.models.ntm_addressing.sharpen",
    "rnncourse.models.ntm_addressing.address", "rnncourse.models.ntm_addressing.write",
    "rnncourse.models.ntm_addressing.read", "rnncourse.models.NTM", "rnncourse.models.ntm.NTM",
    "torch.nn.functional.cosine_similarity", "torch.cosine_similarity", "torch.nn.CosineSimilarity",
)


def _sizes(rng: np.random.Generator, hidden: bool, count: int) -> list[tuple[int, int, int]]:
    """``(B, N, M)`` of each case: fixed when visible, random (1 included) when hidden."""
    if not hidden:
        return [(3, 6, 4)] * count
    return [(int(rng.integers(1, 6)), int(rng.integers(3, 12)), int(rng.integers(1, 7))) for _ in range(count)]


def _simplex(rng: np.random.Generator, *shape: int, spread: float = 2.0) -> np.ndarray:
    logits = normal(rng, *shape, scale=spread)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    return weights / weights.sum(-1, keepdims=True)


def _content_cases(rng: np.random.Generator, hidden: bool):
    cases = []
    for k, (batch, rows, width) in enumerate(_sizes(rng, hidden, 8 if hidden else 2)):
        memory = normal(rng, batch, rows, width)
        key = normal(rng, batch, width)
        beta = rng.uniform(0.0, 10.0, (batch, 1))
        if hidden and k == 0:  # a key equal to a memory row, and a strong key
            key = memory[:, rows // 2].copy()
            beta[:] = 50.0
        if hidden and k == 1:  # zero rows and a zero key: similarity 0, no NaN
            memory[:, ::2] = 0.0
            key[0] = 0.0
        if hidden and k == 2:  # a memory of the small constant an NTM starts from
            memory[:] = 1e-6
        cases.append({"key": key, "beta": beta, "memory": memory})
    return cases


def _shift_cases(rng: np.random.Generator, hidden: bool):
    cases = []
    for k, (batch, rows, _) in enumerate(_sizes(rng, hidden, 8 if hidden else 2)):
        shifts = 3 if not hidden else int(rng.choice([1, 3, 5])) if rows >= 5 else int(rng.choice([1, 3]))
        weighting = _simplex(rng, batch, rows)
        shift = _simplex(rng, batch, shifts)
        gamma = 1.0 + rng.uniform(0.0, 5.0, (batch, 1))
        if hidden and k == 0:  # a one-hot weighting shifted by exactly +1: zero weights, large gamma
            weighting = np.eye(rows)[rng.integers(0, rows, batch)]
            shift = np.eye(shifts)[[shifts - 1] * batch]
            gamma[:] = 40.0
        if hidden and k == 1:  # gamma = 1 changes nothing after the shift
            gamma[:] = 1.0
        cases.append({"weighting": weighting, "shift": shift, "gamma": gamma})
    return cases


def _write_cases(rng: np.random.Generator, hidden: bool):
    cases = []
    for k, (batch, rows, width) in enumerate(_sizes(rng, hidden, 7 if hidden else 2)):
        heads = 2 if not hidden else int(rng.integers(1, 4))
        case = {"memory": normal(rng, batch, rows, width), "weighting": _simplex(rng, batch, heads, rows),
                "erase": rng.uniform(0.0, 1.0, (batch, heads, width)), "add": normal(rng, batch, heads, width)}
        if hidden and k == 0:  # erase 1 and a one-hot weighting: the row becomes the add vector
            case["weighting"] = np.eye(rows)[rng.integers(0, rows, (batch, heads))]
            case["erase"][:] = 1.0
        cases.append(case)
    return cases


def reference_content_weighting(key, beta, memory):
    return A.content_addressing(key, beta, memory, eps=1e-8)


def reference_shift_and_sharpen(weighting, shift, gamma):
    return A.sharpen(A.circular_shift(weighting, shift), gamma, eps=1e-12)


def reference_write_memory(memory, weighting, erase, add):
    return A.write(memory, weighting, erase, add)


content_weighting = Check(
    name="content_weighting",
    signature="content_weighting(key, beta, memory)",
    outputs=("weighting",),
    make_cases=_content_cases,
    reference=reference_content_weighting,
    forbidden=NTM_SHORTCUTS,
)

shift_and_sharpen = Check(
    name="shift_and_sharpen",
    signature="shift_and_sharpen(weighting, shift, gamma)",
    outputs=("weighting",),
    make_cases=_shift_cases,
    reference=reference_shift_and_sharpen,
    forbidden=NTM_SHORTCUTS,
)

write_memory = Check(
    name="write_memory",
    signature="write_memory(memory, weighting, erase, add)",
    outputs=("memory",),
    make_cases=_write_cases,
    reference=reference_write_memory,
    forbidden=NTM_SHORTCUTS,
)

#: The parts of exercise 05_ntm, in the order of the notebook.
CHECKS = (content_weighting, shift_and_sharpen, write_memory)
