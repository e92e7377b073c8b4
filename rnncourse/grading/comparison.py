"""Comparing a student's outputs with the expected ones, and the messages a student acts on.

Shared by the real checks (:mod:`rnncourse.grading.core`) and by the stand-in checks that nbgrader's
kernel sees in the sandbox (:mod:`rnncourse.grading.standin`); it imports only numpy, torch and
:mod:`refusal`, so it can be copied into the sandbox where ``rnncourse`` is not visible.
"""
from __future__ import annotations

import numpy as np
import torch

try:  # inside the package
    from .refusal import forbid, is_refusal
except ImportError:  # copied into a sandbox as a top-level module
    from refusal import forbid, is_refusal  # type: ignore[no-redef]

Case = dict[str, np.ndarray]


def describe(value) -> str:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    return type(value).__name__


def shapes_of(case: Case) -> str:
    return ", ".join(f"{name} {tuple(array.shape)}" for name, array in case.items())


def as_arrays(name: str, outputs, result) -> list[np.ndarray]:
    """The student's return value as a list of float64 arrays, or an AssertionError saying why not."""
    values = (result,) if len(outputs) == 1 else result
    if len(outputs) > 1 and (not isinstance(result, (tuple, list)) or len(result) != len(outputs)):
        raise AssertionError(f"{name} should return a tuple ({', '.join(outputs)}), got {describe(result)}")
    arrays = []
    for output, value in zip(outputs, values):
        if not isinstance(value, torch.Tensor):
            raise AssertionError(f"{name} should return {output} as a torch.Tensor, got {describe(value)}")
        arrays.append(value.detach().to("cpu", torch.float64).numpy().copy())
    return arrays


def compare(name: str, outputs, rtol: float, atol: float, got, expected, case: Case) -> str | None:
    """``None`` when ``got`` matches ``expected``, else a message saying which output is wrong and how."""
    where = f"for inputs {shapes_of(case)}"
    if len(got) != len(expected):
        return f"{name} returned {len(got)} values, expected {len(expected)} ({', '.join(outputs)})"
    for output, value, reference in zip(outputs, got, expected):
        if value.shape != reference.shape:
            return f"{name}: {output} has shape {value.shape}, expected {reference.shape} {where}"
        if not np.all(np.isfinite(value)):
            return f"{name}: {output} contains NaN or inf {where}"
        close = np.isclose(value, reference, rtol=rtol, atol=atol)
        if not close.all():
            index = np.unravel_index(np.argmax(np.abs(value - reference) * ~close), value.shape)
            worst = np.abs(value - reference).max()
            return (
                f"{name}: {output} is wrong {where}: {int((~close).sum())} of {value.size} entries "
                f"differ, the largest difference is {worst:.3g} (at index {tuple(int(i) for i in index)}: "
                f"got {value[index]:.6g}, expected {reference[index]:.6g})"
            )
    return None


def call(function, case: Case, forbidden, part: str):
    """Call the student's function on one case, with what the part forbids refused."""
    tensors = [torch.from_numpy(value.copy()) for value in case.values()]
    with torch.no_grad(), forbid(forbidden, part):
        return function(*tensors)


def run(check, function, cases) -> None:
    """Check ``function`` on ``(case, expected arrays)`` pairs; raise ``AssertionError`` with what is wrong.

    ``check`` has ``name``, ``signature``, ``outputs``, ``rtol``, ``atol`` and ``forbidden``.
    """
    if not callable(function):
        raise AssertionError(f"expected {check.name} to be a function, got {describe(function)}")
    for case, expected in cases:
        try:
            result = call(function, case, check.forbidden, check.name)
        except NotImplementedError:
            raise AssertionError(f"{check.name} is not implemented yet") from None
        except Exception as error:
            if is_refusal(error):
                raise AssertionError(str(error)) from None
            raise AssertionError(
                f"{check.name} raised {type(error).__name__}: {error} (called as {check.signature} "
                f"with {shapes_of(case)})"
            ) from error
        message = compare(check.name, check.outputs, check.rtol, check.atol, as_arrays(check.name, check.outputs, result),
                          expected, case)
        if message is not None:
            raise AssertionError(message)
