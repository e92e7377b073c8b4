"""LSTM: the standard cell and layer against torch, every variant against an oracle written from its equations."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from rnncourse import LSTM
from rnncourse import functional as F
from rnncourse.cells import LSTMCell

from helpers import (DEVICES, DTYPES, VALUE_DEVICES, forward_backward, functional_call_of, randn, randomize_,
                     stacked_oracle)

# Every variant the cell offers, by its arguments; the first is torch's.
VARIANTS = {
    "forget_gate": {},
    "no_forget_gate": {"forget_gate": False},
    "peephole": {"peephole": True},
    "peephole_no_forget_gate": {"peephole": True, "forget_gate": False},
    "coupled": {"coupled": True},
    "coupled_peephole": {"coupled": True, "peephole": True},
}
NON_TORCH_VARIANTS = [name for name in VARIANTS if name != "forget_gate"]

INPUT, HIDDEN, BATCH, STEPS = 3, 4, 2, 5


# ---------------------------------------------------------------------------------------------
# The oracle: the equations of each variant, written out gate by gate, independently of the package.


def oracle_cell(x, state, p, forget_gate=True, peephole=False, coupled=False):
    """One LSTM step; ``p`` holds the parameters by their cell names."""
    h, c = state
    layout = "ifgo" if forget_gate and not coupled else "igo"
    hidden = h.shape[-1]

    def pre_activation(gate):
        rows = slice(layout.index(gate) * hidden, (layout.index(gate) + 1) * hidden)
        value = x @ p["weight_ih"][rows].T + h @ p["weight_hh"][rows].T
        if "bias_ih" in p:
            value = value + p["bias_ih"][rows] + p["bias_hh"][rows]
        return value

    i = torch.sigmoid(pre_activation("i") + (p["weight_ci"] * c if peephole else 0))
    if not forget_gate:
        f = torch.ones_like(c)
    elif coupled:
        f = 1 - i
    else:
        f = torch.sigmoid(pre_activation("f") + (p["weight_cf"] * c if peephole else 0))
    g = torch.tanh(pre_activation("g"))
    c_new = f * c + i * g
    o = torch.sigmoid(pre_activation("o") + (p["weight_co"] * c_new if peephole else 0))
    return o * torch.tanh(c_new), c_new


def oracle_layers(x, state, params, num_layers, bidirectional, **options):
    """Stacked (bidirectional) LSTM over time-major ``x (T, B, I)`` from torch-named ``params``."""
    return stacked_oracle(lambda x_t, s, p: oracle_cell(x_t, s, p, **options), x, state, params, num_layers,
                          bidirectional)


# ---------------------------------------------------------------------------------------------
# The standard LSTM is torch's, forward and backward.


@pytest.mark.parametrize("device", VALUE_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_layer_matches_torch(device, dtype, num_layers, bidirectional, batch_first, with_state):
    options = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                   device=device, dtype=dtype)
    reference = randomize_(nn.LSTM(INPUT, HIDDEN, **options))
    ours = LSTM(INPUT, HIDDEN, **options)
    ours.load_state_dict(reference.state_dict())
    x = randn(*((BATCH, STEPS) if batch_first else (STEPS, BATCH)), INPUT, dtype=dtype, device=device)
    rows = num_layers * (2 if bidirectional else 1)
    hx = (randn(rows, BATCH, HIDDEN, dtype=dtype, device=device, seed=1),
          randn(rows, BATCH, HIDDEN, dtype=dtype, device=device, seed=2)) if with_state else None
    torch.testing.assert_close(forward_backward(ours, x, hx), forward_backward(reference, x, hx))


@pytest.mark.parametrize("device", VALUE_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
def test_cell_matches_torch(device, dtype, bias, batched, with_state):
    reference = randomize_(nn.LSTMCell(INPUT, HIDDEN, bias=bias, device=device, dtype=dtype))
    ours = LSTMCell(INPUT, HIDDEN, bias=bias, device=device, dtype=dtype)
    ours.load_state_dict(reference.state_dict())
    batch = (BATCH,) if batched else ()
    x = randn(*batch, INPUT, dtype=dtype, device=device)
    hx = (randn(*batch, HIDDEN, dtype=dtype, device=device, seed=1),
          randn(*batch, HIDDEN, dtype=dtype, device=device, seed=2)) if with_state else None
    torch.testing.assert_close(forward_backward(ours, x, hx), forward_backward(reference, x, hx))


def test_unbatched_layer_matches_torch():
    reference = randomize_(nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True))
    ours = LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    ours.load_state_dict(reference.state_dict())
    x = randn(STEPS, INPUT, dtype=torch.float32)
    hx = (randn(4, HIDDEN, dtype=torch.float32, seed=1), randn(4, HIDDEN, dtype=torch.float32, seed=2))
    torch.testing.assert_close(forward_backward(ours, x, hx), forward_backward(reference, x, hx))


def test_same_seed_gives_torch_initial_weights():
    torch.manual_seed(0)
    reference = nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    torch.manual_seed(0)
    ours = LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    torch.testing.assert_close(ours.state_dict(), reference.state_dict(), rtol=0, atol=0)


def test_dropout_between_layers_only_in_training():
    lstm = LSTM(INPUT, HIDDEN, num_layers=2, dropout=0.5)
    x = randn(STEPS, BATCH, INPUT, dtype=torch.float32)
    lstm.eval()
    torch.testing.assert_close(lstm(x), lstm(x))
    lstm.train()
    torch.manual_seed(0)
    first = lstm(x)[0]
    torch.manual_seed(1)
    assert not torch.allclose(first, lstm(x)[0])


# ---------------------------------------------------------------------------------------------
# The other variants against the oracle, by gradcheck, and on every device.


@pytest.mark.parametrize("device", VALUE_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_oracle(device, dtype, variant, bias):
    cell = randomize_(LSTMCell(INPUT, HIDDEN, bias=bias, device=device, dtype=dtype, **VARIANTS[variant]))
    x = randn(BATCH, INPUT, dtype=dtype, device=device)
    state = (randn(BATCH, HIDDEN, dtype=dtype, device=device, seed=1),
             randn(BATCH, HIDDEN, dtype=dtype, device=device, seed=2))
    params = {name: value.double() for name, value in cell.named_parameters()}
    expected = oracle_cell(x.double(), tuple(s.double() for s in state), params, **VARIANTS[variant])
    torch.testing.assert_close(cell(x, state), tuple(e.to(dtype) for e in expected))


@pytest.mark.parametrize("device", VALUE_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", NON_TORCH_VARIANTS)
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, True), (3, False), (3, True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_layer_matches_oracle(device, dtype, variant, num_layers, bidirectional, batch_first):
    lstm = randomize_(LSTM(INPUT, HIDDEN, num_layers, batch_first=batch_first, bidirectional=bidirectional,
                           device=device, dtype=dtype, **VARIANTS[variant]))
    x = randn(STEPS, BATCH, INPUT, dtype=dtype, device=device)  # time-major for the oracle
    rows = num_layers * (2 if bidirectional else 1)
    state = (randn(rows, BATCH, HIDDEN, dtype=dtype, device=device, seed=1),
             randn(rows, BATCH, HIDDEN, dtype=dtype, device=device, seed=2))
    params = {name: value.double() for name, value in lstm.named_parameters()}
    output, final = oracle_layers(x.double(), tuple(s.double() for s in state), params, num_layers,
                                  bidirectional, **VARIANTS[variant])
    if batch_first:
        x, output = x.transpose(0, 1), output.transpose(0, 1)
    expected = (output.to(dtype), tuple(f.to(dtype) for f in final))
    torch.testing.assert_close(lstm(x, state), expected)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_cell_gradcheck(variant):
    cell = randomize_(LSTMCell(2, 3, dtype=torch.float64, **VARIANTS[variant]))
    call, params = functional_call_of(cell, states=2)
    inputs = [randn(2, 2, seed=0), randn(2, 3, seed=1), randn(2, 3, seed=2)]
    assert torch.autograd.gradcheck(call, [t.requires_grad_() for t in inputs] + params)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_layer_gradcheck(variant):
    lstm = randomize_(LSTM(2, 2, num_layers=2, bidirectional=True, dtype=torch.float64, **VARIANTS[variant]))
    call, params = functional_call_of(lstm, states=2)
    inputs = [randn(3, 2, 2, seed=0), randn(4, 2, 2, seed=1), randn(4, 2, 2, seed=2)]
    assert torch.autograd.gradcheck(call, [t.requires_grad_() for t in inputs] + params)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_runs_on_device(device, variant):
    cell = LSTMCell(INPUT, HIDDEN, device=device, **VARIANTS[variant])
    h, c = cell(torch.zeros(BATCH, INPUT, device=device))
    assert h.shape == c.shape == (BATCH, HIDDEN) and h.device.type == device

    lstm = LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, batch_first=True, device=device,
                **VARIANTS[variant])
    output, (h_n, c_n) = lstm(torch.zeros(BATCH, STEPS, INPUT, device=device))
    assert output.shape == (BATCH, STEPS, 2 * HIDDEN) and output.device.type == device
    assert h_n.shape == c_n.shape == (4, BATCH, HIDDEN)
    output.sum().backward()
    assert all(p.grad is not None and p.grad.device.type == device for p in lstm.parameters())


# ---------------------------------------------------------------------------------------------
# Identities between the variants, anchored to torch's LSTM.


def blocks(weight: torch.Tensor, layout: str) -> dict[str, torch.Tensor]:
    """A stacked weight or bias split into its gate blocks by name."""
    return dict(zip(layout, weight.chunk(len(layout))))


def test_peephole_at_zero_is_the_forget_gate_lstm():
    peephole = randomize_(LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, peephole=True,
                               dtype=torch.float64))
    with torch.no_grad():
        for name, parameter in peephole.named_parameters():
            if name.startswith("weight_c"):
                parameter.zero_()
    standard = nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, dtype=torch.float64)
    standard.load_state_dict({name: peephole.state_dict()[name] for name in standard.state_dict()})
    x = randn(STEPS, BATCH, INPUT)
    (output, *finals), grads = forward_backward(peephole, x, None)
    (expected, *expected_finals), expected_grads = forward_backward(standard, x, None)
    torch.testing.assert_close((output, finals), (expected, expected_finals))
    torch.testing.assert_close({name: grads[name] for name in expected_grads}, expected_grads)


def test_no_forget_gate_is_an_lstm_whose_forget_gate_is_held_open():
    original = randomize_(LSTM(INPUT, HIDDEN, forget_gate=False, dtype=torch.float64))
    reference = nn.LSTM(INPUT, HIDDEN, dtype=torch.float64)
    with torch.no_grad():
        for name, target in reference.named_parameters():
            source = blocks(getattr(original, name), "igo")
            # sigmoid(50) is 1 in float64, so f = 1 and c' = c + i * g, the 1997 cell.
            forget = torch.full_like(source["i"], 50.0 if name == "bias_ih_l0" else 0.0)
            target.copy_(torch.cat([source["i"], forget, source["g"], source["o"]]))
    x = randn(STEPS, BATCH, INPUT)
    hx = (randn(1, BATCH, HIDDEN, seed=1), randn(1, BATCH, HIDDEN, seed=2))
    (outputs, grads), (expected, expected_grads) = forward_backward(original, x, hx), forward_backward(reference, x, hx)
    torch.testing.assert_close(outputs, expected)
    torch.testing.assert_close([grads["input"], grads["hx[0]"], grads["hx[1]"]],
                               [expected_grads["input"], expected_grads["hx[0]"], expected_grads["hx[1]"]])


@pytest.mark.parametrize("peephole", [False, True])
def test_coupled_forget_gate_is_one_minus_input_gate(peephole):
    coupled = randomize_(LSTMCell(INPUT, HIDDEN, coupled=True, peephole=peephole, dtype=torch.float64))
    free = LSTMCell(INPUT, HIDDEN, peephole=peephole, dtype=torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            source = blocks(getattr(coupled, name), "igo")
            # sigmoid(-a) = 1 - sigmoid(a): a forget block that is minus the input block gives f = 1 - i.
            getattr(free, name).copy_(torch.cat([source["i"], -source["i"], source["g"], source["o"]]))
        if peephole:
            free.weight_ci.copy_(coupled.weight_ci)
            free.weight_cf.copy_(-coupled.weight_ci)
            free.weight_co.copy_(coupled.weight_co)
    x, state = randn(BATCH, INPUT), (randn(BATCH, HIDDEN, seed=1), randn(BATCH, HIDDEN, seed=2))
    torch.testing.assert_close(coupled(x, state), free(x, state))


def test_coupled_cell_update_is_convex():
    """With f = 1 - i the new cell lies between c and g for every unit."""
    cell = randomize_(LSTMCell(INPUT, HIDDEN, coupled=True, dtype=torch.float64), scale=2.0)
    x, h, c = randn(BATCH, INPUT), randn(BATCH, HIDDEN, seed=1), randn(BATCH, HIDDEN, seed=2)
    _, c_new = cell(x, (h, c))
    g = torch.tanh(x @ cell.weight_ih[HIDDEN:2 * HIDDEN].T + cell.bias_ih[HIDDEN:2 * HIDDEN]
                   + h @ cell.weight_hh[HIDDEN:2 * HIDDEN].T + cell.bias_hh[HIDDEN:2 * HIDDEN])
    low, high = torch.minimum(c, g), torch.maximum(c, g)
    assert bool(((low <= c_new) & (c_new <= high)).all())


# ---------------------------------------------------------------------------------------------
# Parameter layout and the forget-gate bias.


@pytest.mark.parametrize("variant, blocks_count, peepholes", [
    ("forget_gate", 4, []),
    ("no_forget_gate", 3, []),
    ("peephole", 4, ["weight_ci", "weight_cf", "weight_co"]),
    ("peephole_no_forget_gate", 3, ["weight_ci", "weight_co"]),
    ("coupled", 3, []),
    ("coupled_peephole", 3, ["weight_ci", "weight_co"]),
])
def test_parameter_layout(variant, blocks_count, peepholes):
    expected = {"weight_ih": (blocks_count * HIDDEN, INPUT), "weight_hh": (blocks_count * HIDDEN, HIDDEN),
                "bias_ih": (blocks_count * HIDDEN,), "bias_hh": (blocks_count * HIDDEN,),
                **{name: (HIDDEN,) for name in peepholes}}
    cell = LSTMCell(INPUT, HIDDEN, **VARIANTS[variant])
    assert {name: tuple(p.shape) for name, p in cell.named_parameters()} == expected
    layer = LSTM(INPUT, HIDDEN, **VARIANTS[variant])
    assert {name: tuple(p.shape) for name, p in layer.named_parameters()} == {
        name + "_l0": shape for name, shape in expected.items()}


@pytest.mark.parametrize("coupled", [False, True])
@pytest.mark.parametrize("peephole", [False, True])
def test_forget_bias_sets_the_forget_gate_bias_of_cell_and_layer(coupled, peephole):
    block, value = (0, -1.0) if coupled else (1, 1.0)
    rows = slice(block * HIDDEN, (block + 1) * HIDDEN)
    cell = LSTMCell(INPUT, HIDDEN, coupled=coupled, peephole=peephole, forget_bias=1.0)
    layer = LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, coupled=coupled, peephole=peephole,
                 forget_bias=1.0)
    suffixes = [f"_l{k}{direction}" for k in (0, 1) for direction in ("", "_reverse")]
    pairs = [(cell.bias_ih, cell.bias_hh)] + [
        (getattr(layer, "bias_ih" + suffix), getattr(layer, "bias_hh" + suffix)) for suffix in suffixes]
    bound = HIDDEN ** -0.5
    for bias_ih, bias_hh in pairs:
        assert torch.equal(bias_ih[rows], torch.full((HIDDEN,), value))
        assert torch.equal(bias_hh[rows], torch.zeros(HIDDEN))
        others = torch.cat([bias_ih[: rows.start], bias_ih[rows.stop:]])
        assert bool((others.abs() <= bound).all())
    if coupled:  # the initial forget gate sigmoid(0 - b_i) is the one a forget bias of 1 gives
        torch.testing.assert_close(1 - torch.sigmoid(cell.bias_ih[rows]), torch.sigmoid(torch.ones(HIDDEN)))


def test_forget_bias_survives_reset_parameters():
    layer = LSTM(INPUT, HIDDEN, forget_bias=2.0)
    with torch.no_grad():
        layer.bias_ih_l0.zero_()
    layer.reset_parameters()
    assert torch.equal(layer.bias_ih_l0[HIDDEN:2 * HIDDEN], torch.full((HIDDEN,), 2.0))


# ---------------------------------------------------------------------------------------------
# Errors that name what was expected and what was received.


@pytest.mark.parametrize("make", [LSTMCell, LSTM])
@pytest.mark.parametrize("options, error, match", [
    ({"coupled": True, "forget_gate": False}, ValueError, r"coupled=True .* needs forget_gate=True"),
    ({"peephole": "yes"}, ValueError, r"expected peephole to be one of True, False, got 'yes'"),
    ({"forget_gate": "False"}, ValueError, r"expected forget_gate to be one of True, False, got 'False'"),
    ({"forget_bias": 1.0, "bias": False}, ValueError, r"forget_bias .* needs bias=True"),
    ({"forget_bias": 1.0, "forget_gate": False}, ValueError, r"forget_bias needs a forget gate"),
    ({"forget_bias": "1"}, TypeError, r"expected forget_bias to be a number or None, got '1'"),
])
def test_incompatible_options(make, options, error, match):
    with pytest.raises(error, match=match):
        make(INPUT, HIDDEN, **options)


def test_proj_size_is_rejected():
    with pytest.raises(ValueError, match=r"expected proj_size=0.*got proj_size=2"):
        LSTM(INPUT, HIDDEN, proj_size=2)
    LSTM(INPUT, HIDDEN, proj_size=0)


def test_cell_input_errors():
    cell = LSTMCell(3, 5)
    x, h, c = torch.zeros(2, 3), torch.zeros(2, 5), torch.zeros(2, 5)
    with pytest.raises(ValueError, match=r"expected input of shape \(B, 3\) or \(3,\), got \(2, 4\)"):
        cell(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"expected hx to be a tuple of 2 tensors, got Tensor"):
        cell(x, h)
    with pytest.raises(ValueError, match=r"expected hx\[1\] of shape \(2, 5\), got \(2, 6\)"):
        cell(x, (h, torch.zeros(2, 6)))
    with pytest.raises(TypeError, match=r"expected input of dtype torch.float32 .* got torch.float64"):
        cell(x.double(), (h, c))


def test_layer_input_errors():
    lstm = LSTM(3, 5, num_layers=2)
    with pytest.raises(ValueError, match=r"expected input to be 2D \(T, 3\) or 3D \(T, B, 3\), got 4D"):
        lstm(torch.zeros(1, 7, 2, 3))
    with pytest.raises(ValueError, match=r"expected input with 3 features .* got \(7, 2, 4\)"):
        lstm(torch.zeros(7, 2, 4))
    with pytest.raises(ValueError, match=r"expected hx\[0\] of shape \(2, 2, 5\) .* got \(1, 2, 5\)"):
        lstm(torch.zeros(7, 2, 3), (torch.zeros(1, 2, 5), torch.zeros(2, 2, 5)))


def test_step_function_errors():
    x, state = torch.zeros(2, 3), (torch.zeros(2, 5), torch.zeros(2, 5))
    rows = r"expected weight_ih with 3\*H = 15 rows \(gate blocks i, g, o\), got shape \(20, 3\)"
    with pytest.raises(ValueError, match=rows):
        F.lstm_step(x, state, torch.zeros(20, 3), torch.zeros(20, 5), forget_gate=False)
    missing = r"expected peephole weights weight_ci, weight_cf, weight_co .* weight_cf was missing"
    with pytest.raises(ValueError, match=missing):
        F.lstm_step(x, state, torch.zeros(20, 3), torch.zeros(20, 5), peephole=True,
                    weight_ci=torch.zeros(5), weight_co=torch.zeros(5))
    with pytest.raises(ValueError, match=r"expected no peephole weights .* weight_ci was given"):
        F.lstm_step(x, state, torch.zeros(20, 3), torch.zeros(20, 5), weight_ci=torch.zeros(5))
