r"""Paired timing: how much faster one computation is than another on a machine shared with
other work.

Wall times on a shared machine drift by tens of percent within a minute, so two medians taken
one after the other compare two machines. A *paired* measurement runs the two sides one after
the other on the same input, many times, alternating which goes first, and keeps the ratio of
each pair: load that lasts longer than one pair hits both sides of it alike. The summary is
the median of the per-pair ratios with a percentile-bootstrap confidence interval (resampling
the pairs), which says whether a ratio can be told apart from 1.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RatioSummary:
    r"""Median of per-pair ratios ``reference / candidate`` (``> 1``: the candidate is faster)
    and its bootstrap interval ``[low, high]`` at ``level``."""

    median: float
    low: float
    high: float
    pairs: int
    level: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.median:.2f} [{self.low:.2f}, {self.high:.2f}]"


def summarize_ratios(ratios: list[float] | np.ndarray, level: float = 0.95, resamples: int = 4000,
                     seed: int = 0) -> RatioSummary:
    r"""Median of ``ratios`` and its percentile-bootstrap interval (``resamples`` resamples of
    the pairs with replacement, seeded).

    Example:
        >>> s = summarize_ratios([1.0, 1.1, 1.2, 1.1, 1.0, 1.1])
        >>> round(s.median, 2), s.low <= s.median <= s.high, s.pairs
        (1.1, True, 6)
    """
    values = np.asarray(ratios, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no ratios to summarise")
    rng = np.random.default_rng(seed)
    medians = np.median(values[rng.integers(0, values.size, (resamples, values.size))], axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(medians, [tail, 1 - tail])
    return RatioSummary(float(np.median(values)), float(low), float(high), int(values.size), level)


def time_call(fn: Callable[[], Any], sync: Callable[[], None] = lambda: None) -> tuple[float, float]:
    r"""``(wall seconds, CPU seconds of this process)`` of one call of ``fn`` (``sync`` waits for
    queued device work before and after). On a shared machine the CPU time leaves out the time
    the process waited for a core; with one thread it is the cleaner measure of work done."""
    sync()
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    sync()
    return time.perf_counter() - start, time.process_time() - cpu


@dataclass
class PairedTimes:
    r"""Seconds per call of every side, round by round: ``wall[name][i]``, ``cpu[name][i]``."""

    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]

    def summary(self, reference: str, candidate: str, clock: str = "wall", **kwargs: Any) -> RatioSummary:
        r""":func:`summarize_ratios` of ``reference[i] / candidate[i]`` on ``clock`` (``"wall"`` or
        ``"cpu"``)."""
        seconds = getattr(self, clock)
        return summarize_ratios(np.asarray(seconds[reference]) / np.asarray(seconds[candidate]), **kwargs)

    def median(self, name: str, clock: str = "wall") -> float:
        return float(np.median(getattr(self, clock)[name]))


def paired_times(steps: dict[str, Callable[[int], Any]], pairs: int, warmup: int = 1,
                 sync: Callable[[], None] = lambda: None) -> PairedTimes:
    r"""Times each of ``steps`` (name -> ``fn(i)``, ``i`` the round, so each round can use a fresh
    input) over ``pairs`` rounds after ``warmup`` untimed rounds. Within a round every step runs
    once; the order rotates from round to round, so no side always runs first (after the
    other's allocations, or in its cache)."""
    names = list(steps)
    times = PairedTimes({name: [] for name in names}, {name: [] for name in names})
    for i in range(warmup + pairs):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            wall, cpu = time_call(lambda: steps[name](i), sync)
            if i >= warmup:
                times.wall[name].append(wall)
                times.cpu[name].append(cpu)
    return times
