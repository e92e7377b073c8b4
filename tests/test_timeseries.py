"""rnncourse.data.timeseries: the seasonal series, its labelled anomalies and the forecasting windows."""
from __future__ import annotations

import math

import pytest
import torch

from rnncourse.data import ANOMALY_KINDS, detected, forecasting_windows, seasonal_series


def test_same_seed_same_series_other_seed_other_series():
    a, b = seasonal_series(600, seed=3), seasonal_series(600, seed=3)
    torch.testing.assert_close(a.values, b.values)
    assert a.anomalies == b.anomalies
    assert not torch.equal(a.values, seasonal_series(600, seed=4).values)


def test_without_noise_or_anomalies_the_series_is_the_formula():
    series = seasonal_series(300, period=20.0, slow_period=100.0, amplitude=2.0, noise_std=0.0, anomalies=(),
                             seed=0, dtype=torch.float64)
    t = torch.arange(300, dtype=torch.float64)
    expected = 2.0 * torch.sin(2 * math.pi * t / 20) + 1.0 * torch.sin(2 * math.pi * t / 100)
    torch.testing.assert_close(series.values, expected)
    torch.testing.assert_close(series.clean, expected)
    assert series.anomalies == () and not series.labels.any()


@pytest.mark.parametrize("seed", range(5))
def test_anomalies_lie_after_clean_until_apart_and_match_the_labels(seed):
    kinds = ANOMALY_KINDS * 3
    series = seasonal_series(2000, clean_until=800, anomalies=kinds, noise_std=0.0, seed=seed, dtype=torch.float64)
    assert sorted(a.kind for a in series.anomalies) == sorted(kinds)
    starts = [a.start for a in series.anomalies]
    assert starts == sorted(starts) and starts[0] >= 800 and series.anomalies[-1].end <= 2000
    assert all(before.end < after.start for before, after in zip(series.anomalies, series.anomalies[1:]))
    labels = torch.zeros(2000, dtype=torch.bool)
    for a in series.anomalies:
        labels[a.start:a.end] = True
    assert torch.equal(series.labels, labels)
    # Without noise the observed series departs from the clean signal only inside anomalies...
    deviation = (series.values - series.clean).abs()  # (N,)
    assert deviation[~labels].max() < 1e-9
    # ...and every anomaly shows in it.
    for a in series.anomalies:
        assert deviation[a.start:a.end].max() > 0.5, a


def test_spikes_are_one_step_and_shifts_are_constant():
    series = seasonal_series(1000, anomalies=("spike", "level_shift"), noise_std=0.0, seed=1, dtype=torch.float64)
    spike, shift = sorted(series.anomalies, key=lambda a: a.kind != "spike")
    assert spike.end - spike.start == 1
    gap = (series.values - series.clean)[shift.start:shift.end]
    torch.testing.assert_close(gap, gap[:1].expand_as(gap))
    assert 1.2 <= gap[0].abs() <= 2.0


def test_forecasting_windows_against_a_loop():
    values = torch.randn(50)
    inputs, targets = forecasting_windows(values, window=7, horizon=3, stride=4)
    starts = range(0, 50 - 10 + 1, 4)
    assert inputs.shape == (7, len(starts), 1) and targets.shape == (3, len(starts), 1)
    for b, start in enumerate(starts):
        torch.testing.assert_close(inputs[:, b, 0], values[start:start + 7])
        torch.testing.assert_close(targets[:, b, 0], values[start + 7:start + 10])


def test_detected_reports_each_anomaly_with_a_flag_inside():
    series = seasonal_series(1000, anomalies=("spike", "level_shift"), seed=2)
    flags = torch.zeros(1000, dtype=torch.bool)
    flags[series.anomalies[1].start] = True
    assert detected(series.anomalies, flags) == [False, True]


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_dtype_and_device_of_the_outputs(device):
    series = seasonal_series(400, seed=0, device=device, dtype=torch.float64)
    assert series.values.device.type == device and series.values.dtype == torch.float64
    assert series.labels.dtype == torch.bool and series.labels.device.type == device
    inputs, targets = forecasting_windows(series.values, 16)
    assert inputs.device.type == device and targets.shape[0] == 1


def test_errors_name_what_was_expected():
    with pytest.raises(ValueError, match="kinds"):
        seasonal_series(500, anomalies=("dip",))
    with pytest.raises(TypeError, match="sequence"):
        seasonal_series(500, anomalies="spike")
    with pytest.raises(ValueError, match="40 steps per anomaly"):
        seasonal_series(200, clean_until=150)
    with pytest.raises(ValueError, match=r"\(N,\)"):
        forecasting_windows(torch.zeros(3, 4), 2)
    with pytest.raises(ValueError, match="window \\+ horizon"):
        forecasting_windows(torch.zeros(5), 5)
