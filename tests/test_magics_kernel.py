"""%vdfs in a real Jupyter kernel started from the installed "VDFS (Python 3)" kernelspec.

Checks what a frontend sees over the wire: the extension is preloaded, VDFS_LIBRARY is opened,
completions come back in complete_reply, and a user mistake arrives as a short error message.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

from kernel_ext import kernelspec  # noqa: E402


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    root = tmp_path_factory.mktemp("kernel")
    prefix = root / "prefix"
    kernelspec.install(prefix=str(prefix))
    import core
    lib = core.Library.create(root / "k.vdfs")
    lib.close()
    env = dict(os.environ, JUPYTER_PATH=str(prefix / "share" / "jupyter"),
               VDFS_LIBRARY=str(root / "k.vdfs"), VDFS_HOME=str(root / "home"),
               VDFS_DEVICE_NAME="test-device")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    ksm = KernelSpecManager()
    ksm.kernel_dirs = [str(prefix / "share" / "jupyter" / "kernels")]
    km = KernelManager(kernel_name="vdfs", kernel_spec_manager=ksm)
    km.start_kernel(env=env, cwd=str(root))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def execute(kc, code: str) -> tuple[dict, list[dict]]:
    outputs: list[dict] = []

    def hook(msg):
        if msg["msg_type"] in ("stream", "display_data", "execute_result", "error"):
            outputs.append({"type": msg["msg_type"], **msg["content"]})

    reply = kc.execute_interactive(code, output_hook=hook, timeout=60)
    return reply["content"], outputs


def test_kernelspec_file_names_the_extension(tmp_path):
    path = Path(kernelspec.install(prefix=str(tmp_path)))
    spec = json.loads((path / "kernel.json").read_text())
    assert spec["display_name"] == "VDFS (Python 3)"
    assert spec["argv"][:3] == [sys.executable, "-m", "ipykernel_launcher"]
    assert "--ext=kernel_ext" in spec["argv"]


def test_install_also_places_the_jupyterlab_highlighter(tmp_path):
    kernelspec.install(prefix=str(tmp_path))
    ext = tmp_path / "share/jupyter/labextensions/vdfs-highlight"
    meta = json.loads((ext / "package.json").read_text())
    assert meta["name"] == "vdfs-highlight" and meta["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    assert (ext / meta["jupyterlab"]["_build"]["load"]).is_file()


def test_cli_installs_the_kernelspec(tmp_path):
    out = subprocess.run([sys.executable, "-m", "core.cli", "kernel", "install", "--prefix", str(tmp_path)],
                         capture_output=True, text=True, check=True).stdout
    assert "installed kernelspec 'vdfs' (VDFS (Python 3))" in out
    assert (tmp_path / "share/jupyter/kernels/vdfs/kernel.json").is_file()


def test_kernel_preloads_extension_and_opens_vdfs_library(kernel):
    reply, outs = execute(kernel, "import kernel_ext; print(kernel_ext.library().info['name'], "
                                  "vdfs_library is kernel_ext.library())")
    assert reply["status"] == "ok", outs
    assert outs[0]["text"].strip() == "k True"


def test_help_result_is_rich(kernel):
    reply, outs = execute(kernel, "%vdfs help")
    assert reply["status"] == "ok"
    data = outs[-1]["data"]
    assert outs[-1]["type"] == "execute_result"
    assert "%vdfs open PATH" in data["text/plain"] and "<pre" in data["text/html"]


def test_user_error_arrives_as_short_error_message(kernel):
    reply, outs = execute(kernel, "%vdfs close --bogus")
    assert reply["status"] == "error"
    err = [o for o in outs if o["type"] == "error"][0]
    assert err["ename"] == "VdfsUsageError"
    assert err["evalue"] == "unknown flag --bogus for 'close' (known flags: none)"
    assert err["traceback"] == ["VdfsUsageError: unknown flag --bogus for 'close' (known flags: none)"]


def test_missing_parameter_error_has_caret(kernel):
    reply, outs = execute(kernel, "%vdfs entries where size > :nothing_here")
    err = [o for o in outs if o["type"] == "error"][0]
    assert err["traceback"][1:] == ["  entries where size > :nothing_here",
                                    "                       " + "^" * len(":nothing_here")]


def test_completion_over_the_wire(kernel):
    code = "%vdfs ru"
    msg = kernel.complete(code, len(code), reply=True, timeout=30)
    content = msg["content"]
    assert content["status"] == "ok"
    assert content["matches"] == ["run"]
    assert content["cursor_start"] == len("%vdfs ")
    code = "%%vdfs --limit 3\nentries wh"
    content = kernel.complete(code, len(code), reply=True, timeout=30)["content"]
    assert content["matches"] == ["where"] and content["cursor_start"] == len(code) - 2
    execute(kernel, "threshold = 5")
    code = "%%vdfs\nentries where size > :thr"
    content = kernel.complete(code, len(code), reply=True, timeout=30)["content"]
    assert ":threshold" in content["matches"]


def test_job_monitor_is_a_widget_in_the_kernel(kernel):
    tests_dir = str(Path(__file__).parent)
    reply, outs = execute(kernel, f"import sys; sys.path.insert(0, {tests_dir!r})\n"
                                  "import magics_support\n"
                                  "%vdfs run test.count n=2 --wait")
    assert reply["status"] == "ok", outs
    live, final = [o for o in outs if o["type"] in ("display_data", "execute_result")]
    # the widget is shown before the wait (its bar moves); the cell's value is the final state
    assert live["type"] == "display_data"
    assert list(live["data"]) == ["application/vnd.jupyter.widget-view+json"]
    assert final["type"] == "execute_result"
    assert final["data"] == {"text/plain": "job test.count: completed 2/2 (100%)"}


def test_query_result_is_rich_html_over_the_wire(kernel):
    reply, outs = execute(kernel, "%vdfs locations select name")
    assert reply["status"] == "ok", outs
    data = outs[-1]["data"]
    assert "<table" in data["text/html"] and "0 rows" in data["text/html"]
    assert data["text/plain"].startswith("0 rows")


def test_bad_query_error_over_the_wire_has_caret(kernel):
    reply, outs = execute(kernel, "%%vdfs\nentries\nwhere sise > 3")
    err = [o for o in outs if o["type"] == "error"][0]
    assert err["ename"] == "VdfsSyntaxError"
    assert err["traceback"][1:3] == ["  where sise > 3", "        ^^^^"]
    assert err["traceback"][0].startswith("VdfsSyntaxError: line 2, column 7: ")
    assert "did you mean 'size'?" in err["traceback"]
    assert not any("Traceback" in line or "File " in line for line in err["traceback"])


def test_index_waits_by_default_so_run_all_sees_the_data(kernel, tmp_path):
    """Run All: `%vdfs index` and a query in the next cell, sent back to back; the query sees
    every file because the index cell waits for its job (showing the live monitor meanwhile)."""
    data = tmp_path / "folder"
    data.mkdir()
    for i in range(40):
        (data / f"run_all_{i:02d}.txt").write_text("x" * i)
    execute(kernel, f"folder = {str(data)!r}")
    msg_index = kernel.execute("%vdfs index :folder")
    msg_query = kernel.execute("%vdfs entries where name ~ 'run_all_*' select name")
    outs = {msg_index: [], msg_query: []}
    while not all(any(o.get("execution_state") == "idle" for o in v) for v in outs.values()):
        msg = kernel.get_iopub_msg(timeout=60)
        parent = msg["parent_header"].get("msg_id")
        if parent in outs:
            outs[parent].append({"type": msg["msg_type"], **msg["content"]})
    shown = [o for o in outs[msg_index] if o["type"] in ("display_data", "execute_result")]
    assert [o["type"] for o in shown] == ["display_data", "execute_result"]
    assert re.fullmatch(r"job core\.index: completed (\d+)/\1 \(100%\)", shown[1]["data"]["text/plain"])
    result = [o for o in outs[msg_query] if o["type"] == "execute_result"][0]
    assert result["data"]["text/plain"].startswith("40 rows")
    reply, outs2 = execute(kernel, "%vdfs index :folder --no-wait")
    assert reply["status"] == "ok"
    assert [o["type"] for o in outs2 if o["type"] != "stream"] == ["execute_result"]
    assert "application/vnd.jupyter.widget-view+json" in outs2[-1]["data"]
    execute(kernel, "_.wait()")


def test_interrupt_stops_a_running_query_and_the_kernel_goes_on(kernel, tmp_path):
    """The notebook's interrupt button (SIGINT to the kernel) while a %vdfs query runs: a short
    message, no traceback, and the kernel answers the next query. Runs last: it opens another
    library in the kernel and reopens the original at the end."""
    import signal
    import threading

    from query_load import POINT, SLOW, big_library
    big_library(tmp_path).close()
    reply, outs = execute(kernel, "import os; print(os.getpid(), os.environ['VDFS_LIBRARY'])")
    pid, original = outs[0]["text"].split()
    reply, outs = execute(kernel, f"%vdfs open {tmp_path / 'big.vdfs'}")
    assert reply["status"] == "ok", outs
    timer = threading.Timer(1.5, os.kill, (int(pid), signal.SIGINT))
    timer.start()
    reply, outs = execute(kernel, f"%vdfs {SLOW}")
    timer.join()
    assert reply["status"] == "error"
    err = [o for o in outs if o["type"] == "error"][0]
    assert err["ename"] == "VdfsQueryError" and "cancelled" in err["evalue"]
    assert len(err["traceback"]) <= 2 and not any("File " in line for line in err["traceback"])
    reply, outs = execute(kernel, f"%vdfs {POINT}")
    assert reply["status"] == "ok", outs
    assert outs[-1]["data"]["text/plain"].startswith("1 row")
    execute(kernel, f"%vdfs open {original}")
