"""The repository documents itself: no file sends a reader to a document that is not in it (a
design or spec file of another tree), and every section or document a file cites exists."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Written in pieces so this file does not match itself.
OUTSIDE = re.compile("|".join(re.escape(p) for p in (
    "DESIGN" + ".md", "SPEC" + ".md", "DESIGN" + " §", "SPEC" + " §", "../" + "shared",
    "PERFORMANCE" + "-NOTES", "LESSONS" + "-FROM-PEERS", "STYLE" + "-EXAMPLES")))
CITED_SECTION = re.compile(r"architecture(?:\.md)? §(\d+)")
CITED_DOC = re.compile(r"\bdocs/[\w-]+\.md\b")


def _tracked_texts() -> dict[str, str]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    out = {}
    for name in filter(None, names):
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue                          # binary: images, wasm, compiled bundles
        out[name] = data.decode("utf-8", "replace")
    return out


def test_no_file_points_outside_the_repository():
    offenders = [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
                 for name, text in _tracked_texts().items() for m in OUTSIDE.finditer(text)]
    assert offenders == [], "cite docs/ of this repository instead:\n" + "\n".join(offenders)


def test_cited_sections_and_documents_exist():
    arch = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    sections = {int(n) for n in re.findall(r"^## (\d+)\. ", arch, re.M)}
    missing = []
    for name, text in _tracked_texts().items():
        missing += [f"{name}: architecture §{n}" for n in CITED_SECTION.findall(text)
                    if int(n) not in sections]
        missing += [f"{name}: {doc}" for doc in CITED_DOC.findall(text)
                    if not (ROOT / doc).is_file()]
    assert missing == []
