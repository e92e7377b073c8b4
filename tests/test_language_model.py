"""rnncourse.models.language_model and rnncourse.data.text: the text, the vocabulary, training by
truncated BPTT, bits per character, sampling."""
from __future__ import annotations

import hashlib
import math

import pytest
import torch

import rnncourse
from rnncourse.data import CharVocabulary, batchify, shakespeare, train_validation_split
from rnncourse.data.text import SHAKESPEARE_FULL_SHA256
from rnncourse.models import (
    CharLanguageModel,
    bits_per_character,
    fit_language_model,
    generate,
    next_character_probabilities,
    sample,
    unigram_bits_per_character,
)
from rnncourse.models.language_model import detach_state

TINY = "the cat sat on the mat. " * 12


def test_shakespeare_is_the_bundled_head_of_tiny_shakespeare():
    text = shakespeare()
    assert len(text) == 250_297 and text.startswith("First Citizen:\nBefore we proceed")
    assert 60 <= len(set(text)) <= 65


def test_full_text_is_read_from_the_cache_with_its_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNCOURSE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="input.txt"):
        shakespeare(full=True)
    wrong = tmp_path / "tinyshakespeare" / "input.txt"
    wrong.parent.mkdir()
    wrong.write_text("not shakespeare")
    with pytest.raises(ValueError, match="checksum"):
        shakespeare(full=True)
    assert hashlib.sha256(b"not shakespeare").hexdigest() != SHAKESPEARE_FULL_SHA256


def test_vocabulary_round_trip_and_unknown_characters():
    vocabulary = CharVocabulary.from_text(TINY)
    encoded = vocabulary.encode("a cat")
    assert encoded.dtype == torch.long and vocabulary.decode(encoded) == "a cat"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocabulary.encode("dog")


def test_split_is_contiguous_and_batchify_keeps_streams_contiguous():
    data = torch.arange(100)
    train, validation = train_validation_split(data, 0.1)
    assert torch.equal(torch.cat([train, validation]), data) and len(validation) == 10
    streams = batchify(torch.arange(20), 4)  # (5, 4)
    assert streams.shape == (5, 4) and torch.equal(streams[:, 1], torch.arange(5, 10))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "mgu"])
def test_forward_shapes_for_every_cell_and_layers(cell):
    model = CharLanguageModel(11, cell=cell, hidden_size=8, num_layers=2, embedding_dim=5)
    logits, h_n = model(torch.zeros(6, 3, dtype=torch.long))
    assert logits.shape == (6, 3, 11)
    assert all(h.shape == (2, 3, 8) for h in (h_n if isinstance(h_n, tuple) else (h_n,)))


def test_a_layer_instance_is_accepted_torch_or_ours():
    for layer in (rnncourse.GRU(4, 6, bidirectional=True), torch.nn.LSTM(4, 6)):
        model = CharLanguageModel(9, cell=layer)
        logits, _ = model(torch.zeros(5, 2, dtype=torch.long))
        assert logits.shape == (5, 2, 9) and model.readout.in_features == 6 * (2 if layer.bidirectional else 1)


def test_meta_device_and_float64():
    model = CharLanguageModel(7, cell="lstm", hidden_size=4, device="meta", dtype=torch.float64)
    logits, (h_n, _) = model(torch.zeros(3, 2, dtype=torch.long, device="meta"))
    assert logits.device.type == "meta" and logits.dtype == torch.float64 and h_n.shape == (1, 2, 4)


def test_errors_name_what_was_expected():
    model = CharLanguageModel(7, hidden_size=4)
    with pytest.raises(TypeError, match="int64"):
        model(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"\(T, B\)"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="cell"):
        CharLanguageModel(7, cell="transformer")


def test_overfits_a_tiny_text():
    torch.manual_seed(0)
    vocabulary = CharVocabulary.from_text(TINY)
    data = vocabulary.encode(TINY)
    model = CharLanguageModel(len(vocabulary), cell="gru", hidden_size=32)
    history = fit_language_model(model, data, epochs=40, batch_size=4, bptt=16, lr=1e-2)
    assert history.train_bpc[0] > 2.5 and history.train_bpc[-1] < 0.5
    assert bits_per_character(model, data, batch_size=4) < 0.5
    assert len(history.epoch_time) == 40 and history.val_bpc == []


def test_state_is_carried_and_detached_between_chunks():
    state = (torch.ones(1, 2, 3, requires_grad=True) * 2, torch.ones(1, 2, 3, requires_grad=True) * 3)
    detached = detach_state(state)
    assert all(not s.requires_grad for s in detached) and torch.equal(detached[1], state[1].detach())


def uniform_model(vocab_size: int) -> CharLanguageModel:
    model = CharLanguageModel(vocab_size, cell="rnn", hidden_size=4)
    with torch.no_grad():
        model.readout.weight.zero_()
        model.readout.bias.zero_()
    return model


@pytest.mark.parametrize("vocab_size", [2, 5, 65])
def test_uniform_model_scores_log2_of_the_vocabulary(vocab_size):
    data = torch.randint(vocab_size, (400,), generator=torch.Generator().manual_seed(0))
    assert bits_per_character(uniform_model(vocab_size), data, batch_size=4, bptt=7) == pytest.approx(
        math.log2(vocab_size), rel=1e-6)


def test_unigram_baseline_equals_the_entropy_of_the_frequencies():
    data = torch.tensor([0, 0, 0, 1])
    counts = torch.tensor([4.0, 2.0])  # add-one smoothed
    p = counts / counts.sum()
    expected = -(3 * p[0].log2() + p[1].log2()) / 4
    assert unigram_bits_per_character(data, data, 2) == pytest.approx(float(expected))


def test_seeded_sampling_is_reproducible_and_seeds_differ():
    torch.manual_seed(1)
    model = CharLanguageModel(12, cell="lstm", hidden_size=8)
    prompt = torch.tensor([1, 2, 3])
    draw = lambda seed: sample(model, prompt, 40, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(draw(5), draw(5)) and not torch.equal(draw(5), draw(6))
    assert draw(5).shape == (40,)


def greedy_path(model, prompt, length):
    """The arg-max path written out by feeding the whole sequence again at every step."""
    sequence = prompt.clone()
    for _ in range(length):
        logits, _ = model(sequence.unsqueeze(1))
        sequence = torch.cat([sequence, logits[-1, 0].argmax().view(1)])
    return sequence[len(prompt):]


def test_temperature_to_zero_gives_the_argmax_path():
    torch.manual_seed(2)
    model = CharLanguageModel(10, cell="gru", hidden_size=16).eval()
    prompt = torch.tensor([3, 1, 4])
    expected = greedy_path(model, prompt, 25)
    assert torch.equal(sample(model, prompt, 25, temperature=0), expected)
    cold = sample(model, prompt, 25, temperature=1e-4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(cold, expected)


def test_temperature_and_top_k_probabilities():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0]])
    torch.testing.assert_close(next_character_probabilities(logits, 1.0), torch.softmax(logits, -1))
    torch.testing.assert_close(next_character_probabilities(logits, 2.0), torch.softmax(logits / 2, -1))
    top2 = next_character_probabilities(logits, 1.0, top_k=2)
    torch.testing.assert_close(top2, torch.tensor([[0.0, 1.0, math.exp(-1.0), 0.0]]) / (1 + math.exp(-1.0)))
    assert torch.equal(next_character_probabilities(logits, 0), torch.tensor([[0.0, 1.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="temperature"):
        next_character_probabilities(logits, -1.0)


def test_a_bidirectional_model_refuses_to_generate():
    model = CharLanguageModel(5, cell="gru", hidden_size=4, bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional"):
        sample(model, torch.tensor([0]), 3)


def test_generate_returns_text_starting_with_the_prompt():
    vocabulary = CharVocabulary.from_text(TINY)
    model = CharLanguageModel(len(vocabulary), hidden_size=8)
    text = generate(model, vocabulary, "the ", 20, temperature=0.8, top_k=5, seed=3)
    assert text.startswith("the ") and len(text) == 24 and text == generate(model, vocabulary, "the ", 20, 0.8, 5, 3)
