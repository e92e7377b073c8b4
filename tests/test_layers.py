"""Every layer over one grid (helpers.LAYERS): variable lengths and packed sequences, dropout, torch's API.

torch is the oracle where it has the model; elsewhere the layer run on each sequence alone is.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnncourse

from helpers import (DTYPES, LAYERS, TORCH_LAYERS, flatten, forward_backward, initial_state, make_layer, make_torch_layer,
                     randn, randomize_)

T, B, I, H = 6, 4, 3, 5
LENGTHS = [6, 2, 5, 1]  # unsorted, with the shortest (1) and the longest (T) possible


def state_row(hx, b: int):
    """Entry ``b`` of the batch of a state in the layers' form, keeping the batch dimension."""
    if isinstance(hx, torch.Tensor):
        return hx[:, b:b + 1]
    return tuple(part[:, b:b + 1] for part in hx)


class WithLengths(nn.Module):
    """``layer(x, hx, lengths=...)``, as a module of ``(x, hx)`` for ``forward_backward``."""

    def __init__(self, layer, lengths):
        super().__init__()
        self.layer, self.lengths = layer, lengths

    def forward(self, x, hx):
        return self.layer(x, hx, lengths=self.lengths)


class PadPack(nn.Module):
    """Pack the padded ``x`` with torch, run ``layer`` on the PackedSequence, pad its output back to ``T``."""

    def __init__(self, layer, lengths, enforce_sorted):
        super().__init__()
        self.layer, self.lengths, self.enforce_sorted = layer, lengths, enforce_sorted

    def forward(self, x, hx):
        packed = pack_padded_sequence(x, self.lengths, enforce_sorted=self.enforce_sorted)
        output, h_n = self.layer(packed, hx)
        return pad_packed_sequence(output, total_length=x.shape[0])[0], h_n


# ---------------------------------------------------------------------------------------------
# Variable lengths: padding changes nothing real; each sequence is as if run alone.


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_each_sequence_of_a_padded_batch_equals_it_run_alone(name, bidirectional):
    layer = randomize_(make_layer(name, I, H, 2, bidirectional=bidirectional, dtype=torch.float64))
    rows = 4 if bidirectional else 2
    x, hx = randn(T, B, I), initial_state(name, rows, B, H)
    output, h_n = layer(x, hx, lengths=LENGTHS)
    for b, length in enumerate(LENGTHS):
        alone_output, alone_h_n = layer(x[:length, b:b + 1], state_row(hx, b))
        torch.testing.assert_close(output[:length, b:b + 1], alone_output)
        torch.testing.assert_close(state_row(h_n, b), alone_h_n)
        assert torch.equal(output[length:, b], torch.zeros_like(output[length:, b]))  # as pad_packed_sequence gives
    garbage = x.clone()
    for b, length in enumerate(LENGTHS):
        garbage[length:, b] = 1e3  # what stands in the padding does not matter
    torch.testing.assert_close(layer(garbage, hx, lengths=torch.tensor(LENGTHS)), (output, h_n))


@pytest.mark.parametrize("name", list(LAYERS))
def test_packed_input_equals_lengths(name):
    layer = randomize_(make_layer(name, I, H, 2, bidirectional=True, dtype=torch.float64))
    x, hx = randn(T, B, I), initial_state(name, 4, B, H)
    packed = PadPack(layer, LENGTHS, enforce_sorted=False)
    torch.testing.assert_close(forward_backward(packed, x, hx), forward_backward(WithLengths(layer, LENGTHS), x, hx))


@pytest.mark.parametrize("name", TORCH_LAYERS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("enforce_sorted", [True, False], ids=["sorted", "unsorted"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_sequences_equal_torch(name, dtype, enforce_sorted, bidirectional):
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    reference = randomize_(make_torch_layer(name, I, H, 2, bidirectional=bidirectional, dtype=dtype))
    ours = make_layer(name, I, H, 2, bidirectional=bidirectional, dtype=dtype)
    ours.load_state_dict(reference.state_dict())
    x, hx = randn(T, B, I, dtype=dtype), initial_state(name, 4 if bidirectional else 2, B, H, dtype=dtype)
    expected = forward_backward(PadPack(reference, lengths, enforce_sorted), x, hx)
    torch.testing.assert_close(forward_backward(PadPack(ours, lengths, enforce_sorted), x, hx), expected)
    torch.testing.assert_close(forward_backward(WithLengths(ours, lengths), x, hx), expected)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
    output, expected_output = ours(packed, hx)[0], reference(packed, hx)[0]
    assert type(output) is type(expected_output)
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        assert str(getattr(output, field)) == str(getattr(expected_output, field)), field


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_batch_first_and_lengths(name):
    layer = randomize_(make_layer(name, I, H, 2, bidirectional=True, dtype=torch.float64))
    batch_first = make_layer(name, I, H, 2, bidirectional=True, batch_first=True, dtype=torch.float64)
    batch_first.load_state_dict(layer.state_dict())
    x = randn(T, B, I)
    output, h_n = layer(x, lengths=LENGTHS)
    torch.testing.assert_close(batch_first(x.transpose(0, 1), lengths=LENGTHS), (output.transpose(0, 1), h_n))


class TestLengthErrors:
    layer = staticmethod(lambda: make_layer("gru", I, H))

    @pytest.mark.parametrize("lengths, error, match", [
        ([6, 2, 5], ValueError, r"expected lengths of shape \(4,\) \(one per sequence\), got \(3,\)"),
        ([6, 2, 7, 1], ValueError, r"expected every length in \[1, 6\] \(T = 6 steps\), got \[6, 2, 7, 1\]"),
        ([6, 0, 5, 1], ValueError, r"expected every length in \[1, 6\]"),
        (torch.ones(4), TypeError, r"expected lengths to be integers, got a tensor of dtype torch.float32"),
        (torch.ones(4, 1, dtype=torch.long), ValueError, r"expected lengths of shape \(4,\) .* got \(4, 1\)"),
        ([6, 2.0, 5, 1], TypeError, r"expected lengths to be a 1-D integer tensor or a sequence of ints"),
    ])
    def test_bad_lengths(self, lengths, error, match):
        with pytest.raises(error, match=match):
            self.layer()(torch.zeros(T, B, I), lengths=lengths)

    def test_lengths_need_a_batch(self):
        with pytest.raises(ValueError, match=r"lengths need a batch of sequences, .* got the unbatched input \(6, 3\)"):
            self.layer()(torch.zeros(T, I), lengths=[3])

    def test_packed_input_and_lengths(self):
        packed = pack_padded_sequence(torch.zeros(T, B, I), LENGTHS, enforce_sorted=False)
        with pytest.raises(ValueError, match=r"a PackedSequence carries its own lengths"):
            self.layer()(packed, lengths=LENGTHS)
        with pytest.raises(ValueError, match=r"expected a PackedSequence whose data is \(N, 3\), got \(14, 4\)"):
            self.layer()(pack_padded_sequence(torch.zeros(T, B, I + 1), LENGTHS, enforce_sorted=False))


# ---------------------------------------------------------------------------------------------
# Dropout between layers: on in training, off in evaluation, for every layer.


@pytest.mark.parametrize("name", list(LAYERS))
def test_dropout_between_layers_in_training_only(name):
    plain = randomize_(make_layer(name, I, H, 3, bidirectional=True, dtype=torch.float64))
    dropped = make_layer(name, I, H, 3, bidirectional=True, dropout=0.5, dtype=torch.float64)
    dropped.load_state_dict(plain.state_dict())
    x = randn(T, B, I)
    expected_output, expected_h_n = plain(x)
    torch.testing.assert_close(dropped.eval()(x), (expected_output, expected_h_n))
    dropped.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        output, h_n = dropped(x)
        torch.manual_seed(0)
        torch.testing.assert_close(dropped(x), (output, h_n))  # the same seed, the same mask
    assert not torch.allclose(output, expected_output)
    first = (h_n if isinstance(h_n, torch.Tensor) else h_n[0])[:2]  # the first layer reads no dropped input
    torch.testing.assert_close(first, (expected_h_n if isinstance(h_n, torch.Tensor) else expected_h_n[0])[:2])


# ---------------------------------------------------------------------------------------------
# What a torch user hits (issue 15): torch's behaviour is the oracle where torch has the model.


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("option", ["bias", "batch_first", "bidirectional"])
@pytest.mark.parametrize("value", ["False", 1, None], ids=["str", "int", "None"])
def test_boolean_options_are_type_checked(name, option, value):
    with pytest.raises(TypeError, match=rf"expected {option} to be one of True, False, got {value!r}"):
        make_layer(name, I, H, **{option: value})
    if LAYERS[name][2] is not None:  # torch refuses them too, at construction or at the first call
        with pytest.raises(TypeError):
            make_torch_layer(name, I, H, **{option: value})(torch.zeros(T, B, I))


@pytest.mark.parametrize("make, option", [
    (lambda **kw: make_layer("lstm", I, H, **kw), "peephole"), (lambda **kw: make_layer("lstm", I, H, **kw), "coupled"),
    (lambda **kw: make_layer("lstm", I, H, **kw), "forget_gate"), (lambda **kw: make_layer("gru", I, H, **kw), "reset_after"),
    (lambda **kw: rnncourse.cells.LSTMCell(I, H, **kw), "peephole"), (lambda **kw: rnncourse.cells.GRUCell(I, H, **kw), "bias"),
    (lambda **kw: rnncourse.cells.MGUCell(I, H, **kw), "bias"), (lambda **kw: rnncourse.cells.ElmanCell(I, H, **kw), "bias"),
    (lambda **kw: rnncourse.Recurrent(rnncourse.cells.ElmanCell(I, H), **kw), "reverse"),
    (lambda **kw: rnncourse.Stacked(rnncourse.cells.GRUCell, I, H, **kw), "bidirectional"),
])
def test_switches_refuse_one_and_strings(make, option):
    for value in (1, "True"):
        with pytest.raises(TypeError, match=rf"expected {option} to be one of True, False, got {value!r}"):
            make(**{option: value})


@pytest.mark.parametrize("name", TORCH_LAYERS)
def test_fully_positional_constructor_is_torchs(name):
    # torch's order, proj_size included: every layer keeps its slot before device and dtype.
    arguments = {"rnn_tanh": (I, H, 2, "tanh", False, True, 0.25, True, 0, "cpu", torch.float64),
                 "rnn_relu": (I, H, 2, "relu", False, True, 0.25, True, 0, "cpu", torch.float64),
                 "lstm": (I, H, 2, False, True, 0.25, True, 2, "cpu", torch.float64),
                 "gru": (I, H, 2, False, True, 0.25, True, 0, "cpu", torch.float64)}[name]
    cls, reference = LAYERS[name][0], LAYERS[name][2](*arguments)
    ours = cls(*arguments)
    for attribute in ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional"):
        assert getattr(ours, attribute) == getattr(reference, attribute), attribute
    assert {k: (v.shape, v.dtype) for k, v in ours.state_dict().items()} == {
        k: (v.shape, v.dtype) for k, v in reference.state_dict().items()}


@pytest.mark.parametrize("name", TORCH_LAYERS)
def test_all_weights_and_flatten_parameters_are_torchs(name):
    reference = randomize_(make_torch_layer(name, I, H, 2, bidirectional=True))
    ours = make_layer(name, I, H, 2, bidirectional=True)
    ours.load_state_dict(reference.state_dict())
    ours.flatten_parameters()
    torch.testing.assert_close(ours.all_weights, [[w.detach() for w in ws] for ws in reference.all_weights])
    assert all(w is getattr(ours, n) for ws, names in zip(ours.all_weights, reference._all_weights)
               for w, n in zip(ws, names))


def test_lstm_hx_as_a_list_equals_torch():
    reference = randomize_(make_torch_layer("lstm", I, H, 2, dtype=torch.float64))
    ours = make_layer("lstm", I, H, 2, dtype=torch.float64)
    ours.load_state_dict(reference.state_dict())
    x, (h0, c0) = randn(T, B, I), initial_state("lstm", 2, B, H)
    torch.testing.assert_close(ours(x, [h0, c0]), reference(x, [h0, c0]))


@pytest.mark.parametrize("name", list(LAYERS))
def test_dropout_with_one_layer_warns_as_torch_does(name):
    with pytest.warns(UserWarning, match=r"non-zero dropout expects num_layers greater than 1, but got dropout=0.5 "
                                         r"and num_layers=1"):
        make_layer(name, I, H, dropout=0.5)


@pytest.mark.parametrize("name", list(LAYERS))
def test_hx_messages_name_the_layout(name):
    layer = make_layer(name, I, H, 2)
    count = layer.cell_class.state_count
    with pytest.raises(ValueError, match=rf"expected hx to be a tuple of {count} tensors, got tuple of length 3"):
        layer(torch.zeros(T, B, I), (torch.zeros(2, B, H),) * 3)
    unbatched = torch.zeros(2, B, H) if count == 1 else (torch.zeros(2, B, H),) * 2
    first = "hx" if count == 1 else r"hx\[0\]"
    with pytest.raises(ValueError, match=rf"expected {first} of shape \(2, 5\) \(num_layers \* num_directions, H\) "
                                         rf"for an unbatched input \(T, I\), got \(2, 4, 5\)"):
        layer(torch.zeros(T, I), unbatched)


@pytest.mark.parametrize("name", list(LAYERS))
def test_jit_trace_is_refused_and_script_points_to_compile(name):
    layer = make_layer(name, I, H, 2, implementation="reference")
    with pytest.raises(RuntimeError, match=r"torch.jit.trace would record this Python loop .* use torch.compile"):
        torch.jit.trace(layer, torch.zeros(T, B, I), check_trace=False)
    with pytest.raises(RuntimeError, match=r"cannot be scripted .* use torch.compile"):
        torch.jit.script(layer)


@pytest.mark.parametrize("name", ["lstm", "lstm_peephole", "gru_reset_before"])  # native, fast, fast
def test_torch_compile_captures_one_graph(name):
    layer = randomize_(make_layer(name, I, H, dtype=torch.float64))
    compiled = torch.compile(layer, fullgraph=True, backend="aot_eager")  # fullgraph: a graph break is an error
    x = randn(T, B, I)
    (outputs, grads), (expected, expected_grads) = forward_backward(compiled, x, None), forward_backward(layer, x, None)
    torch.testing.assert_close(outputs, expected)
    torch.testing.assert_close(list(grads.values()), list(expected_grads.values()))  # names gain "_orig_mod."


@pytest.mark.parametrize("name", list(LAYERS))
def test_lengths_on_the_meta_device(name):
    """Nothing is created off the input's device, also on the variable-length path."""
    layer = make_layer(name, I, H, 2, bidirectional=True, device="meta")
    output, h_n = layer(torch.zeros(T, B, I, device="meta"), lengths=LENGTHS)
    assert output.shape == (T, B, 2 * H) and output.device.type == "meta"
    assert all(h.shape == (4, B, H) and h.device.type == "meta" for h in flatten(h_n))


def test_unbatched_cell_state_message():
    with pytest.raises(ValueError, match=r"expected hx of shape \(5\), got \(1, 5\) \(an unbatched input \(I,\) takes "
                                         r"an unbatched state \(H,\)\)"):
        rnncourse.cells.GRUCell(I, H)(torch.zeros(I), torch.zeros(1, H))
