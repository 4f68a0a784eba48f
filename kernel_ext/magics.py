"""`%vdfs` / `%%vdfs`: sub-commands and DSL queries, dispatched to core and vdfs_query.

A thin skin (architecture §1): parse the arguments, look up `:name` values in the user namespace,
call the library, hand back a displayable object. User mistakes become `MagicError`s (short
message with caret); anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import json
import os
from collections import ChainMap
from contextlib import contextmanager
from typing import Any, Callable, Iterator, MutableMapping

from IPython.core.magic import (Magics, line_cell_magic, magics_class, needs_local_scope,
                                no_var_expand)

from . import args as A
from . import session
from .display import Table, Text
from .errors import MagicError, VdfsUsageError, from_query_error, from_syntax_error
from .params import bind_params
from .plot import Plot, plot_kind

HELP = """\
%vdfs open PATH [--create]        open a library (PATH or :variable); --create makes it if absent
%vdfs close                       close the open library
%vdfs index PATH [--no-wait]      add PATH as a location and index it; waits, showing
                                  the job monitor (--wait, the default; --no-wait or
                                  --background: return at once, the monitor still live)
%vdfs <query>                     run a DSL query; the value is the Result (`_`, .df(), .rows())
%%vdfs [--out NAME] [--explain] [--limit N] [--plot bar]
                                  the cell is a query; --out stores the Result in NAME;
                                  --plot bar: a bar chart of a (key, number) result
%vdfs explain <query>             the IR and SQL with its bound parameters
%vdfs jobs [--watch]              jobs of this library; --watch: a live monitor per running job
%vdfs run EXT.JOB [key=value ...] start a job (job monitor); values may be :variables;
                                  --wait: the cell waits for it to end
%vdfs preview ACTION [k=v ...]    preview an action (or :preview), then Commit / Discard
%vdfs view EXT/VIEW_ID [--limit N] render a view of an extension's ui_manifest.json
                                  (--limit: at most N of its rows)
%vdfs sidebar EXT [--limit N]     an extension's sidebar sections (N items each) and menus
%vdfs settings EXT                a form for an installed extension's settings (Save applies)
%vdfs consent CATEGORY:MODEL      allow or revoke a cloud model's use; the local/cloud preference
%vdfs install PATH|PACKAGE|:obj   install an extension (permissions dialog; --yes grants
                                  every permission it asks for without the dialog)
%vdfs search [--limit N] TEXT     entries matching TEXT (part of a name, or words of their
                                  text), best first, the match highlighted; no TEXT: a search
                                  box that updates as you type; `search "…" where …` is a query
%vdfs tags                        tags and how often they are used
%vdfs usage [PATH] [--depth N]    where the bytes are: a treemap of the folders below PATH
                                  (a folder or location; default every location; depth 2)
%vdfs devices                     devices of the library, last sync, changes to send
%vdfs sync export|import PATH     sync through a bundle file (export --peer DEVICE: what that
                                  device lacks; import --join: a new, empty library joins
                                  the sender's);
                                  `sync pair`, `sync serve [--port N]`, `sync stop`,
                                  `sync with URL [--code C] [--cafile F]` sync with a live peer
%vdfs help                        this text
Query values come from Python by name: `%vdfs entries where size > :min_size`."""

# every `%vdfs NAME` runs `cmd_NAME`; tab completion offers the same names
SUBCOMMANDS = ("open", "close", "index", "explain", "jobs", "run", "preview", "view", "install",
               "sidebar", "settings", "consent", "tags", "usage", "help", "sync", "devices",
               "search")
#: each sub-command's flags: what `%vdfs NAME` parses and what tab completion offers after it
FLAGS: dict[str, A.FlagSpec] = {
    "open": {"create": bool}, "index": {"wait": bool, "no-wait": bool, "background": bool},
    "jobs": {"watch": bool}, "run": {"wait": bool}, "view": {"limit": A.positive_int},
    "sidebar": {"limit": A.positive_int}, "install": {"yes": bool},
    "usage": {"depth": A.positive_int}, "search": {"limit": A.positive_int}}
#: `%vdfs sync ACTION`: the actions and each one's flags (sync_magics parses them; here, with
#: the other flag tables, so completion and help read them without loading sync's widgets)
SYNC_ACTIONS = ("export", "import", "pair", "serve", "stop", "with")
SYNC_FLAGS: dict[str, A.FlagSpec] = {
    "export": {"peer": str}, "import": {"join": bool}, "with": {"code": str, "cafile": str},
    "serve": {"port": A.positive_int}}
#: what `%vdfs search TEXT` and the search box ask
SEARCH_QUERY = "search :text select rank, snippet, path, kind, size, modified limit :limit"
SEARCH_LIMIT = 50

#: sub-commands that are also query sources: followed by a clause they run as a query
QUERY_SOURCES_TOO = ("jobs", "tags")
QUERY_FLAGS: A.FlagSpec = {"out": A.identifier, "explain": bool, "limit": A.positive_int,
                           "plot": plot_kind}


@contextmanager
def user_errors(text: str | None = None) -> Iterator[None]:
    """Turn the errors a user can cause (bad query, refused request) into short MagicErrors;
    anything else is a bug and keeps its traceback."""
    from core.errors import VdfsError
    from vdfs_query import LocatedError
    try:
        yield
    except MagicError:
        raise
    except LocatedError as exc:           # query text or :param value: caret and advice
        raise from_syntax_error(exc, text or "") from None
    except VdfsError as exc:
        raise from_query_error(exc, text) from None


@magics_class
class VdfsMagics(Magics):
    """The `%vdfs` line magic and `%%vdfs` cell magic."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.commands: dict[str, Callable[[str, MutableMapping[str, Any]], Any]] = {
            name: getattr(self, f"cmd_{name}") for name in SUBCOMMANDS}

    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def vdfs(self, line: str, cell: str | None = None, local_ns: MutableMapping[str, Any] | None = None) -> Any:
        """Query and drive a vdfs library (`%vdfs help` lists the commands)."""
        ns: MutableMapping[str, Any] = ChainMap(local_ns or {}, self.shell.user_ns)
        if cell is not None:
            flags, rest = A.leading_flags(line, QUERY_FLAGS, command="%%vdfs")
            if rest.strip():
                raise VdfsUsageError(f"%%vdfs takes only flags on its first line, got {rest.strip()!r}"
                                     " (put the query in the cell body)")
            return self.run_query(cell, ns, flags.flags)
        word, _, rest = line.strip().partition(" ")
        if word in QUERY_SOURCES_TOO and rest.strip() and not rest.strip().startswith("--"):
            return self.run_query(line, ns, {})   # `%vdfs jobs where …` is a query of that source
        if word in self.commands:
            return self.commands[word](rest.strip(), ns)
        if not line.strip():
            return Text(HELP)
        flags, query = A.leading_flags(line, QUERY_FLAGS, command="%vdfs")
        return self.run_query(query, ns, flags.flags)

    # ---- queries ------------------------------------------------------------------------
    def run_query(self, text: str, ns: MutableMapping[str, Any], flags: dict[str, Any]) -> Any:
        if not text.strip():
            raise VdfsUsageError("empty query (try `%vdfs help`)")
        lib = session.library()
        params = bind_params(text, ns)
        with user_errors(text):
            query: Any = text
            if flags.get("limit") is not None:
                from .results import with_limit
                query = with_limit(text, flags["limit"], params)
            from vdfs_query import resolve_paths
            query = resolve_paths(query, os.getcwd())     # `in "raw"`: below the current folder
            if flags.get("explain"):
                if flags.get("plot"):
                    raise VdfsUsageError("--plot draws a result; --explain has none")
                return lib.explain(query, **params)
            result = lib.query(query, **params)
        if flags.get("out"):
            self.shell.user_ns[flags["out"]] = result
        if flags.get("plot"):
            return Plot(result, flags["plot"])
        return result

    def cmd_explain(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        return self.run_query(rest, ns, {"explain": True})

    # ---- library ------------------------------------------------------------------------
    def _value(self, token: str, ns: MutableMapping[str, Any]) -> Any:
        """A positional argument: `:name` reads the user's variable, anything else is text."""
        if token.startswith(":") and token[1:].isidentifier():
            if token[1:] not in ns:
                raise VdfsUsageError(f"parameter {token} is not defined in the notebook")
            return ns[token[1:]]
        return token

    def cmd_open(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        p = A.parse(A.split(rest), FLAGS["open"], command="open")
        if len(p.positional) != 1:
            raise VdfsUsageError("usage: %vdfs open PATH [--create]")
        path = self._value(p.positional[0], ns)
        with user_errors():
            lib = session.open_library(path, create=bool(p.flags.get("create")))
            from .widgets.registry import load_installed
            load_installed(lib)
        self.shell.user_ns["vdfs_library"] = lib
        return Text(f"library {lib.info.get('name')!r} is open")

    def cmd_close(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        A.parse(A.split(rest), {}, command="close")
        session.close_library()
        self.shell.user_ns.pop("vdfs_library", None)
        return Text("library closed")

    def cmd_index(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        """Waits by default: under "Run All" the next cell must see the indexed files."""
        p = A.parse(A.split(rest), FLAGS["index"], command="index")
        if len(p.positional) != 1:
            raise VdfsUsageError("usage: %vdfs index PATH [--no-wait | --background]")
        background = bool(p.flags.get("no-wait") or p.flags.get("background"))
        if background and p.flags.get("wait"):
            raise VdfsUsageError("--wait and --no-wait/--background contradict each other")
        lib = session.library()
        with user_errors():
            job = lib.index(self._value(p.positional[0], ns))
        return self._monitor(job, wait=not background)

    def _monitor(self, job: Any, wait: bool) -> Any:
        from .widgets.jobs import JobMonitor
        monitor = JobMonitor(job, session.library())
        if wait:
            monitor.show_live()
            try:
                with user_errors():
                    monitor.wait(in_cell=True)
            except KeyboardInterrupt:   # the notebook's interrupt button: stop waiting only
                return Text(f"stopped waiting; job {monitor.name} goes on in the background "
                            "(its monitor can pause or cancel it; `%vdfs jobs` lists it)")
        return monitor

    def cmd_jobs(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        p = A.parse(A.split(rest), FLAGS["jobs"], command="jobs")
        from .widgets.jobs import JobsPanel, jobs_table
        if p.flags.get("watch"):
            return JobsPanel(session.library())
        return jobs_table(session.library())

    def cmd_run(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        p = A.parse(A.split(rest), FLAGS["run"], command="run")
        if not p.positional:
            raise VdfsUsageError("usage: %vdfs run EXTENSION.JOB [key=value ...] [--wait]")
        name, kwargs = p.positional[0], self._kwargs(p.positional[1:], ns)
        lib = session.library()
        with user_errors():
            from .widgets.registry import run_job
            job = run_job(lib, name, kwargs)
        return self._monitor(job, wait=bool(p.flags.get("wait")))

    def _kwargs(self, tokens: list[str], ns: MutableMapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for tok in tokens:
            key, eq, raw = tok.partition("=")
            if not eq or not key.isidentifier():
                raise VdfsUsageError(f"expected key=value, got {tok!r}")
            if raw.startswith(":"):
                out[key] = self._value(raw, ns)
            else:
                try:
                    out[key] = json.loads(raw)
                except ValueError:
                    out[key] = raw
        return out

    def cmd_preview(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        p = A.parse(A.split(rest), {}, command="preview")
        if not p.positional:
            raise VdfsUsageError("usage: %vdfs preview EXTENSION.ACTION [key=value ...]")
        from .widgets.actions import ActionPanel
        target = p.positional[0]
        target = self._value(target, ns) if target.startswith(":") else target
        with user_errors():
            return ActionPanel.start(session.library(), target, self._kwargs(p.positional[1:], ns))

    def cmd_view(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        p = A.parse(A.split(rest), FLAGS["view"], command="view")
        if len(p.positional) != 1 or "/" not in p.positional[0]:
            raise VdfsUsageError("usage: %vdfs view EXTENSION/VIEW_ID")
        ext, _, view_id = p.positional[0].partition("/")
        from .widgets.views import render_view
        with user_errors():
            return render_view(session.library(), ext, view_id, limit=p.flags.get("limit"))

    def cmd_sidebar(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        p = A.parse(A.split(rest), FLAGS["sidebar"], command="sidebar")
        if len(p.positional) != 1:
            raise VdfsUsageError("usage: %vdfs sidebar EXTENSION [--limit N]")
        from .widgets.sidebar import SECTION_LIMIT, render_sidebar
        with user_errors():
            return render_sidebar(session.library(), p.positional[0],
                                  limit=p.flags.get("limit") or SECTION_LIMIT)

    def cmd_settings(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        p = A.parse(A.split(rest), {}, command="settings")
        if len(p.positional) != 1:
            raise VdfsUsageError("usage: %vdfs settings EXTENSION")
        from .widgets.settings_form import SettingsForm
        with user_errors():
            return SettingsForm(session.library(), p.positional[0])

    def cmd_consent(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        p = A.parse(A.split(rest), {}, command="consent")
        if len(p.positional) != 1:
            raise VdfsUsageError("usage: %vdfs consent CATEGORY:MODEL")
        from .widgets.consent import ConsentWidget
        with user_errors():
            return ConsentWidget(p.positional[0])

    def cmd_install(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        p = A.parse(A.split(rest), FLAGS["install"], command="install")
        if len(p.positional) != 1:
            raise VdfsUsageError("usage: %vdfs install PATH|PACKAGE|:object [--yes]")
        from .widgets.install import InstallDialog
        with user_errors():
            return InstallDialog.start(session.library(), self._value(p.positional[0], ns),
                                       grant_all=bool(p.flags.get("yes")))

    def cmd_tags(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        A.parse(A.split(rest), {}, command="tags")
        with user_errors():
            result = session.library().query("tags select name, uses order by name")
        return Table(["tag", "uses"], [[r["name"], r["uses"]] for r in result.rows()],
                     title="tags", noun="tag")

    def cmd_search(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        """`%vdfs search invoice 2024`: the text as typed (no quoting); a quoted text or a
        `:variable` first is the query source (`search "x" where size > 1MB`); no text at all
        is the search box."""
        if rest.startswith(("'", '"', ":")):
            return self.run_query("search " + rest, ns, {})
        p, text = A.leading_flags(rest, FLAGS["search"], command="search")
        limit = p.flags.get("limit", SEARCH_LIMIT)
        if not text.strip():
            from .widgets.searchbox import SearchBox
            return SearchBox(session.library(), SEARCH_QUERY, limit=limit)
        with user_errors(text):
            return session.library().query(SEARCH_QUERY, text=text.strip(), limit=limit)

    def cmd_usage(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        p = A.parse(A.split(rest), FLAGS["usage"], command="usage")
        if len(p.positional) > 1:
            raise VdfsUsageError("usage: %vdfs usage [PATH] [--depth N]")
        target = self._value(p.positional[0], ns) if p.positional else None
        from .usage import Usage
        with user_errors():
            return Usage(session.library(), None if target is None else str(target),
                         depth=p.flags.get("depth", 2))

    def cmd_sync(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        from .sync_magics import sync
        with user_errors():
            return sync(session.library(), rest, lambda t: self._value(t, ns))

    def cmd_devices(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        A.parse(A.split(rest), {}, command="devices")
        from .sync_magics import devices
        with user_errors():
            return devices(session.library())

    def cmd_help(self, rest: str, ns: MutableMapping[str, Any]) -> Any:
        return Text(HELP)
