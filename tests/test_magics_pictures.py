"""Pictures in the notebook, from a real indexed library: the disk-usage treemap
(`%vdfs usage`), bar charts of grouped results (`%%vdfs --plot bar`) and grid thumbnails.

The SVG is parsed, not grepped: cell counts, areas against sizes, bar lengths against values.
"""
from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET

import pytest
from hypothesis import example, given, settings, strategies as st
from PIL import Image

from kernel_ext import session
from kernel_ext.errors import VdfsUsageError
from kernel_ext.widgets.treemap import squarify
from kernel_ext.widgets.views import render_rows

from magics_support import indexed_shell, run

SVG = "{http://www.w3.org/2000/svg}"
#: folder -> bytes of each file directly in it
TREE = {"": [500], "big": [3000, 3000], "big/inner": [2000], "mid": [1000, 2000], "small": [1000]}


@pytest.fixture
def ip(tmp_path):
    data = tmp_path / "data"
    for folder, sizes in TREE.items():
        (data / folder).mkdir(parents=True, exist_ok=True)
        for i, n in enumerate(sizes):
            (data / folder / f"f{i}.bin").write_bytes(b"x" * n)
    Image.new("RGB", (300, 200), (220, 20, 20)).save(data / "small" / "red.png")
    Image.new("RGB", (200, 300), (20, 20, 220)).save(data / "mid" / "blue.png")
    with indexed_shell(tmp_path) as sh:
        yield sh


def cells(svg: str, cls: str = "vdfs-cell") -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [r for r in root.iter(f"{SVG}rect") if cls in r.get("class", "").split()]


def area(r: ET.Element) -> float:
    return float(r.get("width")) * float(r.get("height"))


def title(r: ET.Element) -> str:
    return r.find(f"{SVG}title").text


# ---- %vdfs usage ----------------------------------------------------------------------------
def test_usage_treemap_has_a_cell_per_folder_with_area_by_size(ip):
    usage = run(ip, "%vdfs usage :data --depth 1")
    svg = usage.svg()
    folders = cells(svg, "vdfs-folder")
    sizes = {r["name"]: r["size"] for r in session.library().query(
        "folders select name, size").rows()}
    assert [title(r) for r in folders] == [
        "big/: 8.0 kB", f"mid/: {sizes['mid'] / 1000:.1f} kB", f"small/: {sizes['small'] / 1000:.1f} kB"]
    total = sizes["data"]
    top = cells(svg)                         # depth 1: the three folders and the root's own file
    assert len(top) == 4 and all(r.get("data-depth") == "1" for r in top)
    canvas = sum(area(r) for r in top)
    assert canvas == pytest.approx(640 * 360, rel=1e-3)
    for r in folders:
        name = title(r).split("/")[0]
        assert area(r) / canvas == pytest.approx(sizes[name] / total, rel=1e-3)
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert texts[0] == f"disk usage of data: {usage.total / 1000:.1f} kB"
    assert any(t.startswith("big · ") for t in texts)


def test_usage_nests_folders_down_to_depth_and_is_deterministic(ip):
    deep = run(ip, "%vdfs usage :data --depth 2")
    folders = cells(deep.svg(), "vdfs-folder")
    assert sorted(title(r).split(":")[0] for r in folders) == ["big/", "big/inner/", "mid/", "small/"]
    inner = next(r for r in folders if title(r).startswith("big/inner/"))
    assert inner.get("data-depth") == "2"
    again = run(ip, "%vdfs usage :data --depth 2")
    assert again.svg() == deep.svg() and repr(again) == repr(deep)
    lines = repr(deep).splitlines()
    assert lines[0].startswith("disk usage of data: ") and lines[1].split() == ["folder", "size", "share"]
    assert [line.split()[0] for line in lines[3:]] == [
        "big/", "big/inner/", "big/(2", "mid/", "small/", "(1"]       # files-only folders: whole


def test_usage_without_a_path_draws_every_location_and_bad_input_is_a_usage_error(ip, tmp_path):
    everything = run(ip, "%vdfs usage --depth 1")
    assert everything.svg() == run(ip, "%vdfs usage data --depth 1").svg()   # by location name
    with pytest.raises(VdfsUsageError, match="is not an indexed folder"):
        run(ip, f"%vdfs usage {tmp_path}")
    with pytest.raises(VdfsUsageError, match="--depth needs a number >= 1"):
        run(ip, "%vdfs usage :data --depth 0")


def test_usage_of_every_location_nests_each_below_its_root(ip, tmp_path):
    (tmp_path / "other" / "sub").mkdir(parents=True)
    (tmp_path / "other" / "sub" / "a.bin").write_bytes(b"y" * 4000)
    run(ip, f"%vdfs index {tmp_path / 'other'}")           # waits: the next line sees it
    usage = run(ip, "%vdfs usage --depth 2")
    assert usage.title.startswith("disk usage of all locations: ")
    assert [(title(r).split(":")[0], r.get("data-depth")) for r in cells(usage.svg(), "vdfs-folder")] == [
        ("data/", "1"), ("data/big/", "2"), ("data/mid/", "2"), ("data/small/", "2"),
        ("other/", "1"), ("other/sub/", "2")]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 10**9), min_size=1, max_size=30),
       st.floats(20, 1000), st.floats(20, 1000))
@example([1, 66235701], 220.0, 885.7890625)     # a sliver left: its thickness from a difference
def test_squarify_tiles_the_box_with_areas_by_size(sizes, w, h):
    sizes = sorted(sizes, reverse=True)
    rects = squarify(sizes, (0, 0, w, h))
    assert len(rects) == len(sizes)
    total = sum(sizes)
    for s, (x, y, rw, rh) in zip(sizes, rects):
        assert rw * rh == pytest.approx(w * h * s / total, rel=1e-6, abs=1e-6)
        assert -1e-6 <= x and x + rw <= w + 1e-6 and -1e-6 <= y and y + rh <= h + 1e-6


# ---- %%vdfs --plot bar ----------------------------------------------------------------------
def test_plot_bar_draws_bars_in_result_order_proportional_to_values(ip):
    plot = run(ip, "%%vdfs --plot bar --out res\n"
                   "files group by ext select ext, sum(size) as bytes order by bytes desc")
    rows = plot.result.rows()
    assert ip.user_ns["res"] is plot.result
    bars = cells(plot.svg(), "vdfs-bar")
    assert [title(b).split(":")[0] for b in bars] == [r["ext"] for r in rows] == ["bin", "png"]
    widths = [float(b.get("width")) for b in bars]
    assert widths == sorted(widths, reverse=True)
    for b, r in zip(bars, rows):
        assert float(b.get("width")) / widths[0] == pytest.approx(r["bytes"] / rows[0]["bytes"], rel=1e-3)
    assert title(bars[0]) == "bin: 12.5 kB"                  # a size column reads as a size
    text = repr(plot).splitlines()
    assert text[0] == "bytes by ext" and text[1].split() == ["bin", "█" * 30, "12.5", "kB"]
    assert "<svg" in plot._repr_html_() and "<table" in plot._repr_html_()


def test_plot_bar_of_counts_and_its_usage_errors(ip):
    plot = run(ip, "%vdfs --plot bar files group by kind select kind, count() as n order by kind")
    assert [title(b) for b in cells(plot.svg(), "vdfs-bar")] == ["image: 2", "text: 7"]
    assert repr(plot).splitlines()[1:3] == ["  image  █████████ 2", "  text   ██████████████████████████████ 7"]
    two = "needs two columns, a key and a number"
    for cell, message in [
            ("--plot pie\nfiles group by ext select ext, count() as n", "--plot needs 'bar', got 'pie'"),
            ("--plot bar\nfiles group by ext select ext, count() as n, sum(size) as b", two),
            ("--plot bar\nfiles select name, ext", two),
            ("--plot bar --explain\nfiles group by ext select ext, count() as n", "--explain has none")]:
        with pytest.raises(VdfsUsageError, match=message):
            run(ip, "%%vdfs " + cell)


# ---- grid thumbnails ------------------------------------------------------------------------
def decode(uri: str) -> Image.Image:
    head, _, b64 = uri.partition(",")
    assert head == "data:image/jpeg;base64"
    im = Image.open(io.BytesIO(base64.b64decode(b64)))
    im.load()
    return im


def test_grid_tiles_are_thumbnails_from_the_sidecars_and_kinds_for_the_rest(ip):
    import re
    lib = session.library()
    rows = lib.query("files where name in (red.png, blue.png, f0.bin) and path ~ '**/small/**'"
                     " or name = 'blue.png' select name, path, content_uuid order by name").rows()
    assert [r["name"] for r in rows] == ["blue.png", "f0.bin", "red.png"]
    out = render_rows("grid_view", "G", ["name", "path", "content_uuid"], rows, lib=lib)
    assert repr(out).splitlines()[1:] == ["  [img] blue.png", "  [text] f0.bin", "  [img] red.png"]
    uris = re.findall(r'src="(data:[^"]+)"', out._repr_html_())
    blue, red = decode(uris[0]), decode(uris[1])
    assert blue.size == (64, 96) and red.size == (96, 64)      # fitted into 96 px, shape kept
    assert blue.getpixel((30, 40))[2] > 180 and red.getpixel((40, 30))[0] > 180
    assert '<div class="vdfs-kind"' in out._repr_html_() and ">text</div>" in out._repr_html_()
    from core.domain.sidecars import Sidecars
    for r in rows:                    # made on demand and kept for next time, images only
        kinds = Sidecars(lib.path).kinds(r["content_uuid"])
        assert ("thumb" in kinds) == r["name"].endswith(".png")
    assert render_rows("grid_view", "G", ["name", "path", "content_uuid"], rows,
                       lib=lib)._repr_html_() == out._repr_html_()


@pytest.mark.parametrize("n", [0, 999, 1000, 999_949, 999_950, 1_234_567, 10**15, None])
def test_notebook_sizes_read_like_the_cli(n):
    """One way to write a size: a treemap or bar chart says what `vdfs` tables say, so 999,950
    bytes is "1.0 MB" in both, never "1000.0 kB"."""
    from core.cli.output import human_size as cli_size
    from kernel_ext.display import human_size
    assert human_size(n) == cli_size(n)


def test_a_grid_tile_without_a_library_is_turned_upright_like_the_sidecar(tmp_path):
    """A camera's portrait photo is stored landscape with EXIF orientation 6; the tile made
    straight from the file (no library to ask) must stand upright, as core's thumbnails do."""
    photo = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6                                    # rotate 90° clockwise to display
    Image.new("RGB", (300, 200), (20, 180, 20)).save(photo, exif=exif)
    out = render_rows("grid_view", "G", ["name", "path"], [{"name": photo.name, "path": str(photo)}])
    import re
    (uri,) = re.findall(r'src="(data:[^"]+)"', out._repr_html_())
    assert decode(uri).size == (64, 96)
