"""rnncourse.viz: diagrams hold the right boxes, labels and arrows; plots hold the right lines."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # before pyplot: no window, the same pixels on every machine

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from rnncourse import viz  # noqa: E402
from rnncourse.train import History  # noqa: E402

from helpers import texts  # noqa: E402

pytestmark = pytest.mark.usefixtures("close_figures")  # conftest: plt.show() fails, figures are closed


def labels_of(ax, symbol: str) -> list[int]:
    """The step numbers ``t`` of the labels ``$symbol_{t}$`` on ``ax``, in drawing order."""
    pattern = re.compile(rf"^\${symbol}_\{{?(\d+)\}}?\$$")
    return [int(m.group(1)) for m in map(pattern.match, texts(ax)) if m]


def arrows(ax) -> list[FancyArrowPatch]:
    return [artist for artist in ax.get_children() if isinstance(artist, FancyArrowPatch)]


@pytest.mark.parametrize("steps", [1, 3, 6])
@pytest.mark.parametrize("kind", ["elman", "jordan"])
def test_unrolled_has_one_column_per_step(steps, kind):
    ax = viz.draw_unrolled(steps=steps, kind=kind)
    for symbol in ("x", "h", "y"):
        expected = list(range(1, steps + 1))
        if (symbol, kind) in {("h", "elman"), ("y", "jordan")}:
            expected = [0] + expected  # the initial state, drawn before the first step
        assert labels_of(ax, symbol) == expected
    # Per step: input -> hidden, hidden -> output, and the recurrent edge from the previous step.
    assert len(arrows(ax)) == 3 * steps


@pytest.mark.parametrize("steps", [2, 5])
@pytest.mark.parametrize("kind, recurrent_weight", [("elman", "W_{hh}"), ("jordan", "W_{yh}")])
def test_unrolled_labels_every_edge_with_the_shared_weights(steps, kind, recurrent_weight):
    labels = texts(viz.draw_unrolled(steps=steps, kind=kind))
    for weight in ("W_{ih}", "W_{hy}", recurrent_weight):
        assert labels.count(f"${weight}$") == steps
    assert any("same weights" in label for label in labels)


@pytest.mark.parametrize("steps", [0, -1, 2.0, True, "3"])
def test_unrolled_rejects_bad_steps(steps):
    with pytest.raises(ValueError, match="steps"):
        viz.draw_unrolled(steps=steps)


@pytest.mark.parametrize("draw", [viz.draw_cell, lambda kind: viz.draw_unrolled(2, kind)])
def test_unknown_kind_is_rejected(draw):
    with pytest.raises(ValueError, match="'elman', 'jordan'"):
        draw("lstm")


@pytest.mark.parametrize("kind, loop_label", [("elman", "$W_{hh}$"), ("jordan", "$W_{yh}$")])
def test_cell_shows_input_output_and_its_feedback_loop(kind, loop_label):
    ax = viz.draw_cell(kind)
    labels = texts(ax)
    for label in ("$x_t$", "$h_t$", "$y_t$", "$W_{ih}$", "$W_{hy}$", loop_label):
        assert label in labels
    assert len(arrows(ax)) == 3
    assert kind in ax.get_title().lower()


def test_cell_draws_on_the_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    assert viz.draw_cell("elman", ax=left) is left
    assert viz.draw_cell("jordan", ax=right) is right
    assert len(fig.axes) == 2


@pytest.mark.parametrize("name", list(viz.CONFIGURATIONS))
def test_configuration_has_one_input_per_read_and_one_output_per_write(name):
    configuration = viz.CONFIGURATIONS[name]
    ax = viz.draw_configuration(name)
    assert labels_of(ax, "x") == list(range(1, sum(configuration.reads) + 1))
    assert labels_of(ax, "y") == list(range(1, sum(configuration.writes) + 1))
    steps = len(configuration.reads)
    assert len(arrows(ax)) == sum(configuration.reads) + sum(configuration.writes) + steps - 1
    assert ("context" in texts(ax)) == (name == "encoder-decoder")


def test_sequence_configurations_figure_has_the_five_panels():
    fig = viz.draw_sequence_configurations()
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["one-to-one (no recurrence)", "many-to-one", "one-to-many", "many-to-many, aligned",
                      "encoder-decoder"]


def test_feedback_self_loop_leaves_and_reenters_the_same_side():
    ax = viz.new_axes()
    box = viz.draw_box(ax, 0, 0, "h")
    arrow = viz.draw_feedback(ax, box, box, "W", side="left")
    # The path in data coordinates: the polyline's corners first, then the arrow head's outline.
    start, out, back = arrow.get_path().vertices[:3]
    assert start[0] == pytest.approx(box.left[0]) and start[1] > box.y
    assert out[0] < box.left[0] and back[0] == out[0] and back[1] < box.y


@pytest.mark.parametrize("with_validation", [False, True])
@pytest.mark.parametrize("log", [False, True])
def test_plot_history_draws_one_line_per_curve(with_validation, log):
    history = History(train_loss=[1.0, 0.5, 0.25], val_loss=[1.1, 0.6, 0.4] if with_validation else [])
    ax = viz.plot_history(history, log=log, label="Elman")
    assert len(ax.lines) == 1 + with_validation
    assert list(ax.lines[0].get_ydata()) == history.train_loss
    assert ax.get_yscale() == ("log" if log else "linear")
    assert [text.get_text() for text in ax.get_legend().get_texts()][0] == "Elman training"


def test_plot_sequences_accepts_tensors_and_lists():
    import torch

    ax = viz.plot_sequences({"truth": torch.linspace(0, 1, 5, requires_grad=True), "model": [0.0] * 5},
                            title="predictions")
    assert [line.get_label() for line in ax.lines] == ["truth", "model"]
    assert ax.get_title() == "predictions"


def test_importing_viz_creates_no_figure_and_the_package_does_not_import_matplotlib():
    probe = (
        "import sys, rnncourse; assert 'matplotlib' not in sys.modules, 'import rnncourse imported matplotlib'\n"
        "import rnncourse.viz, matplotlib.pyplot as plt; assert plt.get_fignums() == [], plt.get_fignums()\n"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                               env={**os.environ, "MPLBACKEND": "Agg"})
    assert completed.returncode == 0, completed.stderr


def test_bptt_backward_labels_every_direct_and_carried_gradient():
    steps = 3
    labels = texts(viz.draw_bptt_backward(steps))
    for t in range(1, steps + 1):
        for label in (rf"$e_{{{t}}}$", rf"$\delta_{{{t}}}$", rf"$J_{{{t}}}^\top \delta_{{{t}}}$", rf"$h_{{{t}}}$"):
            assert label in labels, f"{label} missing"
    with pytest.raises(ValueError, match="positive int"):
        viz.draw_bptt_backward(0)


def test_configurations_include_one_to_one_and_the_legend_names_every_role():
    assert viz.CONFIGURATIONS["one-to-one"].reads == (True,)
    labels = " ".join(texts(viz.draw_diagram_legend()))
    for word in ("input", "state", "output", "elementwise product", "peephole", "delay"):
        assert word in labels
