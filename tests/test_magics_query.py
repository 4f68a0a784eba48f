"""DSL queries through %vdfs / %%vdfs in a real IPython shell against an indexed library."""
from __future__ import annotations

import pytest

from kernel_ext import session
from kernel_ext.errors import VdfsSyntaxError, VdfsUsageError

from magics_support import indexed_shell, run


@pytest.fixture
def ip(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(5):
        (data / f"f{i}.txt").write_text("x" * (i * 100))
    with indexed_shell(tmp_path) as sh:
        yield sh
        sh.run_line_magic("config", "Vdfs.display_limit = 50")


def names(result):
    return [r["name"] for r in result.rows()]


def test_line_query_value_is_the_result_object(ip):
    from core.query import Result
    res = run(ip, "%vdfs entries where is_dir = false select name, size order by name")
    assert isinstance(res, Result)
    assert names(res) == ["f0.txt", "f1.txt", "f2.txt", "f3.txt", "f4.txt"]
    assert ip.user_ns["_"] is res  # the displayed value is what `_` holds


def test_parameters_are_bound_from_python(ip):
    ip.user_ns["min_size"] = 150
    res = run(ip, "%vdfs entries where size > :min_size and is_dir = false select name order by name")
    assert names(res) == ["f2.txt", "f3.txt", "f4.txt"]
    ip.user_ns["name"] = "f1.txt' or 1=1 --"   # text stays a value, never SQL
    assert names(run(ip, "%vdfs entries where name = :name select name")) == []


def test_cell_query_with_out_and_limit(ip):
    res = run(ip, "%%vdfs --out res --limit 2\nentries where is_dir = false\nselect name\norder by name")
    assert ip.user_ns["res"] is res
    assert names(res) == ["f0.txt", "f1.txt"]
    # a smaller limit in the query wins; a larger one is lowered
    assert len(run(ip, "%%vdfs --limit 3\nentries select name limit 1")) == 1
    assert len(run(ip, "%%vdfs --limit 3\nentries select name limit 10")) == 3
    ip.user_ns["n"] = 4
    assert len(run(ip, "%%vdfs --limit 2\nentries select name limit :n")) == 2


def test_explain_shows_sql_and_bound_values(ip):
    ip.user_ns["min_size"] = 150
    text = str(run(ip, "%vdfs explain entries where size > :min_size"))
    assert "SELECT" in text and "150" in text and "min_size" not in text.split("SQL")[1].split("params")[0]
    text2 = str(run(ip, "%%vdfs --explain\nentries where size > :min_size"))
    assert text2 == text


def test_syntax_error_has_caret_expected_and_suggestion(ip, capsys):
    with pytest.raises(VdfsSyntaxError) as info:
        run(ip, "%vdfs entries wher size > 3")
    lines = info.value.lines()
    assert lines[0] == "VdfsSyntaxError: line 1, column 9: unexpected 'wher'"
    assert lines[1:3] == ["  entries wher size > 3", "          ^^^^"]
    assert lines[-1] == "did you mean 'where'?"
    ip.run_cell("%vdfs entries wher size > 3")
    out = capsys.readouterr().out
    assert "^^^^" in out and "Traceback" not in out


def test_error_in_cell_points_at_the_right_line(ip):
    with pytest.raises(VdfsSyntaxError) as info:
        run(ip, "%%vdfs\nentries\nwhere sise > 3")
    err = info.value
    assert err.message.startswith("line 2, column 7")
    assert err.detail[:2] == ["  where sise > 3", "        ^^^^"]
    assert "did you mean 'size'?" in err.lines()


def test_cell_magic_rejects_a_query_on_its_flag_line(ip):
    with pytest.raises(VdfsUsageError, match="only flags on its first line"):
        run(ip, "%%vdfs entries\nwhere size > 1")


def test_html_display_counts_rows_and_honours_display_limit(ip):
    res = run(ip, "%vdfs entries select name order by name")
    html = ip.display_formatter.formatters["text/html"].lookup(res)(res)
    assert "6 rows" in html and html.count("<tr>") == 7
    ip.run_line_magic("config", "Vdfs.display_limit = 2")
    html = ip.display_formatter.formatters["text/html"].lookup(res)(res)
    assert html.count("<tr>") == 3 and "showing the first 2" in html
    assert len(res) == 6   # the value keeps every row


def test_tags_command_lists_tags_with_uses(ip):
    import uuid
    lib = session.library()
    (u,) = lib.conn.execute("SELECT uuid FROM entries WHERE name = 'f1.txt'").fetchone()
    lib.vdfs().add_tag_to_entry(uuid.UUID(bytes=u), "#keep")
    table = run(ip, "%vdfs tags")
    assert table.rows == [["#keep", 1]]


def test_mutation_is_visible_to_the_next_query(ip, tmp_path):
    (tmp_path / "data" / "new.txt").write_text("new")
    run(ip, "%vdfs index :data --wait")
    assert "new.txt" in names(run(ip, "%vdfs entries select name"))


def test_bad_value_is_underlined_whole(ip):
    with pytest.raises(VdfsSyntaxError) as info:
        run(ip, '%vdfs entries where size > "abc"')
    assert info.value.detail[:2] == ['  entries where size > "abc"', "                       ^^^^^"]
    assert "is not a size" in info.value.message


def test_index_of_a_missing_folder_is_a_short_error(ip):
    from kernel_ext.errors import VdfsQueryError
    with pytest.raises(VdfsQueryError, match="no such folder"):
        run(ip, "%vdfs index /nonexistent/vdfs-folder")


def test_parameters_from_a_function_scope(ip):
    """@needs_local_scope: inside a function, `:name` reads the function's local variable."""
    def big_files():
        local_min = 250
        return ip.run_line_magic("vdfs", "entries where size > :local_min and is_dir = false select name order by name")
    assert names(big_files()) == ["f3.txt", "f4.txt"]
    assert "local_min" not in ip.user_ns
