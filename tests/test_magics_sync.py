"""`%vdfs sync …` and `%vdfs devices` in a real IPython shell, against a second library."""
from __future__ import annotations

import re

import pytest

from kernel_ext.errors import MagicError
from magics_support import indexed_shell, run
from tests.sync_support import device_library


@pytest.fixture
def notebook(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "photo.jpg").write_bytes(b"jpeg bytes")
    with indexed_shell(tmp_path, bundle=str(tmp_path / "nb.vdfsbundle"),
                       back=str(tmp_path / "back.vdfsbundle")) as sh:
        laptop = device_library(tmp_path, "laptop", monkeypatch)
        yield sh, laptop
        laptop.close()


def test_bundles_both_ways_and_the_devices_table(notebook, tmp_path):
    sh, laptop = notebook
    assert "wrote" in repr(run(sh, "%vdfs sync export :bundle"))
    laptop.sync.import_(tmp_path / "nb.vdfsbundle", join=True)
    cu = laptop.query('files where name = "photo.jpg"').rows()[0]["content_uuid"]
    laptop.vdfs().add_tag_to_content(cu, "#from-laptop")
    laptop.sync.export(tmp_path / "back.vdfsbundle", peer="test-device")
    assert "applied" in repr(run(sh, "%vdfs sync import :back"))
    rows = run(sh, '%vdfs files tagged "#from-laptop"').rows()
    assert [r["name"] for r in rows] == ["photo.jpg"]
    panel = run(sh, "%vdfs devices")
    states = {r[0]: r[1] for r in panel.rows}
    assert states == {"test-device": "this device", "laptop": "seen"}
    assert "laptop" in panel._html.value and "laptop" in repr(panel)
    # a change made here is one more the laptop lacks; the Refresh button shows it
    to_send = lambda: {r[0]: r[4] for r in panel.rows}["laptop"]   # noqa: E731
    before = to_send()
    from kernel_ext import session
    session.library().vdfs().create_tag("#made-here")
    assert to_send() == before                  # a widget shows what it last read
    panel._refresh.click()
    assert to_send() > before


def test_pair_serve_and_a_peer_syncs_with_the_notebook(notebook):
    sh, laptop = notebook
    code = re.search(r"code (\S+)", repr(run(sh, "%vdfs sync pair"))).group(1)
    url = re.search(r"at (\S+)", repr(run(sh, "%vdfs sync serve"))).group(1)
    try:
        laptop.sync.with_peer(url, code=code)
        assert [r["name"] for r in laptop.query('files on device "test-device"').rows()] == \
            ["photo.jpg"]
        states = {r[0]: r[1] for r in run(sh, "%vdfs devices").rows}
        assert states["laptop"] == "paired"
    finally:
        assert "stopped" in repr(run(sh, "%vdfs sync stop"))


def test_a_bad_sync_command_is_a_short_usage_error(notebook):
    sh, _ = notebook
    with pytest.raises(MagicError, match="unknown sync action"):
        run(sh, "%vdfs sync bogus")
    with pytest.raises(MagicError, match="usage"):
        run(sh, "%vdfs sync import")
    with pytest.raises(MagicError, match="not a vdfs sync bundle|cannot read"):
        run(sh, "%vdfs sync import /nonexistent.vdfsbundle")
