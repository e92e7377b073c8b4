"""A character-level language model: embedding, any of the course's recurrent layers, a read-out.

The model reads characters ``x_1 .. x_t`` and gives, at every step, logits of the next character.
It trains by truncated back-propagation through time over one long text: the text is cut into
``B`` parallel streams (:func:`~rnncourse.data.text.batchify`), chunks of ``bptt`` steps are fed in
order, and the state is carried from one chunk to the next but detached, so gradients flow back at
most ``bptt`` steps while the state remembers further. It is measured in bits per character on
held-out text and generates text by sampling with a temperature and an optional top-k cut.

Shape legend: ``T`` steps, ``B`` batch (parallel streams), ``V`` vocabulary size, ``E`` embedding
size, ``H`` hidden units, ``N_L`` layers, ``D`` directions, ``N`` characters of a text.

Example:
    >>> import torch
    >>> model = CharLanguageModel(vocab_size=10, cell="gru", hidden_size=16, num_layers=2)
    >>> logits, h_n = model(torch.zeros(7, 3, dtype=torch.long))
    >>> logits.shape, h_n.shape
    (torch.Size([7, 3, 10]), torch.Size([2, 3, 16]))
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .._validation import check_tensor, shape_str
from ..data.text import batchify
from ..recurrent import GRU, LSTM, MGU, RNN

CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU, "mgu": MGU}
LN2 = math.log(2.0)


def _check_indices(input, vocab_size: int, name: str = "input", dims: tuple = (2,)) -> None:
    check_tensor(input, name)
    if input.dim() not in dims:
        wanted = " or ".join({1: "(N,)", 2: "(T, B)"}[d] for d in dims)
        raise ValueError(f"expected {name} of shape {wanted} of character indices, got {shape_str(input.shape)}")
    if input.dtype != torch.long:
        raise TypeError(f"expected {name} of dtype torch.int64 (character indices), got {input.dtype}")


def detach_state(state):
    """The recurrent state (a tensor, or a tuple such as ``(h_n, c_n)``) cut from the graph, as
    truncated BPTT needs between chunks."""
    if state is None or isinstance(state, Tensor):
        return None if state is None else state.detach()
    return tuple(detach_state(s) for s in state)


class CharLanguageModel(nn.Module):
    """``logits_t = W_{out} h_t + b_{out}`` with ``h_t`` the recurrent layers' output on ``embed(x_t)``.

    Args:
        vocab_size: ``V``, the number of characters.
        cell: ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"mgu"`` (the course's layers), or a layer
            instance with torch's interface (``rnncourse.LSTM(...)``, ``torch.nn.GRU(...)``, …; time-major,
            ``input_size``, ``hidden_size`` and ``bidirectional`` attributes). With an instance the
            embedding size is its ``input_size`` and the remaining size arguments are ignored.
        hidden_size: ``H``. num_layers: ``N_L``. embedding_dim: ``E`` (default ``H``).
        dropout: dropout between the recurrent layers and before the read-out, in training.
        bidirectional: build bidirectional layers (``D = 2``). Such a model sees the character it
            is asked to predict; the book trains one to show that it is no language model.
        device, dtype: where and in which precision to create the parameters.
        cell_options: passed on to the layer class (``forget_bias=1.0``, ``nonlinearity="relu"``, …).

    Inputs: ``input (T, B)`` int64 character indices; ``hx`` the layers' state, zeros if omitted.

    Outputs: ``(logits (T, B, V), h_n)``, ``h_n`` in the layer's form (``(N_L*D, B, H)`` or a tuple).
    """

    def __init__(self, vocab_size: int, cell: str | nn.Module = "lstm", hidden_size: int = 128, num_layers: int = 1,
                 embedding_dim: int | None = None, dropout: float = 0.0, bidirectional: bool = False, *,
                 device=None, dtype=None, **cell_options) -> None:
        super().__init__()
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
            raise ValueError(f"expected vocab_size to be a positive int, got {vocab_size!r}")
        if isinstance(cell, str):
            if cell.lower() not in CELLS:
                raise ValueError(f"expected cell to be one of {', '.join(map(repr, CELLS))} or a layer, got {cell!r}")
            embedding_dim = hidden_size if embedding_dim is None else embedding_dim
            cell = CELLS[cell.lower()](embedding_dim, hidden_size, num_layers, dropout=dropout,
                                       bidirectional=bidirectional, device=device, dtype=dtype, **cell_options)
        elif isinstance(cell, nn.Module):
            if getattr(cell, "batch_first", False):
                raise ValueError("expected a time-major layer (batch_first=False)")
            if cell_options:
                raise ValueError(f"cell_options {sorted(cell_options)} apply only when cell is given by name")
        else:
            raise TypeError(f"expected cell to be a str or an nn.Module, got {type(cell).__name__}")
        self.vocab_size = vocab_size
        self.rnn = cell
        self.bidirectional = bool(cell.bidirectional)
        features = cell.hidden_size * (2 if self.bidirectional else 1)  # D*H
        self.embedding = nn.Embedding(vocab_size, cell.input_size, device=device, dtype=dtype)
        self.dropout = nn.Dropout(dropout)
        self.readout = nn.Linear(features, vocab_size, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx=None):
        _check_indices(input, self.vocab_size)
        embedded = self.dropout(self.embedding(input))  # (T, B, E)
        output, h_n = self.rnn(embedded, hx)  # (T, B, D*H)
        return self.readout(self.dropout(output)), h_n  # (T, B, V)


def _chunks(streams: Tensor, bptt: int):
    """``(inputs (T, B), targets (T, B))`` chunks of at most ``bptt`` steps of time-major streams."""
    for start in range(0, streams.shape[0] - 1, bptt):
        length = min(bptt, streams.shape[0] - 1 - start)
        yield streams[start:start + length], streams[start + 1:start + 1 + length]  # (T, B)


def _nll_sum(logits: Tensor, targets: Tensor) -> Tensor:
    return nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum")  # ()


@torch.no_grad()
def bits_per_character(model: CharLanguageModel, data: Tensor, batch_size: int = 16, bptt: int = 256) -> float:
    r"""Mean ``-log2 p(x_{t+1} | x_1..x_t)`` over a held-out ``(N,)`` encoded text.

    The text is cut into ``batch_size`` streams and read chunk by chunk with the state carried, so
    each prediction conditions on everything before it in its stream. A model that gives every
    character the same probability scores ``log2(V)``; a unigram model scores the entropy of the
    character frequencies.
    """
    _check_indices(data, model.vocab_size, "data", dims=(1,))
    was_training = model.training
    model.eval()
    streams = batchify(data.to(model.readout.weight.device), batch_size)  # (N // B, B)
    state, total, count = None, 0.0, 0
    for inputs, targets in _chunks(streams, bptt):
        logits, state = model(inputs, state)  # (T, B, V)
        total += float(_nll_sum(logits, targets))
        count += targets.numel()
    model.train(was_training)
    return total / count / LN2


def unigram_bits_per_character(train: Tensor, data: Tensor, vocab_size: int) -> float:
    """The baseline that knows only how often each character occurs: character frequencies of
    ``train`` (add-one smoothed), scored on ``data``, in bits per character."""
    counts = torch.bincount(train, minlength=vocab_size).double() + 1  # (V,)
    log_p = (counts / counts.sum()).log()  # (V,)
    return float(-log_p[data].mean() / LN2)


@dataclass
class LanguageModelHistory:
    """What :func:`fit_language_model` measured, one entry per epoch."""

    train_bpc: list[float] = field(default_factory=list)  # mean training bits per character over the epoch
    val_bpc: list[float] = field(default_factory=list)  # bits per character on the validation text, if given
    epoch_time: list[float] = field(default_factory=list)  # wall-clock seconds of training (validation excluded)
    steps: list[int] = field(default_factory=list)  # optimizer steps taken in the epoch


def fit_language_model(model: CharLanguageModel, train: Tensor, validation: Tensor | None = None, *,
                       epochs: int = 1, batch_size: int = 32, bptt: int = 64, lr: float = 2e-3,
                       clip_grad_norm: float | None = 1.0, optimizer: torch.optim.Optimizer | None = None,
                       callback: Callable[[int, CharLanguageModel, LanguageModelHistory], None] | None = None
                       ) -> LanguageModelHistory:
    """Train by truncated BPTT over the ``(N,)`` encoded text ``train``.

    Each epoch cuts ``train`` into ``batch_size`` streams, feeds chunks of ``bptt`` steps in order,
    and carries the state between chunks, detached (a fresh zero state starts each epoch). Adam with
    ``lr`` unless an ``optimizer`` is given; the gradient norm is clipped to ``clip_grad_norm``.
    After each epoch the validation text (if any) is scored by :func:`bits_per_character` and
    ``callback(epoch, model, history)`` is called, e.g. to print a sample.
    """
    _check_indices(train, model.vocab_size, "train", dims=(1,))
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"expected epochs to be a positive int, got {epochs!r}")
    if isinstance(bptt, bool) or not isinstance(bptt, int) or bptt < 1:
        raise ValueError(f"expected bptt to be a positive int, got {bptt!r}")
    optimizer = optimizer if optimizer is not None else torch.optim.Adam(model.parameters(), lr=lr)
    streams = batchify(train.to(model.readout.weight.device), batch_size)  # (N // B, B)
    history = LanguageModelHistory()
    for epoch in range(epochs):
        model.train()
        start, state, losses, counts = time.perf_counter(), None, [], 0
        for inputs, targets in _chunks(streams, bptt):
            optimizer.zero_grad(set_to_none=True)
            logits, state = model(inputs, detach_state(state))  # (T, B, V)
            loss = _nll_sum(logits, targets) / targets.numel()
            loss.backward()
            if clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            losses.append(loss.detach() * targets.numel())
            counts += targets.numel()
        history.train_bpc.append(float(torch.stack(losses).sum()) / counts / LN2)
        history.epoch_time.append(time.perf_counter() - start)
        history.steps.append(len(losses))
        if validation is not None:
            history.val_bpc.append(bits_per_character(model, validation, bptt=max(bptt, 256)))
        if callback is not None:
            callback(epoch, model, history)
    return history


def next_character_probabilities(logits: Tensor, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
    """``softmax(logits / temperature)`` over the last dimension, restricted to the ``top_k`` largest
    logits when given (the others get probability 0). ``temperature = 0`` puts all the mass on the
    arg-max (the first one on ties). ``logits (…, V)`` -> probabilities ``(…, V)``.
    """
    check_tensor(logits, "logits")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature >= 0:
        raise ValueError(f"expected temperature to be a number >= 0, got {temperature!r}")
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= logits.shape[-1]:
            raise ValueError(f"expected top_k to be an int in [1, {logits.shape[-1]}], got {top_k!r}")
        threshold = logits.topk(top_k, dim=-1).values[..., -1:]  # (…, 1)
        logits = logits.masked_fill(logits < threshold, float("-inf"))  # (…, V)
    if temperature == 0:
        return nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)  # (…, V)
    return torch.softmax(logits / temperature, dim=-1)  # (…, V)


@torch.no_grad()
def sample(model: CharLanguageModel, prompt: Tensor, length: int, temperature: float = 1.0,
           top_k: int | None = None, generator: torch.Generator | None = None) -> Tensor:
    """Continue the ``(P,)`` encoded ``prompt`` by ``length`` characters; returns the new ``(length,)`` indices.

    The prompt is read in one pass; then each step draws the next character from
    :func:`next_character_probabilities` of the last logits (with ``generator``, so a seeded
    generator gives the same text every time) and feeds it back. ``temperature=0`` is greedy decoding.
    """
    _check_indices(prompt, model.vocab_size, "prompt", dims=(1,))
    if prompt.numel() == 0:
        raise ValueError("expected a prompt of at least one character")
    if model.bidirectional:
        raise ValueError("a bidirectional model reads the future it should predict; it cannot generate text")
    was_training = model.training
    model.eval()
    logits, state = model(prompt.to(model.readout.weight.device).unsqueeze(1))  # (P, 1, V)
    generated = []
    for _ in range(length):
        probabilities = next_character_probabilities(logits[-1, 0], temperature, top_k)  # (V,)
        if temperature == 0:
            index = probabilities.argmax().view(1)  # (1,)
        else:
            index = torch.multinomial(probabilities, 1, generator=generator)  # (1,)
        generated.append(index)
        logits, state = model(index.view(1, 1), state)  # (1, 1, V)
    model.train(was_training)
    return torch.cat(generated) if generated else prompt.new_zeros(0)  # (length,)


def generate(model: CharLanguageModel, vocabulary, prompt: str, length: int, temperature: float = 1.0,
             top_k: int | None = None, seed: int | None = 0) -> str:
    """``prompt`` followed by ``length`` sampled characters, as text (``vocabulary`` encodes and decodes)."""
    generator = None
    if seed is not None:
        generator = torch.Generator(model.readout.weight.device).manual_seed(seed)
    new = sample(model, vocabulary.encode(prompt), length, temperature, top_k, generator)
    return prompt + vocabulary.decode(new)
