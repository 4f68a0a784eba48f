"""Tab completion inside `%vdfs` lines and `%%vdfs` cells (an IPython v2 context matcher).

Suggestions depend on what is being typed: `#` starts a tag name, `:` a notebook variable,
`source.` a field of that source, a word after `kind` a kind, after `models` a model type;
otherwise keywords, sources and the fields of the sources the query already names.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from IPython.core.completer import CompletionContext, SimpleCompletion, context_matcher

from . import catalog, session
from .config import settings
from .magics import FLAGS, SUBCOMMANDS, SYNC_ACTIONS, SYNC_FLAGS

_FRAGMENT = re.compile(r"[#:]?[A-Za-z0-9_.:\-/]*$")


def query_before_cursor(full_text: str, line: int, column: int) -> tuple[str, bool] | None:
    """(text of the query up to the cursor, is_line_magic) or None if not inside %vdfs."""
    rows = full_text.split("\n")
    first = rows[0].lstrip()
    if first.startswith("%%vdfs"):
        if line == 0:
            return None  # the flags line: nothing to complete from the DSL
        return "\n".join(rows[1:line] + [rows[line][:column]]), False
    current = rows[line][:column]
    m = re.search(r"%vdfs(\s.*)?$", current)
    if m is None or re.search(r"%%vdfs", current):
        return None
    return (m.group(1) or "")[1:] if m.group(1) else None, True


def candidates(query: str, *, is_line: bool, namespace: dict[str, Any] | None = None
               ) -> tuple[str, list[tuple[str, str]]]:
    """(fragment being completed, [(completion, type)]) for the query text before the cursor."""
    frag = _FRAGMENT.search(query).group(0)
    head = query[: len(query) - len(frag)]
    words = head.split()
    lib = session.library(required=False)
    use_lib = lib is not None and settings().complete_from_library
    out: list[tuple[str, str]] = []

    if is_line and not words:
        out += [(c, "command") for c in SUBCOMMANDS]
    if is_line and words and words[0] in SUBCOMMANDS and words[0] != "explain" \
            and not (words[0] == "search" and len(words) > 1 and not frag.startswith("-")):
        return frag, _filter(frag, _command_args(words, lib))    # (search TEXT …: a query)
    if frag.startswith("#"):
        return frag, _filter(frag, [(t if t.startswith("#") else "#" + t, "tag")
                                    for t in (catalog.tag_names(lib) if use_lib else [])])
    if frag.startswith(":"):
        names = [n for n in (namespace or {}) if n.isidentifier() and not n.startswith("_")]
        return frag, _filter(frag, [(":" + n, "parameter") for n in sorted(names)])
    srcs = catalog.sources_and_fields()
    if "." in frag:
        src, _, _ = frag.rpartition(".")
        return frag, _filter(frag, [(f"{src}.{f}", "field") for f in srcs.get(src, [])])
    prev = words[-1].lower() if words else ""
    prev2 = words[-2].lower() if len(words) > 1 else ""
    if prev in ("kind", "kinds") or (prev in ("=", "==", "!=", "in", "is", ":") and prev2 == "kind"):
        return frag, _filter(frag, [(k, "kind") for k in catalog.kinds(lib if use_lib else None)])
    if prev == "tagged":
        return frag, _filter(frag, [(t.lstrip("#"), "tag")
                                    for t in (catalog.tag_names(lib) if use_lib else [])])
    if prev in ("models", "has"):
        return frag, _filter(frag, [(m, "model") for m in (catalog.model_types(lib) if use_lib else [])])
    mentioned = [s for s in srcs if re.search(rf"\b{re.escape(s)}\b", head)]
    for s in mentioned:
        out += [(f, "field") for f in srcs[s]]
    out += [(s, "source") for s in srcs]
    out += [(k, "keyword") for k in catalog.dsl_keywords()]
    return frag, _filter(frag, out)


def _command_args(words: list[str], lib: Any) -> list[tuple[str, str]]:
    command = words[0]
    if command == "sync":
        if len(words) == 1:
            return [(a, "action") for a in SYNC_ACTIONS]
        return [(f"--{flag}", "flag") for flag in SYNC_FLAGS.get(words[1], {})]
    out: list[tuple[str, str]] = []
    if command in ("run", "preview", "view", "sidebar", "settings") and lib is not None:
        from .widgets.registry import names_for
        out += [(n, command) for n in names_for(lib, command)]
    return out + [(f"--{flag}", "flag") for flag in FLAGS.get(command, {})]


def _filter(frag: str, items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    low = frag.lower()
    for text, kind in items:
        if text.lower().startswith(low) and text not in seen and text != frag:
            seen.add(text)
            out.append((text, kind))
    return out


def make_matcher(shell: Any):
    """The matcher registered on `shell.Completer.custom_matchers`."""

    @context_matcher(identifier="vdfs", priority=100)
    def vdfs_matcher(context: CompletionContext) -> dict[str, Any]:
        found = query_before_cursor(context.full_text, context.cursor_line, context.cursor_position)
        if found is None or found[0] is None:
            return {"completions": [], "suppress": False}
        query, is_line = found
        try:
            frag, items = candidates(query, is_line=is_line, namespace=shell.user_ns)
        except Exception:  # completion must never raise into the frontend
            return {"completions": [], "suppress": False}
        words = query.split()
        if is_line and words and words[0] in ("open", "index", "install") and not items:
            return {"completions": [], "suppress": False}  # let file-name completion work
        return {"completions": [SimpleCompletion(t, type=k) for t, k in items],
                "matched_fragment": frag, "suppress": True, "ordered": True}

    return vdfs_matcher
