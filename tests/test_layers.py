"""A lower layer never imports a higher one (vdfs_query < core < kernel_ext):
docs/architecture.md §1."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HIGHER = {"vdfs_query": ("core", "kernel_ext"), "core": ("kernel_ext",)}


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, module, at module level?) for every absolute import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module, id(node) in top))
    return out


def test_no_module_imports_a_higher_layer():
    bad = []
    for layer, higher in HIGHER.items():
        for path in sorted((REPO / layer).rglob("*.py")):
            rel = path.relative_to(REPO)
            for line, module, top_level in _imports(path):
                if module.split(".")[0] not in higher:
                    continue
                # the `vdfs kernel` command may reach kernel_ext inside its handler only
                if rel == Path("core/cli/kernel.py") and not top_level:
                    continue
                bad.append(f"{rel}:{line} imports {module}")
    assert bad == []


def test_vdfs_query_loads_without_core():
    """Importing and running the language never pulls in core or kernel_ext."""
    code = ("import sys, vdfs_query; vdfs_query.compile(vdfs_query.parse("
            "'entries where size > 2MB order by size desc limit 5')); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('core', 'kernel_ext')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_importing_core_does_not_build_the_query_language():
    """Every `vdfs` command imports core (and so core's errors, and so vdfs_query's package)
    before it knows whether it will parse anything: the parser, Lark and the builder load on
    first use only, which keeps the CLI's start-up short."""
    code = ("import sys, core; print(sorted(m for m in sys.modules if m.startswith('lark') or "
            "m in ('vdfs_query.parser', 'vdfs_query.builder', 'vdfs_query.compiler', 'duckdb')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_point_lookup_in_a_fresh_process_loads_no_numpy(tmp_path):
    """Opening a library and answering a lookup is what every `vdfs query` does: numpy (~100 ms
    to import) is only for array values, so neither the open nor the lookup may load it."""
    code = ("import sys, uuid, core; lib = core.Library.create(sys.argv[1]); lib.close(); "
            "lib = core.Library.open(sys.argv[1]); "
            "lib.query('entries where uuid = :u select path', u=uuid.uuid4()); "
            "print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "lib.vdfs")],
                         capture_output=True, text=True, cwd=REPO, timeout=120,
                         env={**os.environ, "VDFS_HOME": str(tmp_path / "home")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
