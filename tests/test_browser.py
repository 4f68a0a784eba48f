"""Real JupyterLab in headless Chromium: the notebook workflow a user sees, end to end.

Opens a notebook on the VDFS kernel, indexes a folder and watches the job monitor's bar reach
100%, runs a %vdfs query and sees the table, previews an action and clicks Commit, completes a
kind with Tab in the editor, then checks in the library (from this process) that the change
happened, then types into a search box and sees its hits narrow. Saves docs/notebook.png for the
README. A second notebook, run with Run All, draws the pictures (usage treemap, bar chart, grid
thumbnails) and saves docs/pictures.png. Skips only when Chromium or the browser extras are missing
(scripts/install-test-extras.sh installs them).
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from browser_support import (CHROMIUM, CHROMIUM_ARGS, copy_screenshot, jupyter_lab, skip_reason,
                             write_notebook)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
REPO = Path(__file__).resolve().parent.parent
N_NOTES = 6
TESTS = Path(__file__).resolve().parent

_reason = skip_reason()
if _reason:
    pytestmark.append(pytest.mark.skip(reason=_reason))

CELLS = [
    # 0: setup (the test action lives in tests/magics_support.py)
    "import os, magics_support  # registers the demo action test.tag_kind\n"
    "photos = os.environ['VDFS_TEST_DATA']",
    # 1: index: a job with a live monitor
    "%vdfs index :photos",
    # 2: a query
    "%vdfs entries where is_dir = false select name, kind, size order by name",
    # 3: preview an action
    '%vdfs preview test.tag_kind kind=text tag="#todo"',
    # 4: left unrun: Tab completes inside it
    "%vdfs entries of kind te",
    # 5: left unrun: the query language is highlighted
    "%%vdfs --limit 5\nentries where size > :min_size and name ~ \"*.txt\" -- small ones\nselect name",
    # 6: a search box (run after the screenshot): hits update as you type
    "%vdfs search",
]


def _run_cell(page, index: int) -> None:
    page.evaluate("""(i) => {
        const nb = window.jupyterapp.shell.currentWidget;
        nb.content.activeCellIndex = i;
        return window.jupyterapp.commands.execute('notebook:run-cell');
    }""", index)


def _output(page, index: int):
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


def _open_notebook(page, base: str, token: str, name: str) -> None:
    """Open `name` in JupyterLab and wait until its VDFS kernel is idle."""
    page.goto(f"{base}/lab/tree/{name}?token={token}&reset")
    page.wait_for_function(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " const k = w && w.sessionContext && w.sessionContext.session"
        " && w.sessionContext.session.kernel; return k && k.status === 'idle'; }",
        timeout=90_000)
    assert page.evaluate("window.jupyterapp.shell.currentWidget.sessionContext"
                         ".kernelDisplayName") == "VDFS (Python 3)"


@contextmanager
def _notebook_page(root: Path, env: dict[str, str], name: str, height: int) -> Iterator[Any]:
    """JupyterLab serving `root` in headless Chromium, notebook `name` open on an idle kernel."""
    from playwright.sync_api import sync_playwright
    with jupyter_lab(root, env) as server, sync_playwright() as pw:
        base, token = server.split("|")
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": height})
            _open_notebook(page, base, token, name)
            yield page
        finally:
            browser.close()


def _tidy_for_screenshot(page) -> None:
    page.keyboard.press("Escape")
    page.evaluate("""() => { const app = window.jupyterapp;
        app.shell.collapseLeft();
        const nb = app.shell.currentWidget.content;
        nb.activeCellIndex = 0; nb.deselectAll();
        for (const el of document.querySelectorAll('.jp-WindowedPanel-outer')) el.scrollTop = 0; }""")
    page.wait_for_timeout(500)  # let the layout settle before the screenshot


def test_notebook_workflow_in_jupyterlab(tmp_path):
    from playwright.sync_api import expect
    import core

    data = tmp_path / "photos"
    (data / "notes").mkdir(parents=True)
    for i in range(N_NOTES):
        (data / "notes" / f"note{i:02d}.txt").write_text(f"note {i}\n" * (i + 1))
    (data / "app.py").write_text("print('hi')\n")
    libpath = tmp_path / "browser.vdfs"
    core.Library.create(libpath).close()
    write_notebook(tmp_path / "workflow.ipynb", CELLS)

    env = {"VDFS_LIBRARY": str(libpath), "VDFS_TEST_DATA": str(data),
           "VDFS_HOME": os.environ["VDFS_HOME"], "VDFS_DEVICE_NAME": "browser-device",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}
    with _notebook_page(tmp_path, env, "workflow.ipynb", height=1230) as page:
        _run_cell(page, 0)
        _run_cell(page, 1)
        monitor = _output(page, 1).locator(".vdfs-job-monitor")
        expect(monitor).to_be_visible(timeout=60_000)
        expect(monitor).to_contain_text("100%", timeout=60_000)
        expect(monitor).to_contain_text("completed", timeout=60_000)
        bar = monitor.locator(".widget-hprogress .progress-bar")
        expect(bar).to_have_count(1)
        expect(bar).to_have_attribute("style", re.compile(r"width:\s*100%"), timeout=30_000)

        _run_cell(page, 2)
        table = _output(page, 2).locator("table.vdfs-table")
        expect(table).to_be_visible(timeout=60_000)
        expect(table.locator("tbody tr")).to_have_count(N_NOTES + 1)
        expect(table).to_contain_text("note00.txt")
        expect(_output(page, 2)).to_contain_text(f"{N_NOTES + 1} rows")

        _run_cell(page, 3)
        panel = _output(page, 3).locator(".vdfs-action-preview")
        expect(panel).to_contain_text(f"{N_NOTES} changes", timeout=60_000)
        panel.get_by_role("button", name="Commit").click()
        expect(panel).to_contain_text(f"committed and verified: {N_NOTES} changes applied",
                                      timeout=60_000)
        # Tab completion from the kernel, in the editor
        editor = page.locator(".jp-Notebook .jp-Cell").nth(4).locator(".cm-content")
        editor.click()
        page.keyboard.press("End")
        page.keyboard.press("Tab")
        completer = page.locator(".jp-Completer")
        expect(completer).to_be_visible(timeout=30_000)
        expect(completer).to_contain_text("text")
        expect(completer).to_contain_text("kind")        # the completion's type
        page.keyboard.press("Enter")
        expect(editor).to_have_text("%vdfs entries of kind text", timeout=30_000)

        # the JupyterLab extension highlights the DSL inside a %%vdfs cell
        cell5 = page.locator(".jp-Notebook .jp-Cell").nth(5)
        cell5.scroll_into_view_if_needed()
        expect(cell5.locator(".vdfs-src")).to_have_text("entries", timeout=30_000)
        assert cell5.locator(".vdfs-kw").all_inner_texts() == ["where", "and", "select"]
        expect(cell5.locator(".vdfs-param")).to_have_text(":min_size")
        expect(cell5.locator(".vdfs-str")).to_have_text('"*.txt"')
        expect(cell5.locator(".vdfs-comment")).to_have_text("-- small ones")
        preview_cell = page.locator(".jp-Notebook .jp-Cell").nth(3)
        expect(preview_cell.locator(".vdfs-tok")).to_have_count(0)   # `%vdfs preview …` is no query

        _tidy_for_screenshot(page)
        shot = tmp_path / "notebook.png"
        page.screenshot(path=str(shot), full_page=True)

        # the search box: typing (debounced) shows the library's hits, the match marked
        _run_cell(page, 6)
        box = _output(page, 6).locator(".vdfs-search-box input")
        expect(box).to_be_visible(timeout=60_000)
        box.click()
        page.keyboard.type("note0", delay=40)
        hits = _output(page, 6).locator(".vdfs-search-hits")
        expect(hits.locator("tbody tr")).to_have_count(N_NOTES, timeout=30_000)
        page.keyboard.type("3", delay=40)
        expect(hits.locator("tbody tr")).to_have_count(1, timeout=30_000)
        expect(hits.locator("mark")).to_have_text("note03", timeout=30_000)

    lib = core.Library.open(libpath)
    try:
        rows = lib.conn.execute(
            "SELECT e.name FROM entries e JOIN user_metadata um ON um.entry_uuid = e.uuid "
            "JOIN tag_links tl ON tl.metadata_id = um.id JOIN tags t ON t.id = tl.tag_id "
            "WHERE t.name = '#todo' ORDER BY e.name").fetchall()
    finally:
        lib.close()
    assert [r[0] for r in rows] == [f"note{i:02d}.txt" for i in range(N_NOTES)]
    copy_screenshot(shot, REPO / "docs" / "notebook.png")


PICTURE_CELLS = [
    # 0: a folder of pictures, notes and code, and an extension with a grid view of its images
    "import os\n"
    "from core.sdk import extension\n"
    "from core.extensions import Permission\n"
    "pictures = os.environ['VDFS_TEST_PICTURES']\n"
    "@extension(id='com.test.pics', name='Pics', version='1.0.0',\n"
    "           permissions=[Permission.ReadEntries(glob='**/*.png')])\n"
    "class Pics:\n"
    "    ui_manifest = {'views': [{'id': 'grid', 'label': 'Pictures', 'component': 'grid_view',\n"
    "                              'data_source': 'query:files of kind image order by name'}]}\n"
    "installed = %vdfs install :Pics --yes",
    # 1: indexing waits: under Run All the next cell sees every file
    "%vdfs index :pictures",
    # 2: where the bytes are
    "%vdfs usage :pictures",
    # 3: a grouped result as a bar chart
    "%%vdfs --plot bar\nfiles group by kind select kind, sum(size) as bytes order by bytes desc",
    # 4: thumbnails in a grid view
    "%vdfs view com.test.pics/grid",
]
PICTURE_FOLDERS = {"holidays/2024": 3, "holidays/2025": 2, "screenshots": 2}  # folder -> PNGs
TEXT_FOLDERS = {"notes": (6, 3000), "code": (4, 1500)}  # folder -> (files, bytes each)


def _pictures(root: Path) -> int:
    """A folder with images (colour gradients) and text; returns the number of images."""
    from PIL import Image
    n = 0
    for folder, count in PICTURE_FOLDERS.items():
        (root / folder).mkdir(parents=True)
        for i in range(count):
            name = folder.replace("holidays/", "")[:4]
            hue = (n * 47) % 256
            grain = Image.effect_noise((360, 240), 24).convert("L")
            ramp = Image.linear_gradient("L").resize((360, 240))
            im = Image.merge("RGB", [Image.blend(ramp, grain, 0.25).point(
                lambda v, k=k: (v + hue * k) % 256) for k in (1, 2, 3)])
            im.save(root / folder / f"{name}_{i:02d}.png")
            n += 1
    for folder, (count, size) in TEXT_FOLDERS.items():
        (root / folder).mkdir()
        for i in range(count):
            (root / folder / f"{folder}_{i:02d}.txt").write_text("word " * (size // 5))
    return n


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0, box
    return box


def test_pictures_in_jupyterlab(tmp_path):
    """Run All on a notebook of pictures: the treemap, the bar chart and a grid of thumbnails
    render as SVG and images of non-zero size; saves docs/pictures.png for the README."""
    from playwright.sync_api import expect
    import core

    n_images = _pictures(tmp_path / "pictures")
    libpath = tmp_path / "pictures.vdfs"
    core.Library.create(libpath).close()
    write_notebook(tmp_path / "pictures.ipynb", PICTURE_CELLS)
    env = {"VDFS_LIBRARY": str(libpath), "VDFS_TEST_PICTURES": str(tmp_path / "pictures"),
           "VDFS_HOME": os.environ["VDFS_HOME"], "VDFS_DEVICE_NAME": "browser-device"}
    with _notebook_page(tmp_path, env, "pictures.ipynb", height=1500) as page:
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

        grid = _output(page, 4).locator(".vdfs-grid")
        expect(grid).to_be_visible(timeout=120_000)
        monitor = _output(page, 1).locator(".vdfs-job-monitor")
        expect(monitor).to_contain_text("completed")
        expect(monitor).to_contain_text("100%")

        treemap = _output(page, 2).locator("svg.vdfs-treemap")
        expect(treemap).to_be_visible()
        _box(treemap)
        folders = treemap.locator("rect.vdfs-folder")   # Run All: the index was complete
        every = {p for f in [*PICTURE_FOLDERS, *TEXT_FOLDERS] for p in (f, f.split("/")[0])}
        expect(folders).to_have_count(len(every))
        for i in range(folders.count()):
            _box(folders.nth(i))
        expect(treemap).to_contain_text("holidays")

        bars = _output(page, 3).locator("svg.vdfs-bars rect.vdfs-bar")
        expect(bars).to_have_count(2)                    # image and text
        widths = [_box(bars.nth(i))["width"] for i in range(2)]
        assert widths == sorted(widths, reverse=True)
        expect(_output(page, 3).locator("table.vdfs-table")).to_be_visible()

        thumbs = grid.locator("img.vdfs-thumb")
        expect(thumbs).to_have_count(n_images)
        for i in range(n_images):
            _box(thumbs.nth(i))
            assert thumbs.nth(i).evaluate("img => img.complete && img.naturalWidth") == 96

        _tidy_for_screenshot(page)
        shot = tmp_path / "pictures.png"
        page.screenshot(path=str(shot), full_page=True)
    copy_screenshot(shot, REPO / "docs" / "pictures.png")
