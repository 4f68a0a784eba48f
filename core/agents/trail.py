"""The agent trail: debug-only JSON lines in `<library>/logs/extensions/<id>.jsonl`.
For people reading what an agent decided; never read back by the agent itself."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from core.store.clock import now_iso

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class Trail:
    def __init__(self, path: Path, level: str = "debug"):
        if level not in LEVELS:
            raise ValueError(f"trail level must be one of {list(LEVELS)}, got {level!r}")
        self.path, self.level = path, level
        self._lock = threading.Lock()

    def write(self, message: str, *, level: str = "debug", **data: Any) -> None:
        if LEVELS.get(level, 10) < LEVELS[self.level]:
            return
        record = {"ts": now_iso(), "level": level, "msg": str(message)}
        if data:
            record["data"] = data
        line = json.dumps(record, default=str, sort_keys=True)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(l) for l in self.path.read_text(encoding="utf-8").splitlines() if l]
