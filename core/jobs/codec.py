"""JSON for job arguments, results and checkpoints; task results fall back to pickle.

Arguments and checkpoints must be JSON (they are shown by `vdfs jobs` and edited by nobody);
UUIDs, datetimes, paths, sets and dataclasses are converted on the way in. A task result that JSON cannot
hold is pickled, so a resumed job gets back exactly what the task returned.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import json
import os
import pickle
import uuid
from typing import Any


def _default(obj: Any) -> Any:
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, (datetime.datetime, datetime.date)):
        return obj.isoformat()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, bytes):
        return obj.hex()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def dumps(value: Any, what: str = "value") -> str:
    try:
        return json.dumps(value, default=_default, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON-serialisable: {exc}") from exc


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def dump_result(value: Any) -> str:
    """A task result as JSON, or as {"__pickle__": base64} when JSON cannot hold it exactly."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
        if json.loads(text) == value:
            return text
    except (TypeError, ValueError):
        pass
    return json.dumps({"__pickle__": base64.b64encode(pickle.dumps(value)).decode("ascii")})


def load_result(text: str | None) -> Any:
    value = loads(text)
    if isinstance(value, dict) and set(value) == {"__pickle__"}:
        return pickle.loads(base64.b64decode(value["__pickle__"]))
    return value


def args_digest(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """A stable digest of task arguments, used in the task's deterministic key."""
    text = dumps([list(args), kwargs], what="task arguments (pass key= to name the task)")
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()
