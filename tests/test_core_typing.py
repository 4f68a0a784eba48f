"""Core's public signatures say what they take and give (issue 12): no public parameter or return
is a bare `Any` where a project type exists, none is unannotated, and every annotation names
something real — a misspelled type under TYPE_CHECKING would otherwise pass unnoticed, because
`from __future__ import annotations` never evaluates it."""
from __future__ import annotations

import ast
import importlib
import typing
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "core"

# Parameters that stay `Any`, by name: each holds a value that has no project type.
ALLOWED_PARAMS = {
    # an instance of a user's @model class: models are plain dataclasses with no common base
    "m": "model instance", "model": "model instance", "obj": "model instance (or user object)",
    "obj_or_cls": "model instance or @model class",
    "m_or_uuid": "model instance or UuidLike",
    # a user's or extension's own value: JSON, a model field, a setting, a memory record
    "value": "user value", "default": "user value", "data": "JSON value", "payload": "JSON value",
    "state": "JSON checkpoint", "changes": "metadata fields to set", "values": "settings values",
    "entries": "JSON payload", "variables": "template values", "options": "user options",
    "params": "query parameters", "args": "a job's, task's or action's own arguments",
    "kwargs": "a job's or task's own keyword arguments", "a": "forwarded positionals",
    "k": "forwarded keywords", "arg": "a hook's own argument",
    "item": "a task's own item, or a collection item (a uuid or a model instance)",
    "config": "an instance of the extension's own settings class",
    # what an extension hands over that is its own object
    "ext": "an @extension class or instance, a definition, a folder or an entry point name",
    "agent_obj": "an @agent class or instance", "fn": "a user's function (or staticmethod)",
    # model-or-uuid targets checked at run time (a model instance has no common base)
    "target": "an entry / content uuid or a model instance",
    "photo": "an EntryRef or the face embeddings themselves",
    # third-party objects, and inputs taken loosely and checked at run time
    "faces": "an embedding, a face, a list of either, or something holding them",
    "session": "an onnxruntime InferenceSession (third-party)",
    "store": "a wasmtime Store (third-party)",
    "hint": "a typing hint (any typing construct)",
    "key": "a metadata blob key, validated at run time",
    "n": "a size as the user gave it", "v": "a time as stored (text, number or datetime)",
    "pid": "a pid as read from a lock file", "timeout": "a timeout as the user gave it",
    "ctx": "a job, task or action context, sealed or not (unwrapped at run time)",
    "host": "WasmHost keyword arguments",
    "_ignored": "unused",
}

# Returns that stay `Any`, by "module.function": each gives a value that has no project type.
ALLOWED_RETURNS = {
    # decorators usable bare or with arguments: they give back the user's own class or function
    "core.actions.context.action_execute": "decorator", "core.agents.agent.agent": "decorator",
    "core.domain.models.declare.model": "decorator",
    "core.domain.models.spec.migrates.mark": "decorator",
    # a dataclass field default that stands in for the field's own type
    "core.domain.models.spec.blob_data": "field marker", "core.extensions.settings.setting":
    "field marker",
    # a user's own value: a blob, a JSON document, a model field, a memory record
    "core.domain.models.spec.BlobData.make_default": "field value",
    "core.domain.blobs.decode_value": "stored value", "core.domain.blobs.decode_array":
    "numpy array or list", "core.domain.blobs.read_blob": "stored value",
    "core.domain.metadata.get_blob": "stored value", "core.host.VdfsApi.get_metadata_blob":
    "stored value", "core.extensions.host.ScopedVdfsApi.get_metadata_blob": "stored value",
    "core.domain.models.codec.to_json": "JSON value", "core.domain.models.codec.from_json":
    "field value", "core.domain.sidecars.Sidecars.read_json": "JSON value",
    "core.ai.contract.OnnxContract.meta_json": "JSON value",
    "core.agents.memory.WorkingMemory.get": "stored value",
    "core.extensions.wasm.codec.decode_bytes": "JSON value",
    "core.extensions.wasm.sandbox.json_request": "JSON value",
    "core.extensions.wasm.sandbox.WasmProgram.call": "the guest's JSON answer",
    "core.extensions.wasm.sandbox.Call.run": "the guest's JSON answer",
    "core.extensions.wasm.runtime.WasmRuntime.call": "the guest's JSON answer",
    "core.extensions.wasm.runtime.WasmRuntime.run_job": "the guest's JSON answer",
    "core.extensions.wasm.runtime.WasmRuntime.run_task": "the guest's JSON answer",
    "core.extensions.wasm.runtime.task_shell.run_wasm_task": "the guest's JSON answer",
    "core.extensions.wasm.definition._job_shell.run_wasm_job": "the guest's JSON answer",
    "core.extensions.wasm.hostops.op_ai": "what the AI model answered",
    "core.jobs.codec.loads": "JSON value", "core.jobs.codec.load_result": "a job's result",
    # what a user's job or task function returned
    "core.jobs.context.JobContext.run": "task result", "core.jobs.sealed.ExtensionJobContext.run":
    "task result", "core.jobs.executor._call.runner": "task result",
    "core.jobs.executor.attempt_once": "task result", "core.jobs.procpool._Worker.call":
    "task result", "core.jobs.procpool.run_in_process": "task result",
    "core.jobs.handle.Job.wait": "job result", "core.jobs.sealed.ExtensionJob.wait": "job result",
    "core.query.result.Result.scalar": "a query cell",
    # instances of the user's own classes (an @agent_memory, a settings class, an @agent, an
    # @extension class, a model), which share no base class
    "core.agents.agent.AgentContext.config": "settings instance",
    "core.agents.agent.AgentContext.memory": "@agent_memory instance",
    "core.agents.memory.open_memory": "@agent_memory instance",
    "core.extensions.context.ExtensionRuntime.memory": "@agent_memory instance",
    "core.extensions.context.ExtensionContext.memory": "@agent_memory instance",
    "core.extensions.settings.make_config": "settings instance",
    "core.extensions.definition.ExtensionDefinition.agent_obj": "@agent class or instance",
    "core.extensions.definition.ExtensionDefinition.instance": "@extension instance",
    "core.extensions.wasm.definition.agent_for": "generated @agent instance",
    "core.extensions.host.ScopedVdfsApi.get_model": "model instance",
    "core.extensions.host.ScopedVdfsApi.get_model_by_content": "model instance",
    "core.extensions.host.ScopedVdfsApi.get_model_by_entry": "model instance",
    "core.store.facade.core_side": "the context given, or the core half of a facade",
    # third-party objects (imported lazily, so not named here)
    "core.access.globs.compile_glob": "an re2 program",
    "core.ai.contract.open_image": "a PIL image",
}


def _is_any(node: ast.AST | None) -> bool:
    return (isinstance(node, ast.Name) and node.id == "Any") or \
        (isinstance(node, ast.Attribute) and node.attr == "Any") or \
        (isinstance(node, ast.Constant) and node.value == "Any")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _public_functions(tree: ast.Module):
    """(qualified name, function node, class node or None) of every public function and
    method, nested ones included (`__init__` counts as public)."""
    def visit(node: ast.AST, prefix: str, cls: ast.ClassDef | None):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.", child)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if not child.name.startswith("_") or child.name == "__init__":
                    yield f"{prefix}{child.name}", child, cls
                yield from visit(child, f"{prefix}{child.name}.", None)
            else:
                yield from visit(child, prefix, cls)
    yield from visit(tree, "", None)


def _parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    """Its parameters but a leading self / cls (a method's, or a function's that becomes one)."""
    a = fn.args
    params = a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]
    if params and params[0].arg in ("self", "cls") and not _is_static(fn):
        params = params[1:]
    return params


def _is_static(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)


FILES = sorted(CORE.rglob("*.py"))
TREES = {p: ast.parse(p.read_text(encoding="utf-8")) for p in FILES}


def _signatures():
    for path, tree in TREES.items():
        module = _module_name(path)
        for qual, fn, cls in _public_functions(tree):
            yield module, qual, fn, cls


def test_no_public_parameter_or_return_is_bare_any_or_unannotated() -> None:
    problems = []
    for module, qual, fn, cls in _signatures():
        for arg in _parameters(fn):
            if arg.annotation is None:
                problems.append(f"{module}.{qual}({arg.arg}): no annotation")
            elif _is_any(arg.annotation) and arg.arg not in ALLOWED_PARAMS:
                problems.append(f"{module}.{qual}({arg.arg}): bare Any")
        if _is_any(fn.returns) and f"{module}.{qual}" not in ALLOWED_RETURNS:
            problems.append(f"{module}.{qual} -> bare Any")
    assert not problems, "\n".join(problems)


def test_the_allowlists_hold_only_names_still_in_use() -> None:
    """An entry whose last use was typed goes, so the lists stay a record of real exceptions."""
    used_params, used_returns = set(), set()
    for module, qual, fn, cls in _signatures():
        used_params |= {a.arg for a in _parameters(fn) if _is_any(a.annotation)}
        if _is_any(fn.returns):
            used_returns.add(f"{module}.{qual}")
    assert set(ALLOWED_PARAMS) <= used_params, sorted(set(ALLOWED_PARAMS) - used_params)
    assert set(ALLOWED_RETURNS) <= used_returns, sorted(set(ALLOWED_RETURNS) - used_returns)


def _type_checking_names(path: Path, module: str, tree: ast.Module) -> dict[str, object]:
    """The names a module imports under TYPE_CHECKING, imported for real."""
    ns: dict[str, object] = {"__name__": module,
                             "__package__": module if path.name == "__init__.py"
                             else module.rpartition(".")[0]}
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            code = compile(ast.Module(body=node.body, type_ignores=[]), str(path), "exec")
            exec(code, ns)
    return ns


@pytest.mark.parametrize("path", [p for p in FILES if p.name != "__main__.py"],  # it runs the CLI
                         ids=lambda p: str(p.relative_to(REPO)))
def test_every_public_annotation_resolves(path: Path) -> None:
    """typing.get_type_hints over each public signature, in the module's namespace plus its
    TYPE_CHECKING imports: a misspelled or missing type name fails here."""
    module = _module_name(path)
    tree = TREES[path]
    mod = importlib.import_module(module)
    ns = dict(vars(mod))
    ns.update({k: v for k, v in _type_checking_names(path, module, tree).items()
               if not k.startswith("__")})
    for qual, fn, _cls in _public_functions(tree):
        annotations = {a.arg: ast.unparse(a.annotation) for a in _parameters(fn)
                       if a.annotation is not None}
        if fn.returns is not None:
            annotations["return"] = ast.unparse(fn.returns)
        holder = SimpleNamespace(__annotations__=annotations)
        try:
            typing.get_type_hints(holder, globalns=ns, include_extras=False)
        except Exception as exc:  # noqa: BLE001 - the report names the signature
            pytest.fail(f"{module}.{qual}: {type(exc).__name__}: {exc}")
