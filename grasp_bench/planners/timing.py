"""The planners' clock and snapshots: :class:`Stopwatch` times the planner's work (CUDA
synchronized, snapshot copies excluded); :class:`SnapshotRecorder` takes the snapshots of
the contract (:mod:`grasp_bench.planners.protocol`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from grasp_bench.planners.protocol import Snapshot, SnapshotCallback

__all__ = ["SnapshotRecorder", "Stopwatch"]


class Stopwatch:
    """Wall clock of the planner's work on ``device``.

    Reading it synchronizes CUDA first (kernels are asynchronous), and time spent inside
    :meth:`paused` (snapshot copies, callbacks) is not counted.
    """

    def __init__(self, device: torch.device | str):
        self.device = torch.device(device)
        self._cuda = self.device.type == "cuda"
        self._paused = 0.0
        self._t0 = 0.0

    def _sync(self) -> None:
        if self._cuda:
            torch.cuda.synchronize(self.device)

    def start(self) -> Stopwatch:
        self._sync()
        self._paused = 0.0
        self._t0 = time.perf_counter()
        return self

    def elapsed(self) -> float:
        """Seconds of planner work since :meth:`start` (synchronizes CUDA)."""
        self._sync()
        return time.perf_counter() - self._t0 - self._paused

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent in this block is excluded (call after :meth:`elapsed` so that pending
        kernels were already charged to the planner)."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self._paused += time.perf_counter() - t


class SnapshotRecorder:
    """Starts the planner's :class:`Stopwatch` and records snapshots.

    Use::

        rec = SnapshotRecorder(z0.device, snapshot_every, on_snapshot)
        for it in range(1, n + 1):
            ...                                   # one iteration
            if rec.due(it):
                rec.record(it, current_plan)
        snapshots, elapsed = rec.finish(n, returned_plan)
    """

    def __init__(
        self,
        device: torch.device | str,
        snapshot_every: int = 0,
        on_snapshot: SnapshotCallback | None = None,
    ):
        if not isinstance(snapshot_every, int) or snapshot_every < 0:
            raise ValueError(f"snapshot_every must be an int >= 0; got {snapshot_every!r}")
        self.every = snapshot_every
        self.on_snapshot = on_snapshot
        self.snapshots: list[Snapshot] = []
        self.stopwatch = Stopwatch(device).start()

    def due(self, iteration: int) -> bool:
        return self.every > 0 and iteration % self.every == 0

    def record(self, iteration: int, actions: torch.Tensor) -> None:
        elapsed = self.stopwatch.elapsed()
        with self.stopwatch.paused():
            cpu = actions.detach().to("cpu", copy=True)
            self.snapshots.append((iteration, elapsed, cpu))
            if self.on_snapshot is not None:
                self.on_snapshot(iteration, elapsed, cpu)

    def finish(self, iterations: int, actions: torch.Tensor) -> tuple[list[Snapshot], float]:
        """Record the returned plan unless the last snapshot already is it; returns
        ``(snapshots, elapsed_s)``."""
        if not self.snapshots or self.snapshots[-1][0] != iterations:
            self.record(iterations, actions)
        return self.snapshots, self.snapshots[-1][1]
