"""Prompt templates: Jinja files in an extension's `prompts/`, rendered in a sandbox so a
template can format values but not reach Python internals."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from core.errors import VdfsError


class PromptError(VdfsError):
    """A prompt template is missing, malformed, or needs a variable that was not given."""


class Prompts:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.env = SandboxedEnvironment(loader=jinja2.FileSystemLoader(str(self.folder)),
                                        undefined=jinja2.StrictUndefined, autoescape=False,
                                        keep_trailing_newline=False)

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*")
                      if p.is_file())

    def render(self, name: str, /, **variables: Any) -> str:
        """The template `name` filled with `variables` (a variable may itself be called name)."""
        try:
            return self.env.get_template(name).render(**variables)
        except jinja2.TemplateNotFound:
            raise PromptError(f"no prompt template {name!r} in {self.folder} "
                              f"(have {self.names()})") from None
        except jinja2.UndefinedError as exc:
            raise PromptError(f"prompt {name!r}: {exc.message}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError(f"prompt {name!r} line {exc.lineno}: {exc.message}") from None
