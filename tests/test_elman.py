"""The Elman network: rnncourse.RNN and cells.ElmanCell against torch.nn.RNN / RNNCell with copied weights."""
from __future__ import annotations

import itertools

import pytest
import torch
from torch.func import functional_call

import rnncourse
from rnncourse.cells import ElmanCell

T, B, I, H = 5, 3, 4, 6


def run_and_backward(module, input, hx, generator):
    """Forward, then backward a random linear function of ``output`` and ``h_n``; returns every gradient too."""
    output, h_n = module(input, hx)
    output_weight = torch.randn(output.shape, generator=generator, dtype=output.dtype).to(output.device)
    state_weight = torch.randn(h_n.shape, generator=generator, dtype=h_n.dtype).to(h_n.device)
    ((output * output_weight).sum() + (h_n * state_weight).sum()).backward()
    grads = {name: parameter.grad for name, parameter in module.named_parameters()}
    grads["input"] = input.grad
    grads["hx"] = None if hx is None else hx.grad
    return output, h_n, grads


def leaf(generator, *shape, dtype, device):
    return torch.randn(*shape, generator=generator, dtype=dtype).to(device).requires_grad_()


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("num_layers, bidirectional", list(itertools.product([1, 2, 3], [False, True])))
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
@pytest.mark.parametrize("with_hx", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_rnn_equals_torch(nonlinearity, num_layers, bidirectional, batch_first, with_hx, bias, dtype, value_device,
                          generator, randomize, copy_weights):
    options = dict(num_layers=num_layers, nonlinearity=nonlinearity, bias=bias, batch_first=batch_first,
                   bidirectional=bidirectional, device=value_device, dtype=dtype)
    reference = randomize(torch.nn.RNN(I, H, **options))
    ours = copy_weights(reference, rnncourse.RNN(I, H, **options))
    input_shape = (B, T, I) if batch_first else (T, B, I)
    rows = num_layers * (2 if bidirectional else 1)
    results = []
    for module in (reference, ours):
        seeded = torch.Generator().manual_seed(1)
        input = leaf(seeded, *input_shape, dtype=dtype, device=value_device)
        hx = leaf(seeded, rows, B, H, dtype=dtype, device=value_device) if with_hx else None
        results.append(run_and_backward(module, input, hx, seeded))
    (expected_output, expected_h_n, expected_grads), (output, h_n, grads) = results
    torch.testing.assert_close(output, expected_output)
    torch.testing.assert_close(h_n, expected_h_n)
    assert grads.keys() == expected_grads.keys()
    for name in expected_grads:
        torch.testing.assert_close(grads[name], expected_grads[name], msg=lambda text: f"grad of {name}: {text}")


@pytest.mark.parametrize("num_layers, bidirectional", list(itertools.product([1, 2], [False, True])))
@pytest.mark.parametrize("with_hx", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
def test_rnn_unbatched_input_equals_torch(num_layers, bidirectional, with_hx, batch_first, generator, randomize,
                                          copy_weights):
    options = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, dtype=torch.float64)
    reference = randomize(torch.nn.RNN(I, H, **options))
    ours = copy_weights(reference, rnncourse.RNN(I, H, **options))
    rows = num_layers * (2 if bidirectional else 1)
    results = []
    for module in (reference, ours):
        seeded = torch.Generator().manual_seed(1)
        input = leaf(seeded, T, I, dtype=torch.float64, device="cpu")  # (T, I) whatever batch_first says
        hx = leaf(seeded, rows, H, dtype=torch.float64, device="cpu") if with_hx else None
        results.append(run_and_backward(module, input, hx, seeded))
    (expected_output, expected_h_n, expected_grads), (output, h_n, grads) = results
    assert output.shape == (T, rows // num_layers * H) and h_n.shape == (rows, H)
    torch.testing.assert_close(output, expected_output)
    torch.testing.assert_close(h_n, expected_h_n)
    for name in expected_grads:
        torch.testing.assert_close(grads[name], expected_grads[name], msg=lambda text: f"grad of {name}: {text}")


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("with_hx", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("batch", [(B,), ()], ids=["batched", "unbatched"])
def test_elman_cell_equals_torch_rnn_cell(nonlinearity, bias, with_hx, batch, dtype, value_device, generator,
                                          randomize, copy_weights):
    options = dict(bias=bias, nonlinearity=nonlinearity, device=value_device, dtype=dtype)
    reference = randomize(torch.nn.RNNCell(I, H, **options))
    ours = copy_weights(reference, ElmanCell(I, H, **options))
    results = []
    for module in (reference, ours):
        seeded = torch.Generator().manual_seed(1)
        x = leaf(seeded, *batch, I, dtype=dtype, device=value_device)
        hx = leaf(seeded, *batch, H, dtype=dtype, device=value_device) if with_hx else None
        h_next = module(x, hx)
        h_next.backward(torch.randn(h_next.shape, generator=seeded, dtype=dtype).to(value_device))
        grads = {name: parameter.grad for name, parameter in module.named_parameters()}
        results.append((h_next, grads, x.grad, None if hx is None else hx.grad))
    (expected, expected_grads, expected_x_grad, expected_hx_grad), (actual, grads, x_grad, hx_grad) = results
    torch.testing.assert_close(actual, expected)
    torch.testing.assert_close(grads, expected_grads)
    torch.testing.assert_close(x_grad, expected_x_grad)
    torch.testing.assert_close(hx_grad, expected_hx_grad)


@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_state_dict_is_torchs(num_layers, bidirectional, bias, copy_weights, randomize):
    options = dict(num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    reference, ours = torch.nn.RNN(I, H, **options), rnncourse.RNN(I, H, **options)
    expected = [(name, tuple(value.shape)) for name, value in reference.state_dict().items()]
    assert [(name, tuple(value.shape)) for name, value in ours.state_dict().items()] == expected
    copy_weights(randomize(ours), reference)  # and back, into torch
    torch.testing.assert_close(reference.state_dict(), ours.state_dict())


@pytest.mark.parametrize("bias", [True, False])
def test_elman_cell_state_dict_is_torchs(bias):
    reference, ours = torch.nn.RNNCell(I, H, bias=bias), ElmanCell(I, H, bias=bias)
    expected = [(name, tuple(value.shape)) for name, value in reference.state_dict().items()]
    assert [(name, tuple(value.shape)) for name, value in ours.state_dict().items()] == expected


@pytest.mark.parametrize("make", [lambda: rnncourse.RNN(I, H, num_layers=2, bidirectional=True),
                                  lambda: ElmanCell(I, H)], ids=["RNN", "ElmanCell"])
def test_default_initialisation_is_torchs_uniform(make):
    bound = 1 / H ** 0.5
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = make()
    for name, parameter in module.named_parameters():
        assert parameter.abs().max() <= bound, name
    values = torch.cat([parameter.detach().flatten() for parameter in module.parameters()])
    assert values.min() < -bound / 2 and values.max() > bound / 2, "parameters look uninitialised"


class TestDropout:
    def make(self, randomize, copy_weights, num_layers=2, dropout=0.5):
        reference = randomize(torch.nn.RNN(I, H, num_layers=num_layers, dropout=dropout, dtype=torch.float64))
        return reference, copy_weights(reference, rnncourse.RNN(I, H, num_layers=num_layers, dropout=dropout,
                                                                  dtype=torch.float64))

    def run(self, module, input, seed):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return module(input)

    def test_eval_mode_applies_no_dropout_and_equals_torch(self, generator, randomize, copy_weights):
        reference, ours = self.make(randomize, copy_weights)
        reference.eval(), ours.eval()
        input = torch.randn(T, B, I, generator=generator, dtype=torch.float64)
        for seed in (1, 2):
            output, h_n = self.run(ours, input, seed)
            expected_output, expected_h_n = self.run(reference, input, seed)
            torch.testing.assert_close(output, expected_output)
            torch.testing.assert_close(h_n, expected_h_n)

    def test_train_mode_applies_dropout_between_layers(self, generator, randomize, copy_weights):
        _, ours = self.make(randomize, copy_weights)
        input = torch.randn(T, B, I, generator=generator, dtype=torch.float64)
        no_dropout, h_n_eval = ours.eval()(input)
        ours.train()
        output_1, h_n_1 = self.run(ours, input, seed=1)
        output_2, _ = self.run(ours, input, seed=2)
        output_1_again, _ = self.run(ours, input, seed=1)
        assert not torch.allclose(output_1, no_dropout)
        assert not torch.allclose(output_1, output_2)
        torch.testing.assert_close(output_1, output_1_again)
        torch.testing.assert_close(h_n_1[0], h_n_eval[0])  # dropout acts between layers, not inside the first

    def test_single_layer_ignores_dropout(self, generator, randomize, copy_weights):
        with pytest.warns(UserWarning, match="dropout"):
            _, ours = self.make(randomize, copy_weights, num_layers=1)
        input = torch.randn(T, B, I, generator=generator, dtype=torch.float64)
        torch.testing.assert_close(self.run(ours.train(), input, 1), ours.eval()(input))


def test_elman_cell_gradcheck(generator):
    cell = ElmanCell(2, 3, dtype=torch.float64)
    names = [name for name, _ in cell.named_parameters()]
    x = torch.randn(2, 2, generator=generator, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 3, generator=generator, dtype=torch.float64, requires_grad=True)

    def function(x, h, *parameters):
        return functional_call(cell, dict(zip(names, parameters)), (x, h))

    assert torch.autograd.gradcheck(function, (x, h, *(p.detach().requires_grad_() for p in cell.parameters())))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_gradcheck(nonlinearity, generator):
    rnn = rnncourse.RNN(2, 3, num_layers=2, bidirectional=True, nonlinearity=nonlinearity, dtype=torch.float64)
    names = [name for name, _ in rnn.named_parameters()]
    input = torch.randn(3, 2, 2, generator=generator, dtype=torch.float64, requires_grad=True)
    hx = torch.randn(4, 2, 3, generator=generator, dtype=torch.float64, requires_grad=True)

    def function(input, hx, *parameters):
        return functional_call(rnn, dict(zip(names, parameters)), (input, hx))

    assert torch.autograd.gradcheck(function, (input, hx, *(p.detach().requires_grad_() for p in rnn.parameters())))


@pytest.mark.parametrize("num_layers, bidirectional", list(itertools.product([1, 2], [False, True])))
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
def test_rnn_runs_on_every_device(num_layers, bidirectional, batch_first, device, dtype):
    rnn = rnncourse.RNN(I, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                        dropout=0.5 if num_layers > 1 else 0.0, device=device, dtype=dtype)  # in training mode
    directions = 2 if bidirectional else 1
    input = torch.zeros((B, T, I) if batch_first else (T, B, I), device=device, dtype=dtype)
    hx = torch.zeros(num_layers * directions, B, H, device=device, dtype=dtype)
    for output, h_n in (rnn(input), rnn(input, hx)):
        assert output.shape == ((B, T, directions * H) if batch_first else (T, B, directions * H))
        assert h_n.shape == (num_layers * directions, B, H)
        assert output.device == h_n.device == input.device and output.dtype == h_n.dtype == dtype
    output, h_n = rnn(torch.zeros(T, I, device=device, dtype=dtype))
    assert output.shape == (T, directions * H) and h_n.shape == (num_layers * directions, H)
    assert output.device == input.device


def test_elman_cell_runs_on_every_device(device, dtype):
    cell = ElmanCell(I, H, device=device, dtype=dtype)
    for x, hx, shape in ((torch.zeros(B, I), None, (B, H)), (torch.zeros(B, I), torch.zeros(B, H), (B, H)),
                         (torch.zeros(I), torch.zeros(H), (H,))):
        to = dict(device=device, dtype=dtype)
        h_next = cell(x.to(**to), None if hx is None else hx.to(**to))
        assert h_next.shape == shape and h_next.device == cell.weight_ih.device and h_next.dtype == dtype


class TestErrors:
    def test_rnn_input_rank(self):
        expected = r"expected input to be 2D \(T, 4\) or 3D \(T, B, 4\), got 4D \(2, 3, 4, 4\)"
        with pytest.raises(ValueError, match=expected):
            rnncourse.RNN(I, H)(torch.zeros(2, 3, 4, 4))
        with pytest.raises(ValueError, match=r"or 3D \(B, T, 4\), got 1D \(4\)"):
            rnncourse.RNN(I, H, batch_first=True)(torch.zeros(4))

    def test_rnn_feature_size(self):
        with pytest.raises(ValueError, match=r"expected input with 4 features .* got \(5, 3, 7\)"):
            rnncourse.RNN(I, H)(torch.zeros(T, B, 7))

    @pytest.mark.parametrize("shape", [(1, B, H), (2, B + 1, H), (2, B, H + 1), (2, H)])
    def test_rnn_hx_shape(self, shape):
        expected = r"expected hx of shape \(2, 3, 6\) \(num_layers \* num_directions, B, H\), got " + \
            r"\(" + ", ".join(map(str, shape)) + r"\)"
        with pytest.raises(ValueError, match=expected):
            rnncourse.RNN(I, H, num_layers=2)(torch.zeros(T, B, I), torch.zeros(shape))

    def test_rnn_unbatched_hx_shape(self):
        with pytest.raises(ValueError, match=r"expected hx of shape \(2, 6\) .*, got \(2, 1, 6\)"):
            rnncourse.RNN(I, H, bidirectional=True)(torch.zeros(T, I), torch.zeros(2, 1, H))

    def test_rnn_hx_tuple_of_wrong_length(self):
        hx = torch.zeros(1, B, H)
        with pytest.raises(ValueError, match=r"expected hx to be a tuple of 1 tensors, got tuple"):
            rnncourse.RNN(I, H)(torch.zeros(T, B, I), (hx, hx))

    def test_rnn_dtype_mismatch(self):
        with pytest.raises(TypeError, match=r"expected input of dtype torch.float32 .* got torch.float64"):
            rnncourse.RNN(I, H)(torch.zeros(T, B, I, dtype=torch.float64))
        with pytest.raises(TypeError, match=r"expected hx of dtype torch.float64 .* got torch.float32"):
            rnncourse.RNN(I, H, dtype=torch.float64)(torch.zeros(T, B, I, dtype=torch.float64), torch.zeros(1, B, H))
        with pytest.raises(TypeError, match=r"expected input of dtype torch.float32 .* got torch.int64"):
            rnncourse.RNN(I, H)(torch.zeros(T, B, I, dtype=torch.long))

    def test_rnn_device_mismatch(self):
        with pytest.raises(ValueError, match=r"expected input on device cpu .* got meta"):
            rnncourse.RNN(I, H)(torch.zeros(T, B, I, device="meta"))

    def test_not_a_tensor(self):
        with pytest.raises(TypeError, match=r"expected input to be a torch.Tensor, got list"):
            rnncourse.RNN(I, H)([[0.0] * I])
        with pytest.raises(TypeError, match=r"expected hx to be a torch.Tensor, got list"):
            ElmanCell(I, H)(torch.zeros(B, I), [0.0] * H)

    @pytest.mark.parametrize("module", [rnncourse.RNN, ElmanCell])
    def test_bad_nonlinearity(self, module):
        with pytest.raises(ValueError, match=r"expected nonlinearity to be one of 'tanh', 'relu', got 'sigmoid'"):
            module(I, H, nonlinearity="sigmoid")

    @pytest.mark.parametrize("name, arguments", [
        ("input_size", (0, H)), ("hidden_size", (I, -1)), ("input_size", (2.0, H)), ("hidden_size", (I, True)),
        ("num_layers", (I, H, 0)),
    ])
    def test_rnn_non_positive_sizes(self, name, arguments):
        with pytest.raises(ValueError, match=rf"expected {name} to be a positive int, got"):
            rnncourse.RNN(*arguments)

    @pytest.mark.parametrize("name, arguments", [("input_size", (0, H)), ("hidden_size", (I, 0))])
    def test_cell_non_positive_sizes(self, name, arguments):
        with pytest.raises(ValueError, match=rf"expected {name} to be a positive int, got 0"):
            ElmanCell(*arguments)

    @pytest.mark.parametrize("dropout", [-0.1, 1.5, "0.5", None, True])
    def test_bad_dropout(self, dropout):
        with pytest.raises(ValueError, match=r"expected dropout to be a number in \[0, 1\], got"):
            rnncourse.RNN(I, H, num_layers=2, dropout=dropout)

    def test_cell_input_shape(self):
        with pytest.raises(ValueError, match=r"expected input of shape \(B, 4\) or \(4,\), got \(5, 3, 4\)"):
            ElmanCell(I, H)(torch.zeros(T, B, I))
        with pytest.raises(ValueError, match=r"expected input of shape \(B, 4\) or \(4,\), got \(3, 5\)"):
            ElmanCell(I, H)(torch.zeros(B, 5))

    @pytest.mark.parametrize("x_shape, hx_shape, expected", [
        ((B, I), (B, H + 1), r"\(3, 6\), got \(3, 7\)"),
        ((B, I), (H,), r"\(3, 6\), got \(6\)"),
        ((I,), (1, H), r"\(6\), got \(1, 6\)"),
    ])
    def test_cell_hx_shape(self, x_shape, hx_shape, expected):
        with pytest.raises(ValueError, match=r"expected hx of shape " + expected):
            ElmanCell(I, H)(torch.zeros(x_shape), torch.zeros(hx_shape))

    def test_cell_hx_tuple_of_wrong_length(self):
        with pytest.raises(ValueError, match=r"expected hx to be a tuple of 1 tensors, got tuple"):
            ElmanCell(I, H)(torch.zeros(B, I), (torch.zeros(B, H), torch.zeros(B, H)))

    def test_cell_dtype_mismatch(self):
        with pytest.raises(TypeError, match=r"expected input of dtype torch.float32 .* got torch.float64"):
            ElmanCell(I, H)(torch.zeros(B, I, dtype=torch.float64))
        with pytest.raises(TypeError, match=r"expected hx of dtype torch.float32 .* got torch.float16"):
            ElmanCell(I, H)(torch.zeros(B, I), torch.zeros(B, H, dtype=torch.float16))
