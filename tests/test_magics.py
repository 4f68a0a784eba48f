"""%vdfs in a real IPython shell: argument parsing, errors, library commands, jobs, completion."""
from __future__ import annotations

import pytest

import kernel_ext
from kernel_ext import session
from kernel_ext.errors import VdfsUsageError

from magics_support import GATES, complete, run, shell as make_shell


@pytest.fixture
def ip(tmp_path):
    shell = make_shell()
    shell.user_ns["libdir"] = str(tmp_path / "nb.vdfs")
    yield shell
    session.close_library()
    for name in ("libdir", "vdfs_library", "res", "n", "m"):
        shell.user_ns.pop(name, None)


@pytest.fixture
def opened(ip):
    run(ip, "%vdfs open :libdir --create")
    return ip


def test_help_lists_every_command(ip):
    text = repr(run(ip, "%vdfs help"))
    for cmd in ("open", "index", "explain", "jobs", "run", "preview", "view", "install", "tags"):
        assert f"%vdfs {cmd}" in text


def test_help_names_every_command_and_each_of_its_flags(ip):
    """What `%vdfs NAME` parses (FLAGS, QUERY_FLAGS for %%vdfs, sync's own) is what help
    shows on that command's lines: a flag missing from help is a flag nobody finds."""
    from kernel_ext.magics import FLAGS, HELP, QUERY_FLAGS, SUBCOMMANDS, SYNC_FLAGS
    text = repr(run(ip, "%vdfs help"))
    blocks: dict[str, str] = {}
    name = None
    for line in HELP.splitlines():
        if line.startswith(("%vdfs ", "%%vdfs")):
            name = line.split()[1] if line.startswith("%vdfs ") else "%%vdfs"
        if name is not None:
            blocks[name] = blocks.get(name, "") + line + "\n"
    for cmd in SUBCOMMANDS:
        assert f"%vdfs {cmd}" in text, cmd
        for flag in FLAGS.get(cmd, {}):
            assert f"--{flag}" in blocks[cmd], (cmd, flag)
    for flag in QUERY_FLAGS:
        assert f"--{flag}" in blocks["%%vdfs"], flag
    for action, flags in SYNC_FLAGS.items():
        for flag in flags:
            assert f"--{flag}" in blocks["sync"], (action, flag)


def test_unknown_flag_raises_naming_the_flag_and_the_known_ones(ip):
    with pytest.raises(VdfsUsageError, match=r"unknown flag --bogus for 'open' \(known flags: --create\)"):
        run(ip, "%vdfs open x --bogus")
    with pytest.raises(VdfsUsageError, match="unknown flag --nope"):
        run(ip, "%%vdfs --nope\nentries")
    with pytest.raises(VdfsUsageError, match="--limit needs a number"):
        run(ip, "%%vdfs --limit many\nentries")


def test_user_error_shows_short_message_without_traceback(ip, capsys):
    ip.run_cell("%vdfs open x --bogus")
    out = capsys.readouterr()
    text = out.out + out.err
    assert "VdfsUsageError: unknown flag --bogus" in text
    assert "Traceback" not in text and "File " not in text


def test_commands_needing_a_library_say_how_to_open_one(ip):
    with pytest.raises(kernel_ext.session.NoLibraryError, match=r"%vdfs open PATH \[--create\]"):
        run(ip, "%vdfs jobs")


def test_open_takes_path_from_a_variable_and_exposes_the_library(ip, tmp_path):
    text = repr(run(ip, "%vdfs open :libdir --create"))
    assert text == "library 'nb' is open"
    lib = ip.user_ns["vdfs_library"]
    assert lib is kernel_ext.library()
    assert lib.path == tmp_path / "nb.vdfs"
    run(ip, "%vdfs close")
    run(ip, "%vdfs open :libdir")  # reopens without --create
    assert kernel_ext.library().info["id"] == lib.info["id"]


def test_open_missing_library_is_a_short_error(ip, tmp_path):
    ip.user_ns["libdir"] = str(tmp_path / "absent")
    with pytest.raises(kernel_ext.errors.VdfsQueryError, match="is not a vdfs library"):
        run(ip, "%vdfs open :libdir")


def test_dollar_and_braces_are_not_expanded(opened):
    """@no_var_expand: `$x` and `{x}` reach the magic as typed, never as the variable's text."""
    opened.user_ns["n"] = "SHOULD-NOT-APPEAR"
    with pytest.raises(VdfsUsageError) as info:
        run(opened, "%vdfs run {n} $n=1")
    assert "SHOULD-NOT-APPEAR" not in str(info.value)
    assert "$n=1" in str(info.value)


def test_missing_parameter_is_named_with_a_caret(opened):
    with pytest.raises(VdfsUsageError) as info:
        run(opened, "%vdfs entries where size > :min_size")
    err = info.value
    assert "parameter :min_size is not defined" in err.message
    src, caret = err.detail[:2]
    assert caret.index("^") == src.index(":min_size") and caret.count("^") == len(":min_size")


def test_run_job_with_wait_shows_a_completed_monitor(opened):
    opened.user_ns["n"] = 4
    monitor = run(opened, "%vdfs run test.count n=:n --wait")
    assert monitor.text() == "job test.count: completed 4/4 (100%)"
    assert monitor.result == {"counted": 4}
    assert monitor._bar.value == monitor._bar.max == 4
    assert monitor._pct.value == "100%"
    assert monitor._pause.disabled and monitor._cancel.disabled
    table = repr(run(opened, "%vdfs jobs"))
    assert "test.count  completed  4/4" in table


def test_monitor_follows_events_and_its_buttons_control_the_job(opened):
    GATES["g1"] = __import__("threading").Event()
    monitor = run(opened, '%vdfs run test.count n=3 gate="g1"')
    job = monitor.job
    _wait_for(lambda: monitor.status == "running" and monitor.done == 0 and monitor.total == 3)
    assert not monitor._pause.disabled and monitor._resume.disabled
    monitor._pause.click()
    GATES["g1"].set()
    _wait_for(lambda: job.status == "paused")
    _wait_for(lambda: monitor.status == "paused")
    assert monitor.text().startswith("job test.count: paused")
    assert not monitor._resume.disabled
    monitor._resume.click()
    assert monitor.wait(10) == {"counted": 3}
    _wait_for(lambda: monitor.status == "completed")
    assert monitor._pct.value == "100%"


def test_cancel_button_cancels(opened):
    GATES["g2"] = __import__("threading").Event()
    monitor = run(opened, '%vdfs run test.count n=5 gate="g2"')
    _wait_for(lambda: monitor.status == "running")
    monitor._cancel.click()
    GATES["g2"].set()
    _wait_for(lambda: monitor.status == "cancelled")
    assert monitor.job.status == "cancelled"
    assert monitor._bar.bar_style == "warning"


def test_run_unknown_job_is_a_short_error(opened):
    with pytest.raises(kernel_ext.errors.VdfsQueryError, match="nope.job"):
        run(opened, "%vdfs run nope.job")


def test_kwargs_must_be_key_value(opened):
    with pytest.raises(VdfsUsageError, match="expected key=value, got 'oops'"):
        run(opened, "%vdfs run test.count oops")


def test_completion_of_subcommands_and_variables(opened):
    assert complete(opened, "%vdfs ru") == ["run"]
    assert set(complete(opened, "%vdfs ")) >= {"open", "index", "jobs", "help"}
    opened.user_ns["min_size"] = 10
    assert ":min_size" in complete(opened, "%vdfs entries where size > :min")
    assert complete(opened, "%vdfs open x --cr") == ["--create"]


def _wait_for(cond, timeout=10.0):
    import time
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


from hypothesis import given, strategies as st  # noqa: E402

from kernel_ext import args as A  # noqa: E402

_flag = st.sampled_from(["out", "limit", "explain"])
_word = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


@given(st.lists(st.tuples(_flag, _word, st.integers(0, 10**6)), max_size=4), st.lists(_word, max_size=3))
def test_flag_parser_round_trips_known_flags(flags, positional):
    spec = {"out": A.identifier, "limit": A.positive_int, "explain": bool}
    tokens, want = list(positional), {}
    for name, word, number in flags:
        if name == "explain":
            tokens.append("--explain"); want["explain"] = True
        elif name == "out":
            tokens += ["--out", word]; want["out"] = word
        else:
            tokens.append(f"--limit={number}"); want["limit"] = number
    parsed = A.parse(tokens, spec, command="t")
    assert parsed.flags == want and parsed.positional == positional


@given(_word.filter(lambda w: w not in ("out", "limit", "explain")))
def test_flag_parser_rejects_any_unknown_flag(name):
    with pytest.raises(VdfsUsageError, match=f"unknown flag --{name} for 't'"):
        A.parse([f"--{name}"], {"out": A.identifier, "limit": A.positive_int, "explain": bool}, command="t")


def test_jobs_watch_panel_adds_a_monitor_per_new_job(opened):
    import threading
    GATES["g3"] = threading.Event()
    panel = run(opened, "%vdfs jobs --watch")
    assert panel.text() == "jobs: 0 running or waiting, 0 watched"
    first = run(opened, '%vdfs run test.count n=2 gate="g3"')
    _wait_for(lambda: first.job.id in panel.monitors)
    assert panel.text().startswith("jobs: 1 running or waiting, 1 watched")
    GATES["g3"].set()
    first.wait(10)
    _wait_for(lambda: panel.monitors[first.job.id].status == "completed")
    assert panel.text().splitlines() == ["jobs: 0 running or waiting, 1 watched",
                                         "  job test.count: completed 2/2 (100%)"]
    assert len(panel.children) == 2
    panel.close()


def test_interrupt_while_waiting_leaves_the_job_running(opened):
    """The interrupt button during a waiting `--wait` cell stops the wait, not the job."""
    import _thread
    import threading
    GATES["g_int"] = threading.Event()
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        text = repr(run(opened, '%vdfs run test.count n=2 gate="g_int" --wait'))
    finally:
        timer.join()
    assert text.startswith("stopped waiting; job test.count goes on in the background")
    (job,) = session.library().jobs.list(status="running")
    GATES["g_int"].set()
    assert session.library().jobs.get(job["id"]).wait(10) == {"counted": 2}


def test_index_flags_that_contradict_are_a_usage_error(opened, tmp_path):
    with pytest.raises(VdfsUsageError, match="contradict"):
        run(opened, f"%vdfs index {tmp_path} --wait --background")


def test_monitor_of_a_cell_that_waits_disables_buttons_it_cannot_serve(opened):
    """While a cell waits for its job the kernel handles no clicks: the monitor says so instead
    of offering Pause/Cancel that would act only after the job ended. Once ended, the widget
    shows no stale phase (as its text does not)."""
    import threading
    from kernel_ext.widgets.jobs import JobMonitor
    GATES["g_wait"] = threading.Event()
    lib = session.library()
    monitor = JobMonitor(lib.jobs.submit("test.count", {"n": 2, "gate": "g_wait"}), lib)
    waiter = threading.Thread(target=monitor.wait, kwargs={"in_cell": True})
    waiter.start()
    _wait_for(lambda: monitor.status == "running")
    assert monitor._pause.disabled and monitor._cancel.disabled
    assert "interrupt the kernel" in monitor._cancel.tooltip
    GATES["g_wait"].set()
    waiter.join(10)
    assert monitor.status == "completed" and "phase" not in monitor._detail.value
    assert monitor._detail.value.startswith("2/2")
