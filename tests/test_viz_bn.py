"""rnncourse.viz.bn: the BN-LSTM diagram has a normalisation exactly where each variant puts one, and
the statistics picture outlines the entries each kind of statistics averages over."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot: no window, the same pixels on every machine

import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from rnncourse import viz  # noqa: E402

from helpers import texts  # noqa: E402

pytestmark = pytest.mark.usefixtures("close_figures")
NORMS = {"x": r"$\mathrm{BN}_x(\cdot\,;t)$", "h": r"$\mathrm{BN}_h(\cdot\,;t)$", "c": r"$\mathrm{BN}_c(\cdot\,;t)$"}


@pytest.mark.parametrize("normalize, drawn", [("cooijmans", "xhc"), ("laurent", "x")])
def test_bn_lstm_cell_normalises_where_the_variant_does(normalize, drawn):
    labels = texts(viz.draw_bn_lstm_cell(normalize))
    assert [name for name, label in NORMS.items() if label in labels] == list(drawn)
    for label in (r"$W_{ih}$", r"$W_{hh}$", r"$c_{t-1}$", r"$c_t$", r"$h_t$", "$b$", "tanh"):
        assert label in labels
    assert labels.count(r"$\sigma$") == 3 and labels.count(r"$\tanh$") == 1  # f, i, o and the candidate g


def test_bn_lstm_cell_highlight_outlines_the_norm_boxes():
    ax = viz.draw_bn_lstm_cell(highlight=True)
    outlined = [patch for patch in ax.patches if patch.get_linewidth() > 2.5]
    assert len(outlined) == 3


def test_bn_lstm_cell_refuses_an_unknown_variant():
    with pytest.raises(ValueError, match="cooijmans"):
        viz.draw_bn_lstm_cell("batch")


def outlined_cells(ax):
    """(t, b) of each outlined rectangle, 0-based: x is the step, y = -b - 1 the sequence."""
    return [(round(r.get_x()), -round(r.get_y()) - 1, round(r.get_width())) for r in ax.patches
            if isinstance(r, Rectangle) and not r.get_fill()]


def test_statistics_picture_frame_wise_is_one_step_sequence_wise_every_real_entry():
    lengths = (5, 3, 5, 2)
    frame, sequence = viz.draw_bn_statistics(steps=5, lengths=lengths, step=3)
    assert sorted(outlined_cells(frame)) == [(2, 0, 1), (2, 1, 1), (2, 2, 1)]  # not sequence 4: it has 2 steps
    assert sorted(outlined_cells(sequence)) == [(0, b, length) for b, length in enumerate(lengths)]
    assert any("over all 15 real entries" in text for text in texts(sequence))
    hatched = [r for r in sequence.patches if r.get_hatch()]
    assert len(hatched) == 5 * len(lengths) - sum(lengths)


def test_statistics_picture_refuses_a_step_out_of_range():
    with pytest.raises(ValueError, match="step"):
        viz.draw_bn_statistics(steps=4, lengths=(4, 2), step=5)
