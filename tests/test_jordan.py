"""The Jordan network against a float64 oracle written straight from its equations (torch has no Jordan network).

    h_t = phi(W_ih x_t + b_ih + W_yh y_{t-1} + b_yh)
    y_t = psi(W_hy h_t + b_hy),   y_{-1} = y0 (zeros if not given); the state is y.
"""
from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from rnncourse import Recurrent
from rnncourse.cells import JordanCell

T, B, I, H, O = 6, 3, 4, 5, 2

PHI = {"tanh": lambda z: (z.exp() - (-z).exp()) / (z.exp() + (-z).exp()), "relu": lambda z: z * (z > 0)}
PSI = {"identity": lambda z: z, "tanh": PHI["tanh"], "sigmoid": lambda z: 1 / (1 + (-z).exp())}


def jordan_oracle(inputs, y0, params, nonlinearity, output_nonlinearity, reverse=False):
    """``inputs (T, B, I)``, ``y0 (B, O)`` -> ``outputs (T, B, O)``, ``y_n (B, O)``.

    One sample and one step at a time, with matrix-vector products, so that it shares no code with the package.
    """
    steps, batch, _ = inputs.shape
    zeros = inputs.new_zeros
    b_ih, b_yh, b_hy = (params.get(name, zeros(size)) for name, size in (("bias_ih", H), ("bias_yh", H),
                                                                          ("bias_hy", O)))
    outputs = zeros(steps, batch, O)
    finals = zeros(batch, O)
    for b in range(batch):
        y = y0[b]  # (O,)
        for t in (reversed(range(steps)) if reverse else range(steps)):
            h = PHI[nonlinearity](params["weight_ih"] @ inputs[t, b] + b_ih + params["weight_yh"] @ y + b_yh)  # (H,)
            y = PSI[output_nonlinearity](params["weight_hy"] @ h + b_hy)  # (O,)
            outputs[t, b] = y
        finals[b] = y
    return outputs, finals


def make_cell(randomize, nonlinearity="tanh", output_nonlinearity="identity", bias=True):
    cell = JordanCell(I, H, O, bias=bias, nonlinearity=nonlinearity, output_nonlinearity=output_nonlinearity,
                      dtype=torch.float64)
    return randomize(cell, scale=1.0)


def parameters_of(cell):
    return {name: parameter.detach() for name, parameter in cell.named_parameters()}


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("output_nonlinearity", ["identity", "tanh", "sigmoid"])
@pytest.mark.parametrize("with_hx", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_recurrent_jordan_equals_oracle(nonlinearity, output_nonlinearity, with_hx, bias, reverse, generator,
                                        randomize):
    cell = make_cell(randomize, nonlinearity, output_nonlinearity, bias)
    inputs = torch.randn(T, B, I, generator=generator, dtype=torch.float64)
    y0 = torch.randn(B, O, generator=generator, dtype=torch.float64) if with_hx else None
    output, y_n = Recurrent(cell, reverse=reverse)(inputs, y0)
    expected_output, expected_y_n = jordan_oracle(inputs, torch.zeros(B, O, dtype=torch.float64) if y0 is None else y0,
                                                  parameters_of(cell), nonlinearity, output_nonlinearity, reverse)
    torch.testing.assert_close(output, expected_output)
    torch.testing.assert_close(y_n, expected_y_n)
    torch.testing.assert_close(y_n, output[0] if reverse else output[-1])


@pytest.mark.parametrize("output_nonlinearity", ["identity", "tanh", "sigmoid"])
def test_recurrent_jordan_batch_first_and_unbatched(output_nonlinearity, generator, randomize):
    cell = make_cell(randomize, output_nonlinearity=output_nonlinearity)
    inputs = torch.randn(T, B, I, generator=generator, dtype=torch.float64)
    y0 = torch.randn(B, O, generator=generator, dtype=torch.float64)
    expected_output, expected_y_n = jordan_oracle(inputs, y0, parameters_of(cell), "tanh", output_nonlinearity)
    output, y_n = Recurrent(cell, batch_first=True)(inputs.transpose(0, 1), y0)
    torch.testing.assert_close(output, expected_output.transpose(0, 1))
    torch.testing.assert_close(y_n, expected_y_n)
    output, y_n = Recurrent(cell)(inputs[:, 1], y0[1])  # one unbatched sequence (T, I), state (O,)
    torch.testing.assert_close(output, expected_output[:, 1])
    torch.testing.assert_close(y_n, expected_y_n[1])


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("output_nonlinearity", ["identity", "tanh", "sigmoid"])
@pytest.mark.parametrize("with_hx", [False, True], ids=["no_hx", "hx"])
def test_jordan_cell_step_equals_oracle(nonlinearity, output_nonlinearity, with_hx, generator, randomize):
    cell = make_cell(randomize, nonlinearity, output_nonlinearity)
    x = torch.randn(B, I, generator=generator, dtype=torch.float64)
    y = torch.randn(B, O, generator=generator, dtype=torch.float64) if with_hx else None
    expected, _ = jordan_oracle(x[None], torch.zeros(B, O, dtype=torch.float64) if y is None else y,
                                parameters_of(cell), nonlinearity, output_nonlinearity)
    torch.testing.assert_close(cell(x, y), expected[0])
    torch.testing.assert_close(cell(x[0], None if y is None else y[0]), expected[0, 0])


def test_jordan_cell_parameters():
    cell = JordanCell(I, H, O)
    expected = {"weight_ih": (H, I), "weight_yh": (H, O), "weight_hy": (O, H),
                "bias_ih": (H,), "bias_yh": (H,), "bias_hy": (O,)}
    assert {name: tuple(value.shape) for name, value in cell.state_dict().items()} == expected
    assert [name for name, _ in JordanCell(I, H, O, bias=False).named_parameters()] == list(expected)[:3]


def test_jordan_cell_initialisation_is_bounded_by_fan_in():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        cell = JordanCell(I, H, O)
    for name, fan_in in (("weight_ih", I), ("weight_yh", O), ("weight_hy", H), ("bias_hy", H)):
        assert getattr(cell, name).abs().max() <= fan_in ** -0.5, name


@pytest.mark.parametrize("output_nonlinearity", ["identity", "tanh", "sigmoid"])
@pytest.mark.parametrize("layer", [False, True], ids=["cell", "Recurrent"])
def test_jordan_gradcheck(output_nonlinearity, layer, generator):
    module = JordanCell(2, 3, 2, output_nonlinearity=output_nonlinearity, dtype=torch.float64)
    if layer:
        module = Recurrent(module)
    names = [name for name, _ in module.named_parameters()]
    x = torch.randn(*((3, 2, 2) if layer else (2, 2)), generator=generator, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 2, generator=generator, dtype=torch.float64, requires_grad=True)

    def function(x, y, *parameters):
        return functional_call(module, dict(zip(names, parameters)), (x, y))

    assert torch.autograd.gradcheck(function, (x, y, *(p.detach().requires_grad_() for p in module.parameters())))


@pytest.mark.parametrize("reverse", [False, True])
def test_jordan_runs_on_every_device(reverse, device, dtype):
    to = dict(device=device, dtype=dtype)
    cell = JordanCell(I, H, O, **to)
    assert cell(torch.zeros(B, I, **to)).shape == (B, O)
    assert cell(torch.zeros(I, **to), torch.zeros(O, **to)).shape == (O,)
    output, y_n = Recurrent(cell, reverse=reverse)(torch.zeros(T, B, I, **to), torch.zeros(B, O, **to))
    assert output.shape == (T, B, O) and y_n.shape == (B, O)
    assert output.device == y_n.device == cell.weight_ih.device and output.dtype == dtype


class TestErrors:
    @pytest.mark.parametrize("name, arguments", [
        ("input_size", (0, H, O)), ("hidden_size", (I, 0, O)), ("output_size", (I, H, 0)),
        ("output_size", (I, H, 2.5)),
    ])
    def test_non_positive_sizes(self, name, arguments):
        with pytest.raises(ValueError, match=rf"expected {name} to be a positive int, got"):
            JordanCell(*arguments)

    def test_bad_nonlinearities(self):
        with pytest.raises(ValueError, match=r"expected nonlinearity to be one of 'tanh', 'relu', got 'sigmoid'"):
            JordanCell(I, H, O, nonlinearity="sigmoid")
        with pytest.raises(ValueError, match=r"expected output_nonlinearity to be one of 'identity', 'tanh', "
                                             r"'sigmoid', got 'relu'"):
            JordanCell(I, H, O, output_nonlinearity="relu")

    def test_state_is_the_output_not_the_hidden_layer(self):
        with pytest.raises(ValueError, match=r"expected hx of shape \(3, 2\), got \(3, 5\)"):
            JordanCell(I, H, O)(torch.zeros(B, I), torch.zeros(B, H))
        with pytest.raises(ValueError, match=r"expected hx of shape \(3, 2\), got \(3, 5\)"):
            Recurrent(JordanCell(I, H, O))(torch.zeros(T, B, I), torch.zeros(B, H))

    def test_input_shape_and_dtype(self):
        with pytest.raises(ValueError, match=r"expected input to be 2D \(T, 4\) or 3D \(T, B, 4\), got 4D"):
            Recurrent(JordanCell(I, H, O))(torch.zeros(T, B, 1, I))
        with pytest.raises(ValueError, match=r"expected input of shape \(B, 4\) or \(4,\), got \(3, 5\)"):
            JordanCell(I, H, O)(torch.zeros(B, 5))
        with pytest.raises(TypeError, match=r"expected input of dtype torch.float64 .* got torch.float32"):
            JordanCell(I, H, O, dtype=torch.float64)(torch.zeros(B, I))
