r"""Drawing skeletons, masks and reconstructions (needs matplotlib: ``pip install 'skelgraph[plot]'``).

matplotlib is imported inside :func:`draw_skeleton`, so importing skelgraph never needs it; figures
are drawn on an Agg canvas without pyplot, so no global backend is changed.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skelgraph.data.files import atomic_path, atomic_savefig, check_output
from skelgraph.graph.layouts import Layout, get_layout

KEPT, HIDDEN, MASKED_BONE, RECON = "#1f5fa8", "#d62728", "#d62728", "#2ca02c"


def _as_numpy(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


def _keep_per_frame(keep_mask: Any, m: int, t: int, v: int) -> np.ndarray:
    """``keep_mask`` as bool ``[M, T, V]``; accepts the graph forms ``[M*V]`` and ``[M*V, T]``
    (person-major nodes) and ``[M, V]`` / ``[M, T, V]``."""
    if keep_mask is None:
        return np.ones((m, t, v), dtype=bool)
    keep = _as_numpy(keep_mask).astype(bool)
    if keep.shape == (m * v,):
        keep = np.broadcast_to(keep.reshape(m, 1, v), (m, t, v))
    elif keep.shape == (m * v, t):
        keep = keep.reshape(m, v, t).transpose(0, 2, 1)
    elif keep.shape == (m, v):
        keep = np.broadcast_to(keep[:, None], (m, t, v))
    elif keep.shape != (m, t, v):
        raise ValueError(f"keep_mask shape {keep.shape} fits neither [M*V]={m * v}, [M*V, T] nor [M, T, V]")
    return keep


def _masked_pairs(masked_edges: Any, v: int) -> set[tuple[int, int, int]]:
    """``{(person, a, b)}`` with ``a < b`` from ``masked_edge_index`` ``[2, E_m]`` (person-major node
    ids) or a list of node pairs."""
    if masked_edges is None:
        return set()
    pairs = _as_numpy(masked_edges)
    pairs = pairs.T if pairs.ndim == 2 and pairs.shape[0] == 2 and pairs.shape[1] != 2 else pairs.reshape(-1, 2)
    out = set()
    for i, j in pairs.tolist():
        if i // v == j // v:
            out.add((i // v, min(i % v, j % v), max(i % v, j % v)))
    return out


def draw_skeleton(keypoint: Any, layout: Layout | str, frames: Sequence[int] | int | None = None,
                  keep_mask: Any = None, masked_edges: Any = None, reconstruction: Any = None,
                  out: str | Path = "skeleton.png", title: str | None = None, fps: int = 10) -> Path:
    r"""Draws a few frames of a sample side by side (``.png``, ``.pdf``, ``.svg``...) or all chosen
    frames as an animation (``.gif``).

    Kept joints and bones are blue; hidden joints (``keep_mask`` False) are red crosses; masked
    bones (``masked_edges``) are dashed red; reconstructed joints are green circles joined to
    their true position by a thin line. 2D input is drawn in image coordinates (y down); 3D input
    is projected on x, y (y up). Persons absent in a frame (all-zero joints) are skipped.

    Args:
        keypoint: ``[M, T, V, C]`` array (numpy or tensor), ``C >= 2``.
        layout: The skeleton format (a :class:`~skelgraph.graph.layouts.Layout` or its name).
        frames: Frame ids to draw, or a count of evenly spaced frames. (default: 4 frames for an
            image, every frame for a ``.gif``)
        keep_mask: bool, ``[M*V]`` or ``[M*V, T]`` (a graph's ``keep_mask``), or ``[M, T, V]``.
        masked_edges: ``masked_edge_index`` ``[2, E_m]`` (person-major node ids) or node pairs.
        reconstruction: ``[M, T, V, C]`` predicted coordinates; drawn at hidden joints.
        out: Output file; the suffix picks the format.
        title: Figure title.
        fps: Frames per second of a ``.gif``.

    Returns:
        ``out`` as a :class:`~pathlib.Path`.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'skelgraph[plot]'") from None
    layout = get_layout(layout)
    out = Path(out)
    points = _as_numpy(keypoint).astype(np.float32)
    if points.ndim != 4 or points.shape[-1] < 2:
        raise ValueError(f"keypoint must be [M, T, V, C] with C >= 2, got shape {points.shape}")
    m, t, v, c = points.shape
    if v != layout.num_joints:
        raise ValueError(f"keypoint has {v} joints, layout {layout.name!r} has {layout.num_joints}")
    recon = None if reconstruction is None else _as_numpy(reconstruction).astype(np.float32)
    keep = _keep_per_frame(keep_mask, m, t, v)
    masked = _masked_pairs(masked_edges, v)
    animate = out.suffix.lower() == ".gif"
    if frames is None:
        frames = t if animate else min(4, t)
    if isinstance(frames, int):
        frames = np.unique(np.linspace(0, t - 1, max(1, min(frames, t))).round().astype(int)).tolist()
    frames = [int(f) for f in frames]
    if any(not 0 <= f < t for f in frames):
        raise ValueError(f"frames must be in 0..{t - 1}, got {frames}")

    present = np.abs(points).sum(-1).sum(-1) > 0  # [M, T]
    shown = points[:, frames][present[:, frames]][..., :2].reshape(-1, 2)
    if recon is not None:
        shown = np.concatenate([shown, recon[:, frames][present[:, frames]][..., :2].reshape(-1, 2)])
    low, high = (shown.min(0), shown.max(0)) if shown.size else (np.zeros(2), np.ones(2))
    pad = 0.08 * max(float((high - low).max()), 1e-6)
    y_down = c == 2

    def draw(ax, frame: int) -> None:
        ax.set_xlim(low[0] - pad, high[0] + pad)
        ax.set_ylim((high[1] + pad, low[1] - pad) if y_down else (low[1] - pad, high[1] + pad))
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"frame {frame}", fontsize=9)
        for person in range(m):
            if not present[person, frame]:
                continue
            xy = points[person, frame, :, :2]
            for a, b in layout.bones:
                hidden_bone = (person, min(a, b), max(a, b)) in masked
                ax.plot(xy[[a, b], 0], xy[[a, b], 1], color=MASKED_BONE if hidden_bone else KEPT,
                        linestyle="--" if hidden_bone else "-", linewidth=1.2 if hidden_bone else 2.0,
                        alpha=0.9, zorder=1)
            kept, hidden = keep[person, frame], ~keep[person, frame]
            ax.scatter(xy[kept, 0], xy[kept, 1], s=14, color=KEPT, zorder=2)
            ax.scatter(xy[hidden, 0], xy[hidden, 1], s=40, color=HIDDEN, marker="x", linewidths=1.8, zorder=3)
            if recon is not None and hidden.any():
                guess = recon[person, frame, :, :2]
                for j in np.flatnonzero(hidden):
                    ax.plot([xy[j, 0], guess[j, 0]], [xy[j, 1], guess[j, 1]], color=RECON, linewidth=0.8, zorder=2)
                ax.scatter(guess[hidden, 0], guess[hidden, 1], s=30, facecolors="none", edgecolors=RECON,
                           linewidths=1.4, zorder=4)

    legend = [Line2D([], [], color=KEPT, marker="o", markersize=4, label="visible")]
    if not keep.all():
        legend.append(Line2D([], [], color=HIDDEN, marker="x", linestyle="", label="hidden joint"))
    if masked:
        legend.append(Line2D([], [], color=MASKED_BONE, linestyle="--", label="masked bone"))
    if recon is not None:
        legend.append(Line2D([], [], color=RECON, marker="o", markerfacecolor="none", linestyle="",
                             label="reconstruction"))

    if out.is_dir():
        raise IsADirectoryError(21, "is a directory; give a file name (.png, .pdf, .svg or .gif)", str(out))
    check_output(out)  # no file on the way to it
    if not out.suffix:
        out = out.with_suffix(".png")  # what matplotlib would write anyway: say so in the returned path
    check_image_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if animate:
        fig = Figure(figsize=(4, 4.4), dpi=80)
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        images = []
        for frame in frames:
            ax.clear()
            draw(ax, frame)
            ax.legend(handles=legend, loc="lower center", bbox_to_anchor=(0.5, -0.12), ncol=len(legend),
                      fontsize=7, frameon=False)
            if title:
                fig.suptitle(title, fontsize=10)
            canvas.draw()
            images.append(_frame_image(canvas))
        with atomic_path(out) as tmp:  # frames are kept in memory: a failed write leaves no partial .gif
            images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps),
                           loop=0)
        return out
    aspect = float((high - low)[0] + 2 * pad) / float((high - low)[1] + 2 * pad)  # panel width / height
    fig = Figure(figsize=(max(2.6, len(frames) * 3.0 * min(max(aspect, 0.5), 1.5) + 0.4), 3.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(frames), squeeze=False)[0]
    for ax, frame in zip(axes, frames):
        draw(ax, frame)
    fig.legend(handles=legend, loc="lower center", ncol=len(legend), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(bottom=0.12, top=0.86 if title else 0.9, wspace=0.05)
    return atomic_savefig(fig, out, dpi=110)


def image_formats() -> tuple[str, ...]:
    """File suffixes :func:`draw_skeleton` can write (matplotlib's, with ``gif`` animated)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return tuple(sorted(set(FigureCanvasAgg.get_supported_filetypes()) | {"gif"}))


def check_image_path(path: str | Path) -> None:
    r"""Raises ``ValueError`` (one line) for a file suffix matplotlib cannot write, before
    anything is drawn; no suffix means ``.png``."""
    suffix = Path(path).suffix.lstrip(".").lower()
    if suffix and suffix not in image_formats():
        raise ValueError(f"{path}: cannot draw a .{suffix} file (formats: {', '.join(image_formats())})")


def _frame_image(canvas: Any) -> Any:
    """The canvas as a PIL image, RGB when opaque (what matplotlib's PillowWriter keeps: GIF
    palettes come out better from RGB)."""
    from PIL import Image

    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), bytes(canvas.buffer_rgba()), "raw", "RGBA", 0, 1)
    return image.convert("RGB") if image.getextrema()[3][0] == 255 else image
