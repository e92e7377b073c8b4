"""rnncourse.data.digits: the offline digits, the IDX parser and checksums, the source choice, splits
and sequence views."""
from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest
import torch

from rnncourse.data import digits
from rnncourse.data.digits import (MNIST_FILES, OFFLINE_SOURCE, as_sequences, load_digits, load_mnist,
                                   offline_digits, parse_idx, stratified_split)


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes holding ``array``."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def write_mnist(folder, count: int = 6, compress: bool = True, seed: int = 0) -> dict:
    """Four small MNIST-shaped IDX files in ``folder``; returns the arrays written by (split, kind)."""
    rng = np.random.default_rng(seed)
    written = {}
    for split in ("train", "test"):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=(count,), dtype=np.uint8)
        for kind, array in (("images", images), ("labels", labels)):
            name = MNIST_FILES[(split, kind)][0]
            data = idx_bytes(array)
            if compress:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
            written[(split, kind)] = array
    return written


@pytest.fixture
def fake_sums(monkeypatch):
    """Make the checksum table accept whatever files a test writes (by recording their sums)."""
    def record(folder):
        table = {}
        for key, (name, _, _) in MNIST_FILES.items():
            gz, raw = folder / f"{name}.gz", folder / name
            gz_sum = hashlib.sha256(gz.read_bytes()).hexdigest() if gz.exists() else ""
            raw_sum = hashlib.sha256(raw.read_bytes()).hexdigest() if raw.exists() else ""
            table[key] = (name, gz_sum, raw_sum)
        monkeypatch.setattr(digits, "MNIST_FILES", table)
        digits._mnist_arrays.cache_clear()
    yield record
    digits._mnist_arrays.cache_clear()


def test_offline_digits_are_real_mnist_in_unit_range():
    images, labels = offline_digits()
    assert images.shape == (5000, 28, 28) and labels.shape == (5000,)
    assert images.dtype == torch.get_default_dtype() and labels.dtype == torch.int64
    assert 0.0 <= images.min() and images.max() <= 1.0 and images.max() == 1.0
    assert torch.equal(torch.bincount(labels), torch.full((10,), 500))
    # real digits: ink in the middle, an empty border, and a typical MNIST mean intensity (~0.13)
    assert images[:, :2].mean() < 0.01 and images[:, :, 12:16].mean() > 0.2
    assert 0.08 < images.mean() < 0.2


def test_offline_digits_read_once_and_callers_cannot_corrupt_the_cache(device, dtype):
    first, _ = offline_digits()
    first.zero_()
    again, labels = offline_digits(device=device, dtype=dtype)
    assert again.device.type == labels.device.type == device.type and again.dtype == dtype
    assert digits._offline_arrays.cache_info().currsize == 1
    if device.type != "meta":
        assert again.max() == 1.0


def test_nothing_is_read_at_import():
    import importlib
    module = importlib.reload(digits)
    assert module._offline_arrays.cache_info().currsize == 0


@pytest.mark.parametrize("shape", [(5,), (3, 4, 2), (0, 28, 28)])
def test_parse_idx_round_trip(shape):
    array = np.arange(int(np.prod(shape)), dtype=np.uint8).reshape(shape)
    parsed = parse_idx(idx_bytes(array))
    assert parsed.shape == shape and np.array_equal(parsed, array)


def test_parse_idx_other_types_are_big_endian():
    values = np.array([1.5, -2.0], dtype=">f4")
    data = bytes([0, 0, 0x0D, 1]) + np.array([2], dtype=">u4").tobytes() + values.tobytes()
    assert np.array_equal(parse_idx(data), [1.5, -2.0])


@pytest.mark.parametrize("data, message", [
    (b"\x01\x00\x08\x01", "first two bytes"),
    (b"\x00\x00\x42\x01\x00\x00\x00\x01\x00", "type code"),
    (b"\x00\x00\x08\x03\x00\x00", "header"),
    (bytes([0, 0, 8, 1]) + np.array([4], dtype=">u4").tobytes() + b"\x00\x00", "should hold 4 bytes"),
])
def test_parse_idx_rejects_broken_files(data, message):
    with pytest.raises(ValueError, match=message):
        parse_idx(data)


@pytest.mark.parametrize("compress", [True, False], ids=["gz", "raw"])
def test_load_mnist_reads_what_was_written(tmp_path, fake_sums, compress):
    written = write_mnist(tmp_path, compress=compress)
    fake_sums(tmp_path)
    for train, split in ((True, "train"), (False, "test")):
        images, labels = load_mnist(tmp_path, train)
        assert images.shape == (6, 28, 28) and labels.dtype == torch.int64
        torch.testing.assert_close(images, torch.from_numpy(written[(split, "images")]).float() / 255)
        assert torch.equal(labels, torch.from_numpy(written[(split, "labels")]).long())


def test_load_mnist_finds_torchvisions_layout(tmp_path, fake_sums):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_mnist(raw)
    fake_sums(raw)
    assert load_mnist(tmp_path)[0].shape == (6, 28, 28)


@pytest.mark.parametrize("compress", [True, False], ids=["gz", "raw"])
def test_checksum_mismatch_raises_a_clear_error(tmp_path, compress):
    # the real published sums: a file that is not the published one must be refused
    write_mnist(tmp_path, compress=compress)
    digits._mnist_arrays.cache_clear()
    with pytest.raises(ValueError, match="checksum mismatch.*train-images-idx3-ubyte.*expected the published"):
        load_mnist(tmp_path)
    images, _ = load_mnist(tmp_path, verify=False)
    assert images.shape == (6, 28, 28)
    digits._mnist_arrays.cache_clear()


def test_missing_files_never_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_mnist(tmp_path)


def test_published_sums_are_the_known_ones():
    assert MNIST_FILES[("train", "images")][1].startswith("440fcabf73cc546f")
    assert MNIST_FILES[("test", "labels")][1].startswith("f7ae60f92e00ec6d")
    assert all(len(s) == 64 for _, gz, raw in MNIST_FILES.values() for s in (gz, raw))


def test_load_digits_picks_the_idx_files_when_present(tmp_path, fake_sums):
    offline = load_digits(tmp_path)
    assert offline.source == OFFLINE_SOURCE and offline.images.shape == (5000, 28, 28)
    write_mnist(tmp_path)
    fake_sums(tmp_path)
    found = load_digits(tmp_path, train=False)
    assert "MNIST IDX files (t10k" in found.source and str(tmp_path) in found.source
    assert found.images.shape == (6, 28, 28)


def test_default_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNCOURSE_DATA", str(tmp_path))
    assert digits.default_root() == tmp_path / "mnist"


@pytest.mark.parametrize("fractions", [(0.8, 0.2), (0.7, 0.15, 0.15)])
def test_stratified_split_partitions_with_class_proportions(fractions):
    _, labels = offline_digits()
    parts = stratified_split(labels, fractions, seed=1)
    assert len(parts) == len(fractions)
    assert torch.equal(torch.sort(torch.cat(parts)).values, torch.arange(len(labels)))
    for part, fraction in zip(parts, fractions):
        counts = torch.bincount(labels[part], minlength=10)
        assert (counts - 500 * fraction).abs().max() <= 1  # every class in the same proportion
    again = stratified_split(labels, fractions, seed=1)
    other = stratified_split(labels, fractions, seed=2)
    assert all(torch.equal(a, b) for a, b in zip(parts, again))
    assert not torch.equal(parts[-1], other[-1])


@pytest.mark.parametrize("fractions", [(0.5, 0.4), (1.2, -0.2), ()])
def test_stratified_split_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        stratified_split(torch.zeros(10, dtype=torch.long), fractions)


def test_stratified_split_rejects_float_labels():
    with pytest.raises(ValueError, match="1-D integer"):
        stratified_split(torch.zeros(10), (1.0,))


@pytest.mark.parametrize("batch_first", [False, True])
def test_sequences_of_columns_and_rows(batch_first):
    images = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)  # (B=2, H=3, W=4)
    columns = as_sequences(images, "columns", batch_first=batch_first)
    rows = as_sequences(images[:, None], "rows", batch_first=batch_first)
    if batch_first:
        columns, rows = columns.transpose(0, 1), rows.transpose(0, 1)
    assert columns.shape == (4, 2, 3) and rows.shape == (3, 2, 4)
    assert torch.equal(columns[1, 0], images[0, :, 1])  # step 1 of sequence 0 is its column 1
    assert torch.equal(rows[2, 1], images[1, 2, :])  # step 2 of sequence 1 is its row 2


def test_sequences_reject_bad_input():
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        as_sequences(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="'rows' or 'columns'"):
        as_sequences(torch.zeros(1, 3, 4), by="diagonal")
