"""Packaging beyond pyproject.toml: the query grammar's one source is grammar/vdfs.lark at the top
of the repository; a build copies it into the package (vdfs_query/grammar/vdfs.lark), where the
parser of an installed vdfs reads it. A checkout or an editable install reads grammar/ itself."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

GRAMMAR = Path(__file__).parent / "grammar"


class BuildPyWithGrammar(build_py):
    """build_py that also ships grammar/*.lark as package data of vdfs_query."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "vdfs_query" / "grammar"
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted(GRAMMAR.glob("*.lark")):
            shutil.copy2(source, target / source.name)


setup(cmdclass={"build_py": BuildPyWithGrammar})
