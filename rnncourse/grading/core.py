"""One graded part = one :class:`Check`.

A check knows the function the student writes, how to make test cases, the reference that answers
them, and which library calls would be a shortcut. The *same* check serves twice:

- inside the student's notebook, ``checks.elman_step(elman_step)`` runs it in the student's kernel
  and raises an ``AssertionError`` with a message the student can act on;
- in ``rnncourse grade``, the grading process makes the cases, ships only plain arrays to a sandbox
  that runs the student's code, and compares the arrays that come back with :meth:`Check.compare`,
  so nothing the student's code patches can change the verdict (see :mod:`rnncourse.grading.verify`).

Inputs and outputs are therefore always named float64 numpy arrays at the boundary; the student's
function receives and returns ``torch.Tensor``s.
"""
from __future__ import annotations

import dataclasses
import secrets
from typing import Callable

import numpy as np
import torch

from . import comparison
from .comparison import Case, describe, shapes_of  # noqa: F401 - re-exported
from .forbidden import Capability, resolve
from .refusal import ForbiddenCall  # noqa: F401 - re-exported

#: The seed of the visible tests: fixed, so a student sees the same failure every time.
VISIBLE_SEED = 2024


@dataclasses.dataclass(frozen=True)
class Check:
    """A graded part: the function ``name`` compared with ``reference`` on generated cases.

    Attributes:
        name: the function the student defines, e.g. ``"elman_step"``.
        signature: how the function is called, shown in messages.
        outputs: the names of the returned values, in order (one name: a single tensor).
        make_cases: ``(rng, hidden) -> list of cases``; each case maps argument names to float64
            arrays. ``hidden=False`` gives a few small cases for the visible tests, ``hidden=True``
            more cases with random sizes and edge cases.
        reference: the reference implementation, called with the case's tensors.
        forbidden: what the student's function may not use for this part: capabilities of
            :mod:`rnncourse.grading.forbidden` (``LSTM_CELLS``, ``AUTOGRAD``, ...) and/or dotted names.
        rtol, atol: tolerances of the comparison (float64 throughout).
    """

    name: str
    signature: str
    outputs: tuple[str, ...]
    make_cases: Callable[[np.random.Generator, bool], list[Case]]
    reference: Callable
    forbidden: tuple[Capability | str, ...] = ()
    rtol: float = 1e-6
    atol: float = 1e-8

    def __post_init__(self) -> None:
        resolve(self.forbidden)  # a wrong entry fails when the check is defined, not when a class is graded

    @property
    def capabilities(self) -> tuple[Capability, ...]:
        """The capabilities this part refuses (explicit, or brought in by a dotted name they list)."""
        return resolve(self.forbidden)[0]

    def forbidden_spec(self) -> list[str]:
        """What the part forbids as plain strings (capability names and dotted names), for a sandbox job."""
        return [item.name if isinstance(item, Capability) else item for item in self.forbidden]

    # -- the pieces the grader reuses ------------------------------------------------------------
    def cases(self, seed: int | None, hidden: bool) -> list[Case]:
        return self.make_cases(np.random.default_rng(seed), hidden)

    def expected(self, case: Case) -> list[np.ndarray]:
        tensors = {key: torch.from_numpy(value.copy()) for key, value in case.items()}
        with torch.no_grad():
            return self.as_arrays(self.reference(**tensors))

    def as_arrays(self, result) -> list[np.ndarray]:
        """The student's return value as a list of float64 arrays, or an AssertionError saying why not."""
        return comparison.as_arrays(self.name, self.outputs, result)

    def compare(self, got: list[np.ndarray], expected: list[np.ndarray], case: Case) -> str | None:
        """``None`` when ``got`` matches, else a message saying which output is wrong and how."""
        return comparison.compare(self.name, self.outputs, self.rtol, self.atol, got, expected, case)

    def call(self, function: Callable, case: Case):
        """Call the student's function on one case with what this part forbids refused."""
        return comparison.call(function, case, self.forbidden, self.name)

    # -- the check a test cell runs ---------------------------------------------------------------
    def __call__(self, function: Callable, hidden: bool = False) -> None:
        """Check the student's ``function``; raise ``AssertionError`` with what is wrong.

        The visible check (``hidden=False``) uses fixed small cases; the hidden one draws fresh
        random sizes and values each time it runs.
        """
        seed = secrets.randbits(63) if hidden else VISIBLE_SEED
        comparison.run(self, function, ((case, self.expected(case)) for case in self.cases(seed, hidden)))

def random_sizes(rng: np.random.Generator, hidden: bool, names=("T", "B", "I", "H")) -> dict[str, int]:
    """Small sizes for visible cases; random ones, 1 included, for hidden cases."""
    if not hidden:
        return dict(zip(names, (4, 3, 2, 5)))
    return {name: int(rng.integers(1, 8)) for name in names}


def normal(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return rng.normal(0.0, scale, size=shape).astype(np.float64)
