"""What an action proposes: an ActionPreview of concrete Changes, and the errors of commit.

A Change names its target as "<kind>:<uuid>" ("entry:…", "content:…", "model:…") and carries
`before` and `after` in plain JSON, so a preview can be shown, stored in the audit log, sent to a
notebook button and committed later. `fingerprint` is filled in by the engine at preview time;
commit compares it with the target's state then, which is how a stale preview is caught.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from core.errors import VdfsError

KINDS = ("add_tag", "remove_tag", "set_note", "move", "rename", "delete", "restore",
         "create_model", "delete_model")


class ActionError(VdfsError):
    """An action cannot be previewed or committed as asked (bad change, unknown action …)."""


class StaleActionError(ActionError):
    """The world moved since the preview: `conflicts` maps each target to what changed."""

    def __init__(self, conflicts: dict[str, str], audit_id: int | None = None):
        self.conflicts, self.audit_id = conflicts, audit_id
        listed = "; ".join(f"{t} {why}" for t, why in conflicts.items())
        super().__init__(f"preview is stale, nothing was changed: {listed}")


class VerificationFailed(ActionError):
    """After applying, a re-read target did not show its change; everything was rolled back."""

    def __init__(self, problems: list[str], audit_id: int | None = None):
        self.problems, self.audit_id = problems, audit_id
        super().__init__("verification failed, every change was rolled back: "
                         + "; ".join(problems))


@dataclass
class Change:
    kind: str
    target: str
    before: Any = None
    after: Any = None
    reversible: bool = True
    data: dict[str, Any] | None = None        # extra payload (a snapshot for restore …)
    fingerprint: str | None = None            # the target's state when previewed
    obj: Any = field(default=None, repr=False, compare=False)   # in-memory model instance

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ActionError(f"unknown change kind {self.kind!r}; known: {', '.join(KINDS)}")
        scope, _, ident = str(self.target).partition(":")
        if scope not in ("entry", "content", "model") or not ident:
            raise ActionError(f"change target must look like 'entry:<uuid>', 'content:<uuid>' "
                              f"or 'model:<uuid>', got {self.target!r}")

    @property
    def scope(self) -> str:
        return self.target.partition(":")[0]

    @property
    def target_uuid(self) -> uuid.UUID:
        return uuid.UUID(self.target.partition(":")[2])

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "before": self.before,
                "after": self.after, "reversible": self.reversible, "data": self.data,
                "fingerprint": self.fingerprint}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Change":
        return cls(kind=d["kind"], target=d["target"], before=d.get("before"),
                   after=d.get("after"), reversible=d.get("reversible", True),
                   data=d.get("data"), fingerprint=d.get("fingerprint"))

    def describe(self) -> str:
        if self.kind in ("move", "rename", "delete", "restore"):
            return f"{self.kind} {self.before} -> {self.after}"
        if self.kind == "add_tag":
            return f"tag {self.target} with {self.after}"
        if self.kind == "remove_tag":
            return f"untag {self.before} from {self.target}"
        if self.kind == "set_note":
            return f"note on {self.target}: {self.before!r} -> {self.after!r}"
        return f"{self.kind} {self.target}"


@dataclass
class ActionPreview:
    title: str
    changes: list[Change] = field(default_factory=list)
    reversible: bool | None = None            # None: reversible when every change is
    action: str | None = None
    extension_id: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not self.title:
            raise ActionError("an ActionPreview needs a title")
        self.changes = [c if isinstance(c, Change) else Change.from_dict(c) for c in self.changes]
        if self.reversible is None:
            self.reversible = all(c.reversible for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "action": self.action,
                "extension_id": self.extension_id, "args": self.args,
                "reversible": self.reversible, "created_at": self.created_at,
                "changes": [c.to_dict() for c in self.changes]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ActionPreview":
        return cls(title=d["title"], changes=[Change.from_dict(c) for c in d["changes"]],
                   reversible=d.get("reversible"), action=d.get("action"),
                   extension_id=d.get("extension_id"), args=d.get("args") or {},
                   id=d.get("id") or str(uuid.uuid4()), created_at=d.get("created_at"))

    def __str__(self) -> str:
        lines = [f"{self.title} ({len(self.changes)} change(s), "
                 f"{'reversible' if self.reversible else 'NOT reversible'})"]
        lines += [f"  - {c.describe()}" for c in self.changes]
        return "\n".join(lines)


@dataclass
class ActionResult:
    audit_id: int
    preview: ActionPreview
    inverse: list[Change]
