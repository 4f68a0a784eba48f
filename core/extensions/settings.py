"""Extension settings: `setting(label=…, default=…)` fields on a config class, whose JSON Schema
is what a settings form renders and what a user's values are validated against."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_type_hints

from jsonschema import Draft202012Validator

from core.errors import VdfsError

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
               dict: "object"}


class SettingsError(VdfsError, ValueError):
    """A configuration value that does not fit the extension's settings schema."""


@dataclass
class Setting:
    label: str
    default: Any = None
    description: str | None = None
    choices: list[Any] | None = None
    name: str = ""
    type: type | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj.__dict__.get(self.name, self.default)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value


def setting(label: str, default: Any = None, *, description: str | None = None,
            choices: list[Any] | None = None) -> Any:
    """Declare one user-configurable field: `face_recognition: bool = setting(label=…, default=True)`."""
    if not isinstance(label, str) or not label:
        raise SettingsError("a setting needs a non-empty label")
    if choices is not None and default is not None and default not in choices:
        raise SettingsError(f"setting {label!r}: default {default!r} is not one of {choices}")
    return Setting(label=label, default=default, description=description, choices=choices)


def settings_fields(cls: type | None) -> list[Setting]:
    if cls is None:
        return []
    hints: dict[str, Any] = {}
    try:
        hints = get_type_hints(cls)
    except Exception:  # forward references in a notebook cell: fall back to the defaults' types
        hints = {}
    out = []
    for klass in reversed(cls.__mro__):
        for name, value in klass.__dict__.items():
            if isinstance(value, Setting):
                value.name = name
                value.type = hints.get(name) if isinstance(hints.get(name), type) else type(value.default)
                out = [s for s in out if s.name != name] + [value]
    return out


def settings_schema(cls: type | None) -> dict[str, Any]:
    """JSON Schema of the config class: titles, defaults, types and choices for a form."""
    props: dict[str, Any] = {}
    for s in settings_fields(cls):
        prop: dict[str, Any] = {"title": s.label, "default": s.default}
        json_type = _JSON_TYPES.get(s.type) if s.type is not None else None
        if json_type:
            prop["type"] = json_type
        if s.description:
            prop["description"] = s.description
        if s.choices is not None:
            prop["enum"] = list(s.choices)
        props[s.name] = prop
    return {"type": "object", "properties": props, "additionalProperties": False}


def make_config(cls: type | None, values: dict[str, Any] | None = None) -> Any:
    """An instance of the config class holding defaults overridden by `values` (validated)."""
    values = dict(values or {})
    if cls is None:
        if values:
            raise SettingsError(f"this extension has no settings, got {sorted(values)}")
        return None
    errors = sorted(Draft202012Validator(settings_schema(cls)).iter_errors(values),
                    key=lambda e: e.json_path)
    if errors:
        e = errors[0]
        raise SettingsError(f"settings of {cls.__name__}: {e.json_path}: {e.message}")
    obj = cls.__new__(cls)
    for s in settings_fields(cls):
        obj.__dict__[s.name] = values.get(s.name, s.default)
    return obj


def config_values(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    return {s.name: getattr(obj, s.name) for s in settings_fields(type(obj))}
