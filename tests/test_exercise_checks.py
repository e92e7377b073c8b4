"""The checks of exercises 06 (ConvLSTM) and 07 (batch normalization): their references against torch and
against the equations, and the batch-normalization routes that their parts refuse."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnncourse.grading import checks
from rnncourse.grading.checks import batchnorm, conv_lstm
from rnncourse.grading.forbidden import BATCH_NORM, NORMALIZATION
from rnncourse.grading.refusal import forbid, is_refusal


def tensors(case: dict) -> dict:
    return {name: torch.from_numpy(value.copy()) for name, value in case.items()}


@pytest.mark.parametrize("hidden", [False, True])
def test_conv_lstm_reference_on_a_one_pixel_map_is_torch_lstm_cell(hidden):
    """Every hidden and visible size, on a 1x1 map with 1x1 kernels: the ConvLSTM step is torch's LSTMCell."""
    for case in conv_lstm._step_cases(peephole=False)(np.random.default_rng(0), hidden):
        t = tensors(case)
        x, h, c = (t[name][:, :, :1, :1].contiguous() for name in ("x", "h", "c"))
        W_ih, W_hh = t["W_ih"][:, :, :1, :1], t["W_hh"][:, :, :1, :1]
        h_new, c_new = conv_lstm.reference_conv_lstm_step(x, h, c, W_ih, W_hh, t["b"])
        cell = torch.nn.LSTMCell(x.shape[1], h.shape[1], dtype=torch.float64)
        with torch.no_grad():
            cell.weight_ih.copy_(W_ih[:, :, 0, 0]), cell.weight_hh.copy_(W_hh[:, :, 0, 0])
            cell.bias_ih.copy_(t["b"]), cell.bias_hh.zero_()
            expected = cell(x[:, :, 0, 0], (h[:, :, 0, 0], c[:, :, 0, 0]))
        torch.testing.assert_close(h_new[:, :, 0, 0], expected[0])
        torch.testing.assert_close(c_new[:, :, 0, 0], expected[1])


def test_conv_lstm_cases_cover_even_non_square_kernels_and_one_pixel_maps():
    cases = conv_lstm._step_cases(peephole=True)(np.random.default_rng(1), True)
    kernels = [case["W_hh"].shape[2:] for case in cases]
    assert any(k[0] % 2 == 0 for k in kernels) and any(k[0] != k[1] for k in kernels)
    assert any(case["x"].shape[2:] == (1, 1) for case in cases)


def batch_norm_oracle(zs, mask, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """Per-step batch normalization from the notebook's equations, in numpy, step by step."""
    mean, var, ys = running_mean.copy(), running_var.copy(), np.empty_like(zs)
    for t, (z, real) in enumerate(zip(zs, mask)):
        s, rows = min(t, len(mean) - 1), z[real > 0.5]
        if len(rows) >= 2:
            mu, sigma2 = rows.mean(0), rows.var(0)
            mean[s] = (1 - momentum) * mean[s] + momentum * mu
            var[s] = (1 - momentum) * var[s] + momentum * sigma2 * len(rows) / (len(rows) - 1)
        else:
            mu, sigma2 = mean[s].copy(), var[s].copy()
        ys[t] = gamma * (z - mu) / np.sqrt(sigma2 + eps) + beta
    return ys, mean, var


@pytest.mark.parametrize("seed", range(3))
def test_batch_norm_train_reference_matches_the_equations(seed):
    for case in batchnorm._train_cases(np.random.default_rng(seed), True):
        got = batchnorm.reference_batch_norm_train(**tensors(case))
        for value, expected in zip(got, batch_norm_oracle(**case)):
            np.testing.assert_allclose(value.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_batch_norm_train_reference_with_one_row_is_batch_norm_1d():
    case = batchnorm._train_cases(np.random.default_rng(0), False)[0]  # no padding
    t = tensors({**case, "running_mean": case["running_mean"][:1], "running_var": case["running_var"][:1]})
    ys, mean, var = batchnorm.reference_batch_norm_train(**t)
    norm = torch.nn.BatchNorm1d(t["zs"].shape[2], dtype=torch.float64)
    with torch.no_grad():
        norm.weight.copy_(t["gamma"]), norm.bias.copy_(t["beta"])
        norm.running_mean.copy_(t["running_mean"][0]), norm.running_var.copy_(t["running_var"][0])
        expected = torch.stack([norm(z) for z in t["zs"]])
    torch.testing.assert_close(ys, expected)
    torch.testing.assert_close(mean[0], norm.running_mean)
    torch.testing.assert_close(var[0], norm.running_var)


def test_batch_norm_eval_reference_uses_the_row_of_each_step():
    t = tensors(batchnorm._eval_cases(np.random.default_rng(0), False)[0])  # 5 steps, 3 rows
    ys = batchnorm.reference_batch_norm_eval(**t)
    for step, row in ((0, 0), (2, 2), (3, 2), (4, 2)):
        expected = t["gamma"] * (t["zs"][step] - t["running_mean"][row]) / torch.sqrt(t["running_var"][row] + 1e-5)
        torch.testing.assert_close(ys[step], expected + t["beta"])


Z = torch.randn(6, 3, dtype=torch.float64) * 2 + 1
ROUTES = [
    lambda: torch.nn.functional.batch_norm(Z, None, None, training=True),
    lambda: torch.nn.modules.batchnorm.BatchNorm1d(3, dtype=torch.float64)(Z),
    lambda: torch.ops.aten.native_batch_norm.default(Z, None, None, None, None, True, 0.1, 1e-5),
    lambda: torch.ops.aten.batch_norm_update_stats.default(Z, torch.zeros(3, dtype=Z.dtype), torch.ones(3, dtype=Z.dtype), 0.1),
    lambda: torch.nn.functional.instance_norm(Z.T[None]),
    lambda: torch.nn.functional.layer_norm(Z.T, (6,)),
    lambda: torch.ops.aten.native_layer_norm.default(Z.T, [6], None, None, 1e-5),
    lambda: torch.nn.functional.group_norm(Z.T[None], 3),
    lambda: torch.nn.functional.rms_norm(Z.T, (6,)),
]


@pytest.mark.parametrize("index", range(len(ROUTES)))
@pytest.mark.parametrize("disabled", [False, True], ids=["plain", "torch_function_disabled"])
def test_every_normalization_route_meets_the_refusal(index, disabled):
    with forbid((BATCH_NORM, NORMALIZATION), "part"), torch.no_grad():
        with pytest.raises(Exception) as raised:
            if disabled:
                with torch._C.DisableTorchFunction():
                    ROUTES[index]()
            else:
                ROUTES[index]()
    assert is_refusal(raised.value), raised.value
    ROUTES[index]()  # and the refusal is gone after the block


def test_the_notebook_check_refuses_a_layer_norm_of_the_transpose():
    def normalize(z, gamma, beta=0.0):
        return (torch.nn.functional.layer_norm(z.T, (z.shape[0],)) * gamma[:, None]).T + beta

    def bn_lstm_step(x, h, c, W_ih, W_hh, b, gamma_x, gamma_h, gamma_c, beta_c):
        i, f, g, o = (normalize(x @ W_ih.T, gamma_x) + normalize(h @ W_hh.T, gamma_h) + b).chunk(4, dim=1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(normalize(c_new, gamma_c, beta_c)), c_new

    case = tensors(batchnorm._bn_lstm_cases(np.random.default_rng(0), False)[0])
    torch.testing.assert_close(bn_lstm_step(**case), batchnorm.reference_bn_lstm_step(**case))  # a real shortcut
    with pytest.raises(AssertionError, match="may not use"):
        checks.bn_lstm_step(bn_lstm_step)
