"""Device capabilities and selection with the Local executor (no Dask needed): what a device
says it has, how that becomes placement requirements, and the errors when nobody qualifies."""
from __future__ import annotations

import json
import pickle
import uuid

import pytest

from core.devices import CapabilityError, Device, NoDeviceError, detach, probe, resources
from core.jobs import JobFailed, TaskFailed, job, task


@task()
def double(x: int) -> int:
    return 2 * x


@job(name="test.devices.select")
def select_job(ctx, need: list, minimums: dict):
    dev = ctx.select_device().with_capability(*need, **minimums).prefer_local().select()
    return dev.name


@job(name="test.devices.local")
def local_job(ctx, items: list):
    here = ctx.select_device().select()
    one = ctx.execute_on(here, double, 21)
    return [one] + ctx.map(double, items, device=ctx.select_device().with_capability("cpus"))


@job(name="test.devices.owner")
def owner_job(ctx, entry: object):
    return ctx.select_device().owner_of(entry).select().name


def test_probe_describes_this_device(monkeypatch):
    caps = probe()
    assert caps["cpus"] >= 1 and caps["memory"] > 0 and isinstance(caps["gpu"], bool)
    assert caps["os"] and caps["vdfs"] and caps["models"] == []
    monkeypatch.setenv("VDFS_CAPABILITIES", json.dumps({"gpu": True, "fast": True}))
    assert probe()["gpu"] is True and probe()["fast"] is True
    monkeypatch.setenv("VDFS_CAPABILITIES", "{not json")
    with pytest.raises(CapabilityError, match="not JSON"):
        probe()


def test_capabilities_become_resources():
    u = uuid.uuid4()
    caps = {"cpus": 4, "memory": 8e9, "gpu": True, "fast": True, "slow": False,
            "models": ["image:clip"], "os": "Linux"}
    res = resources(u, caps)
    assert res["gpu"] == 1 and res["cpus"] == 4 and res["memory"] == 8e9
    assert {"fast", "model:image:clip", "model:clip", "os:linux", f"device-{u.hex}"} <= set(res)
    assert "slow" not in res
    dev = Device(u, "box", caps)
    assert dev.satisfies({"gpu": 1, "model:clip": 1, "cpus": 4})
    assert not dev.satisfies({"cpus": 5}) and not dev.satisfies({"model:yolo": 1})
    assert not Device(u, "box", {"gpu": False}).satisfies({"gpu": 1})


def test_local_selection_fails_fast_with_a_clear_error(lib):
    try:
        with pytest.raises(JobFailed, match="no device has gpu; online: test-device"):
            lib.jobs.submit(select_job, {"need": ["gpu"], "minimums": {}}).wait(10)
        with pytest.raises(JobFailed, match="no device has cpus >= 100000"):
            lib.jobs.submit(select_job, {"need": [], "minimums": {"cpus": 100000}}).wait(10)
        assert lib.jobs.submit(select_job, {"need": ["cpus"], "minimums": {}}).wait(10) \
            == "test-device"
    finally:
        detach(lib)


def test_local_gpu_device_is_selected(lib, monkeypatch):
    monkeypatch.setenv("VDFS_CAPABILITIES", json.dumps({"gpu": True}))
    try:
        assert lib.jobs.submit(select_job, {"need": ["gpu"], "minimums": {}}).wait(10) \
            == "test-device"
        row = lib.conn.execute("SELECT capabilities FROM devices WHERE id = ?",
                               (lib.device_id,)).fetchone()
        assert json.loads(row[0])["gpu"] is True
    finally:
        detach(lib)


def test_execute_on_and_placed_map_run_locally_with_durability(lib):
    try:
        j = lib.jobs.submit(local_job, {"items": [1, 2, 3]})
        assert j.wait(10) == [42, 2, 4, 6]
        rows = lib.jobs.store.tasks(j.id)
        assert len(rows) == 4 and {r["status"] for r in rows} == {"completed"}
    finally:
        detach(lib)


def test_owner_of_names_the_device_with_the_bytes(lib, tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.txt").write_text("hello")
    lib.index(folder).wait(30)
    entry_id = lib.conn.execute("SELECT id FROM entries WHERE name = 'a.txt'").fetchone()[0]
    try:
        assert lib.jobs.submit(owner_job, {"entry": entry_id}).wait(10) == "test-device"
        assert lib.jobs.submit(owner_job, {"entry": str(folder / "a.txt")}).wait(10) \
            == "test-device"
        with pytest.raises(JobFailed, match="no entry 999999"):
            lib.jobs.submit(owner_job, {"entry": 999999}).wait(10)
    finally:
        detach(lib)


def test_task_failed_survives_pickling():
    exc = pickle.loads(pickle.dumps(TaskFailed("t", "k#0", 3, "ValueError: bad")))
    assert (exc.name, exc.key, exc.attempts, exc.error) == ("t", "k#0", 3, "ValueError: bad")
    assert "failed after 3 attempt(s)" in str(exc)


@job(name="test.devices.wasm")
def wasm_select_job(ctx, request: dict):
    from core.extensions.wasm import WasmHost
    return WasmHost(api=None, job=ctx)("devices.select", request, None)


def test_wasm_guests_select_devices_through_the_same_host_api(lib, monkeypatch):
    monkeypatch.setenv("VDFS_CAPABILITIES", json.dumps({"fast": True}))
    try:
        got = lib.jobs.submit(wasm_select_job, {"request": {
            "capabilities": ["fast"], "minimums": {"cpus": 1}, "prefer_local": True}}).wait(10)
        assert got["name"] == "test-device" and got["capabilities"]["fast"] is True
        with pytest.raises(JobFailed, match="no device has gpu"):
            lib.jobs.submit(wasm_select_job, {"request": {"capabilities": ["gpu"]}}).wait(10)
        with pytest.raises(JobFailed, match="a capability is a name"):
            lib.jobs.submit(wasm_select_job, {"request": {"capabilities": [3]}}).wait(10)
    finally:
        detach(lib)


@job(name="test.devices.sealed")
def sealed_probe_job(ctx):
    q = ctx.select_device()
    return [name for name in ("_conn", "_online", "conn", "lib") if hasattr(q, name)] + \
        sorted(getattr(q, "__dict__", {}))


def test_a_device_query_holds_no_path_to_the_library(lib):
    try:
        assert lib.jobs.submit(sealed_probe_job, {}).wait(10) == []
    finally:
        detach(lib)


def test_an_attached_executor_does_not_keep_its_library_alive(tmp_path):
    import gc
    import weakref

    import core
    from core.devices import executor_for
    library = core.Library.create(tmp_path / "gc.vdfs")
    executor_for(library)
    library.close()
    ref = weakref.ref(library)
    del library
    gc.collect()
    assert ref() is None


def test_the_local_executor_runs_calls_this_device_can_take():
    from core.devices import LocalExecutor
    ex = LocalExecutor()
    assert ex.submit(lambda: 7, {"cpus": 1}).result(10) == 7
    failing = ex.submit(lambda: 1 / 0, {})
    with pytest.raises(ZeroDivisionError):
        failing.result(10)
    with pytest.raises(NoDeviceError, match="no device has gpu"):
        ex.submit(lambda: 7, {"gpu": 1})


def test_lib_devices_and_the_devices_source_show_what_this_device_can_do(lib):
    """`lib.devices` and `devices` in the query language show each device's capabilities."""
    here = [d for d in lib.devices if d["this_device"]]
    assert len(here) == 1 and here[0]["capabilities"]["cpus"] >= 1
    assert "gpu" in here[0]["capabilities"]
    [row] = lib.query("devices where uuid = :u select name, capabilities",
                      u=lib.device_uuid).rows()
    assert json.loads(row["capabilities"]) == here[0]["capabilities"]
