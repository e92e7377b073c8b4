r"""A generated time series with labelled anomalies, and the windows that forecasting trains on.

:func:`seasonal_series` makes one long seasonal signal, a fast cycle of period ``period`` plus a
slow one of period ``slow_period`` seen through Gaussian noise, and injects anomalies of three
kinds at random, non-overlapping places after ``clean_until``:

- ``"spike"``: one step pushed up or down by a few amplitudes;
- ``"level_shift"``: a stretch where the whole signal is raised or lowered;
- ``"frequency_change"``: a stretch where the fast cycle runs faster, making one or two extra
  turns; its phase is continuous, so there is no jump at the borders, only a wrong rhythm, and the
  signal is back in phase after the stretch.

It returns every anomaly's kind and position, and a per-step label, so that a detector's flags can
be scored. :func:`forecasting_windows` cuts a series into (past window, next values) pairs.
Nothing is computed at import time; every function takes its randomness explicitly.

Shape legend: ``N`` steps of the series, ``W`` steps of a window, ``K`` steps ahead (horizon),
``B`` windows.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from .synthetic import _check_count, _float_dtype, _generator, _sampling_device, _uniform

ANOMALY_KINDS = ("spike", "level_shift", "frequency_change")


@dataclass(frozen=True)
class Anomaly:
    """One injected anomaly: its ``kind`` (a name of :data:`ANOMALY_KINDS`) and the steps
    ``start <= t < end`` it covers."""

    kind: str
    start: int
    end: int


class AnomalousSeries(NamedTuple):
    """What :func:`seasonal_series` returns."""

    values: Tensor  # (N,) the observed series: signal, noise and anomalies
    clean: Tensor  # (N,) the seasonal signal alone, without noise or anomalies
    labels: Tensor  # (N,) bool, True at the steps inside an anomaly
    anomalies: tuple[Anomaly, ...]  # in time order


def _check_kinds(anomalies) -> tuple[str, ...]:
    if isinstance(anomalies, str) or not isinstance(anomalies, Sequence):
        raise TypeError(f"expected anomalies to be a sequence of kind names, got {type(anomalies).__name__}")
    for kind in anomalies:
        if kind not in ANOMALY_KINDS:
            raise ValueError(f"expected anomaly kinds among {', '.join(map(repr, ANOMALY_KINDS))}, got {kind!r}")
    return tuple(anomalies)


def seasonal_series(length: int, *, period: float = 24.0, slow_period: float = 168.0, amplitude: float = 1.0,
                    noise_std: float = 0.1, anomalies: Sequence[str] = ANOMALY_KINDS * 2, clean_until: int = 0,
                    generator: torch.Generator | None = None, seed: int | None = None, device=None,
                    dtype: torch.dtype | None = None) -> AnomalousSeries:
    r"""A seasonal series of ``length`` steps with the listed ``anomalies`` injected after ``clean_until``.

    The signal is :math:`s_t = A \sin\varphi_t + \tfrac{A}{2} \sin(2\pi t / P_{slow})`, where the
    fast phase advances by :math:`2\pi / P` per step (by :math:`2\pi f / P` inside a frequency change
    of :math:`S` steps, with :math:`f = 1 + kP/S`, :math:`k \in \{1, 2\}` extra turns); the series is :math:`s_t + \epsilon_t`,
    :math:`\epsilon_t \sim N(0, \sigma^2)`, plus the spikes (:math:`\pm 2.5 A` to :math:`\pm 4 A`,
    one step) and level shifts (:math:`\pm 1.2 A` to :math:`\pm 2 A` for 12 to 30 steps).

    The steps after ``clean_until`` are cut into one equal slot per anomaly (in the order given,
    shuffled); each anomaly lies inside its own slot, so anomalies never overlap or touch. Steps
    before ``clean_until`` are anomaly-free: train a forecaster there, look for anomalies after.

    Args:
        length: ``N``, the number of steps.
        period, slow_period: :math:`P` and :math:`P_{slow}`, in steps.
        amplitude: :math:`A`. noise_std: :math:`\sigma`.
        anomalies: the kinds to inject, one entry each (repeat a kind to inject it more often).
        clean_until: the first step where an anomaly may start.
        generator, seed: the source of randomness (one of them, or neither for torch's global one).
        device, dtype: of the returned tensors.

    Example:
        >>> series = seasonal_series(1000, clean_until=500, seed=0)
        >>> series.values.shape, len(series.anomalies), series.anomalies[0].start >= 500
        (torch.Size([1000]), 6, True)
    """
    _check_count(length, "length", 2)
    kinds = _check_kinds(anomalies)
    _check_count(clean_until, "clean_until", 0)
    for value, name in ((period, "period"), (slow_period, "slow_period"), (amplitude, "amplitude")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"expected {name} to be a positive number, got {value!r}")
    if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float)) or not noise_std >= 0:
        raise ValueError(f"expected noise_std to be a number >= 0, got {noise_std!r}")
    slot = (length - clean_until) // max(len(kinds), 1)
    if kinds and slot < 40:
        raise ValueError(f"expected at least 40 steps per anomaly after clean_until={clean_until}, got {slot} "
                         f"(length={length}, {len(kinds)} anomalies)")
    dtype = _float_dtype(dtype)
    generator = _generator(generator, seed)
    sampling = _sampling_device(generator)
    order = torch.randperm(len(kinds), generator=generator, device=sampling).tolist()
    speed = torch.full((length,), 2 * math.pi / period, dtype=torch.float64, device=sampling)  # (N,) phase steps
    offset = torch.zeros(length, dtype=torch.float64, device=sampling)  # (N,) additive anomalies
    placed = []
    for index, kind_index in enumerate(order):
        kind = kinds[kind_index]
        low = clean_until + index * slot
        draws = _uniform((4,), generator).tolist()
        sign = 1.0 if draws[2] < 0.5 else -1.0
        span = {"spike": 1, "level_shift": 12 + int(draws[1] * 19), "frequency_change": 24 + int(draws[1] * 13)}[kind]
        start = low + 2 + int(draws[0] * (slot - span - 4))  # (keeps a gap of 2 steps to the slot's borders)
        end = start + span
        if kind == "spike":
            offset[start] = sign * amplitude * (2.5 + 1.5 * draws[1])
        elif kind == "level_shift":
            offset[start:end] = sign * amplitude * (1.2 + 0.8 * draws[1])
        else:
            speed[start:end] *= 1.0 + (1 + int(draws[3] * 2)) * period / span  # one or two extra turns
        placed.append(Anomaly(kind, start, end))
    phase = torch.cumsum(speed, 0) - speed[0]  # (N,) starts at 0
    time = torch.arange(length, dtype=torch.float64, device=sampling)  # (N,)
    slow = 0.5 * amplitude * torch.sin(2 * math.pi * time / slow_period)  # (N,)
    clean = amplitude * torch.sin(2 * math.pi * time / period) + slow  # (N,) without any anomaly
    observed = amplitude * torch.sin(phase) + slow + offset  # (N,)
    observed = observed + noise_std * torch.randn(length, generator=generator, dtype=torch.float64, device=sampling)
    labels = torch.zeros(length, dtype=torch.bool, device=sampling)  # (N,)
    for anomaly in placed:
        labels[anomaly.start:anomaly.end] = True
    placed.sort(key=lambda anomaly: anomaly.start)
    return AnomalousSeries(observed.to(device=device, dtype=dtype), clean.to(device=device, dtype=dtype),
                           labels.to(device=device), tuple(placed))


def forecasting_windows(values: Tensor, window: int, horizon: int = 1, stride: int = 1) -> tuple[Tensor, Tensor]:
    """Every ``(past, future)`` pair of a ``(N,)`` series: ``window`` steps in, the next ``horizon`` out.

    Window ``b`` starts at step ``b * stride``. Returns time-major ``inputs (W, B, 1)`` and
    ``targets (K, B, 1)``, with ``B = (N - W - K) // stride + 1``.

    Example:
        >>> inputs, targets = forecasting_windows(torch.arange(10.0), window=4, horizon=2, stride=3)
        >>> inputs[:, :, 0].T.tolist(), targets[:, :, 0].T.tolist()
        ([[0.0, 1.0, 2.0, 3.0], [3.0, 4.0, 5.0, 6.0]], [[4.0, 5.0], [7.0, 8.0]])
    """
    if not isinstance(values, Tensor) or values.dim() != 1:
        shape = tuple(values.shape) if isinstance(values, Tensor) else type(values).__name__
        raise ValueError(f"expected values of shape (N,), got {shape}")
    _check_count(window, "window")
    _check_count(horizon, "horizon")
    _check_count(stride, "stride")
    if values.shape[0] < window + horizon:
        raise ValueError(f"expected at least window + horizon = {window + horizon} steps, got {values.shape[0]}")
    pieces = values.unfold(0, window + horizon, stride)  # (B, W+K)
    return pieces[:, :window].T.unsqueeze(-1), pieces[:, window:].T.unsqueeze(-1)  # (W, B, 1), (K, B, 1)


def detected(anomalies: Sequence[Anomaly], flags: Tensor) -> list[bool]:
    """For each anomaly, whether any of the ``(N,)`` boolean ``flags`` falls inside it."""
    if not isinstance(flags, Tensor) or flags.dim() != 1 or flags.dtype != torch.bool:
        raise ValueError(f"expected flags to be a (N,) bool tensor, got "
                         f"{tuple(flags.shape) if isinstance(flags, Tensor) else type(flags).__name__}")
    return [bool(flags[anomaly.start:anomaly.end].any()) for anomaly in anomalies]
