"""Preview → commit → verify → audit, and undo.

commit(lib, preview) in one SQLite transaction on the library connection:
  1. re-fingerprint every target; any difference from the preview refuses the commit, naming
     the targets (an audit row records the refusal);
  2. apply exactly the previewed changes (the action's @action_execute, or all of them);
  3. verify: re-read every target and confirm each change; also that nothing was applied
     twice or left out;
  4. write the audit_log row with the inverse changes, then COMMIT.
Verification runs after every change is applied but before COMMIT, so a failed verification is
a plain ROLLBACK; disk renames made on the way are reversed in reverse order. Renames go
through a synced journal first, so even a process killed mid-commit is repaired: the next
commit, undo or audit_log call reverses an interrupted commit's renames (core/actions/journal). Events from
the host API (tag.added …) and ours (entry.modified/deleted) fire only after COMMIT.
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from typing import TYPE_CHECKING, Any, Callable

from core.store.clock import now_iso
from core.store.events import Event
from core.store.txn import after_commit, transaction
from . import changes as handlers
from . import targets
from .context import ActionContext, get_action
from .journal import Journal, recover
from .model import (ActionError, ActionPreview, ActionResult, Change, StaleActionError,
                    VerificationFailed)

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library


def preview(lib: Library, name_or_fn: str | Callable[..., Any], *, actor: str | None = None,
            **args: Any) -> ActionPreview:
    """Run an action's preview step: compute its changes without changing anything. The
    actor defaults to the action's extension (its changes are the extension's), else the user."""
    spec = get_action(name_or_fn)
    ctx = ActionContext(lib, actor=actor or spec.extension_id or "user",
                        extension_id=spec.extension_id, args=args)
    out = spec.fn(ctx.for_code(), **args)
    if isinstance(out, list):
        out = ActionPreview(title=spec.name, changes=out)
    if not isinstance(out, ActionPreview):
        raise ActionError(f"action {spec.name} must return an ActionPreview or a list of "
                          f"Changes, got {type(out).__name__}")
    out.id = ctx.preview_id
    out.action, out.extension_id, out.args = spec.name, spec.extension_id, args
    check_extension(lib, out)
    return seal(lib, out)


def check_extension(lib: Library, p: ActionPreview) -> None:
    """An extension's action may change only what the extension's grants cover. Checked here,
    where every preview and commit passes (notebook button, CLI, plain Python), not at one of
    the doors; PermissionDenied names the grant and its scope."""
    if p.extension_id:
        lib.extensions.guard(p.extension_id).check_changes(p.changes)


def seal(lib: Library, p: ActionPreview) -> ActionPreview:
    """Stamp each change with its target's fingerprint now (done by preview())."""
    conn = lib.conn
    prints: dict[str, str] = {}
    for c in p.changes:
        if c.target not in prints:
            prints[c.target] = targets.fingerprint(conn, c.target)
        c.fingerprint = prints[c.target]
    p.created_at = p.created_at or now_iso()
    return p


def _conflicts(conn: sqlite3.Connection, p: ActionPreview) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in p.changes:
        if c.target in out or c.fingerprint is None:
            continue
        now = targets.fingerprint(conn, c.target)
        if now != c.fingerprint:
            if now == "absent":
                out[c.target] = "vanished"
            elif c.fingerprint == "absent":
                out[c.target] = "appeared"
            else:
                out[c.target] = "changed"
    for t in list(out):
        if t.startswith("entry:"):
            row = targets.entry_row(conn, uuid.UUID(t[6:]))
            where = row["path"] if row else next(
                (c.before for c in p.changes if c.target == t and isinstance(c.before, str)), "")
            out[t] = f"({where}) {out[t]}" if where else out[t]
    return out


def _audit(conn: sqlite3.Connection, p: ActionPreview, actor: str, outcome: str, *,
           inverse: list[Change] | None = None, error: str | None = None) -> int:
    """One audit row; a committed row's uuid is the preview's id, so it commits only once."""
    row_uuid = uuid.UUID(p.id) if outcome == "committed" else uuid.uuid4()
    cur = conn.execute(
        "INSERT INTO audit_log (uuid, action, extension_id, actor, preview, inverse, outcome, "
        "error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (row_uuid.bytes, p.action or p.title, p.extension_id, actor,
         json.dumps(p.to_dict(), sort_keys=True, default=str),   # uuid args too
         json.dumps([c.to_dict() for c in inverse]) if inverse is not None else None,
         outcome, error, now_iso()))
    return int(cur.lastrowid)


def _audit_alone(lib: Library, p: ActionPreview, actor: str, outcome: str, error: str) -> int:
    with transaction(lib.conn) as conn:
        return _audit(conn, p, actor, outcome, error=error)


def commit(lib: Library, p: ActionPreview, *, actor: str | None = None,
           execute: Callable[[ActionContext, ActionPreview], Any] | None = None,
           _undo_of: int | None = None) -> ActionResult:
    """Apply exactly the previewed changes, verified, in one transaction; see module doc.
    The actor defaults to the preview's extension, else the user."""
    actor = actor or p.extension_id or "user"
    if _undo_of is None:       # an undo puts back what core recorded: the user's call
        check_extension(lib, p)
    if any(c.fingerprint is None for c in p.changes):
        p = seal(lib, p)   # a hand-built preview: sealed now, so only later changes are stale
    conn = lib.conn
    if conn.in_transaction:
        raise ActionError("commit needs its own transaction; finish the open one first")
    recover(lib)
    if execute is None and p.action and not p.action.startswith("undo:"):
        try:
            execute = get_action(p.action).execute
        except ActionError:
            execute = None
    journal = Journal(lib, p.id)
    applied: list[tuple[Change, Change]] = []
    events: list[Event] = []
    ctx = ActionContext(lib, actor=actor, extension_id=p.extension_id, preview_id=p.id,
                        args=p.args)
    ctx._preview = p

    def applier(change: Change) -> None:
        if not any(change is c for c in p.changes):
            raise ActionError(f"execute applied a change that is not in the preview: "
                              f"{change.describe()}")
        if any(change is a for a, _ in applied):
            raise ActionError(f"execute applied a change twice: {change.describe()}")
        inverse = handlers.apply(lib, change, actor=actor, rename=journal.rename)
        applied.append((change, inverse))
        ev = _event_for(change)
        if ev:
            events.append(ev)

    ctx._applier = applier
    outcome, error, audit_id = "failed", None, None
    try:
        with transaction(conn):
            if conn.execute("SELECT 1 FROM audit_log WHERE uuid=?",
                            (uuid.UUID(p.id).bytes,)).fetchone():
                raise ActionError(f"preview {p.id} was already committed")
            stale = _conflicts(conn, p)
            if stale:
                outcome = "refused"
                raise StaleActionError(stale)
            if execute is not None:
                execute(ctx.for_code(), p)
            else:
                ctx.apply_all()
            missing = [c.describe() for c in p.changes if not any(c is a for a, _ in applied)]
            if missing:
                raise ActionError("execute left out previewed change(s): " + "; ".join(missing))
            problems = [msg for c, inv in _final_effects(applied)
                        if (msg := handlers.verify(lib, c, _applied_target(c, inv)))]
            if problems:
                outcome = "verify_failed"
                raise VerificationFailed(problems)
            inverse = [inv for _, inv in reversed(applied)]
            for inv in inverse:
                inv.fingerprint = targets.fingerprint(conn, inv.target)
            audit_id = _audit(conn, p, actor, "committed", inverse=inverse)
            if _undo_of is not None:
                conn.execute("UPDATE audit_log SET outcome='undone', undone_at=? WHERE id=?",
                             (now_iso(), _undo_of))
            for ev in events:
                after_commit(conn, lambda ev=ev: lib.events.publish(ev))
    except BaseException as exc:
        problems = journal.reverse()
        journal.close()
        if problems:
            exc.add_note("could not put back on disk: " + "; ".join(problems))
        if isinstance(exc, (ActionError, OSError, sqlite3.Error, ValueError, LookupError)):
            error = str(exc)
            try:
                rid = _audit_alone(lib, p, actor, outcome, error)
            except sqlite3.Error as audit_exc:   # e.g. still locked: keep the first error
                exc.add_note(f"(the audit row could not be written: {audit_exc})")
            else:
                if isinstance(exc, (StaleActionError, VerificationFailed)):
                    exc.audit_id = rid
        raise
    journal.close()
    return ActionResult(audit_id=audit_id, preview=p, inverse=inverse)


_FS = ("move", "rename", "delete", "restore")


def _final_effects(applied: list[tuple[Change, Change]]) -> list[tuple[Change, Change]]:
    """The changes whose effect must be visible at the end: the last one per (target, aspect);
    nothing but the delete itself for a target that ends up deleted."""
    last: dict[tuple[str, str], tuple[Change, Change]] = {}
    deleted = set()
    for c, inv in applied:
        if c.kind in _FS:
            aspect = "fs"
            if c.kind == "delete":
                deleted.add(c.target)
            else:
                deleted.discard(c.target)
        elif c.kind in ("add_tag", "remove_tag"):
            aspect = f"tag:{c.after if c.kind == 'add_tag' else c.before}"
        elif c.kind == "set_note":
            aspect = "note"
        else:
            aspect = f"{c.kind}:{id(c)}"
        last[(c.target, aspect)] = (c, inv)
    return [(c, inv) for (t, aspect), (c, inv) in last.items()
            if t not in deleted or aspect == "fs"]


def _applied_target(change: Change, inverse: Change) -> str:
    return inverse.target if change.kind == "create_model" else change.target


def _event_for(change: Change) -> Event | None:
    """The entry event of a file change, keyed as the indexer's (`entry_uuid`, `path`), so an
    agent or job reads an action's event as it reads the indexer's."""
    if change.kind in ("move", "rename", "restore"):
        kind = "entry.created" if change.kind == "restore" else "entry.modified"
        return Event(kind, {"entry_uuid": change.target[6:], "path": change.after,
                            "old_path": change.before, "via": "action"})
    if change.kind == "delete":
        return Event("entry.deleted", {"entry_uuid": change.target[6:], "path": change.before,
                                       "via": "action"})
    return None


def undo(lib: Library, audit_id: int, *, actor: str = "user") -> ActionResult:
    """Apply the inverse of a committed action (refused if its targets changed since)."""
    row = lib.conn.execute("SELECT action, extension_id, preview, inverse, outcome FROM audit_log "
                           "WHERE id=?", (int(audit_id),)).fetchone()
    if row is None:
        raise ActionError(f"no audit log entry {audit_id}")
    action_name, ext, preview_json, inverse_json, outcome = row
    if outcome == "undone":
        raise ActionError(f"audit entry {audit_id} was already undone")
    if outcome != "committed":
        raise ActionError(f"audit entry {audit_id} is {outcome}: nothing was changed to undo")
    original = json.loads(preview_json)
    if not original.get("reversible"):
        raise ActionError(f"action {action_name} (audit {audit_id}) is not reversible")
    inverse = [Change.from_dict(c) for c in json.loads(inverse_json or "[]")]
    p = ActionPreview(title=f"Undo: {original['title']}", changes=inverse,
                      action=f"undo:{action_name}", extension_id=ext,
                      args={"audit_id": int(audit_id)}, created_at=now_iso())
    return commit(lib, p, actor=actor, _undo_of=int(audit_id))


def audit_log(lib: Library, *, limit: int | None = 50) -> list[dict[str, Any]]:
    """Newest first: id, action, extension, who, when, outcome, title, change count, error."""
    recover(lib)
    sql = ("SELECT id, action, extension_id, actor, created_at, outcome, preview, error, "
           "undone_at FROM audit_log ORDER BY id DESC")
    if limit:
        sql += f" LIMIT {int(limit)}"
    out = []
    for r in lib.conn.execute(sql):
        p = json.loads(r[6])
        out.append({"id": r[0], "action": r[1], "extension_id": r[2], "actor": r[3],
                    "created_at": r[4], "outcome": r[5], "title": p.get("title"),
                    "changes": len(p.get("changes", [])), "reversible": p.get("reversible"),
                    "error": r[7], "undone_at": r[8]})
    return out


def preview_changes(lib: Library, title: str, changes: list[Change], *,
                    reversible: bool | None = None) -> ActionPreview:
    """A preview built by hand (no registered action): sealed against the state now."""
    return seal(lib, ActionPreview(title=title, changes=changes, reversible=reversible))
