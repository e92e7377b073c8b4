"""Input checks shared by every module, so that a wrong shape fails with a sentence, not a matmul.

Every function raises ``ValueError`` for a wrong rank or size and ``TypeError`` for a wrong dtype,
naming what was expected and what was received.
"""
from __future__ import annotations

import warnings

import torch


def shape_str(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def check_tensor(value, name: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"expected {name} to be a torch.Tensor, got {type(value).__name__}")
    return value


def check_like(value: torch.Tensor, reference: torch.Tensor, name: str) -> None:
    """``value`` must share the dtype and device of ``reference`` (usually a parameter)."""
    if value.dtype != reference.dtype:
        raise TypeError(
            f"expected {name} of dtype {reference.dtype} (the parameters' dtype), got {value.dtype}; "
            f"convert the input or the module with .to(dtype)"
        )
    if value.device != reference.device:
        raise ValueError(
            f"expected {name} on device {reference.device} (the parameters' device), got {value.device}"
        )


def check_step_input(x, size: int, name: str = "input") -> tuple[torch.Tensor, bool]:
    """A cell's input: ``(B, size)`` or unbatched ``(size,)``. Returns ``(x as (B, size), was_batched)``."""
    check_tensor(x, name)
    if x.dim() not in (1, 2) or x.shape[-1] != size:
        raise ValueError(
            f"expected {name} of shape (B, {size}) or ({size},), got {shape_str(x.shape)}"
        )
    return (x, True) if x.dim() == 2 else (x.unsqueeze(0), False)


def check_state(state, batch: int, size: int, name: str, batched: bool) -> torch.Tensor:
    """A cell's state tensor: ``(B, size)``, or ``(size,)`` when the input was unbatched."""
    check_tensor(state, name)
    expected = (batch, size) if batched else (size,)
    if tuple(state.shape) != expected:
        raise ValueError(f"expected {name} of shape {shape_str(expected)}, got {shape_str(state.shape)}")
    return state if batched else state.unsqueeze(0)


def check_sequence_input(input, size: int, batch_first: bool) -> tuple[torch.Tensor, bool]:
    """A layer's input: ``(T, B, size)`` (or ``(B, T, size)`` when ``batch_first``) or unbatched ``(T, size)``.

    Returns the input as time-major ``(T, B, size)`` and whether it was batched.
    """
    check_tensor(input, "input")
    layout = f"(B, T, {size})" if batch_first else f"(T, B, {size})"
    if input.dim() not in (2, 3):
        raise ValueError(
            f"expected input to be 2D (T, {size}) or 3D {layout}, got {input.dim()}D {shape_str(input.shape)}"
        )
    if input.shape[-1] != size:
        raise ValueError(
            f"expected input with {size} features in its last dimension, {layout}, got {shape_str(input.shape)}"
        )
    if input.shape[1 if batch_first and input.dim() == 3 else 0] == 0:
        raise ValueError(f"expected input with at least one time step, got {shape_str(input.shape)}")
    if input.dim() == 2:
        return input.unsqueeze(1), False
    return (input.transpose(0, 1) if batch_first else input), True


def check_choice(value, name: str, choices) -> None:
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"expected {name} to be one of {options}, got {value!r}")


class OptionError(TypeError, ValueError):
    """A switch given something other than ``True`` or ``False``.

    A ``TypeError``, as torch raises for ``bias="False"``, and a ``ValueError``, as the course's
    variant switches have always raised, so code catching either keeps working.
    """


def check_bool(value, name: str) -> bool:
    """``value`` must be exactly ``True`` or ``False``: ``"False"`` is truthy and ``1 == True``, both refused."""
    if value is not True and value is not False:
        raise OptionError(f"expected {name} to be one of True, False, got {value!r}")
    return value


def check_size(value, name: str) -> int:
    """A positive ``int`` (not a ``bool``)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"expected {name} to be a positive int, got {value!r}")
    return value


def check_dropout(dropout, num_layers: int) -> float:
    """A number in ``[0, 1]``; warns, as torch does, when it cannot act because there is one layer."""
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError(f"expected dropout to be a number in [0, 1], got {dropout!r}")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                      f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                      stacklevel=3)
    return float(dropout)
