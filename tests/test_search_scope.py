"""Extensions search through their scoped host API: the hits are filtered by the extension's
scope like every other query (a grant on one folder finds nothing outside it, not even through
the text of a note), on the `search` source and with `matches`."""
from __future__ import annotations

import pytest

from core.extensions import Permission
from core.extensions.definition import extension

EXT = "com.test.searchscope"


@extension(id=EXT, name="Search scope test", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**")])
class SearchExt:
    pass


@pytest.fixture
def scoped(lib, tmp_path):
    root = tmp_path / "tree"
    for name in ("invoice-root.pdf", "granted/invoice-in.pdf", "granted/other.txt",
                 "elsewhere/invoice-out.pdf"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(name.encode())
    lib.index(lib.add_location(root)).wait(timeout=60)
    mgr = lib.extensions
    api = mgr.install(SearchExt, [Permission.ReadEntries(glob="**").scoped_to(
        str(root / "granted"))]).vdfs()
    yield lib, api, root
    mgr.close()


def _names(rows):
    return sorted(r["path"].rsplit("/", 1)[-1] for r in rows)


def test_an_extension_granted_one_folder_finds_only_inside_it(scoped):
    lib, api, root = scoped
    assert _names(lib.query('search "invoice"').rows()) == ["invoice-in.pdf", "invoice-out.pdf",
                                                            "invoice-root.pdf"]
    assert _names(api.query('search "invoice"').rows()) == ["invoice-in.pdf"]
    assert _names(api.query('files where matches "invoice" order by rank').rows()) == \
        ["invoice-in.pdf"]
    assert _names(api.query('files where matches "pdf" or name = "other.txt"').rows()) == \
        ["invoice-in.pdf", "other.txt"]
    assert api.query('files where matches "pdf" group by ext').rows() == [{"ext": "pdf", "count": 1}]
    assert _names(api.query('search :q', q="inv*").rows()) == ["invoice-in.pdf"]


def test_text_outside_the_scope_is_not_found_by_an_extension(scoped):
    lib, api, root = scoped
    outside = lib.query('files where name = "invoice-out.pdf"').rows()[0]["uuid"]
    inside = lib.query('files where name = "other.txt"').rows()[0]["uuid"]
    lib.vdfs().set_note(outside, "kilimanjaro expedition")
    lib.vdfs().set_note(inside, "kilimanjaro photos")
    assert _names(lib.query('search "kilimanjaro"').rows()) == ["invoice-out.pdf", "other.txt"]
    hits = api.query('search "kilimanjaro"').rows()
    assert _names(hits) == ["other.txt"] and "photos" in hits[0]["snippet"]
    assert api.query('search "expedition"').rows() == []
