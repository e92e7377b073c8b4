"""The encoder-decoder models of chapter 9: training, decoding, targets, losses, devices, errors."""
from __future__ import annotations

import pytest
import torch

from rnncourse.models import (CompositeLSTM, LSTMAutoencoder, LSTMFuturePredictor, Objective, Seq2SeqConfig,
                              SequenceAutoencoder, frame_loss, objective_loss, reconstruction_target, to_frames)
from rnncourse.train import fit

FRAME = (1, 6, 6)
MODELS = [LSTMAutoencoder, LSTMFuturePredictor, CompositeLSTM]


def moving_squares(steps: int, batch: int, seed: int = 0, size: int = 6) -> torch.Tensor:
    """Binary frames ``(steps, batch, 1, size, size)``: a 2x2 square moving one pixel per step along a
    row, bouncing off the edges, from a random start and direction. Enough structure to learn."""
    generator = torch.Generator().manual_seed(seed)
    position = torch.randint(0, size - 1, (batch,), generator=generator)
    velocity = torch.randint(0, 2, (batch,), generator=generator) * 2 - 1
    row = torch.randint(0, size - 1, (batch,), generator=generator)
    frames = torch.zeros(steps, batch, 1, size, size)
    for t in range(steps):
        for b in range(batch):
            r, c = int(row[b]), int(position[b])
            frames[t, b, 0, r:r + 2, c:c + 2] = 1.0
        position = position + velocity
        bounced = (position < 0) | (position > size - 2)
        velocity = torch.where(bounced, -velocity, velocity)
        position = torch.where(bounced, position + 2 * velocity, position)
    return frames


def config(**changes) -> Seq2SeqConfig:
    return Seq2SeqConfig(**{"frame_shape": FRAME, "hidden_size": 16, "future_steps": 3, **changes})


def batches(count: int = 4):
    frames = [moving_squares(6, 8, seed) for seed in range(count)]  # (6, 8, 1, 6, 6)
    return [((x[:3], x[3:]), x[3:]) for x in frames]


@pytest.mark.parametrize("model_class", MODELS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("conditional", [False, True], ids=["unconditional", "conditional"])
def test_each_model_trains_below_a_bound(model_class, conditional):
    torch.manual_seed(0)
    model = model_class(config(conditional_reconstruction=conditional, conditional_future=conditional))
    data = batches()
    before = sum(Objective(model)(batch[0]).item() for batch in data) / len(data)
    history = fit(Objective(model), data, objective_loss, epochs=12, lr=0.02, device="cpu", progress=False)
    assert history.train_loss[-1] < 0.6 * before


def test_conv_models_train_below_a_bound():
    pytest.importorskip("rnncourse.cells", reason="ConvLSTM cell").__dict__.get("ConvLSTMCell") or pytest.skip(
        "ConvLSTMCell not on this branch yet")
    torch.manual_seed(0)
    model = CompositeLSTM(config(kind="conv", hidden_size=4, kernel_size=3))
    data = batches(2)
    before = sum(Objective(model)(batch[0]).item() for batch in data) / len(data)
    history = fit(Objective(model), data, objective_loss, epochs=6, lr=0.02, device="cpu", progress=False)
    assert history.train_loss[-1] < 0.8 * before


@pytest.mark.parametrize("model_class", [LSTMAutoencoder, LSTMFuturePredictor])
def test_teacher_forcing_equals_step_by_step_decoding(model_class):
    torch.manual_seed(1)
    model = model_class(config(conditional_reconstruction=True, conditional_future=True, num_layers=2)).double()
    frames = moving_squares(7, 3, seed=2).double()
    inputs, future = frames[:4], frames[4:]
    if model_class is LSTMAutoencoder:
        output, decoder, fed = model(inputs, teacher_forcing=True), model.reconstruction_decoder, inputs.flip(0)
    else:
        output, decoder, fed = model(inputs, future, teacher_forcing=True), model.future_decoder, future
    state, previous, expected = model.encode(inputs), torch.zeros_like(fed[0]), []
    for k in range(len(fed)):
        step_output, state = decoder.step(previous, state)
        expected.append(step_output)
        previous = fed[k]
    torch.testing.assert_close(output, torch.stack(expected))


def test_own_outputs_feed_back_the_previous_frame():
    torch.manual_seed(2)
    model = LSTMFuturePredictor(config(conditional_future=True)).double()
    inputs = moving_squares(4, 2, seed=3).double()
    output = model(inputs, steps=4)
    state, previous, expected = model.encode(inputs), torch.zeros_like(inputs[0]), []
    for _ in range(4):
        step_output, state = model.future_decoder.step(previous, state)
        expected.append(step_output)
        previous = torch.sigmoid(step_output)
    torch.testing.assert_close(output, torch.stack(expected))
    assert not torch.allclose(output, model(inputs, future=inputs, teacher_forcing=True))


def test_unconditional_decoder_ignores_what_it_would_be_fed():
    torch.manual_seed(3)
    model = LSTMAutoencoder(config()).double()
    inputs = moving_squares(4, 2, seed=4).double()
    torch.testing.assert_close(model(inputs, teacher_forcing=True), model(inputs, teacher_forcing=False))
    assert model.reconstruction_decoder.stack.layers[0].input_size == 1


def test_reconstruction_target_is_the_reversed_input():
    inputs = torch.arange(4.0).view(4, 1, 1, 1, 1).expand(4, 2, *FRAME)
    target = reconstruction_target(inputs)
    for t in range(4):
        torch.testing.assert_close(target[t], inputs[3 - t])
    torch.manual_seed(4)
    model = LSTMAutoencoder(config())
    inputs = moving_squares(4, 2, seed=5)
    assert model.loss(inputs).item() == pytest.approx(frame_loss(model(inputs), inputs.flip(0)).item())
    assert model.loss(inputs).item() != pytest.approx(frame_loss(model(inputs), inputs).item())


@pytest.mark.parametrize("conditional", [False, True])
def test_composite_loss_is_the_sum_of_its_decoders_losses(conditional):
    torch.manual_seed(5)
    model = CompositeLSTM(config(conditional_reconstruction=conditional, conditional_future=conditional)).double()
    frames = moving_squares(7, 3, seed=6).double()
    inputs, future = frames[:4], frames[4:]
    reconstruction, prediction = model(inputs, future, teacher_forcing=True)
    expected = frame_loss(reconstruction, inputs.flip(0)) + frame_loss(prediction, future)
    torch.testing.assert_close(model.loss(inputs, future), expected)
    losses = model.losses(inputs, future)
    torch.testing.assert_close(losses["reconstruction"] + losses["future"], expected)


def test_both_decoders_start_from_the_encoders_final_state():
    torch.manual_seed(6)
    model = CompositeLSTM(config(num_layers=2)).double()
    inputs = moving_squares(4, 2, seed=7).double()
    state = model.encode(inputs)
    reconstruction, prediction = model(inputs, steps=2)
    torch.testing.assert_close(reconstruction, model.reconstruction_decoder(state, 4))
    torch.testing.assert_close(prediction, model.future_decoder(state, 2))
    assert model.code(inputs).shape == (2, 2 * 2 * 16)


def test_frame_loss_is_summed_per_sequence_and_matches_its_formula():
    logits, target = torch.randn(3, 2, *FRAME, dtype=torch.float64), torch.rand(3, 2, *FRAME, dtype=torch.float64)
    p = torch.sigmoid(logits)
    expected = -(target * p.log() + (1 - target) * (1 - p).log()).sum() / 2
    torch.testing.assert_close(frame_loss(logits, target), expected)
    torch.testing.assert_close(frame_loss(logits, target, "linear"), ((logits - target) ** 2).sum() / 2)
    torch.testing.assert_close(to_frames(logits), p)


@pytest.mark.parametrize("model_class", MODELS, ids=lambda c: c.__name__)
def test_meta_device(model_class):
    model = model_class(config(conditional_reconstruction=True, conditional_future=True)).to("meta")
    frames = torch.empty(6, 2, *FRAME, device="meta")
    loss = model.loss(frames[:3], frames[3:])
    assert loss.device.type == "meta" and loss.shape == ()
    loss.backward()
    free = model(frames[:3]) if model_class is LSTMAutoencoder else model(frames[:3], steps=5)
    shapes = [t.shape for t in free] if isinstance(free, tuple) else [free.shape]
    assert shapes[-1] == ((3 if model_class is LSTMAutoencoder else 5), 2, *FRAME)


def test_sequence_autoencoder_output_range_and_the_fix():
    torch.manual_seed(7)
    frames = moving_squares(5, 8, seed=8).flatten(2)  # (5, 8, 36), pixels in {0, 1}
    keras = SequenceAutoencoder(36, 8)
    fixed = SequenceAutoencoder(36, 8, readout=True, hidden_size=16)
    assert keras.output_kind == "linear" and fixed.output_kind == "logistic"
    assert keras(frames).shape == fixed(frames).shape == (5, 8, 36)
    for model in (keras, fixed):
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        for _ in range(150):
            optimizer.zero_grad()
            model.loss(frames).backward()
            optimizer.step()
    with torch.no_grad():
        assert keras(frames).abs().max() < 1  # h = o * tanh(c) never reaches a pixel of 1
        assert to_frames(fixed(frames), "logistic").max() > 0.9
        torch.testing.assert_close(keras.loss(frames), ((keras(frames) - frames) ** 2).sum() / 8)


def test_sequence_autoencoder_linear_readout_is_unbounded_and_trained_with_squared_error():
    torch.manual_seed(3)
    frames = torch.rand(4, 2, 5)  # (T, B, I)
    model = SequenceAutoencoder(5, 3, readout=True, output="linear")
    assert model.output_kind == "linear"
    with torch.no_grad():
        model.readout.bias.fill_(2.0)  # a linear read-out can leave (-1, 1); h alone cannot
        assert model(frames).min() > 1
        torch.testing.assert_close(model.loss(frames), ((model(frames) - frames) ** 2).sum() / 2)
    with pytest.raises(ValueError, match="output"):
        SequenceAutoencoder(5, 3, readout=True, output="softmax")


def test_paper_configuration_is_one_call_away():
    paper = Seq2SeqConfig.paper()
    assert (paper.frame_shape, paper.hidden_size, paper.future_steps) == ((1, 64, 64), 2048, 10)
    assert Seq2SeqConfig.paper(hidden_size=64).hidden_size == 64


@pytest.mark.parametrize("changes, message", [
    ({"kind": "rnn"}, "kind"), ({"output": "softmax"}, "output"), ({"frame_shape": (8, 8)}, "frame_shape"),
    ({"hidden_size": 0}, "hidden_size"), ({"num_layers": True}, "num_layers"),
])
def test_config_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        config(**changes)


def test_input_errors():
    model = CompositeLSTM(config(conditional_future=True))
    frames = moving_squares(6, 2, seed=9)
    with pytest.raises(ValueError, match=r"expected inputs of shape \(T, B, 1, 6, 6\), got \(6, 2, 36\)"):
        model(frames.flatten(2))
    with pytest.raises(ValueError, match="batch size"):
        model(frames[:3], frames[3:, :1])
    with pytest.raises(ValueError, match="teacher forcing"):
        model(frames[:3], teacher_forcing=True)
    with pytest.raises(ValueError, match="steps"):
        model(frames[:3], steps=0)
    with pytest.raises(ValueError, match="future"):
        model.loss(frames[:3], None)
    with pytest.raises(TypeError, match="Seq2SeqConfig"):
        LSTMAutoencoder({"hidden_size": 3})
    with pytest.raises(ValueError, match="same shape"):
        frame_loss(frames[:2], frames[:3])
