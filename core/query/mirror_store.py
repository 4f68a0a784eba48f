"""Where the DuckDB mirror lives: a file in the library folder, owned by one process at a time,
with its change-log watermark stored beside the tables it describes, and bounded in memory.

Persisting the mirror means a restart loads it in milliseconds and replays only the change log
written since, instead of recopying millions of rows. The watermark (`vdfs_mirror_state`) is
written in the same DuckDB transaction as the rows it covers, so after a crash at any point the
file and its watermark agree; a rebuild clears it first and writes it last, so a half-built file
is rebuilt. DuckDB lets one process write a file: the first to open it owns it, any other Mirror
(in another process, or a second one in this process) keeps its copy in memory.
"""
from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vdfs_query.errors import VdfsError

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

MIRROR_FILE = "mirror.duckdb"
MEMORY_ENV = "VDFS_MIRROR_MEMORY"
DEFAULT_MEMORY_FRACTION = 0.25        # of physical RAM, when neither argument nor env var says
_FORMAT = 1                            # bump when the layout of the file changes: rebuild
_STATE_TABLE = "vdfs_mirror_state"
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|[KMGT]I?B|B)?\s*$", re.I)

_owned: set[str] = set()
_owned_lock = threading.Lock()


def physical_memory() -> int:
    """Bytes of RAM on this machine (0 when the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 0


def memory_limit(value: int | str | None = None) -> int:
    """The mirror's memory limit in bytes: `value` (bytes, "2GB", "512MiB", "25%" of RAM), else
    $VDFS_MIRROR_MEMORY, else DEFAULT_MEMORY_FRACTION of RAM. DuckDB spills to disk beyond it."""
    source = "mirror_memory"
    if value is None:
        value, source = os.environ.get(MEMORY_ENV) or None, MEMORY_ENV
    ram = physical_memory()
    if value is None:
        return int(ram * DEFAULT_MEMORY_FRACTION) if ram else 2 * 10**9
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    m = _SIZE_RE.match(str(value))
    if m is None or float(m.group(1)) <= 0 or (m.group(2) == "%" and not 0 < float(m.group(1)) <= 100):
        raise VdfsError(f"{source}={value!r} is not a memory size: say e.g. 4GB, 512MiB or 25%")
    number, unit = float(m.group(1)), (m.group(2) or "").upper()
    if unit == "%":
        return int(ram * number / 100) if ram else 2 * 10**9
    return int(number * _UNITS[unit])


def open_duck(path: str | os.PathLike[str] | None) -> tuple[Any, bool]:
    """(DuckDB connection, persisted?): the file at `path` if this process can own it, else an
    in-memory database. A file DuckDB cannot read (damaged, another version) is replaced: it
    holds only a copy."""
    import duckdb
    if path is None:
        return duckdb.connect(":memory:"), False
    key = str(Path(path).absolute())
    with _owned_lock:
        if key in _owned:
            return duckdb.connect(":memory:"), False
        for attempt in (1, 2):
            try:
                duck = duckdb.connect(key)
                break
            except (duckdb.Error, OSError) as exc:
                # another process owns it, or the folder is read-only: a copy in memory
                if "lock" in str(exc).lower() or attempt == 2 or not _remove(key):
                    return duckdb.connect(":memory:"), False
        _owned.add(key)
    return duck, True


def configure(duck: duckdb.DuckDBPyConnection, persisted: bool, limit: int) -> None:
    """Bound the copy's memory; beyond it DuckDB spills to disk: beside the file when persisted
    (its default), else in the system's temp folder (DuckDB's default, `.tmp` in the current
    folder, would litter wherever the user happens to be)."""
    duck.execute(f"SET memory_limit = '{int(limit)}B'")
    if not persisted:
        import tempfile
        spill = Path(tempfile.gettempdir()) / "vdfs-mirror-spill"
        duck.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")


def release(path: str | os.PathLike[str] | None) -> None:
    """This process no longer holds the file (its connection is closed)."""
    if path is not None:
        with _owned_lock:
            _owned.discard(str(Path(path).absolute()))


def load_state(duck: duckdb.DuckDBPyConnection, source_version: int
               ) -> tuple[int, dict[str, int]] | None:
    """(applied change-log seq, GROWING tops) stored with the tables, or None when the file has
    none, another layout, or was built from another schema version of the library."""
    try:
        row = duck.execute(f"SELECT format, source_version, applied, tops FROM {_STATE_TABLE}"
                           ).fetchone()
    except Exception:              # no state table: a new or half-built file
        return None
    if row is None or row[0] != _FORMAT or row[1] != source_version:
        return None
    return int(row[2]), {k: int(v) for k, v in json.loads(row[3]).items()}


def save_state(duck: duckdb.DuckDBPyConnection, source_version: int, applied: int,
               tops: dict[str, int]) -> None:
    """Record the watermark; call inside the transaction that applied the rows it covers."""
    duck.execute(f"CREATE TABLE IF NOT EXISTS {_STATE_TABLE} (format INTEGER, "
                 "source_version INTEGER, applied BIGINT, tops VARCHAR)")
    duck.execute(f"DELETE FROM {_STATE_TABLE}")
    duck.execute(f"INSERT INTO {_STATE_TABLE} VALUES (?, ?, ?, ?)",
                 [_FORMAT, source_version, applied, json.dumps(tops)])


def clear_state(duck: duckdb.DuckDBPyConnection) -> None:
    """Forget the watermark before a rebuild: a crash halfway leaves a file that is rebuilt."""
    duck.execute(f"DROP TABLE IF EXISTS {_STATE_TABLE}")


def _remove(path: str) -> bool:
    """Delete an unreadable mirror file; False when it cannot be (a read-only folder)."""
    for suffix in ("", ".wal"):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass
        except OSError:
            return False
    return True
