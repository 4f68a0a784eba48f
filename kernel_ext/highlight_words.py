"""The words the JupyterLab highlighter marks, generated from the grammar (its one source).

The highlighter runs in the browser and cannot ask Python, so its word lists are written into
labextension_src/lib/index.js between two marker lines by `python -m kernel_ext.highlight_words`
(scripts/build-labextension.sh runs it before every build); a test keeps source and bundle in step.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

INDEX_JS = Path(__file__).parent / "labextension_src" / "lib" / "index.js"
BEGIN = "// BEGIN words generated from grammar/vdfs.lark by `python -m kernel_ext.highlight_words`"
END = "// END generated words"


def word_sets() -> dict[str, list[str]]:
    """{"SOURCES": [...], "KEYWORDS": [...]}: the grammar's source words and its other keywords."""
    from vdfs_query import keywords
    from vdfs_query.catalog import SOURCES
    sources = sorted(w for w in keywords() if w in SOURCES)
    return {"SOURCES": sources, "KEYWORDS": sorted(set(keywords()) - set(sources))}


def js_block() -> str:
    lines = [BEGIN]
    for name, words in word_sets().items():
        lines.append(f"const {name} = new Set({json.dumps(words)});")
    return "\n".join(lines + [END])


def rewrite(path: Path = INDEX_JS) -> bool:
    """Put the generated block into `path`; True if it changed."""
    text = path.read_text("utf-8")
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    new = pattern.sub(lambda _: js_block(), text, count=1)
    if new != text:
        path.write_text(new, "utf-8")
    return new != text


if __name__ == "__main__":
    print("updated" if rewrite() else "up to date", INDEX_JS)
