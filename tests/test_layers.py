"""Every layer over one grid (helpers.LAYERS): variable lengths and packed sequences, dropout, torch's API.

torch is the oracle where it has the model; elsewhere the layer run on each sequence alone is.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from helpers import (DTYPES, LAYERS, TORCH_LAYERS, forward_backward, initial_state, make_layer, make_torch_layer,
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
