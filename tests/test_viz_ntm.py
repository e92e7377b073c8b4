"""rnncourse.viz.ntm: the NTM diagrams carry their labels, and the weighting plots their data."""
from __future__ import annotations

import torch
from helpers import texts

from rnncourse import viz


def test_architecture_names_every_part(close_figures):
    drawn = texts(viz.draw_ntm_architecture())
    for part in ("external input", "external output", "controller", "read heads", "write heads"):
        assert part in drawn
    assert any("memory" in text for text in drawn)


def test_addressing_flow_has_the_four_stages_in_order(close_figures):
    drawn = texts(viz.draw_addressing_flow())
    stages = [drawn.index(name) for name in ("content\naddressing", "interpolation", "convolutional\nshift",
                                             "sharpening")]
    assert stages == sorted(stages) and r"$w_t$" in drawn


def test_weighting_plots_show_the_given_values(close_figures):
    weightings = torch.eye(5)[[0, 1, 2, 3]]  # (T, N)
    ax = viz.plot_weightings(weightings, title="write")
    assert ax.images[0].get_array().shape == (5, 4) and ax.get_title() == "write"
    axes = viz.plot_weighting_stages({"a": torch.full((4,), 0.25), "b": torch.eye(4)[1]})
    assert [bar.get_height() for bar in axes[1].patches] == [0.0, 1.0, 0.0, 0.0]
