"""The charts of a simulation's report, as PNG images: arrivals and completions per interval,
interactions waiting over time, and the distribution of waits. matplotlib is imported here
only (its import costs a quarter of a second), with the Agg backend: no display needed."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CHARTS = ("arrivals.png", "depth.png", "waits.png")


def charts(report: dict[str, Any]) -> dict[str, bytes]:
    """Each chart's file name and PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    drawings: dict[str, Callable[[Axes, dict[str, Any]], None]] = {
        "arrivals.png": _arrivals,
        "depth.png": _depth,
        "waits.png": _waits,
    }
    return {name: _png(draw, report) for name, draw in drawings.items()}


def _png(draw: Callable[[Axes, dict[str, Any]], None], report: dict[str, Any]) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 4.5), dpi=100)
    axes = figure.subplots()
    draw(axes, report)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of interactions
    axes.grid(alpha=0.3)
    figure.tight_layout()
    image = io.BytesIO()
    # No date in the file's metadata: the same report makes the same bytes.
    figure.savefig(image, format="png", metadata={"Software": None})
    return image.getvalue()


def _arrivals(axes: Axes, report: dict[str, Any]) -> None:
    intervals = report["intervals"]
    minutes = [i["start"] / 60 for i in intervals]
    width = report["interval"] / 60 * 0.4
    axes.bar(
        [m - width / 2 for m in minutes],
        [i["arrived"] for i in intervals],
        width,
        label="arrived",
        align="edge",
    )
    axes.bar(
        [m + width / 2 for m in minutes],
        [i["finished"] for i in intervals],
        width,
        label="finished",
        align="edge",
    )
    axes.set_xlabel("minutes from the start")
    axes.set_ylabel("interactions per interval")
    axes.set_title("Arrivals and completions")
    axes.legend()


def _depth(axes: Axes, report: dict[str, Any]) -> None:
    steps = report["depth"]
    axes.step([s[0] / 60 for s in steps], [s[1] for s in steps], where="post")
    axes.set_xlabel("minutes from the start")
    axes.set_ylabel("interactions waiting")
    axes.set_title("Waiting for an agent")


def _waits(axes: Axes, report: dict[str, Any]) -> None:
    threshold = report["service_level"]["threshold"]
    waits = report["waits"]
    # Both on the same bins, up to the longest wait or the threshold: comparable bars.
    top = max([threshold, *waits["wait_to_offer"], *waits["wait_to_accept"]]) or 1
    bins = [top * n / 30 for n in range(31)]
    for name, label in (("wait_to_offer", "to offer"), ("wait_to_accept", "to accept")):
        if waits[name]:
            axes.hist(waits[name], bins=bins, alpha=0.6, label=label)
    axes.axvline(threshold, color="black", linestyle="--", label=f"service level ({threshold:g} s)")
    axes.set_xlabel("seconds from arrival")
    axes.set_ylabel("interactions")
    axes.set_title("Waits")
    axes.legend()
