"""The DuckDB mirror persists in the library folder, catches up from the change log, and is
never stale: writes from another process, a writer killed before the mirror caught up, a change
log trimmed past the mirror's watermark. One process owns the file; others use memory."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

import pytest

import core
from core.query.engine import Engine
from vdfs_query.errors import VdfsError
from core.query.mirror import MIRROR_FILE, memory_limit

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _add_tags(db_path, names) -> None:
    conn = sqlite3.connect(db_path, timeout=30)
    conn.executemany("INSERT INTO tags (uuid, name, created_at) VALUES (randomblob(16), ?, 'n')",
                     [(n,) for n in names])
    conn.commit()
    conn.close()


def _tag_names(eng: Engine) -> set[str]:
    result = eng.run("tags", route="duckdb")
    assert result.route == "duckdb"
    return {r["name"] for r in result.rows()}


@pytest.fixture
def library(tmp_path):
    path = tmp_path / "m.vdfs"
    core.Library.create(path).close()
    _add_tags(path / "library.db", [f"a{i}" for i in range(20)])
    return path


def _engine(path, **kw) -> Engine:
    kw.setdefault("mirror", "sync")
    return Engine(path / "library.db", mirror_path=path / MIRROR_FILE, **kw)


def test_the_mirror_survives_a_restart_and_catches_up_instead_of_rebuilding(library):
    eng = _engine(library)
    assert len(_tag_names(eng)) == 20
    assert eng.mirror.persisted and eng.mirror.rebuilds == 1
    eng.close()
    assert (library / MIRROR_FILE).is_file()
    _add_tags(library / "library.db", ["later"])          # while no engine was open
    again = _engine(library)
    assert "later" in _tag_names(again) and len(_tag_names(again)) == 21
    assert again.mirror.rebuilds == 0                       # loaded from disk, then caught up
    again.close()


_OTHER_WRITER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=30)
conn.execute("INSERT INTO tags (uuid, name, created_at) VALUES (randomblob(16), 'other', 'n')")
conn.execute("UPDATE tags SET name = 'renamed' WHERE name = 'a0'")
conn.commit()
print("written", flush=True)
sys.stdin.read()          # held open until killed: no clean close, the WAL stays
"""


def test_writes_from_another_process_then_killed_are_seen(library):
    eng = _engine(library)
    assert "other" not in _tag_names(eng)
    writer = subprocess.Popen([sys.executable, "-c", _OTHER_WRITER, str(library / "library.db")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "written"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    names = _tag_names(eng)
    assert {"other", "renamed"} <= names and "a0" not in names
    eng.close()


_CRASHER = """
import os, sqlite3, sys
from core.query.engine import Engine
from vdfs_query.errors import VdfsError
lib = sys.argv[1]
eng = Engine(lib + "/library.db", mirror_path=lib + "/mirror.duckdb", mirror="sync")
assert len(eng.run("tags", route="duckdb")) == 20
conn = sqlite3.connect(lib + "/library.db", timeout=30)
conn.execute("DELETE FROM tags WHERE name = 'a1'")
conn.execute("INSERT INTO tags (uuid, name, created_at) VALUES (randomblob(16), 'crash', 'n')")
conn.commit()
os.kill(os.getpid(), 9)   # before the mirror replays the write
"""


def test_a_crash_between_a_write_and_the_catch_up_leaves_no_stale_mirror(library):
    done = subprocess.run([sys.executable, "-c", _CRASHER, str(library)], timeout=60,
                          capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    eng = _engine(library)
    names = _tag_names(eng)
    assert "crash" in names and "a1" not in names and len(names) == 20
    assert eng.mirror.rebuilds == 0
    eng.close()


def test_a_change_log_trimmed_past_the_watermark_rebuilds_while_sqlite_answers(library):
    _engine(library).close()
    _add_tags(library / "library.db", ["gap"])
    conn = sqlite3.connect(library / "library.db")
    top = conn.execute("SELECT max(seq) FROM change_log").fetchone()[0]
    conn.execute("DELETE FROM change_log WHERE seq < ?", (top,))   # the mirror's next seq is gone
    conn.commit()
    conn.close()
    eng = _engine(library, mirror="background")
    first = eng.run("tags")     # small source: SQLite, fresh
    assert "gap" in {r["name"] for r in first.rows()}
    eng.mirror.ready.wait(30)
    assert "gap" in _tag_names(eng) and eng.mirror.rebuilds == 1
    eng.close()


def test_a_second_owner_uses_memory_and_stays_correct(library):
    first = _engine(library)
    second = _engine(library)
    try:
        assert first.mirror.persisted and not second.mirror.persisted
        _add_tags(library / "library.db", ["both"])
        assert "both" in _tag_names(first) and "both" in _tag_names(second)
        other = subprocess.run(
            [sys.executable, "-c",
             "import sys; from core.query.engine import Engine; "
             "e = Engine(sys.argv[1] + '/library.db', mirror_path=sys.argv[1] + '/mirror.duckdb',"
             " mirror='sync'); print(e.mirror.persisted, len(e.run('tags', route='duckdb')))",
             str(library)], capture_output=True, text=True, timeout=60)
        assert other.stdout.split() == ["False", "21"], other.stderr
    finally:
        second.close()
        first.close()
    third = _engine(library)           # the owner left: the next one owns the file again
    assert third.mirror.persisted and "both" in _tag_names(third)
    third.close()


def test_memory_limit_is_applied(library, monkeypatch):
    eng = _engine(library, mirror_memory="300MB")
    setting = eng.mirror.duck.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert setting.startswith("286.1")                   # 300,000,000 bytes in MiB
    in_memory = Engine(library / "library.db", mirror="sync", mirror_memory="1GB")
    spill = in_memory.mirror.duck.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    assert os.path.isabs(spill) and not in_memory.mirror.persisted  # never `.tmp` in the cwd
    in_memory.close()
    eng.close()
    assert memory_limit("300MB") == 300_000_000 and memory_limit(4096) == 4096
    monkeypatch.setenv("VDFS_MIRROR_MEMORY", "25%")
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert memory_limit() == total // 4
    monkeypatch.delenv("VDFS_MIRROR_MEMORY")
    assert 0 < memory_limit() < total
    monkeypatch.setenv("VDFS_MIRROR_MEMORY", "lots")
    with pytest.raises(VdfsError, match="VDFS_MIRROR_MEMORY"):
        memory_limit()


def test_a_damaged_mirror_file_is_replaced(library):
    (library / MIRROR_FILE).write_bytes(b"not a duckdb file" * 1000)
    eng = _engine(library)
    assert eng.mirror.persisted and eng.mirror.rebuilds == 1 and len(_tag_names(eng)) == 20
    eng.close()
    again = _engine(library)
    assert again.mirror.rebuilds == 0 and len(_tag_names(again)) == 20
    again.close()


def test_a_schema_upgrade_rebuilds_the_mirror(library):
    _engine(library).close()
    conn = sqlite3.connect(library / "library.db")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.execute("ALTER TABLE tags ADD COLUMN colour TEXT")
    conn.execute(f"PRAGMA user_version = {version + 1}")
    conn.commit()
    conn.close()
    eng = _engine(library)
    assert eng.mirror.rebuilds == 1
    cols = [r[0] for r in eng.mirror.duck.execute("DESCRIBE tags").fetchall()]
    assert "colour" in cols
    eng.close()
