"""Text for character-level language models: a real public-domain English text that works offline,
a character vocabulary, and the batching that truncated back-propagation through time needs.

:func:`shakespeare` returns the head of "tiny Shakespeare" that the package carries (250,297
characters; provenance, licence and checksums in ``rnncourse/data/texts/README.md``), or the full
1.1 MB file from the cache folder when it is on disk and its checksum matches. Nothing is read at
import time and nothing is ever downloaded.

Shape legend: ``N`` characters, ``B`` parallel streams (the batch), ``T`` steps of a chunk.
"""
from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path

import torch
from torch import Tensor

from .._validation import check_tensor, shape_str

SHAKESPEARE_HEAD_SHA256 = "e2485f6ec3402eca17ab4f1c91195380523969eac0a9d971a4fa78e3da1d03b5"
SHAKESPEARE_FULL_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def cache_dir() -> Path:
    """The folder where data files the package does not carry are looked for:
    ``$RNNCOURSE_DATA`` when set, else ``~/.cache/rnncourse``."""
    return Path(os.environ.get("RNNCOURSE_DATA", Path.home() / ".cache" / "rnncourse"))


def _read_checked(path: Path, sha256: str) -> str:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ValueError(f"checksum mismatch for {path}: expected SHA-256 {sha256}, got {digest}")
    return data.decode("utf-8")


def shakespeare(full: bool = False, path: str | os.PathLike | None = None) -> str:
    """Shakespeare's plays as one plain-text string (speaker lines such as ``"ROMEO:"``, blank lines
    between speeches).

    Args:
        full: read the full tiny-Shakespeare file (1,115,394 characters) from
            ``path`` or ``cache_dir() / "tinyshakespeare" / "input.txt"``; raises
            ``FileNotFoundError`` saying where to put it when it is not there. The default reads the
            250,297-character head the package carries.
        path: where the full file is, instead of the cache folder (implies ``full``).

    Both files are checked against their SHA-256 before use.
    """
    if path is not None or full:
        location = Path(path) if path is not None else cache_dir() / "tinyshakespeare" / "input.txt"
        if not location.is_file():
            raise FileNotFoundError(
                f"the full tiny-Shakespeare text is not at {location}; copy char-rnn's "
                f"data/tinyshakespeare/input.txt there (SHA-256 {SHAKESPEARE_FULL_SHA256}), "
                f"or call shakespeare() for the bundled head"
            )
        return _read_checked(location, SHAKESPEARE_FULL_SHA256)
    with resources.as_file(resources.files("rnncourse.data") / "texts" / "tinyshakespeare_head.txt") as head:
        return _read_checked(head, SHAKESPEARE_HEAD_SHA256)


class CharVocabulary:
    """The characters of a text, each mapped to an index in sorted order.

    Example:
        >>> vocabulary = CharVocabulary.from_text("hello")
        >>> len(vocabulary), vocabulary.chars
        (4, ['e', 'h', 'l', 'o'])
        >>> vocabulary.encode("hole")
        tensor([1, 3, 2, 0])
        >>> vocabulary.decode(vocabulary.encode("hole"))
        'hole'
    """

    def __init__(self, chars) -> None:
        self.chars = list(chars)
        if len(set(self.chars)) != len(self.chars) or not all(isinstance(c, str) and len(c) == 1 for c in self.chars):
            raise ValueError("expected distinct single characters")
        self.index = {char: i for i, char in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocabulary:
        if not isinstance(text, str) or not text:
            raise ValueError(f"expected a non-empty str, got {type(text).__name__} {text!r:.20}")
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str, device=None) -> Tensor:
        """``text`` as a ``(N,)`` int64 tensor of indices; a character outside the vocabulary is a ``ValueError``."""
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown[:10]!r}")
        return torch.tensor([self.index[c] for c in text], dtype=torch.long, device=device)  # (N,)

    def decode(self, indices) -> str:
        """A ``(N,)`` tensor or sequence of indices back to text."""
        values = indices.tolist() if isinstance(indices, Tensor) else list(indices)
        return "".join(self.chars[i] for i in values)

    def __repr__(self) -> str:
        return f"CharVocabulary({len(self)} characters)"


def train_validation_split(data, validation_fraction: float = 0.1):
    """Split a text (``str``) or an encoded ``(N,)`` tensor into a training head and a validation tail.

    The split is contiguous, not shuffled: the validation text is a passage the model never saw,
    as held-out text must be for a language model (a random split of characters would leak context).
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"expected validation_fraction in (0, 1), got {validation_fraction!r}")
    size = len(data)
    cut = size - max(1, round(size * validation_fraction))
    if cut < 1:
        raise ValueError(f"a text of {size} characters is too short to split")
    return data[:cut], data[cut:]


def batchify(data: Tensor, batch_size: int) -> Tensor:
    """Cut a ``(N,)`` encoded text into ``batch_size`` contiguous streams, time-major ``(N // B, B)``.

    Column ``b`` is the ``b``-th slice of the text, so a state carried from one chunk of rows to the
    next continues the same passage (truncated BPTT). The last ``N % B`` characters are dropped.

    Example:
        >>> batchify(torch.arange(10), 3)
        tensor([[0, 3, 6],
                [1, 4, 7],
                [2, 5, 8]])
    """
    check_tensor(data, "data")
    if data.dim() != 1:
        raise ValueError(f"expected data of shape (N,), got {shape_str(data.shape)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"expected batch_size to be a positive int, got {batch_size!r}")
    steps = data.shape[0] // batch_size
    if steps < 2:
        raise ValueError(f"expected at least {2 * batch_size} characters for batch_size={batch_size}, got {data.shape[0]}")
    return data[: steps * batch_size].view(batch_size, steps).t().contiguous()  # (N // B, B)
