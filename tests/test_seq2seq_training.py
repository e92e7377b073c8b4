"""rnncourse.models.seq2seq_training: data for the chapter's runs, training, and the two measurements."""
from __future__ import annotations

import pytest
import torch

from rnncourse.models import CompositeLSTM, LSTMFuturePredictor, Seq2SeqConfig
from rnncourse.models.seq2seq_training import (FramesConfig, digit_split, frame_gradient_norms, motion_targets,
                                               ridge_probe, sequences, train_future_readout, train_seq2seq,
                                               training_batches)

SMALL = FramesConfig(input_frames=3, future_frames=2, canvas_size=12, digit_size=6, batch_size=4, batches_per_epoch=2)


def test_digit_split_keeps_train_and_test_digits_apart():
    (train, train_labels), (test, test_labels) = digit_split()
    assert len(train) == 4000 and len(test) == 1000 and train.shape[1:] == (28, 28)
    assert torch.bincount(test_labels).tolist() == [100] * 10
    assert not any(torch.equal(test[0], digit) for digit in train)


def test_sequences_and_batches_have_the_configured_shapes():
    digits = digit_split()[0]
    inputs, future = sequences(SMALL, 5, digits, seed=0, frames=7, num_digits=3)
    assert inputs.shape == (3, 5, 1, 12, 12) and future.shape == (4, 5, 1, 12, 12)
    epoch = training_batches(SMALL, digits, seed=0)
    first, second = epoch(), epoch()
    assert len(first) == 2 and first[0][0][0].shape == (3, 4, 1, 12, 12) and torch.equal(first[0][1], first[0][0][1])
    assert not torch.equal(first[0][0][0], second[0][0][0])  # fresh sequences every epoch
    assert FramesConfig.paper().frame_shape == (1, 64, 64) and FramesConfig.paper().future_frames == 10


def test_training_lowers_the_loss():
    torch.manual_seed(0)
    model = CompositeLSTM(Seq2SeqConfig(frame_shape=SMALL.frame_shape, hidden_size=16, future_steps=2))
    history = train_seq2seq(model, SMALL, digit_split()[0], epochs=6, lr=1e-2)
    assert history.train_loss[-1] < 0.8 * history.train_loss[0]


def test_frame_gradient_norms_is_the_gradient_of_the_summed_loss():
    torch.manual_seed(1)
    model = LSTMFuturePredictor(Seq2SeqConfig(frame_shape=(1, 4, 4), hidden_size=8, future_steps=2)).double()
    inputs, future = torch.rand(3, 2, 1, 4, 4, dtype=torch.float64), torch.rand(2, 2, 1, 4, 4, dtype=torch.float64)
    norms = frame_gradient_norms(model, inputs, future)
    x = inputs.clone().requires_grad_()
    (model.loss(x[:, :1], future[:, :1])).backward()  # sequence 0 alone
    expected_first = x.grad[:, 0].flatten(1).norm(dim=1)  # (T,)
    x.grad = None
    model.loss(x[:, 1:], future[:, 1:]).backward()
    expected = (expected_first + x.grad[:, 1].flatten(1).norm(dim=1)) / 2
    torch.testing.assert_close(norms, expected)


def test_ridge_probe_recovers_a_linear_map_and_reports_nothing_for_noise():
    generator = torch.Generator().manual_seed(2)
    features = torch.randn(600, 5, generator=generator)
    targets = features @ torch.randn(5, 3, generator=generator) + 0.01 * torch.randn(600, 3, generator=generator)
    result = ridge_probe(features[:500], targets[:500], features[500:], targets[500:])
    assert result["r2"] > 0.99 and result["penalty"] == 1.0
    noise = torch.randn(600, 3, generator=generator)
    assert ridge_probe(features[:500], noise[:500], features[500:], noise[500:])["r2"] < 0.05
    with pytest.raises(ValueError, match=r"expected train_features \(N, F\)"):
        ridge_probe(features[:10, 0], targets[:10], features, targets)


def test_ridge_probe_ignores_a_feature_that_is_constant_in_training():
    generator = torch.Generator().manual_seed(3)
    features = torch.randn(600, 5, generator=generator)
    targets = features @ torch.randn(5, 3, generator=generator)
    expected = ridge_probe(features[:500], targets[:500], features[500:], targets[500:])
    stuck = torch.cat([features, torch.full((600, 1), 8.0)], dim=1)  # a saturated unit in training...
    stuck[500:, 5] = 8.0 + torch.randn(100, generator=generator)  # ...that moves on the test examples
    result = ridge_probe(stuck[:500], targets[:500], stuck[500:], targets[500:])
    assert result["r2"] == pytest.approx(expected["r2"], abs=1e-9) and result["r2"] > 0.99


def test_sequences_with_paths_returns_the_same_frames_and_their_trajectories():
    digits = digit_split()[0]
    inputs, future = sequences(SMALL, 5, digits, seed=3)
    again, again_future, positions, velocities = sequences(SMALL, 5, digits, seed=3, paths=True)
    assert torch.equal(inputs, again) and torch.equal(future, again_future)
    assert positions.shape == velocities.shape == (5, 5, 2, 2)  # (T + K, B, D, 2)
    # each digit's corner is where the frame has ink: the digit's box holds some of the frame's pixels
    corner = positions[0, 0, 0].round().long()
    assert inputs[0, 0, 0, corner[0]:corner[0] + 6, corner[1]:corner[1] + 6].sum() > 0


def test_motion_targets_orders_digits_left_to_right():
    positions = torch.tensor([[[[0.0, 5.0], [1.0, 2.0]]], [[[0.5, 6.0], [1.5, 1.0]]]])  # (T=2, B=1, D=2, 2)
    velocities = torch.tensor([[[[0.5, 1.0], [0.5, -1.0]]], [[[0.5, 1.0], [0.5, -1.0]]]])
    targets = motion_targets(positions, velocities, frame=0, ahead=1)
    # at frame 0 the second digit (column 2) is left of the first (column 5): it comes first
    assert targets["position"].tolist() == [[1.5, 1.0, 0.5, 6.0]]
    assert targets["velocity"].tolist() == [[0.5, -1.0, 0.5, 1.0]]
    with pytest.raises(ValueError, match="frame"):
        motion_targets(positions, velocities, frame=1, ahead=1)
    with pytest.raises(ValueError, match="same shape"):
        motion_targets(positions, velocities[..., :1], frame=0)


def test_future_readout_trains_only_a_new_decoder_on_the_frozen_code():
    torch.manual_seed(0)
    config = Seq2SeqConfig(frame_shape=SMALL.frame_shape, hidden_size=8, future_steps=2)
    model = CompositeLSTM(config)
    before = {name: p.clone() for name, p in model.state_dict().items()}
    readout = train_future_readout(model, SMALL, digit_split()[0], epochs=2, seed=1)
    assert isinstance(readout, LSTMFuturePredictor)
    for name, value in readout.encoder.state_dict().items():  # the encoder is the model's, unchanged
        torch.testing.assert_close(value, before[f"encoder.{name}"], rtol=0, atol=0)
    assert not any(p.requires_grad for p in readout.encoder.parameters())
    fresh = LSTMFuturePredictor(config).future_decoder.state_dict()
    assert any(not torch.equal(value, fresh[name]) for name, value in readout.future_decoder.state_dict().items())
    for name, value in model.state_dict().items():  # the probed model is left as it was
        assert torch.equal(value, before[name])
