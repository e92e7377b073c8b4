"""rnncourse.analysis: gradient norms per input step, and their decay rate."""
import math

import pytest
import torch

import rnncourse
from rnncourse.analysis import decay_per_step, input_gradient_norms, step_gradient_norms


def test_step_gradient_norms_of_a_weighted_sum_are_the_weights():
    T, B, I = 5, 3, 4
    weights = torch.arange(1, T + 1, dtype=torch.float64)  # d loss / d x[t, b, i] = weights[t]
    x = torch.randn(T, B, I, dtype=torch.float64)
    norms = step_gradient_norms(lambda x: (weights[:, None, None] * x).sum(), x)
    torch.testing.assert_close(norms, weights * math.sqrt(I))


def test_step_gradient_norms_with_batch_first_frames():
    B, T, C, H, W = 2, 4, 1, 3, 3
    x = torch.randn(B, T, C, H, W, dtype=torch.float64)
    norms = step_gradient_norms(lambda x: (x[:, -1] ** 2).sum() / 2, x, time_dim=1, batch_dim=0)
    expected = torch.zeros(T, dtype=torch.float64)
    expected[-1] = x[:, -1].flatten(1).norm(dim=1).mean()
    torch.testing.assert_close(norms, expected)


def test_input_gradient_norms_of_a_tanh_rnn_vanish_towards_the_start():
    torch.manual_seed(0)
    layer = rnncourse.RNN(2, 16).double()
    norms = input_gradient_norms(layer, torch.randn(40, 4, 2, dtype=torch.float64))
    assert norms.shape == (40,)
    assert norms[0] < 1e-3 * norms[-1]
    assert decay_per_step(norms, 5, 35) < 1


def test_same_seed_same_readout():
    layer = rnncourse.LSTM(2, 8).double()
    x = torch.randn(10, 3, 2, dtype=torch.float64)
    torch.testing.assert_close(input_gradient_norms(layer, x, seed=3), input_gradient_norms(layer, x, seed=3))
    assert not torch.allclose(input_gradient_norms(layer, x, seed=3), input_gradient_norms(layer, x, seed=4))


def test_decay_per_step_of_a_geometric_sequence():
    norms = 0.5 ** torch.arange(20, 0, -1, dtype=torch.float64)  # doubles at every step forward
    assert decay_per_step(norms, 2, 17) == pytest.approx(0.5)


@pytest.mark.parametrize("call, match", [
    (lambda: decay_per_step(torch.ones(5), 3, 3), "first < last"),
    (lambda: step_gradient_norms(lambda x: x.sum(), torch.ones(3)), "time and a batch"),
    (lambda: step_gradient_norms(lambda x: x, torch.ones(3, 2)), "scalar"),
    (lambda: step_gradient_norms(lambda x: x.sum(), torch.ones(3, 2), batch_dim=0), "must differ"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
