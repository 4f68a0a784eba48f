"""`vdfs COMMAND --help` opens with what the command does, as `vdfs --help` lists it."""
from __future__ import annotations

from core.cli import build_parser


def _commands():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    return subparsers.choices, {a.dest: a.help for a in subparsers._choices_actions}


def test_each_command_help_says_what_it_does():
    choices, listed = _commands()
    for name, sub in choices.items():
        assert sub.description, name
    for name in ("index", "duplicates", "summary", "search", "query"):   # listed text only
        text = " ".join(choices[name].format_help().split()).lower()
        assert " ".join(listed[name].split()).lower() in text, name


def test_a_description_of_its_own_is_kept():
    choices, _ = _commands()
    assert choices["init"].description.startswith("Create a library.")


def test_every_index_option_is_explained():
    choices, _ = _commands()
    unexplained = [a.option_strings for a in choices["index"]._actions if not a.help]
    assert unexplained == []
