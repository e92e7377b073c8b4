"""Training and measuring the encoder-decoder models of :mod:`rnncourse.models.seq2seq` on Moving MNIST.

:class:`FramesConfig` sizes the sequences (the book's small CPU canvas by default, :meth:`FramesConfig.paper`
the paper's 64x64); :func:`train_seq2seq` trains any of the three models on fresh sequences every
epoch with :func:`rnncourse.train.fit`; two measurements of what an encoder keeps:
:func:`frame_gradient_norms`, the gradient of a model's loss with respect to each input frame
(chapter 3's measurement), and :func:`ridge_probe`, a linear read-out of some target from the code.

Shape legend: ``T`` input frames, ``K`` future frames, ``B`` sequences, ``S`` canvas size, ``N``
probe examples, ``F`` code features, ``P`` target values.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..analysis import step_gradient_norms
from ..data.digits import offline_digits, stratified_split
from ..data.moving_mnist import moving_mnist
from ..train import History, fit
from .seq2seq import LSTMFuturePredictor, Objective, objective_loss


@dataclass
class FramesConfig:
    """Moving MNIST sequences for training and testing; the defaults are the book's CPU size."""

    input_frames: int = 8  # T, frames the encoder reads (paper: 10)
    future_frames: int = 8  # K, frames the future decoder writes (paper: 10)
    canvas_size: int = 16  # S (paper: 64)
    digit_size: int | None = 8  # digits shrunk to this size; None keeps MNIST's 28 (paper)
    num_digits: int = 2  # digits per sequence (paper: 2)
    speed: tuple[float, float] = (1.0, 2.0)  # pixels per frame, drawn uniformly (paper: not given)
    batch_size: int = 32  # sequences per update (ours)
    batches_per_epoch: int = 32  # updates per epoch, each on freshly drawn sequences

    @classmethod
    def paper(cls, **changes) -> "FramesConfig":
        """64x64 frames of full-size digits, 10 frames in, 10 out, at the speeds of
        :func:`rnncourse.data.moving_mnist` (around the released script's 3.6 pixels per frame)."""
        values = dict(input_frames=10, future_frames=10, canvas_size=64, digit_size=None, speed=(2.0, 5.0))
        return cls(**{**values, **changes})

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        return (1, self.canvas_size, self.canvas_size)


def digit_split(seed: int = 0) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """The offline MNIST digits split 80/20 by class: ``((train_digits, train_labels), (test_digits, test_labels))``,
    digits ``(N, 28, 28)`` in ``[0, 1]``, so that test sequences are made of digits never trained on."""
    digits, labels = offline_digits()
    train, test = stratified_split(labels, (0.8, 0.2), seed=seed)
    return (digits[train], labels[train]), (digits[test], labels[test])


def sequences(config: FramesConfig, count: int, digits: tuple[Tensor, Tensor], *,
              generator: torch.Generator | None = None, seed: int | None = None,
              num_digits: int | None = None, frames: int | None = None, paths: bool = False):
    """``count`` sequences cut into ``(inputs (T, B, 1, S, S), future (K, B, 1, S, S))``.

    ``digits`` is a ``(digits, labels)`` pair from :func:`digit_split`; ``num_digits`` overrides the
    config (out-of-domain tests); ``frames`` draws more frames in all, the extra ones in ``future``
    (for runs past the trained horizon). ``paths=True`` also returns the digits' trajectories,
    ``(inputs, future, positions (T + K, B, D, 2), velocities (T + K, B, D, 2))`` as
    :func:`rnncourse.data.moving_mnist` makes them (the frames are the same as without it).
    """
    total = config.input_frames + config.future_frames if frames is None else frames
    batch = moving_mnist(count, frames=total, canvas_size=config.canvas_size,
                         num_digits=config.num_digits if num_digits is None else num_digits,
                         speed=config.speed, digits=digits[0], labels=digits[1], digit_size=config.digit_size,
                         generator=generator, seed=seed)
    inputs, future = batch.frames[:config.input_frames], batch.frames[config.input_frames:]  # (T, B, ...), (K, B, ...)
    return (inputs, future, batch.positions, batch.velocities) if paths else (inputs, future)


def training_batches(config: FramesConfig, digits: tuple[Tensor, Tensor], seed: int = 0):
    """A function that draws one epoch of fresh batches ``((inputs, future), future)`` for :func:`rnncourse.train.fit`."""
    generator = torch.Generator().manual_seed(seed)

    def epoch():
        inputs, future = sequences(config, config.batch_size * config.batches_per_epoch, digits, generator=generator)
        cuts = range(0, inputs.shape[1], config.batch_size)
        return [((inputs[:, i:i + config.batch_size], future[:, i:i + config.batch_size]),
                 future[:, i:i + config.batch_size]) for i in cuts]

    return epoch


def train_seq2seq(model: nn.Module, config: FramesConfig, digits: tuple[Tensor, Tensor], *, epochs: int,
                  lr: float = 1e-2, clip_grad_norm: float | None = 10.0, teacher_forcing: bool = True,
                  seed: int = 0, device="cpu") -> History:
    """Train an autoencoder, predictor or composite model with Adam on fresh sequences every epoch
    (``config.batches_per_epoch`` updates each) and return the :class:`~rnncourse.train.History`
    of its loss (:meth:`loss` of the model, per sequence)."""
    return fit(Objective(model, teacher_forcing), training_batches(config, digits, seed), objective_loss,
               epochs=epochs, lr=lr, clip_grad_norm=clip_grad_norm, device=device, progress=False)


def frame_gradient_norms(model: nn.Module, inputs: Tensor, future: Tensor) -> Tensor:
    r""":math:`\Vert \partial \mathcal L / \partial x_t \Vert` for each input frame, ``(T,)``, averaged over
    the sequences of ``inputs (T, B, ...)``; :math:`\mathcal L` is the model's own loss (teacher
    forcing, as in training) of each sequence, so each sequence's gradient is its own."""
    batch = inputs.shape[1]
    return step_gradient_norms(lambda x: model.loss(x, future) * batch, inputs)


def ridge_probe(train_features: Tensor, train_targets: Tensor, test_features: Tensor, test_targets: Tensor,
                penalties=(1.0, 10.0, 100.0, 1000.0), validation: float = 0.2) -> dict[str, float]:
    r"""A linear read-out of ``targets (N, P)`` from ``features (N, F)`` by ridge regression.

    Features are standardised with the training statistics. The read-out is fitted where the
    training features lie, so test features are first clipped to the training range of each
    feature: a unit that is saturated on every training example (a constant, which tells the
    read-out nothing) or nearly so would otherwise be scaled up enormously and blow up the read-out
    on test examples where it happens to move; a feature constant in training (a standard deviation
    below ``1e-6`` of the largest one) is set to 0. The penalty :math:`\lambda` is chosen
    from ``penalties`` on the last ``validation`` fraction of the training examples, then the
    read-out is refitted on all of them. Returns ``{"mse", "baseline", "r2", "penalty"}``: the test
    squared error per example, that of predicting the training mean, the fraction of it the probe
    explains (:math:`1 - \text{mse} / \text{baseline}`; 0 means the features tell nothing linear about
    the targets), and the chosen penalty.
    """
    if train_features.ndim != 2 or train_targets.ndim != 2 or len(train_features) != len(train_targets):
        raise ValueError(f"expected train_features (N, F) and train_targets (N, P), got "
                         f"{tuple(train_features.shape)} and {tuple(train_targets.shape)}")
    if test_features.shape[1:] != train_features.shape[1:] or test_targets.shape[1:] != train_targets.shape[1:]:
        raise ValueError(f"expected test arrays with {train_features.shape[1]} features and {train_targets.shape[1]} "
                         f"targets, got {tuple(test_features.shape)} and {tuple(test_targets.shape)}")
    train_features, test_features = train_features.double(), test_features.double()
    mean, std = train_features.mean(0), train_features.std(0)  # (F,), (F,)
    varies = std > 1e-6 * std.max()  # (F,): features with something to fit
    scale = torch.where(varies, 1 / std.clamp_min(torch.finfo(std.dtype).tiny), torch.zeros_like(std))  # (F,)

    def design(features):  # standardised, with a constant column
        scaled = (features - mean) * scale  # (N, F)
        return torch.cat([scaled, scaled.new_ones(len(scaled), 1)], dim=1)  # (N, F + 1)

    def fit_ridge(a, y, penalty):
        eye = torch.eye(a.shape[1], dtype=a.dtype, device=a.device)  # (F + 1, F + 1)
        return torch.linalg.solve(a.T @ a + penalty * eye, a.T @ y)  # (F + 1, P)

    def error(prediction, target):
        return ((prediction - target) ** 2).sum(1).mean().item()

    a, y = design(train_features), train_targets.double()
    cut = int(len(a) * (1 - validation))
    chosen = min(penalties, key=lambda p: error(a[cut:] @ fit_ridge(a[:cut], y[:cut], p), y[cut:]))
    weights = fit_ridge(a, y, chosen)
    test_y = test_targets.double()
    low, high = train_features.min(0).values, train_features.max(0).values  # (F,), (F,)
    mse = error(design(torch.maximum(torch.minimum(test_features, high), low)) @ weights, test_y)
    baseline = error(y.mean(0, keepdim=True), test_y)
    return {"mse": mse, "baseline": baseline, "r2": 1 - mse / baseline, "penalty": chosen}


def motion_targets(positions: Tensor, velocities: Tensor, frame: int, ahead: int = 0) -> dict[str, Tensor]:
    """What a code should know about the motion at input frame ``frame``: targets for :func:`ridge_probe`.

    ``positions, velocities (T, B, D, 2)`` from :func:`sequences` with ``paths=True``. The digits of
    a sequence come in no particular order, so they are put in the order of their column at
    ``frame`` (left to right), which the frame itself shows. Returns ``{"position": (B, 2D),
    "velocity": (B, 2D)}``: each digit's (row, column) ``ahead`` frames after ``frame``, and its
    velocity (rows, columns per frame) at ``frame``, both in pixels.
    """
    if positions.ndim != 4 or positions.shape != velocities.shape or positions.shape[-1] != 2:
        raise ValueError(f"expected positions and velocities of the same shape (T, B, D, 2), got "
                         f"{tuple(positions.shape)} and {tuple(velocities.shape)}")
    if not (0 <= frame and 0 <= ahead and frame + ahead < len(positions)):
        raise ValueError(f"expected 0 <= frame, 0 <= ahead and frame + ahead < T = {len(positions)}, "
                         f"got frame={frame}, ahead={ahead}")
    order = positions[frame, :, :, 1].argsort(dim=1)[..., None].expand(-1, -1, 2)  # (B, D, 2)
    return {"position": positions[frame + ahead].gather(1, order).flatten(1),  # (B, 2D)
            "velocity": velocities[frame].gather(1, order).flatten(1)}  # (B, 2D)


def train_future_readout(model: nn.Module, config: FramesConfig, digits: tuple[Tensor, Tensor], *, epochs: int,
                         seed: int = 0, **options) -> nn.Module:
    """A stronger probe than a linear one: a fresh future decoder trained on ``model``'s *frozen* code.

    Builds an :class:`~rnncourse.models.LSTMFuturePredictor` of ``model.config``, copies
    ``model``'s encoder into it, freezes that encoder (``requires_grad_(False)``) and trains only
    the decoder with :func:`train_seq2seq` (``options`` go there). The decoder starts from
    ``torch.manual_seed(seed)``. What its prediction loss reaches measures how much of the future
    the code holds in a form a decoder can use. ``model`` itself is not changed.
    """
    torch.manual_seed(seed)
    readout = LSTMFuturePredictor(model.config)
    readout.encoder.load_state_dict(model.encoder.state_dict())
    readout.encoder.requires_grad_(False)
    train_seq2seq(readout, config, digits, epochs=epochs, seed=seed, **options)
    return readout
