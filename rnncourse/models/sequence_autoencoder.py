"""The minimal sequence autoencoder of the lecture notes (Keras's ``LSTM`` -> ``RepeatVector`` -> ``LSTM``).

A third decoder form beside Srivastava et al.'s two: the encoder's last ``h`` is the decoder's
*input* at every step and the decoder's state starts at zero (nothing is copied), and the decoder
rebuilds the sequence in forward order. Shape legend: ``T`` steps, ``B`` batch, ``I`` features,
``Z`` latent size, ``H`` decoder units.
"""
from __future__ import annotations

from torch import Tensor, nn

from .._validation import check_choice, check_sequence_input
from ..recurrent import LSTM
from .seq2seq import frame_loss


class SequenceAutoencoder(nn.Module):
    r"""``LSTM(latent_size)`` -> repeat ``T`` times -> ``LSTM``, as in the Keras example.

    Args:
        input_size: ``I``, features of each step.
        latent_size: ``Z``, the encoder's units; its last ``h_T`` is the code.
        readout: ``False`` (the Keras original): the decoder is ``LSTM(Z, I)`` and its ``h_t`` *is*
            the output, so every output lies in ``(-1, 1)``: ``h_t = o_t \odot \tanh(c_t)``, and
            no output can reach a pixel value of exactly 1 or any value above it; trained with
            squared error. ``True`` (the fix for data in ``[0, 1]``): the decoder is ``LSTM(Z, H)``
            followed by a linear read-out to ``I`` logits, trained with cross-entropy, so the
            frames ``sigmoid(logits)`` cover ``(0, 1)``.
        hidden_size: ``H``, the decoder's units with ``readout=True`` (default ``latent_size``).
        output: with ``readout=True``, ``"logistic"`` (logits and cross-entropy, as above) or
            ``"linear"`` (a linear read-out trained with squared error, whose outputs are not
            bounded either way); ignored without a read-out.

    Inputs: ``input (T, B, I)``. Output: ``(T, B, I)`` in forward order (``h_t`` values without
    read-out, logits with it).

    Example:
        >>> import torch
        >>> model = SequenceAutoencoder(6, 4)
        >>> output = model(torch.rand(5, 3, 6))
        >>> output.shape, bool(output.abs().max() < 1)
        (torch.Size([5, 3, 6]), True)
    """

    def __init__(self, input_size: int, latent_size: int, readout: bool = False, hidden_size: int | None = None,
                 output: str = "logistic") -> None:
        super().__init__()
        check_choice(output, "output", ("logistic", "linear"))
        self.output = output
        self.input_size = input_size
        self.encoder = LSTM(input_size, latent_size)
        if readout:
            hidden_size = latent_size if hidden_size is None else hidden_size
            self.decoder = LSTM(latent_size, hidden_size)
            self.readout = nn.Linear(hidden_size, input_size)
        else:
            self.decoder = LSTM(latent_size, input_size)
            self.readout = None

    @property
    def output_kind(self) -> str:
        """``"linear"`` without a read-out (the decoder's ``h_t`` itself), else ``output``."""
        return "linear" if self.readout is None else self.output

    def encode(self, input: Tensor) -> Tensor:
        """The code, the encoder's last ``h``: ``(B, Z)``."""
        inputs, _ = check_sequence_input(input, self.input_size, batch_first=False)  # (T, B, I)
        _, (h_n, _) = self.encoder(inputs)  # (1, B, Z)
        return h_n[-1]  # (B, Z)

    def forward(self, input: Tensor) -> Tensor:
        inputs, _ = check_sequence_input(input, self.input_size, batch_first=False)  # (T, B, I)
        code = self.encode(inputs)  # (B, Z)
        repeated = code.unsqueeze(0).expand(inputs.shape[0], -1, -1)  # (T, B, Z): RepeatVector
        output, _ = self.decoder(repeated)  # (T, B, I or H), decoder state from zeros
        return output if self.readout is None else self.readout(output)  # (T, B, I)

    def loss(self, input: Tensor) -> Tensor:
        """Squared error (no read-out, or ``output="linear"``) or cross-entropy (``"logistic"``) against ``input`` in forward order."""
        return frame_loss(self(input), input, self.output_kind)
