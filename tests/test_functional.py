"""rnncourse.functional: the step equations against torch's own cell ops, and their gradients."""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as torch_F

from rnncourse import functional as F

B, I, H, O = 3, 4, 5, 2
TORCH_ELMAN_CELL = {"tanh": torch.rnn_tanh_cell, "relu": torch.rnn_relu_cell}
PSI = {"identity": lambda z: z, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
PHI = {"tanh": torch.tanh, "relu": torch.relu}


def draw(generator, *shape, dtype=torch.float64, device="cpu"):
    return torch.randn(*shape, generator=generator, dtype=dtype).to(device)


def elman_arguments(generator, bias, dtype=torch.float64, device="cpu"):
    x = draw(generator, B, I, dtype=dtype, device=device)
    h = draw(generator, B, H, dtype=dtype, device=device)
    weights = [draw(generator, H, I, dtype=dtype, device=device), draw(generator, H, H, dtype=dtype, device=device)]
    biases = [draw(generator, H, dtype=dtype, device=device) for _ in range(2)] if bias else [None, None]
    return x, h, weights, biases


def jordan_arguments(generator, bias, dtype=torch.float64, device="cpu"):
    x = draw(generator, B, I, dtype=dtype, device=device)
    y = draw(generator, B, O, dtype=dtype, device=device)
    weights = [draw(generator, *shape, dtype=dtype, device=device) for shape in ((H, I), (H, O), (O, H))]
    biases = [draw(generator, size, dtype=dtype, device=device) for size in (H, H, O)] if bias else [None] * 3
    return x, y, weights, biases


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_elman_step_equals_torch_cell_op(nonlinearity, bias, dtype, value_device, generator):
    x, h, weights, biases = elman_arguments(generator, bias, dtype, value_device)
    expected = TORCH_ELMAN_CELL[nonlinearity](x, h, *weights, *biases)
    actual = F.elman_step(x, h, *weights, *biases, nonlinearity=nonlinearity)
    torch.testing.assert_close(actual, expected)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("output_nonlinearity", ["identity", "tanh", "sigmoid"])
@pytest.mark.parametrize("bias", [True, False])
def test_jordan_step_equals_two_torch_linear_layers(nonlinearity, output_nonlinearity, bias, dtype, value_device,
                                                    generator):
    x, y, (w_ih, w_yh, w_hy), (b_ih, b_yh, b_hy) = jordan_arguments(generator, bias, dtype, value_device)
    hidden = PHI[nonlinearity](torch_F.linear(x, w_ih, b_ih) + torch_F.linear(y, w_yh, b_yh))
    expected = PSI[output_nonlinearity](torch_F.linear(hidden, w_hy, b_hy))
    actual = F.jordan_step(x, y, w_ih, w_yh, w_hy, b_ih, b_yh, b_hy, nonlinearity, output_nonlinearity)
    torch.testing.assert_close(actual, expected)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_elman_step_gradcheck(nonlinearity, bias, generator):
    x, h, weights, biases = elman_arguments(generator, bias)
    inputs = [t.requires_grad_() for t in (x, h, *weights, *biases) if t is not None]

    def step(x, h, w_ih, w_hh, *biases):
        return F.elman_step(x, h, w_ih, w_hh, *biases, nonlinearity=nonlinearity)

    assert torch.autograd.gradcheck(step, inputs)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("output_nonlinearity", ["identity", "tanh", "sigmoid"])
@pytest.mark.parametrize("bias", [True, False])
def test_jordan_step_gradcheck(nonlinearity, output_nonlinearity, bias, generator):
    x, y, weights, biases = jordan_arguments(generator, bias)
    inputs = [t.requires_grad_() for t in (x, y, *weights, *biases) if t is not None]

    def step(x, y, w_ih, w_yh, w_hy, *biases):
        b_ih, b_yh, b_hy = biases if biases else (None, None, None)
        return F.jordan_step(x, y, w_ih, w_yh, w_hy, b_ih, b_yh, b_hy, nonlinearity, output_nonlinearity)

    assert torch.autograd.gradcheck(step, inputs)


def test_steps_run_on_every_device(device, dtype, generator):
    x, h, weights, biases = elman_arguments(generator, True, dtype, device)
    assert F.elman_step(x, h, *weights, *biases).shape == (B, H)
    assert F.elman_step(x, h, *weights, *biases).device.type == device.type
    x, y, weights, biases = jordan_arguments(generator, True, dtype, device)
    y_next = F.jordan_step(x, y, *weights, *biases)
    assert y_next.shape == (B, O) and y_next.device.type == device.type and y_next.dtype == dtype


@pytest.mark.parametrize("name, function", [("tanh", torch.tanh), ("relu", torch.relu), ("sigmoid", torch.sigmoid)])
def test_activation_by_name(name, function, generator):
    z = draw(generator, 7)
    torch.testing.assert_close(F.activation(name)(z), function(z))
    torch.testing.assert_close(F.activation("identity")(z), z)


def test_linear_equals_torch_linear(generator):
    x, weight, bias = draw(generator, B, I), draw(generator, H, I), draw(generator, H)
    torch.testing.assert_close(F.linear(x, weight, bias), torch_F.linear(x, weight, bias))
    torch.testing.assert_close(F.linear(x, weight), torch_F.linear(x, weight))


def test_bad_nonlinearity_names_the_choices(generator):
    x, h, weights, biases = elman_arguments(generator, True)
    with pytest.raises(ValueError, match=r"expected nonlinearity to be one of 'tanh', 'relu', got 'sigmoid'"):
        F.elman_step(x, h, *weights, *biases, nonlinearity="sigmoid")
    x, y, weights, biases = jordan_arguments(generator, True)
    with pytest.raises(ValueError, match=r"expected nonlinearity to be one of 'tanh', 'relu', got 'gelu'"):
        F.jordan_step(x, y, *weights, *biases, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"expected output_nonlinearity to be one of .*'sigmoid', got 'relu'"):
        F.jordan_step(x, y, *weights, *biases, output_nonlinearity="relu")
    with pytest.raises(ValueError, match=r"expected nonlinearity to be one of .*, got 'softmax'"):
        F.activation("softmax")
