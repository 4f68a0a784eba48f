"""The progress of a job on stderr: one rich progress line per phase, with its count, rate,
elapsed time and time left. A phase keeps its own total, so a bar never jumps when the next
phase counts something else, and a finished phase stays on screen as one line. On a terminal
the lines redraw in place; in a pipe (`--progress`) each line is printed once, at the end.

The lines come from polling jobs.db (the job may run in another process), so a phase shorter
than a poll is filled in from the job's result when it ends: every phase gets its line.
"""
from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from core.jobs.handle import Job
    from rich.progress import Task
    from rich.text import Text

POLL = 0.1     # seconds between two looks at the job (its progress is stored as often)


def _columns() -> list:
    from rich.progress import BarColumn, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class Count(ProgressColumn):
        """done/total with thousands separators, or just done while the total is unknown."""

        def render(self, task: Task) -> Text:
            if task.total is None:
                return Text(f"{int(task.completed):,}" if task.completed else "")
            return Text(f"{int(task.completed):,}/{int(task.total):,}")

    class Rate(ProgressColumn):
        """Items per second (rich has one for bytes only)."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("" if not speed else f"{speed:,.0f}/s")

    class Eta(ProgressColumn):
        """Time left while a counted phase runs; nothing once it ended or with no total."""

        def render(self, task: Task) -> Text:
            left = task.time_remaining
            if task.finished or left is None or not task.started:
                return Text("")
            m, sec = divmod(int(left), 60)
            return Text(f"eta {m // 60}:{m % 60:02}:{sec:02}")

    return [TextColumn("{task.description:<12}"), BarColumn(bar_width=30), Count(),
            TextColumn("{task.fields[unit]}"), Rate(), TimeElapsedColumn(), Eta()]


class PhaseProgress:
    """Feed it `job.info()` dicts while the job runs and its final counts when it ends.

    `phases`: the job's phases in order; `units`: what each one counts; `uncounted`: phases
    that count without knowing their total (a walk)."""

    def __init__(self, enabled: bool, phases: Sequence[str] = (),
                 units: dict[str, str] | None = None, uncounted: Sequence[str] = (),
                 unnamed: str | None = None):
        self.enabled = enabled
        self.unnamed = unnamed            # the line of a job that names no phase
        self.phases = list(phases)
        self.units = units or {}
        self.uncounted = set(uncounted)
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._phase: str | None = None

    def __enter__(self) -> "PhaseProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _task(self, phase: str) -> Any:
        """The line of `phase`, adding the lines of the phases before it first (in order)."""
        if self._progress is None:       # drawn from the first report on: none, no line
            from rich.console import Console
            from rich.progress import Progress
            self._progress = Progress(*_columns(), console=Console(file=sys.stderr),
                                      transient=False, refresh_per_second=5,
                                      redirect_stdout=False, redirect_stderr=False)
            self._progress.start()
        if phase not in self._tasks:
            upto = self.phases.index(phase) + 1 if phase in self.phases else len(self.phases)
            for name in self.phases[:upto] + ([phase] if phase not in self.phases else []):
                if name not in self._tasks:
                    self._tasks[name] = self._progress.add_task(
                        name, total=None, completed=0, unit=self.units.get(name, ""))
        return self._tasks[phase]

    def update(self, info: dict[str, Any]) -> None:
        phase = info.get("phase") or self.unnamed
        if not self.enabled or not phase:
            return
        done, total = info.get("progress_done") or 0, info.get("progress_total")
        if phase != self._phase and self._phase is not None:
            self._close(self._phase, None)
        self._phase = phase
        # jobs.db keeps the last total a phase gave, so a new phase's first reports still
        # carry the previous phase's: a total counts only once this phase has done something
        known = total if done and phase not in self.uncounted else None
        task_id = self._task(phase)
        self._progress.update(task_id, completed=done, total=known)

    def _close(self, phase: str, count: int | None) -> None:
        task_id = self._task(phase)
        task = next(t for t in self._progress.tasks if t.id == task_id)
        n = int(count if count is not None else max(task.completed, task.total or 0))
        self._progress.update(task_id, total=n, completed=n)
        self._progress.stop_task(task_id)

    def finish(self, counts: dict[str, int]) -> None:
        """The job completed: every phase's line shows complete, with `counts[phase]`."""
        if not self.enabled:
            return
        if self.phases:
            self._task(self.phases[-1])
        for phase in list(self._tasks):
            self._close(phase, counts.get(phase))
        self.stop()

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def watch(job: Job, bar: PhaseProgress) -> str:
    """Draw `job`'s progress until it is neither queued nor running; return its status then.
    A job whose process died meanwhile is carried on here (resumed)."""
    while True:
        info = job.info()
        if info["status"] not in ("queued", "running"):
            return info["status"]
        if info["resumable"] and info["status"] == "running":
            job.resume()
        bar.update(info)
        time.sleep(POLL)
