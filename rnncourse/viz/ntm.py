"""The Neural Turing Machine (chapter 6): its architecture, its addressing flow, and its weightings."""
from __future__ import annotations

import matplotlib.pyplot as plt

from .primitives import draw_arrow, draw_box, fit_view, new_axes


def draw_ntm_architecture(ax=None):
    """The paper's Fig. 1: external input and output, the controller, read and write heads, memory.

    The dashed box is the machine; the controller talks to the world only through the external
    input and output, and to the memory only through its heads. Returns the axes.
    """
    ax = new_axes(ax, figsize=(6.4, 4.6))
    x_in = draw_box(ax, 0.0, 4.6, "external input", width=2.4, height=0.6, role="input", fontsize=11)
    y_out = draw_box(ax, 5.4, 4.6, "external output", width=2.4, height=0.6, role="output", fontsize=11)
    controller = draw_box(ax, 2.7, 3.0, "controller", width=2.4, height=0.8, role="hidden")
    read = draw_box(ax, 1.2, 1.4, "read heads", width=2.0, height=0.6, role="gate", fontsize=11)
    write = draw_box(ax, 4.2, 1.4, "write heads", width=2.0, height=0.6, role="gate", fontsize=11)
    memory = draw_box(ax, 2.7, -0.2, r"memory $M_t$ ($N \times M$)", width=4.6, height=0.7, role="initial",
                      fontsize=11)
    frame = draw_box(ax, 2.7, 1.35, "", width=6.2, height=4.2, role="initial", dashed=True)
    ax.patches[-1].set_facecolor("none")  # the machine's outline, drawn behind nothing
    ax.text(5.75, -0.8, "NTM", ha="right", va="top", fontsize=10, style="italic")
    draw_arrow(ax, x_in.bottom, (controller.x - 0.8, controller.top[1]))
    draw_arrow(ax, (controller.x + 0.8, controller.top[1]), y_out.bottom)
    draw_arrow(ax, (controller.x - 0.9, controller.bottom[1]), read.top, r"$k, \beta, g, s, \gamma$",
               text_offset=(-0.95, 0.0), fontsize=9)
    draw_arrow(ax, (read.x + 0.5, read.top[1]), (controller.x - 0.4, controller.bottom[1]), r"$r_t$",
               text_offset=(0.35, 0.0), fontsize=10)
    draw_arrow(ax, (controller.x + 0.9, controller.bottom[1]), write.top, r"$+\ e, a$",
               text_offset=(0.75, 0.0), fontsize=9)
    draw_arrow(ax, (memory.x - 1.5, memory.top[1]), read.bottom)
    draw_arrow(ax, write.bottom, (memory.x + 1.5, memory.top[1]))
    fit_view(ax, [x_in, y_out, controller, read, write, memory, frame], pad=0.3)
    return ax


def draw_addressing_flow(ax=None):
    """The paper's Fig. 2: the four addressing stages in order, with what enters each one.

    Content addressing (key ``k_t``, strength ``beta_t``, memory ``M_t``), interpolation (gate
    ``g_t``, previous weighting ``w_{t-1}``), convolutional shift (``s_t``), sharpening
    (``gamma_t``). Returns the axes.
    """
    ax = new_axes(ax, figsize=(9.6, 3.0))
    stages = [("content\naddressing", r"$k_t,\ \beta_t,\ M_t$"), ("interpolation", r"$g_t,\ w_{t-1}$"),
              ("convolutional\nshift", r"$s_t$"), ("sharpening", r"$\gamma_t$")]
    outputs = [r"$w^c_t$", r"$w^g_t$", r"$\tilde w_t$"]
    boxes, givens = [], []
    for k, (name, inputs) in enumerate(stages):
        box = draw_box(ax, 2.6 * k, 0.0, name, width=1.8, height=0.9, role="gate", fontsize=10)
        given = draw_box(ax, 2.6 * k, 1.6, inputs, width=1.8, height=0.5, role="input", fontsize=10)
        draw_arrow(ax, given.bottom, box.top)
        if boxes:
            draw_arrow(ax, boxes[-1].right, box.left, outputs[k - 1], text_offset=(0.0, 0.22), fontsize=11)
        boxes.append(box)
        givens.append(given)
    result = draw_box(ax, 2.6 * 4 - 0.5, 0.0, r"$w_t$", width=0.8, height=0.6, role="output")
    draw_arrow(ax, boxes[-1].right, result.left)
    fit_view(ax, boxes + givens + [result], pad=0.3)
    return ax


def plot_weightings(weightings, *, title: str | None = None, ax=None, xlabel: str = "time step"):
    """A weighting over time as an image: ``weightings`` ``(T, N)``, time across, memory rows down.

    The figure of the paper's copy task: a bright diagonal is a head moving one row per step.
    Returns the axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.0, 3.2))
    values = weightings.detach().cpu().float().numpy() if hasattr(weightings, "detach") else weightings
    ax.imshow(values.T, aspect="auto", cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("memory row")
    if title:
        ax.set_title(title)
    return ax


def plot_weighting_stages(stages: dict, *, axes=None):
    """One bar chart per addressing stage: ``stages`` maps a stage's name to a weighting ``(N,)``.

    Shows the same head's weighting before and after each stage. Returns the axes.
    """
    if axes is None:
        _, axes = plt.subplots(1, len(stages), figsize=(2.3 * len(stages), 2.2), sharey=True)
    for ax, (name, weighting) in zip(axes, stages.items()):
        values = weighting.detach().cpu().float().numpy() if hasattr(weighting, "detach") else weighting
        ax.bar(range(len(values)), values, color="#7f7f7f")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("row")
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("weight")
    return axes
