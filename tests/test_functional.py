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


# ---------------------------------------------------------------------------------------------
# Clear errors from the step functions themselves: the book and the exercises call them directly.


def step_call(function: str, **change):
    """A valid call of ``function`` (B=3, I=4, H=5, O=2, float32) with the arguments in ``change`` replaced."""
    z = torch.zeros
    arguments = {
        "elman_step": dict(x=z(B, I), h=z(B, H), weight_ih=z(H, I), weight_hh=z(H, H), bias_ih=z(H), bias_hh=z(H)),
        "jordan_step": dict(x=z(B, I), y=z(B, O), weight_ih=z(H, I), weight_yh=z(H, O), weight_hy=z(O, H),
                            bias_ih=z(H), bias_yh=z(H), bias_hy=z(O)),
        "lstm_step": dict(x=z(B, I), state=(z(B, H), z(B, H)), weight_ih=z(4 * H, I), weight_hh=z(4 * H, H),
                          bias_ih=z(4 * H), bias_hh=z(4 * H)),
        "peephole_step": dict(x=z(B, I), state=(z(B, H), z(B, H)), weight_ih=z(4 * H, I), weight_hh=z(4 * H, H),
                              peephole=True, weight_ci=z(H), weight_cf=z(H), weight_co=z(H)),
        "gru_step": dict(x=z(B, I), h=z(B, H), weight_ih=z(3 * H, I), weight_hh=z(3 * H, H), bias_ih=z(3 * H),
                         bias_hh=z(3 * H)),
        "mgu_step": dict(x=z(B, I), h=z(B, H), weight_ih=z(2 * H, I), weight_hh=z(2 * H, H), bias_ih=z(2 * H),
                         bias_hh=z(2 * H)),
    }[function]
    step = getattr(F, "lstm_step" if function == "peephole_step" else function)
    return lambda: step(**{**arguments, **change})


@pytest.mark.parametrize("function, change, error, match", [
    ("elman_step", {"x": torch.zeros(B, I + 1)}, ValueError, r"elman_step: expected x of shape \(B, I\) = \(3, 4\), got \(3, 5\)"),
    ("elman_step", {"h": torch.zeros(B, H + 1)}, ValueError, r"elman_step: expected h of shape \(B, H\) = \(3, 5\), got \(3, 6\)"),
    ("elman_step", {"bias_hh": torch.zeros(1, H)}, ValueError, r"expected bias_hh of shape \(H,\) = \(5\), got \(1, 5\)"),
    ("elman_step", {"h": torch.zeros(B, H, dtype=torch.float64)}, TypeError,
     r"elman_step: expected h of dtype torch.float32 \(x's dtype\), got torch.float64"),
    ("elman_step", {"x": torch.zeros(1, B, I)}, ValueError, r"expected x of shape \(B, I\) or unbatched \(I,\), got \(1, 3, 4\)"),
    ("elman_step", {"weight_hh": [[0.0]]}, TypeError, r"expected weight_hh to be a torch.Tensor, got list"),
    ("jordan_step", {"y": torch.zeros(B, O + 1)}, ValueError, r"jordan_step: expected y of shape \(B, O\) = \(3, 2\), got \(3, 3\)"),
    ("jordan_step", {"weight_hy": torch.zeros(O, H + 1)}, ValueError, r"expected weight_hy of shape \(O, H\) = \(2, 5\)"),
    ("lstm_step", {"state": (torch.zeros(B, H), torch.zeros(1, B, H))}, ValueError,
     r"lstm_step: expected c of shape \(B, H\) = \(3, 5\), got \(1, 3, 5\)"),
    ("lstm_step", {"state": (torch.zeros(B, H + 1), torch.zeros(B, H))}, ValueError,
     r"lstm_step: expected h and c of the same shape \(B, H\) without a projection"),
    ("lstm_step", {"state": (torch.zeros(B, H),)}, TypeError, r"expected state to be a tuple \(h, c\) of two tensors, got tuple of length 1"),
    ("lstm_step", {"x": torch.zeros(B, I + 1)}, ValueError, r"lstm_step: expected x of shape \(B, I\) = \(3, 4\), got \(3, 5\)"),
    ("lstm_step", {"bias_ih": torch.zeros(3 * H)}, ValueError, r"expected bias_ih of shape \(4\*H,\) = \(20\), got \(15\)"),
    ("lstm_step", {"weight_ih": torch.zeros(4 * H, I, dtype=torch.float64)}, TypeError,
     r"expected weight_ih of dtype torch.float32 \(x's dtype\), got torch.float64"),
    ("peephole_step", {"weight_cf": torch.zeros(1, H)}, ValueError, r"expected weight_cf of shape \(H,\) = \(5\), got \(1, 5\)"),
    ("gru_step", {"h": torch.zeros(B + 1, H)}, ValueError, r"gru_step: expected h of shape \(B, H\) = \(3, 5\), got \(4, 5\)"),
    ("gru_step", {"weight_hh": torch.zeros(3 * H, H + 1)}, ValueError, r"expected weight_hh of shape \(3\*H, H\) = \(15, 5\)"),
    ("mgu_step", {"x": torch.zeros(B, I, device="meta")}, ValueError, r"mgu_step: expected weight_ih on device meta \(x's device\), got cpu"),
    ("gru_step", {"reset_after": 1}, TypeError, r"expected reset_after to be one of True, False, got 1"),
])
def test_step_functions_name_the_wrong_argument(function, change, error, match):
    with pytest.raises(error, match=match):
        step_call(function, **change)()


@pytest.mark.parametrize("function", ["elman_step", "jordan_step", "lstm_step", "peephole_step", "gru_step", "mgu_step"])
def test_valid_step_calls_pass_the_checks_batched_and_unbatched(function):
    step_call(function)()
    unbatched = {"lstm_step": {"x": torch.zeros(I), "state": (torch.zeros(H), torch.zeros(H))},
                 "peephole_step": {"x": torch.zeros(I), "state": (torch.zeros(H), torch.zeros(H))},
                 "jordan_step": {"x": torch.zeros(I), "y": torch.zeros(O)}}.get(function, {"x": torch.zeros(I),
                                                                                          "h": torch.zeros(H)})
    step_call(function, **unbatched)()


def test_projected_lstm_step_equals_the_step_then_the_projection():
    generator = torch.Generator().manual_seed(0)
    x, h, c = draw(generator, B, I), draw(generator, B, 2), draw(generator, B, H)
    weight_ih, weight_hh, weight_hr = draw(generator, 4 * H, I), draw(generator, 4 * H, 2), draw(generator, 2, H)
    h_new, c_new = F.lstm_step(x, (h, c), weight_ih, weight_hh, weight_hr=weight_hr)
    pre = x @ weight_ih.T + h @ weight_hh.T
    i, f, g, o = pre.chunk(4, 1)
    expected_c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    torch.testing.assert_close((h_new, c_new), ((torch.sigmoid(o) * torch.tanh(expected_c)) @ weight_hr.T, expected_c))
