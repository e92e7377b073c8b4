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

from .isolation import ForbiddenCall, forbid

Case = dict[str, np.ndarray]

#: The seed of the visible tests: fixed, so a student sees the same failure every time.
VISIBLE_SEED = 2024


def describe(value) -> str:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    return type(value).__name__


def shapes_of(case: Case) -> str:
    return ", ".join(f"{name} {tuple(array.shape)}" for name, array in case.items())


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
        forbidden: dotted names the student's function may not call for this part.
        rtol, atol: tolerances of the comparison (float64 throughout).
    """

    name: str
    signature: str
    outputs: tuple[str, ...]
    make_cases: Callable[[np.random.Generator, bool], list[Case]]
    reference: Callable
    forbidden: tuple[str, ...] = ()
    rtol: float = 1e-6
    atol: float = 1e-8

    # -- the pieces the grader reuses ------------------------------------------------------------
    def cases(self, seed: int | None, hidden: bool) -> list[Case]:
        return self.make_cases(np.random.default_rng(seed), hidden)

    def expected(self, case: Case) -> list[np.ndarray]:
        tensors = {key: torch.from_numpy(value.copy()) for key, value in case.items()}
        with torch.no_grad():
            return self.as_arrays(self.reference(**tensors))

    def as_arrays(self, result) -> list[np.ndarray]:
        """The student's return value as a list of float64 arrays, or an AssertionError saying why not."""
        values = (result,) if len(self.outputs) == 1 else result
        if len(self.outputs) > 1 and (not isinstance(result, (tuple, list)) or len(result) != len(self.outputs)):
            raise AssertionError(
                f"{self.name} should return a tuple ({', '.join(self.outputs)}), got {describe(result)}"
            )
        arrays = []
        for name, value in zip(self.outputs, values):
            if not isinstance(value, torch.Tensor):
                raise AssertionError(f"{self.name} should return {name} as a torch.Tensor, got {describe(value)}")
            arrays.append(value.detach().to("cpu", torch.float64).numpy().copy())
        return arrays

    def compare(self, got: list[np.ndarray], expected: list[np.ndarray], case: Case) -> str | None:
        """``None`` when ``got`` matches, else a message saying which output is wrong and how."""
        where = f"for inputs {shapes_of(case)}"
        if len(got) != len(expected):
            return f"{self.name} returned {len(got)} values, expected {len(expected)} ({', '.join(self.outputs)})"
        for name, value, reference in zip(self.outputs, got, expected):
            if value.shape != reference.shape:
                return f"{self.name}: {name} has shape {value.shape}, expected {reference.shape} {where}"
            if not np.all(np.isfinite(value)):
                return f"{self.name}: {name} contains NaN or inf {where}"
            close = np.isclose(value, reference, rtol=self.rtol, atol=self.atol)
            if not close.all():
                index = np.unravel_index(np.argmax(np.abs(value - reference) * ~close), value.shape)
                worst = np.abs(value - reference).max()
                return (
                    f"{self.name}: {name} is wrong {where}: {int((~close).sum())} of {value.size} entries "
                    f"differ, the largest difference is {worst:.3g} (at index {tuple(int(i) for i in index)}: "
                    f"got {value[index]:.6g}, expected {reference[index]:.6g})"
                )
        return None

    def call(self, function: Callable, case: Case):
        """Call the student's function on one case with this part's forbidden names disabled."""
        tensors = [torch.from_numpy(value.copy()) for value in case.values()]
        with torch.no_grad(), forbid(self.forbidden, self.name):
            return function(*tensors)

    # -- the check a test cell runs ---------------------------------------------------------------
    def __call__(self, function: Callable, hidden: bool = False) -> None:
        """Check the student's ``function``; raise ``AssertionError`` with what is wrong.

        The visible check (``hidden=False``) uses fixed small cases; the hidden one draws fresh
        random sizes and values each time it runs.
        """
        if not callable(function):
            raise AssertionError(f"expected {self.name} to be a function, got {describe(function)}")
        seed = secrets.randbits(63) if hidden else VISIBLE_SEED
        for case in self.cases(seed, hidden):
            try:
                result = self.call(function, case)
            except NotImplementedError:
                raise AssertionError(f"{self.name} is not implemented yet") from None
            except ForbiddenCall as error:
                raise AssertionError(str(error)) from None
            except Exception as error:
                raise AssertionError(
                    f"{self.name} raised {type(error).__name__}: {error} (called as {self.signature} "
                    f"with {shapes_of(case)})"
                ) from error
            message = self.compare(self.as_arrays(result), self.expected(case), case)
            if message is not None:
                raise AssertionError(message)


def random_sizes(rng: np.random.Generator, hidden: bool, names=("T", "B", "I", "H")) -> dict[str, int]:
    """Small sizes for visible cases; random ones, 1 included, for hidden cases."""
    if not hidden:
        return dict(zip(names, (4, 3, 2, 5)))
    return {name: int(rng.integers(1, 8)) for name in names}


def normal(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return rng.normal(0.0, scale, size=shape).astype(np.float64)
