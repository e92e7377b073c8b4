"""Encoder-decoder LSTMs on sequences of frames (Srivastava, Mansimov & Salakhutdinov 2015).

An encoder LSTM reads the input frames; its final state ``(h, c)``, every layer's, is copied into
one or two decoder LSTMs, which is all a decoder knows about the input:

- :class:`LSTMAutoencoder`: one decoder reconstructs the input frames **in reverse order**;
- :class:`LSTMFuturePredictor`: one decoder predicts the frames that follow;
- :class:`CompositeLSTM`: one encoder, both decoders; the loss is the sum of their losses.

A decoder is *conditional* when each step is fed the frame before the one it outputs (the
ground truth with teacher forcing, or its own previous output), *unconditional* when it only
passes its state on. Frames are fully connected (``kind="fc"``: the paper's FC-LSTM, each frame
flattened) or convolutional (``kind="conv"``: ConvLSTM layers, Shi et al. 2015's encoder-forecaster).

Shape legend: ``T`` input frames, ``K`` output frames, ``B`` batch, ``C, Hf, Wf`` a frame's
channels, height and width, ``H`` hidden units (channels for ConvLSTM), ``N_L`` layers.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._validation import check_choice, check_tensor, shape_str
from ..cells.lstm import LSTMCell

LayerState = tuple[Tensor, Tensor]  # (h, c) of one layer
StackState = tuple[LayerState, ...]  # one (h, c) per layer, bottom first


@dataclass
class Seq2SeqConfig:
    """Everything that sizes the three models; :meth:`paper` is Srivastava et al.'s Moving MNIST size."""

    frame_shape: tuple[int, int, int] = (1, 16, 16)  # (C, Hf, Wf) of one frame
    hidden_size: int = 256  # units of every LSTM layer (hidden channels for kind="conv")
    num_layers: int = 1  # stacked LSTM layers, the same in the encoder and each decoder
    kind: str = "fc"  # "fc": frames flattened, FC-LSTM; "conv": ConvLSTM layers on the frame grid
    kernel_size: int = 5  # ConvLSTM kernel (kind="conv" only)
    conditional_reconstruction: bool = False  # reconstruction decoder fed its previous frame (False: state only)
    conditional_future: bool = False  # future decoder fed its previous frame (False: state only)
    output: str = "logistic"  # "logistic": logits, cross-entropy; "linear": values, squared error
    future_steps: int = 5  # frames the future predictor produces by default

    @classmethod
    def paper(cls, **changes) -> "Seq2SeqConfig":
        """64x64 frames, 2048-unit LSTMs, 10 -> 10 frames, as in the paper's Moving MNIST runs."""
        values = dict(frame_shape=(1, 64, 64), hidden_size=2048, num_layers=1, future_steps=10)
        return cls(**{**values, **changes})

    def __post_init__(self) -> None:
        check_choice(self.kind, "kind", ("fc", "conv"))
        check_choice(self.output, "output", ("logistic", "linear"))
        if len(self.frame_shape) != 3 or not all(isinstance(n, int) and n > 0 for n in self.frame_shape):
            raise ValueError(f"expected frame_shape to be three positive ints (C, Hf, Wf), got {self.frame_shape!r}")
        for name in ("hidden_size", "num_layers", "kernel_size", "future_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        self.frame_shape = tuple(self.frame_shape)


# ---------------------------------------------------------------------------------------------
# A stack of LSTM layers stepped one frame at a time, and its read-out to a frame
# ---------------------------------------------------------------------------------------------


class FCStack(nn.Module):
    """Stacked :class:`~rnncourse.cells.LSTMCell` layers on flattened frames: ``step(x (B, C, Hf, Wf), state)``.

    With ``takes_input=False`` the stack has no input (an unconditional decoder): its first layer
    gets one constant zero feature, so that ``W_ih x = 0`` and only the state drives it. With
    ``readout=False`` (an encoder) it has no read-out and ``step`` returns ``None`` for the frame.
    """

    def __init__(self, frame_shape, hidden_size: int, num_layers: int, takes_input: bool = True,
                 readout: bool = True) -> None:
        super().__init__()
        self.frame_shape = tuple(frame_shape)
        self.takes_input = takes_input
        features = frame_shape[0] * frame_shape[1] * frame_shape[2]  # C*Hf*Wf
        sizes = [features if takes_input else 1] + [hidden_size] * (num_layers - 1)
        self.layers = nn.ModuleList(LSTMCell(size, hidden_size) for size in sizes)
        self.readout = nn.Linear(hidden_size, features) if readout else None

    def state_shape(self, batch: int) -> tuple[int, ...]:
        return (batch, self.layers[0].hidden_size)

    def step(self, x: Tensor | None, state: StackState) -> tuple[Tensor, StackState]:
        """``x (B, C, Hf, Wf)`` (``None`` for an input-free stack) -> ``(frame (B, C, Hf, Wf), new state)``."""
        h = state[0][0]
        layer_input = x.flatten(1) if self.takes_input else h.new_zeros(h.shape[0], 1)  # (B, C*Hf*Wf) or (B, 1)
        new_state = []
        for layer, layer_state in zip(self.layers, state):
            layer_state = layer(layer_input, layer_state)  # (h, c) each (B, H)
            new_state.append(layer_state)
            layer_input = layer_state[0]
        if self.readout is None:
            return None, tuple(new_state)
        return self.readout(layer_input).view(-1, *self.frame_shape), tuple(new_state)  # (B, C, Hf, Wf)


class ConvStack(nn.Module):
    """Stacked ConvLSTM cells on the frame grid; a 1x1 convolution reads a frame out of the top ``h``."""

    def __init__(self, frame_shape, hidden_size: int, num_layers: int, kernel_size: int,
                 takes_input: bool = True, readout: bool = True) -> None:
        super().__init__()
        from ..cells import ConvLSTMCell  # the ConvLSTM family lives with the other cells

        self.frame_shape = tuple(frame_shape)
        self.takes_input = takes_input
        channels = [frame_shape[0] if takes_input else 1] + [hidden_size] * (num_layers - 1)
        self.layers = nn.ModuleList(ConvLSTMCell(c, hidden_size, kernel_size) for c in channels)
        self.readout = nn.Conv2d(hidden_size, frame_shape[0], kernel_size=1) if readout else None

    def state_shape(self, batch: int) -> tuple[int, ...]:
        return (batch, self.layers[0].hidden_channels, *self.frame_shape[1:])

    def step(self, x: Tensor | None, state: StackState) -> tuple[Tensor, StackState]:
        """``x (B, C, Hf, Wf)`` (``None`` for an input-free stack) -> ``(frame (B, C, Hf, Wf), new state)``."""
        h = state[0][0]
        layer_input = x if self.takes_input else h.new_zeros(h.shape[0], 1, *h.shape[2:])  # (B, C|1, Hf, Wf)
        new_state = []
        for layer, layer_state in zip(self.layers, state):
            layer_state = layer(layer_input, layer_state)  # (h, c) each (B, H, Hf, Wf)
            new_state.append(layer_state)
            layer_input = layer_state[0]
        if self.readout is None:
            return None, tuple(new_state)
        return self.readout(layer_input), tuple(new_state)  # (B, C, Hf, Wf)


def make_stack(config: Seq2SeqConfig, takes_input: bool = True, readout: bool = True) -> nn.Module:
    """The FC or ConvLSTM stack that ``config.kind`` names."""
    if config.kind == "conv":
        return ConvStack(config.frame_shape, config.hidden_size, config.num_layers, config.kernel_size,
                         takes_input, readout)
    return FCStack(config.frame_shape, config.hidden_size, config.num_layers, takes_input, readout)


# ---------------------------------------------------------------------------------------------
# Frames, targets, losses
# ---------------------------------------------------------------------------------------------


def check_frames(frames, frame_shape, name: str) -> Tensor:
    """``frames`` must be ``(T, B, C, Hf, Wf)`` with the configured frame shape and ``T >= 1``."""
    check_tensor(frames, name)
    expected = f"(T, B, {', '.join(str(n) for n in frame_shape)})"
    if frames.dim() != 5 or tuple(frames.shape[2:]) != tuple(frame_shape) or frames.shape[0] == 0:
        raise ValueError(f"expected {name} of shape {expected}, got {shape_str(frames.shape)}")
    return frames


def reconstruction_target(inputs: Tensor) -> Tensor:
    """What the autoencoder's decoder must output: the input frames in reverse order, ``(T, B, ...)``.

    The decoder starts from the encoder's last state, so its first output is the last input frame:
    the dependencies it must bridge first are the shortest ones (Srivastava et al., §2.3).
    """
    return inputs.flip(0)  # (T, B, ...)


def frame_loss(output: Tensor, target: Tensor, kind: str = "logistic") -> Tensor:
    """The loss of predicted frames, summed over frames and pixels and averaged over sequences.

    ``kind="logistic"``: ``output`` holds logits and the loss is the cross-entropy with targets in
    ``[0, 1]`` (the paper's Moving MNIST loss); ``kind="linear"``: squared error (its percepts).
    ``output`` and ``target`` are ``(K, B, ...)``; returns a scalar.
    """
    check_choice(kind, "kind", ("logistic", "linear"))
    if output.shape != target.shape:
        raise ValueError(f"expected output and target of the same shape, got {shape_str(output.shape)} "
                         f"and {shape_str(target.shape)}")
    if kind == "logistic":
        total = nn.functional.binary_cross_entropy_with_logits(output, target, reduction="sum")
    else:
        total = nn.functional.mse_loss(output, target, reduction="sum")
    return total / target.shape[1]


def to_frames(output: Tensor, kind: str = "logistic") -> Tensor:
    """Model outputs as frames: ``sigmoid`` of logits for ``"logistic"``, unchanged for ``"linear"``."""
    return torch.sigmoid(output) if kind == "logistic" else output


# ---------------------------------------------------------------------------------------------
# Encoder and decoder
# ---------------------------------------------------------------------------------------------


class Encoder(nn.Module):
    """Reads frames ``(T, B, C, Hf, Wf)`` from first to last; returns its final state, one ``(h, c)`` per layer."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.stack = make_stack(config, takes_input=True, readout=False)

    def initial_state(self, batch: int, like: Tensor) -> StackState:
        shape = self.stack.state_shape(batch)  # (B, H) or (B, H, Hf, Wf)
        return tuple((like.new_zeros(shape), like.new_zeros(shape)) for _ in self.stack.layers)

    def forward(self, frames: Tensor) -> StackState:
        state = self.initial_state(frames.shape[1], frames)
        for frame in frames:  # (B, C, Hf, Wf)
            _, state = self.stack.step(frame, state)
        return state


class Decoder(nn.Module):
    """Unrolls from a copied state; conditional decoders are fed the frame before the one they output.

    Args:
        config: the sizes.
        conditional: feed step ``k`` the frame of step ``k - 1`` (zeros at ``k = 0``); otherwise
            the decoder has no input and only its state carries information from step to step.
    """

    def __init__(self, config: Seq2SeqConfig, conditional: bool) -> None:
        super().__init__()
        self.conditional = conditional
        self.output_kind = config.output
        self.stack = make_stack(config, takes_input=conditional, readout=True)

    def step(self, previous: Tensor | None, state: StackState) -> tuple[Tensor, StackState]:
        """One step: ``previous (B, C, Hf, Wf)`` (ignored when unconditional) -> ``(output (B, C, Hf, Wf), state)``."""
        return self.stack.step(previous if self.conditional else None, state)

    def forward(self, state: StackState, steps: int, targets: Tensor | None = None) -> Tensor:
        """``steps`` outputs ``(K, B, C, Hf, Wf)`` (logits for logistic outputs) from the copied ``state``.

        A conditional decoder is fed ``targets[k - 1]`` at step ``k`` when ``targets (K, B, ...)``
        is given (teacher forcing), else its own previous output as a frame (``sigmoid`` of the
        logits). Step 0 is fed zeros.
        """
        h = state[0][0]
        previous = h.new_zeros(h.shape[0], *self.stack.frame_shape) if self.conditional else None  # (B, C, Hf, Wf)
        outputs = []
        for k in range(steps):
            output, state = self.step(previous, state)  # (B, C, Hf, Wf)
            outputs.append(output)
            if self.conditional:
                previous = targets[k] if targets is not None else to_frames(output, self.output_kind)
        return torch.stack(outputs)  # (K, B, C, Hf, Wf)


# ---------------------------------------------------------------------------------------------
# The three models
# ---------------------------------------------------------------------------------------------


class _EncoderDecoder(nn.Module):
    """What the three models share: the encoder, input checks, the code, the two kinds of decoding."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        if not isinstance(config, Seq2SeqConfig):
            raise TypeError(f"expected config to be a Seq2SeqConfig, got {type(config).__name__}")
        self.config = config
        self.encoder = Encoder(config)

    def encode(self, inputs: Tensor) -> StackState:
        """The encoder's final state for ``inputs (T, B, C, Hf, Wf)``: one ``(h, c)`` per layer."""
        return self.encoder(check_frames(inputs, self.config.frame_shape, "inputs"))

    def code(self, inputs: Tensor) -> Tensor:
        """The representation: every layer's final ``h`` and ``c``, flattened, ``(B, 2 * L * H)``
        (``(B, 2 * L * H * Hf * Wf)`` for ConvLSTM)."""
        return torch.cat([t.flatten(1) for layer in self.encode(inputs) for t in layer], dim=1)

    def _reconstruct(self, state: StackState, inputs: Tensor, teacher_forcing: bool) -> Tensor:
        target = reconstruction_target(inputs) if teacher_forcing else None  # (T, B, ...)
        return self.reconstruction_decoder(state, inputs.shape[0], target)

    def _predict(self, state: StackState, inputs: Tensor, future: Tensor | None, steps: int | None,
                 teacher_forcing: bool) -> Tensor:
        if future is not None:
            check_frames(future, self.config.frame_shape, "future")
            if future.shape[1] != inputs.shape[1]:
                raise ValueError(f"expected future with the batch size of inputs, {inputs.shape[1]}, "
                                 f"got {shape_str(future.shape)}")
        if steps is None:
            steps = future.shape[0] if future is not None else self.config.future_steps
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"expected steps to be a positive int, got {steps!r}")
        targets = None
        if teacher_forcing and self.future_decoder.conditional:
            if future is None or future.shape[0] < steps:
                raise ValueError(f"teacher forcing feeds the true future frames, so it needs future with at least "
                                 f"steps={steps} frames, got {None if future is None else shape_str(future.shape)}")
            targets = future
        return self.future_decoder(state, steps, targets)

    def _future_loss(self, inputs, future, teacher_forcing) -> Tensor:
        if future is None:
            raise ValueError("expected future frames (K, B, C, Hf, Wf) to compute the prediction loss, got None")
        prediction = self._predict(self.encode(inputs), inputs, future, None, teacher_forcing)
        return frame_loss(prediction, future, self.config.output)


class LSTMAutoencoder(_EncoderDecoder):
    r"""Encoder LSTM, then a decoder LSTM that reconstructs the input frames in reverse order.

    Inputs: ``inputs (T, B, C, Hf, Wf)``. Output: ``(T, B, C, Hf, Wf)``, logits for logistic
    outputs, aligned with :func:`reconstruction_target` ``(inputs)`` (so ``output[0]`` is the
    reconstruction of ``inputs[-1]``). ``teacher_forcing=True`` feeds a conditional decoder the
    true previous frame; otherwise it is fed its own output.

    Example:
        >>> import torch
        >>> model = LSTMAutoencoder(Seq2SeqConfig(frame_shape=(1, 8, 8), hidden_size=32))
        >>> model(torch.rand(5, 2, 1, 8, 8)).shape
        torch.Size([5, 2, 1, 8, 8])
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__(config)
        self.reconstruction_decoder = Decoder(config, config.conditional_reconstruction)

    def forward(self, inputs: Tensor, teacher_forcing: bool = False) -> Tensor:
        return self._reconstruct(self.encode(inputs), inputs, teacher_forcing)

    def loss(self, inputs: Tensor, future: Tensor | None = None, teacher_forcing: bool = True) -> Tensor:
        """Reconstruction loss of ``inputs`` (``future`` is accepted and ignored, so that every model trains alike)."""
        return frame_loss(self(inputs, teacher_forcing), reconstruction_target(inputs), self.config.output)


class LSTMFuturePredictor(_EncoderDecoder):
    r"""Encoder LSTM, then a decoder LSTM that predicts the frames that follow the input.

    Inputs: ``inputs (T, B, C, Hf, Wf)``; ``future (K, B, C, Hf, Wf)``, needed only for teacher
    forcing; ``steps`` frames to predict (default ``K``, else ``config.future_steps``; more than
    were trained runs past the horizon). Output: ``(steps, B, C, Hf, Wf)``, logits for logistic outputs.

    Example:
        >>> import torch
        >>> model = LSTMFuturePredictor(Seq2SeqConfig(frame_shape=(1, 8, 8), hidden_size=32))
        >>> model(torch.rand(5, 2, 1, 8, 8), steps=7).shape
        torch.Size([7, 2, 1, 8, 8])
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__(config)
        self.future_decoder = Decoder(config, config.conditional_future)

    def forward(self, inputs: Tensor, future: Tensor | None = None, steps: int | None = None,
                teacher_forcing: bool = False) -> Tensor:
        return self._predict(self.encode(inputs), inputs, future, steps, teacher_forcing)

    def loss(self, inputs: Tensor, future: Tensor, teacher_forcing: bool = True) -> Tensor:
        """Prediction loss of ``future (K, B, C, Hf, Wf)`` given ``inputs``."""
        return self._future_loss(inputs, future, teacher_forcing)


class CompositeLSTM(_EncoderDecoder):
    r"""One encoder, two decoders: the reconstruction (reversed input) and the future, from one copied state.

    Output: ``(reconstruction (T, B, C, Hf, Wf), prediction (steps, B, C, Hf, Wf))``; arguments as
    :class:`LSTMFuturePredictor`. Its loss is the sum of the two decoders' losses, so the code
    must serve both: it cannot only memorise the input (it must predict) nor keep only the last
    frames (it must reconstruct the first).

    Example:
        >>> import torch
        >>> model = CompositeLSTM(Seq2SeqConfig(frame_shape=(1, 8, 8), hidden_size=32))
        >>> reconstruction, prediction = model(torch.rand(5, 2, 1, 8, 8), steps=3)
        >>> reconstruction.shape, prediction.shape
        (torch.Size([5, 2, 1, 8, 8]), torch.Size([3, 2, 1, 8, 8]))
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__(config)
        self.reconstruction_decoder = Decoder(config, config.conditional_reconstruction)
        self.future_decoder = Decoder(config, config.conditional_future)

    def forward(self, inputs: Tensor, future: Tensor | None = None, steps: int | None = None,
                teacher_forcing: bool = False) -> tuple[Tensor, Tensor]:
        state = self.encode(inputs)  # copied into both decoders
        return (self._reconstruct(state, inputs, teacher_forcing),
                self._predict(state, inputs, future, steps, teacher_forcing))

    def losses(self, inputs: Tensor, future: Tensor, teacher_forcing: bool = True) -> dict[str, Tensor]:
        """``{"reconstruction": ..., "future": ...}``, each as :func:`frame_loss` computes it."""
        if future is None:
            raise ValueError("expected future frames (K, B, C, Hf, Wf) to compute the prediction loss, got None")
        reconstruction, prediction = self(inputs, future, None, teacher_forcing)
        return {"reconstruction": frame_loss(reconstruction, reconstruction_target(inputs), self.config.output),
                "future": frame_loss(prediction, future, self.config.output)}

    def loss(self, inputs: Tensor, future: Tensor, teacher_forcing: bool = True) -> Tensor:
        """The sum of the reconstruction and the prediction losses."""
        losses = self.losses(inputs, future, teacher_forcing)
        return losses["reconstruction"] + losses["future"]


class Objective(nn.Module):
    """Adapts a model to :func:`rnncourse.train.fit`: ``Objective(model)((inputs, future))`` is
    ``model.loss(inputs, future, teacher_forcing)``; train with ``loss_fn=objective_loss`` and
    batches ``((inputs, future), future)``."""

    def __init__(self, model: _EncoderDecoder, teacher_forcing: bool = True) -> None:
        super().__init__()
        self.model = model
        self.teacher_forcing = teacher_forcing

    def forward(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        inputs, future = batch
        return self.model.loss(inputs, future, self.teacher_forcing)


def objective_loss(loss: Tensor, _targets) -> Tensor:
    """The ``loss_fn`` for :class:`Objective`: the model already returned its loss."""
    return loss
