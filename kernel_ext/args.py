"""Parsing `%vdfs` arguments: sub-command words and `--flags`; an unknown flag is an error.

IPython's magic_arguments (argparse) exits or prints usage on bad input; we want one short
message naming the bad flag and the ones that exist, so this is a small dedicated parser.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import VdfsUsageError

#: flag spec: name -> converter; `bool` marks a switch that takes no value
FlagSpec = dict[str, Callable[[str], Any] | type]


@dataclass
class Parsed:
    positional: list[str] = field(default_factory=list)
    flags: dict[str, Any] = field(default_factory=dict)


def split(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError as exc:  # unbalanced quotes
        raise VdfsUsageError(f"cannot split arguments: {exc}") from None


def parse(tokens: list[str], spec: FlagSpec, *, command: str) -> Parsed:
    """Split `tokens` into positionals and flags of `spec` (`--name value`, `--name=value`)."""
    out = Parsed()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--") and len(tok) > 2:
            name, eq, value = tok[2:].partition("=")
            conv = spec.get(name)
            if conv is None:
                known = ", ".join(f"--{k}" for k in sorted(spec)) or "none"
                raise VdfsUsageError(f"unknown flag --{name} for '{command}' (known flags: {known})")
            if conv is bool:
                if eq:
                    raise VdfsUsageError(f"flag --{name} takes no value")
                out.flags[name] = True
            else:
                if not eq:
                    i += 1
                    if i >= len(tokens):
                        raise VdfsUsageError(f"flag --{name} needs a value")
                    value = tokens[i]
                try:
                    out.flags[name] = conv(value)
                except (TypeError, ValueError):
                    raise VdfsUsageError(
                        f"flag --{name} needs {getattr(conv, '__name__', 'a value')}, got {value!r}"
                    ) from None
        else:
            out.positional.append(tok)
        i += 1
    return out


def leading_flags(text: str, spec: FlagSpec, *, command: str) -> tuple[Parsed, str]:
    """Flags at the start of a line, then the untouched rest (a query keeps its own spacing)."""
    rest = text.lstrip()
    tokens: list[str] = []
    while rest.startswith("--"):
        word, _, tail = rest.partition(" ")
        name = word[2:].partition("=")[0]
        tokens.append(word)
        rest = tail.lstrip()
        if spec.get(name) not in (bool, None) and "=" not in word:
            value, _, tail = rest.partition(" ")
            tokens.append(value)
            rest = tail.lstrip()
    return parse(tokens, spec, command=command), rest


def positive_int(value: str) -> int:
    n = int(value)
    if n < 0:
        raise ValueError(value)
    return n


positive_int.__name__ = "a number >= 0"


def identifier(value: str) -> str:
    if not value.isidentifier():
        raise ValueError(value)
    return value


identifier.__name__ = "a Python name"
