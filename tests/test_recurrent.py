"""rnncourse.recurrent: unroll, one Recurrent layer over any cell, and the stacked RecurrentLayers."""
from __future__ import annotations

import pytest
import torch

import rnncourse
from rnncourse import RNN, Recurrent, RecurrentLayers, Stacked, unroll
from rnncourse.cells import ElmanCell, JordanCell

T, B, I, H = 5, 3, 4, 6


def running_sum(x, state):
    """A step whose state is ``(sum so far, steps so far)``: easy to check by hand."""
    total, count = state
    return total + x, count + 1


@pytest.mark.parametrize("reverse", [False, True])
def test_unroll_aligns_outputs_with_inputs(reverse):
    inputs = torch.arange(1.0, T + 1).reshape(T, 1, 1)  # x_t = t + 1
    outputs, (total, count) = unroll(running_sum, inputs, (torch.zeros(1, 1), torch.zeros(1, 1)), reverse=reverse)
    expected = inputs.flip(0).cumsum(0).flip(0) if reverse else inputs.cumsum(0)
    torch.testing.assert_close(outputs, expected)
    torch.testing.assert_close(total, inputs.sum(0))
    torch.testing.assert_close(count, torch.full((1, 1), float(T)))


def torch_elman(randomize, bidirectional, dtype=torch.float64):
    return randomize(torch.nn.RNN(I, H, bidirectional=bidirectional, dtype=dtype))


def elman_cell_from(reference, suffix):
    cell = ElmanCell(I, H, dtype=reference.weight_ih_l0.dtype)
    cell.load_state_dict({name: getattr(reference, name + suffix) for name in ("weight_ih", "weight_hh", "bias_ih",
                                                                               "bias_hh")})
    return cell


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("with_hx", [False, True], ids=["no_hx", "hx"])
def test_recurrent_elman_equals_one_direction_of_torch_rnn(reverse, with_hx, dtype, generator, randomize):
    reference = torch_elman(randomize, bidirectional=True, dtype=dtype)
    layer = Recurrent(elman_cell_from(reference, "_l0_reverse" if reverse else "_l0"), reverse=reverse)
    inputs = torch.randn(T, B, I, generator=generator, dtype=dtype)
    hx = torch.randn(2, B, H, generator=generator, dtype=dtype) if with_hx else None
    expected_output, expected_h_n = reference(inputs, hx)
    direction = 1 if reverse else 0
    output, h_n = layer(inputs, None if hx is None else hx[direction])
    torch.testing.assert_close(output, expected_output[..., direction * H:(direction + 1) * H])
    torch.testing.assert_close(h_n, expected_h_n[direction])


def test_recurrent_batch_first_and_unbatched_agree_with_time_major(generator, randomize):
    layer = Recurrent(randomize(ElmanCell(I, H, dtype=torch.float64)))
    inputs = torch.randn(T, B, I, generator=generator, dtype=torch.float64)
    hx = torch.randn(B, H, generator=generator, dtype=torch.float64)
    output, h_n = layer(inputs, hx)
    batch_first = Recurrent(layer.cell, batch_first=True)
    output_bf, h_n_bf = batch_first(inputs.transpose(0, 1), hx)
    torch.testing.assert_close(output_bf, output.transpose(0, 1))
    torch.testing.assert_close(h_n_bf, h_n)
    for module in (layer, batch_first):  # a 2D input is one unbatched sequence (T, I) whatever batch_first says
        output_1, h_n_1 = module(inputs[:, 1], hx[1])
        torch.testing.assert_close(output_1, output[:, 1])
        torch.testing.assert_close(h_n_1, h_n[1])


def test_recurrent_shares_the_cells_parameters():
    cell = ElmanCell(I, H)
    layer = Recurrent(cell)
    assert dict(layer.named_parameters()) == {f"cell.{name}": p for name, p in cell.named_parameters()}


@pytest.mark.parametrize("batch_first", [False, True])
def test_stacked_bidirectional_layers_equal_recurrent_layers_by_hand(batch_first, generator, randomize):
    """RNN(L=2, bidirectional) is two Recurrent layers per level, the second reading both directions of the first."""
    rnn = randomize(RNN(I, H, num_layers=2, bidirectional=True, batch_first=batch_first, dtype=torch.float64))
    inputs = torch.randn(T, B, I, generator=generator, dtype=torch.float64)
    hx = torch.randn(4, B, H, generator=generator, dtype=torch.float64)
    layer_input, finals = inputs, []
    for layer in range(2):
        outputs = []
        for direction, suffix in enumerate((f"_l{layer}", f"_l{layer}_reverse")):
            cell = ElmanCell(layer_input.shape[-1], H, dtype=torch.float64)
            cell.load_state_dict({name: getattr(rnn, name + suffix) for name in ("weight_ih", "weight_hh", "bias_ih",
                                                                                 "bias_hh")})
            output, h_n = Recurrent(cell, reverse=direction == 1)(layer_input, hx[2 * layer + direction])
            outputs.append(output)
            finals.append(h_n)
        layer_input = torch.cat(outputs, dim=-1)  # (T, B, 2H)
    output, h_n = rnn(inputs.transpose(0, 1) if batch_first else inputs, hx)
    torch.testing.assert_close(output, layer_input.transpose(0, 1) if batch_first else layer_input)
    torch.testing.assert_close(h_n, torch.stack(finals))


def test_same_seed_gives_torchs_initial_weights():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        reference = torch.nn.RNN(I, H, num_layers=2, bidirectional=True)
        torch.manual_seed(0)
        ours = RNN(I, H, num_layers=2, bidirectional=True)
    torch.testing.assert_close(ours.state_dict(), reference.state_dict())


@pytest.mark.parametrize("make_cell", [lambda **to: ElmanCell(I, H, **to), lambda **to: JordanCell(I, 8, H, **to)],
                         ids=["elman", "jordan"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_recurrent_runs_on_every_device(make_cell, batch_first, reverse, device, dtype):
    to = dict(device=device, dtype=dtype)
    layer = Recurrent(make_cell(**to), batch_first=batch_first, reverse=reverse)
    inputs = torch.zeros((B, T, I) if batch_first else (T, B, I), **to)
    for hx in (None, torch.zeros(B, H, **to)):
        output, h_n = layer(inputs, hx)
        assert output.shape == ((B, T, H) if batch_first else (T, B, H)) and h_n.shape == (B, H)
        assert output.device == h_n.device == inputs.device and output.dtype == h_n.dtype == dtype
    output, h_n = layer(torch.zeros(T, I, **to))
    assert output.shape == (T, H) and h_n.shape == (H,)


def test_repr_shows_the_arguments():
    assert repr(RNN(I, H, num_layers=2, nonlinearity="relu")) == (
        "RNN(4, 6, num_layers=2, bias=True, batch_first=False, dropout=0.0, bidirectional=False, "
        "nonlinearity='relu')"
    )
    assert "ElmanCell(4, 6, bias=True, nonlinearity='tanh')" in repr(Recurrent(ElmanCell(I, H)))


class TestErrors:
    def test_recurrent_needs_a_cell(self):
        with pytest.raises(TypeError, match=r"expected cell to be a rnncourse.cells.RecurrentCell, got Linear"):
            Recurrent(torch.nn.Linear(I, H))

    @pytest.mark.parametrize("module", [lambda: Recurrent(ElmanCell(I, H)), lambda: RNN(I, H, bidirectional=True)],
                             ids=["Recurrent", "RNN"])
    @pytest.mark.parametrize("shape", [(T, B, 1, I), (I,)])
    def test_input_rank(self, module, shape):
        with pytest.raises(ValueError, match=rf"expected input to be 2D \(T, 4\) or 3D \(T, B, 4\), got {len(shape)}D"):
            module()(torch.zeros(shape))

    @pytest.mark.parametrize("module", [lambda: Recurrent(ElmanCell(I, H)), lambda: RNN(I, H, num_layers=2)],
                             ids=["Recurrent", "RNN"])
    def test_input_feature_size(self, module):
        with pytest.raises(ValueError, match=r"expected input with 4 features in its last dimension, \(T, B, 4\), "
                                             r"got \(5, 3, 5\)"):
            module()(torch.zeros(T, B, I + 1))

    @pytest.mark.parametrize("module", [lambda **kw: Recurrent(ElmanCell(I, H), **kw), lambda **kw: RNN(I, H, **kw)],
                             ids=["Recurrent", "RNN"])
    @pytest.mark.parametrize("batch_first, shape", [(False, (0, B, I)), (True, (B, 0, I)), (False, (0, I))])
    def test_empty_sequence(self, module, batch_first, shape):
        with pytest.raises(ValueError, match=r"expected input with at least one time step, got \("):
            module(batch_first=batch_first)(torch.zeros(shape))

    def test_recurrent_hx(self):
        layer = Recurrent(ElmanCell(I, H))
        with pytest.raises(ValueError, match=r"expected hx of shape \(3, 6\), got \(1, 3, 6\)"):
            layer(torch.zeros(T, B, I), torch.zeros(1, B, H))
        with pytest.raises(ValueError, match=r"expected hx of shape \(6\), got \(1, 6\)"):
            layer(torch.zeros(T, I), torch.zeros(1, H))
        with pytest.raises(ValueError, match=r"expected hx to be a tuple of 1 tensors, got tuple"):
            layer(torch.zeros(T, B, I), ())
        with pytest.raises(TypeError, match=r"expected hx of dtype torch.float32 .* got torch.float64"):
            layer(torch.zeros(T, B, I), torch.zeros(B, H, dtype=torch.float64))

    def test_recurrent_input_dtype_and_device(self):
        layer = Recurrent(ElmanCell(I, H, dtype=torch.float64))
        with pytest.raises(TypeError, match=r"expected input of dtype torch.float64 .* got torch.float32"):
            layer(torch.zeros(T, B, I))
        with pytest.raises(ValueError, match=r"expected input on device cpu .* got meta"):
            layer(torch.zeros(T, B, I, dtype=torch.float64, device="meta"))

    def test_layers_need_a_cell_class(self):
        with pytest.raises(NotImplementedError):
            RecurrentLayers(I, H)


def test_public_layers_are_reexported():
    assert rnncourse.RNN is RNN and rnncourse.Recurrent is Recurrent and rnncourse.unroll is unroll


# ---------------------------------------------------------------------------------------------
# The time-index contract: a cell with takes_time_index is called as cell(x_t, state, t=t, mask=m).


class RecordingCell(ElmanCell):
    """An Elman cell that takes a time index and records every call as ``(t, mask, x_t)``."""

    takes_time_index = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def forward(self, input, hx=None, *, t, mask):
        self.calls.append((t, None if mask is None else mask.clone(), input.detach().clone()))
        return super().forward(input, hx)


class RecordingStep(ElmanCell):
    """A cell class whose pure ``step`` takes the time index, as :class:`RecurrentLayers` calls it."""

    takes_time_index = True
    calls: list = []

    @classmethod
    def step(cls, x, state, params, *, t, mask, **options):
        cls.calls.append((t, None if mask is None else mask.clone()))
        return super().step(x, state, params, **options)


LENGTHS = [5, 3, 1]  # T = 5, B = 3: entry 0 is full, 1 has 3 real steps, 2 has one


def expected_masks(lengths, steps):
    """What the contract promises: None while every entry is real, then ``lengths > t``."""
    return [None if t < min(lengths) else torch.tensor(lengths) > t for t in range(steps)]


def assert_calls(calls, lengths, steps):
    assert [t for t, *_ in calls] == list(range(steps))
    for (_, mask, *_), expected in zip(calls, expected_masks(lengths, steps)):
        assert (mask is None) == (expected is None)
        if expected is not None:
            assert mask.dtype == torch.bool and torch.equal(mask, expected)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_time_index_contract_in_recurrent(reverse, lengths, generator, randomize):
    cell = randomize(RecordingCell(I, H, dtype=torch.float64))
    inputs = torch.randn(T, B, I, generator=generator, dtype=torch.float64)
    output, h_n = Recurrent(cell, reverse=reverse)(inputs, lengths=lengths)
    assert_calls(cell.calls, lengths or [T] * B, T)
    # A backward pass starts at each sequence's own last step: t = 0 reads x[length - 1].
    for t, _, x_t in cell.calls:
        for b, length in enumerate(lengths or [T] * B):
            if t < length:
                position = length - 1 - t if reverse else t
                torch.testing.assert_close(x_t[b], inputs[position, b])
    plain = Recurrent(ElmanCell(I, H, dtype=torch.float64), reverse=reverse)
    plain.cell.load_state_dict(cell.state_dict())
    torch.testing.assert_close((output, h_n), plain(inputs, lengths=lengths))


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_time_index_contract_in_stacked_bidirectional_layers(lengths, generator):
    stack = Stacked(lambda i, h: RecordingCell(i, h, dtype=torch.float64), I, H, num_layers=2,
                    bidirectional=True)
    inputs = torch.randn(T, B, I, generator=generator, dtype=torch.float64)
    stack(inputs, lengths=lengths)
    for layer in stack.cells:
        for cell in layer:
            assert_calls(cell.calls, lengths or [T] * B, T)

    RecordingStep.calls = []
    layers = type("RecordingLayers", (RecurrentLayers,), {"cell_class": RecordingStep})(I, H, 2, bidirectional=True,
                                                                                      dtype=torch.float64)
    layers(inputs, lengths=lengths)
    for k in range(4):  # two layers, two directions, in that order
        assert_calls(RecordingStep.calls[k * T:(k + 1) * T], lengths or [T] * B, T)


def test_stacked_of_standard_cells_equals_the_torch_layer(generator, randomize):
    stack = randomize(Stacked(lambda i, h: ElmanCell(i, h, dtype=torch.float64), I, H, 2, bidirectional=True))
    rnn = RNN(I, H, 2, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for layer in range(2):
            for direction, suffix in enumerate((f"_l{layer}", f"_l{layer}_reverse")):
                for name, value in stack.cells[layer][direction].named_parameters():
                    getattr(rnn, name + suffix).copy_(value)
    inputs = torch.randn(T, B, I, generator=generator, dtype=torch.float64)
    hx = torch.randn(4, B, H, generator=generator, dtype=torch.float64)
    for lengths in (None, LENGTHS):
        torch.testing.assert_close(stack(inputs, hx, lengths=lengths), rnn(inputs, hx, lengths=lengths))
