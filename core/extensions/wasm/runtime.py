"""Running an installed WASM extension: its compiled program, the host each call is bound to,
and the job-step protocol that makes guest jobs durable.

Job steps. A guest job is a sequence of calls to its export, each within the call limits:

    input   {"args": {...}, "step": n, "state": <the last checkpoint>, "results": [...] | null}
    output  {"done": true, "result": ...}
         or {"state": ..., "tasks": [item, ...], "device": ...}   (tasks, device optional)

After a step the host runs the requested tasks (the job's `task` export, one call per item,
keyed `<step>.<i>`, retried per the manifest, up to `parallelism` at once) through
JobContext.map — on the devices `device` names, as RemoteWasmTasks (placement.py) — then
checkpoints {"step", "state", "results"}. A checkpoint is the jobs runtime's
safe point, so pause and cancel land between steps, and a job killed mid-step resumes from the
last checkpoint, with completed tasks replayed from jobs.db rather than run again.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Callable

from core.store.facade import core_side
from core.extensions.settings import config_values
from core.devices import executor_for
from core.devices.selection import entry_owner
from core.jobs.registry import TaskSpec
from .errors import WasmPayloadError
from .hostops import WasmHost
from .limits import limits_from_manifest
from .placement import placed_items, placement
from .remote import RemoteWasmTask
from .sandbox import WasmProgram

if TYPE_CHECKING:  # pragma: no cover
    from core.actions.context import ActionContext
    from core.actions.model import ActionPreview
    from core.actions.sealed import ExtensionActionContext
    from core.jobs.context import JobContext
    from core.jobs.executor import TaskContext
    from core.jobs.sealed import ExtensionJobContext, ExtensionTaskContext
    from core.library import Library
    from ..definition import ExtensionDefinition

_RUNTIMES: "weakref.WeakKeyDictionary[Library, dict[tuple[str, int], WasmRuntime]]" = \
    weakref.WeakKeyDictionary()


class WasmRuntime:
    def __init__(self, lib: Library, extension_id: str, definition: ExtensionDefinition):
        self.lib = lib
        self.extension_id = extension_id
        self.pkg = definition.wasm_package
        self.program = WasmProgram(self.pkg.wasm, name=extension_id,
                                   limits=limits_from_manifest(self.pkg.manifest.get("limits")),
                                   cache_dir=lib.path / "cache" / "wasm")
        self._tasks: dict[str, Any] = {}

    @classmethod
    def of(cls, lib: Library, extension_id: str) -> "WasmRuntime":
        """The runtime of an installed WASM extension: one per library and definition (a
        reinstall makes a new definition, so a new runtime with the new module)."""
        d = lib.extensions.context(extension_id).definition
        runtimes = _RUNTIMES.setdefault(lib, {})
        key = (extension_id, id(d))
        if key not in runtimes:
            runtimes[key] = cls(lib, extension_id, d)
        return runtimes[key]

    def host(self, *, job: JobContext | ExtensionJobContext | None = None, read_only: bool = False,
             checkpoint: Callable[[Any], None] | None = None) -> WasmHost:
        ctx = self.lib.extensions.context(self.extension_id)
        return WasmHost(api=ctx.vdfs(), settings=config_values(ctx.config),
                        models={m.__vdfs_model__.model_type: m for m in ctx.definition.models},
                        job=job, dispatch_job=ctx.dispatch_job, ai=ctx.ai, trace=ctx.trace,
                        read_only=read_only, checkpoint=checkpoint)

    def call(self, export: str, payload: Any, **host: Any) -> Any:
        """One call of an export (an agent hook, a tool, a test)."""
        return self.program.call(export, payload, self.host(**host))

    # ---- jobs ----------------------------------------------------------------------------------
    def run_job(self, jctx: JobContext | ExtensionJobContext, decl: dict[str, Any],
                args: dict[str, Any]) -> Any:
        cp = jctx.state or {"step": 0, "state": None, "results": None}
        while True:
            step = cp["step"]

            def save(state: Any, step: int = step) -> None:
                jctx.checkpoint({"step": step, "state": state, "results": None})

            out = self.program.call(decl["export"], {"step": step, "args": args,
                                                     "state": cp["state"],
                                                     "results": cp["results"]},
                                    self.host(job=jctx, checkpoint=save))
            if not isinstance(out, dict):
                raise WasmPayloadError(f"job {decl['name']}: a step must output a JSON object, "
                                       f"got {type(out).__name__}")
            if out.get("done"):
                return out.get("result")
            results = None
            tasks = out.get("tasks")
            if tasks:
                if "task" not in decl:
                    raise WasmPayloadError(f"job {decl['name']} asked for tasks but its manifest "
                                           "names no task export")
                if not isinstance(tasks, list):
                    raise WasmPayloadError(f"job {decl['name']}: 'tasks' must be a list")
                keys = [f"{step}.{i}" for i in range(len(tasks))]
                if out.get("device") is not None:
                    results = self._map_placed(jctx, decl, tasks, out["device"], keys)
                else:
                    results = jctx.map(self._task_fn(decl), tasks, keys=keys)
            cp = {"step": step + 1, "state": out.get("state"), "results": results}
            jctx.checkpoint(cp)

    def _task_fn(self, decl: dict[str, Any]) -> Any:
        fn = self._tasks.get(decl["name"])
        if fn is None:
            fn = self._tasks[decl["name"]] = task_shell(self.extension_id, decl)
        return fn

    def _map_placed(self, jctx: JobContext | ExtensionJobContext, decl: dict[str, Any],
                    tasks: list[Any], device: Any, keys: list[str]) -> list[Any]:
        """The step's tasks on the devices its `"device"` names (placement.py): each sent with
        the module, the limits, the settings and its read ticket, checked here in core."""
        ctx = self.lib.extensions.context(self.extension_id)
        api = ctx.vdfs()
        where = placement(jctx, api, device, len(tasks), decl["name"])
        sent = placed_items(api, lambda e: entry_owner(self.lib.conn, e), tasks)
        task = RemoteWasmTask(self.extension_id, decl["task"], self.pkg.wasm,
                              self.program.limits, config_values(ctx.config),
                              wasm_task_spec(self.extension_id, decl)
                              ).share(self.program).publish(executor_for(self.lib))
        chosen = (lambda p: where[p.index]) if isinstance(where, list) else where
        return jctx.map(task, sent, keys=keys, device=chosen)

    def run_task(self, export: str, item: Any) -> Any:
        return self.program.call(export, item, self.host())

    # ---- actions -------------------------------------------------------------------------------
    def preview_action(self, actx: ActionContext | ExtensionActionContext, decl: dict[str, Any],
                       args: dict[str, Any]) -> ActionPreview:
        """The guest proposes changes (it cannot write during a preview); they become ordinary
        Changes, which ExtensionManager.preview_action/commit_action check against the grants."""
        out = self.program.call(decl["export"], {"args": args}, self.host(read_only=True))
        if not isinstance(out, dict) or not isinstance(out.get("changes"), list):
            raise WasmPayloadError(f"action {decl['name']}: output must be "
                                   '{"title": ..., "changes": [...]}')
        changes = []
        for i, c in enumerate(out["changes"]):
            if not isinstance(c, dict) or c.get("op") not in ("add_tag", "remove_tag") or \
                    not isinstance(c.get("tag"), str):
                raise WasmPayloadError(f"action {decl['name']}: changes[{i}] must be "
                                       '{"op": "add_tag"|"remove_tag", "entry"|"content": uuid, '
                                       '"tag": text}')
            scope = next((s for s in ("entry", "content", "model") if s in c), None)
            if scope is None:
                raise WasmPayloadError(f"action {decl['name']}: changes[{i}] names no target")
            changes.append(getattr(actx, c["op"])(c[scope], c["tag"], scope=scope))
        return actx.preview(str(out.get("title") or decl["name"]), changes)


def task_shell(extension_id: str, decl: dict[str, Any]) -> Callable[..., Any]:
    def run_wasm_task(ctx: TaskContext | ExtensionTaskContext | None, item: Any) -> Any:
        return WasmRuntime.of(core_side(ctx).lib, extension_id).run_task(decl["task"], item)
    run_wasm_task.__vdfs_task__ = wasm_task_spec(extension_id, decl)  # type: ignore[attr-defined]
    return run_wasm_task


def wasm_task_spec(extension_id: str, decl: dict[str, Any]) -> TaskSpec:
    """A job's task as the jobs runtime knows it, wherever it runs: the name keys its results
    in jobs.db, so a placed task and a local one are the same task."""
    return TaskSpec(name=f"{extension_id}.{decl['task']}", retries=decl.get("retries", 0),
                    backoff_ms=decl.get("backoff_ms", 50))
