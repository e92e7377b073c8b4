"""rnncourse.viz.seq2seq: the encoder-decoder diagrams carry the right frames, links and captions."""
from __future__ import annotations

import itertools
import re

import matplotlib

matplotlib.use("Agg")  # before pyplot: no window, the same pixels on every machine

import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from rnncourse import viz  # noqa: E402

from helpers import texts  # noqa: E402

pytestmark = pytest.mark.usefixtures("close_figures")


def frame_numbers(ax) -> list[int]:
    """The ``t`` of every output label ``$\\hat x_{t}$``, in drawing order."""
    pattern = re.compile(r"^\$\\hat x_\{(\d+)\}\$$")
    return [int(m.group(1)) for m in map(pattern.match, texts(ax)) if m]


def dashed_arrows(ax) -> int:
    return sum(1 for a in ax.get_children() if isinstance(a, FancyArrowPatch) and a.get_linestyle() == "--")


@pytest.mark.parametrize("steps", [2, 3, 5])
def test_autoencoder_writes_the_input_reversed_and_predictor_what_follows(steps):
    assert frame_numbers(viz.draw_seq2seq("autoencoder", steps=steps)) == list(range(steps, 0, -1))
    assert frame_numbers(viz.draw_seq2seq("predictor", steps=steps, future=4)) == list(range(steps + 1, steps + 5))


@pytest.mark.parametrize("model, decoders", [("autoencoder", 1), ("predictor", 1), ("composite", 2)])
def test_conditional_links_are_dashed_and_only_when_conditional(model, decoders):
    steps = 4
    assert dashed_arrows(viz.draw_seq2seq(model, steps=steps, conditional=True)) == decoders * (steps - 1)
    assert dashed_arrows(viz.draw_seq2seq(model, steps=steps, conditional=False)) == 0


def test_composite_has_one_encoder_and_two_decoders_from_one_state():
    ax = viz.draw_seq2seq("composite", steps=3)
    drawn = texts(ax)
    assert drawn.count("encoder") == 1 and "future decoder" in drawn and "reconstruction\ndecoder" in drawn
    assert sorted(frame_numbers(ax)) == [1, 2, 3, 4, 5, 6]
    assert sum("copy" in text for text in drawn) == 2 and any("(h_{3}, c_{3})" in text for text in drawn)


def test_repeat_form_feeds_the_code_and_starts_from_zero():
    drawn = texts(viz.draw_seq2seq("repeat", steps=3))
    assert "$0$" in drawn and any("z = h_{3}" in text for text in drawn)
    assert frame_numbers(viz.draw_seq2seq("repeat", steps=3)) == [1, 2, 3]  # forward order
    assert dashed_arrows(viz.draw_seq2seq("repeat", steps=3)) == 0 and not any("copy" in t for t in drawn)


@pytest.mark.parametrize("model", viz.SEQ2SEQ_MODELS)
def test_no_two_labels_overlap(model):
    ax = viz.draw_seq2seq(model, steps=3)
    renderer = ax.figure.canvas.get_renderer()
    extents = [text.get_window_extent(renderer) for text in ax.texts if text.get_text()]
    for a, b in itertools.combinations(extents, 2):
        assert not a.overlaps(b), f"labels overlap in {model}: {a} and {b}"
    title = ax.title.get_window_extent(renderer)
    assert not any(title.overlaps(extent) for extent in extents)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="expected model to be one of"):
        viz.draw_seq2seq("transformer")
    with pytest.raises(ValueError, match="expected steps to be a positive int"):
        viz.draw_seq2seq("predictor", steps=0)


def test_frame_rows_show_the_given_frames():
    truth, guess = torch.rand(4, 1, 6, 6), torch.rand(3, 6, 6)
    fig = viz.plot_frame_rows({"truth": truth, "prediction": guess}, first=5, marks={3: "past"})
    axes = fig.axes
    assert len(axes) == 8 and torch.equal(torch.as_tensor(axes[1].images[0].get_array()), truth[1, 0])
    assert axes[0].get_title() == "5" and axes[3].get_title() == "8\npast" and not axes[7].images
    with pytest.raises(ValueError, match="at least one row"):
        viz.plot_frame_rows({})


def test_weight_images_reshape_rows():
    fig = viz.plot_weight_images(torch.arange(32.0).view(2, 16), (4, 4), count=5)
    assert len(fig.axes) == 2 and fig.axes[1].images[0].get_array().shape == (4, 4)
    with pytest.raises(ValueError, match=r"expected weights of shape \(N, 9\)"):
        viz.plot_weight_images(torch.zeros(2, 16), (3, 3))
