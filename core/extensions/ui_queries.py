"""The queries a ui_manifest may name besides its own DSL text.

- Named sources core provides: `"data_source": "query:exif_gps"` is the photos whose EXIF has a
  GPS position (core's extraction stores it in the ImageInfo model), with `lat` and `lon`
  columns a map view places.
- The SQL-like form `"<source> LIKE '<pattern>'"` (`tags LIKE '#person:%'`): the rows of the
  source whose name matches, `%` any run of characters and `_` one, case-insensitively, as LIKE
  is. It becomes the DSL `tags where name ~ "#person:**"`; NOT LIKE becomes `!~`.
Anything else is DSL and compiled as it is.
"""
from __future__ import annotations

import re

BUILTIN_QUERIES: dict[str, str] = {
    "exif_gps": "models ImageInfo where lat is not null and lon is not null "
                "select content_uuid, lat, lon, taken_at, camera_model order by taken_at",
}
_NAMED_SOURCES = ("entries", "files", "folders", "tags", "collections", "locations", "devices")
_LIKE = re.compile(r"""^\s*(?P<src>[A-Za-z]+)\s+(?P<neg>NOT\s+)?LIKE\s+
                       (?P<lit>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*$""", re.I | re.X)
_GLOB_SPECIAL = set("*?[]{}\\")


def like_to_glob(pattern: str) -> str:
    """A LIKE pattern as a vdfs glob: % → ** (crosses '/' too, as LIKE does), _ → ?, and the
    glob's own special characters escaped."""
    out = []
    for ch in pattern:
        if ch == "%":
            out.append("**")
        elif ch == "_":
            out.append("?")
        else:
            out.append("\\" + ch if ch in _GLOB_SPECIAL else ch)
    return "".join(out)


def dsl_text(text: str) -> str:
    """The DSL a ui_manifest query stands for (see the module doc)."""
    m = _LIKE.match(text)
    if m is None or m["src"].lower() not in _NAMED_SOURCES:
        return text
    lit = m["lit"][1:-1]
    lit = re.sub(r"\\(.)", r"\1", lit)                  # the quoted text as written
    glob = like_to_glob(lit).replace("\\", "\\\\").replace('"', '\\"')
    return f'{m["src"].lower()} where name {"!~" if m["neg"] else "~"} "{glob}"'
