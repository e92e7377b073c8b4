"""rnncourse.viz.deep: the bidirectional and stacked diagrams carry their labels, and none overlap."""
from __future__ import annotations

import itertools

import pytest
from helpers import texts

from rnncourse import viz

pytestmark = pytest.mark.usefixtures("close_figures")


def overlapping_texts(ax) -> list[tuple[str, str]]:
    """Pairs of drawn texts whose rendered boxes intersect."""
    renderer = ax.figure.canvas.get_renderer()
    extents = [(text.get_text(), text.get_window_extent(renderer)) for text in ax.texts if text.get_text()]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(extents, 2) if box_a.overlaps(box_b)]


@pytest.mark.parametrize("steps", [1, 4])
def test_bidirectional_has_both_chains_their_initial_states_and_a_join_per_step(steps):
    drawn = texts(viz.draw_bidirectional(steps))
    for t in range(1, steps + 1):
        assert rf"$\overrightarrow{{h}}_{{{t}}}$" in drawn and rf"$\overleftarrow{{h}}_{{{t}}}$" in drawn
        assert f"$x_{{{t}}}$" in drawn and f"$y_{{{t}}}$" in drawn
    assert r"$\overrightarrow{h}_0$" in drawn and r"$\overleftarrow{h}_{T+1}$" in drawn
    assert drawn.count("[;]") == steps


def test_bidirectional_in_the_source_letters():
    drawn = texts(viz.draw_bidirectional(3, names="source"))
    assert {"$H^{(0)}$", "$Z^{(4)}$", "$H^{(2)}$", "$Z^{(2)}$", "$X^{(3)}$", "$Y^{(1)}$"} <= set(drawn)


@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (3, False), (2, True)])
def test_stacked_has_a_row_per_layer_and_dropout_only_between_layers(num_layers, bidirectional):
    drawn = texts(viz.draw_stacked(3, num_layers, bidirectional=bidirectional))
    assert [f"layer {layer}" for layer in range(1, num_layers + 1)] == [t for t in drawn if t.startswith("layer")]
    assert drawn.count("dropout") == num_layers - 1
    assert drawn.count("[;]") == (3 * num_layers if bidirectional else 0)
    if not bidirectional:
        assert f"$h^{{({num_layers})}}_{{3}}$" in drawn and f"$h^{{({num_layers})}}_0$" in drawn


@pytest.mark.parametrize("draw", [lambda: viz.draw_bidirectional(4), lambda: viz.draw_bidirectional(3, "source"),
                                  lambda: viz.draw_stacked(3, 3), lambda: viz.draw_stacked(3, 2, True)])
def test_no_two_labels_overlap(draw):
    ax = draw()
    ax.figure.canvas.draw()
    assert overlapping_texts(ax) == []


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="steps"):
        viz.draw_bidirectional(0)
    with pytest.raises(ValueError, match="names"):
        viz.draw_bidirectional(3, names="keras")
    with pytest.raises(ValueError, match="num_layers"):
        viz.draw_stacked(3, 0)
