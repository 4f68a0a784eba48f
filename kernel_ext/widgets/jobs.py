"""The job monitor: progress bar, phase, rate and pause / resume / cancel for one job.

It subscribes to the library's job events and updates the widget from the job's own thread, so
the bar moves while the user keeps working, and also while the cell that started it waits.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import ipywidgets as W

from ..display import Table
from .base import TextFallback, button, has_frontend

TERMINAL = ("completed", "failed", "cancelled")
IN_CELL_TIP = "the cell waits for this job: interrupt the kernel (■) to stop waiting, then use these"
_STYLE = {"completed": "success", "failed": "danger", "cancelled": "warning", "paused": "warning",
          "running": "info", "queued": ""}


def _shown_done(status: str | None, done: int, total: int | None) -> int:
    """Progress as shown: a completed job with a known total is at its total (its last report
    may have come before the final count)."""
    return total if status == "completed" and total and done < total else done


def _percent(done: int, total: int | None) -> str:
    if not total:
        return ""
    return f"{min(100, int(100 * done / total))}%"


class JobMonitor(TextFallback, W.VBox):
    """Live view of one job; `.job` is the core Job, `.wait()` blocks until it ends."""

    def __init__(self, job: Any, lib: Any):
        self.job, self.lib = job, lib
        self._in_cell = False
        self._lock = threading.Lock()
        self._first: tuple[float, int] | None = None
        self.rate: float | None = None
        info = job.info()
        self.name = info.get("name") or job.name
        self.status = info.get("status", "queued")
        self.done = int(info.get("progress_done") or 0)
        self.total = info.get("progress_total")
        self.phase = info.get("phase")
        self.message = info.get("message")
        self.error = info.get("error")
        self._title = W.HTML()
        self._bar = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="60%"))
        self._pct = W.Label()
        self._detail = W.Label()
        self._pause = button("Pause", "pause", tooltip="pause at the next checkpoint")
        self._resume = button("Resume", "play")
        self._cancel = button("Cancel", "stop", "danger")
        self._pause.on_click(lambda _b: self._control("pause"))
        self._resume.on_click(lambda _b: self._control("resume"))
        self._cancel.on_click(lambda _b: self._control("cancel"))
        super().__init__([self._title, W.HBox([self._bar, self._pct]), self._detail,
                          W.HBox([self._pause, self._resume, self._cancel])])
        self.add_class("vdfs-job-monitor")
        self._unsubscribe = lib.events.subscribe(self._on_event, kinds=("job.progress", "job.status"))
        # an event may have slipped in between info() and subscribe(): read the row again
        self._apply_info(job.info())
        self._render()

    # ---- state --------------------------------------------------------------------------
    def _apply_info(self, info: dict[str, Any]) -> None:
        with self._lock:
            # A row read may be older than an event already applied: while the job runs, never
            # let it erase a known total or move progress back; once it ended, the row is final.
            status = info.get("status", self.status)
            done = int(info.get("progress_done") or 0)
            if status in TERMINAL or done > self.done:
                self.done = done or self.done
            if info.get("progress_total") is not None:
                self.total = info["progress_total"]
            self.status = status
            self.phase = info.get("phase") or self.phase
            self.message = info.get("message") or self.message
            self.error = info.get("error") or self.error
        if self.status in TERMINAL:
            self._unsubscribe()

    def _on_event(self, event: Any) -> None:
        p = event.payload
        if p.get("job_id") != self.job.id:
            return
        with self._lock:
            if event.kind == "job.progress":
                self.done = int(p.get("done") or 0)
                self.total = p.get("total", self.total)
                self.phase = p.get("phase") or self.phase
                self.message = p.get("message") or self.message
                now = time.monotonic()
                if self._first is None:
                    self._first = (now, self.done)
                elif now > self._first[0]:
                    self.rate = (self.done - self._first[1]) / (now - self._first[0])
            else:
                self.status = p.get("status", self.status)
                self.error = p.get("error") or self.error
        if self.status in TERMINAL:
            self._apply_info(self.job.info())
        self._render()

    def _control(self, what: str) -> None:
        try:
            getattr(self.job, what)()
        except Exception as exc:  # e.g. the job ended between render and click
            self.message = f"cannot {what}: {exc}"
        self._apply_info(self.job.info())
        self._render()

    # ---- output -------------------------------------------------------------------------
    def _render(self) -> None:
        total = self.total
        done = _shown_done(self.status, self.done, total)
        self._bar.max = max(1, int(total or 0)) if total else 1
        self._bar.value = min(self._bar.max, int(done)) if total else (1 if self.status == "completed" else 0)
        self._bar.bar_style = _STYLE.get(self.status, "")
        self._pct.value = (_percent(done, total) if total else
                           ("100%" if self.status == "completed" else ""))
        self._title.value = (f"<b>{_esc(self.name)}</b> <span class='vdfs-job-status'>"
                             f"{_esc(self.status)}</span>")
        parts = []
        if self.phase and self.status not in TERMINAL:   # once it ended, the phase is history
            parts.append(f"phase: {self.phase}")
        parts.append(f"{done}/{total}" if total else f"{done}")
        if self.rate and self.status == "running":
            parts.append(f"{self.rate:.1f}/s")
        if self.error and self.status == "failed":
            parts.append(f"error: {self.error}")
        elif self.message:
            parts.append(str(self.message))
        self._detail.value = " · ".join(parts)
        live = self.status not in TERMINAL
        # a cell blocked in wait() keeps the kernel from handling clicks until the job ends
        served = live and not self._in_cell
        self._pause.disabled = not (served and self.status in ("running", "queued"))
        self._resume.disabled = not (served and self.status == "paused")
        self._cancel.disabled = not served
        self._cancel.button_style = "danger" if served else ""
        for b in (self._pause, self._resume, self._cancel):
            b.tooltip = (IN_CELL_TIP if live and self._in_cell else
                         "pause at the next checkpoint" if b is self._pause else "")

    def text(self) -> str:
        total = self.total
        done = _shown_done(self.status, self.done, total)
        line = f"job {self.name}: {self.status}"
        if total:
            line += f" {done}/{total} ({_percent(done, total)})"
        if self.phase and self.status not in TERMINAL:   # once it ended, the phase is history
            line += f", phase {self.phase}"
        if self.status == "failed" and self.error:
            line += f"\nerror: {self.error}"
        return line

    def show_live(self) -> bool:
        """In a notebook, display the widget now, so its bar moves while the cell blocks in
        `wait`; the cell's value then renders as words only (the widget is already on screen,
        and words of the final state are what a saved notebook and nbval compare)."""
        if not has_frontend():
            return False
        from IPython.display import display
        view = W.Widget._repr_mimebundle_(self) or {}
        mime = "application/vnd.jupyter.widget-view+json"
        display({mime: view[mime]}, raw=True)
        self._shown_live = True
        return True

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        if getattr(self, "_shown_live", False):
            return {"text/plain": self.text()}
        return super()._repr_mimebundle_(**kwargs)

    def wait(self, timeout: float | None = None, *, in_cell: bool = False) -> Any:
        """Block until the job ends; returns its result (raises like `Job.wait`). `in_cell`:
        the notebook cell itself waits, so the buttons say to interrupt the kernel instead."""
        self._in_cell = in_cell
        if in_cell:
            self._render()
        try:
            return self.job.wait(timeout)
        finally:
            self._in_cell = False
            self._apply_info(self.job.info())
            self._render()

    @property
    def result(self) -> Any:
        return self.job.info().get("result")

    def close(self) -> None:
        self._unsubscribe()
        super().close()


class JobsPanel(TextFallback, W.VBox):
    """A monitor per job of the library that is queued, running or paused, growing as new jobs
    start (from `job.status` events) — `%vdfs jobs --watch`."""

    def __init__(self, lib: Any):
        self.lib = lib
        self.monitors: dict[str, JobMonitor] = {}
        self._lock = threading.Lock()
        self._head = W.HTML()
        super().__init__([self._head])
        self.add_class("vdfs-jobs-panel")
        self._unsubscribe = lib.events.subscribe(self._on_event, kinds=("job.status",))
        for status in ("running", "queued", "paused"):
            for info in lib.jobs.list(status=status):
                self._add(info["id"])
        self._render()

    def _add(self, job_id: str) -> None:
        with self._lock:
            if job_id in self.monitors:
                return
            self.monitors[job_id] = JobMonitor(self.lib.jobs.get(job_id), self.lib)
        self.children = (self._head, *self.monitors.values())

    def _on_event(self, event: Any) -> None:
        if event.payload.get("status") in ("queued", "running") and event.payload.get("job_id"):
            self._add(event.payload["job_id"])
        self._render()

    def _render(self) -> None:
        live = sum(1 for m in self.monitors.values() if m.status not in TERMINAL)
        self._head.value = f"<b>jobs</b> — {live} running or waiting, {len(self.monitors)} watched"

    def close(self) -> None:
        self._unsubscribe()
        super().close()

    def text(self) -> str:
        live = sum(1 for m in self.monitors.values() if m.status not in TERMINAL)
        return "\n".join([f"jobs: {live} running or waiting, {len(self.monitors)} watched",
                          *(f"  {m.text()}" for m in self.monitors.values())])


def _esc(text: Any) -> str:
    import html
    return html.escape(str(text))


def jobs_table(lib: Any, limit: int = 50) -> Table:
    """The library's jobs, newest first: name, status, progress, phase, message (no ids or times)."""
    rows = []
    for info in lib.jobs.list(limit=limit):
        total = info.get("progress_total")
        done = _shown_done(info.get("status"), info.get("progress_done") or 0, total)
        rows.append([info.get("name"), info.get("status"), f"{done}/{total}" if total else str(done),
                     info.get("phase") or "", info.get("message") or ""])
    return Table(["job", "status", "progress", "phase", "message"], rows, title="jobs", noun="job")
