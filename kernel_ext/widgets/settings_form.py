"""`%vdfs settings EXT`: a form generated from an extension's settings schema.

Each setting becomes the widget its JSON type asks for (a checkbox for a boolean, a dropdown for
a choice, number and text boxes), labelled with its title and filled with the saved value.
Save validates against the same schema core uses and stores the values (the extension keeps its
grants and data); a refused value is shown, not saved.
"""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as W

from .base import TextFallback, button


def field_widget(name: str, prop: dict[str, Any], value: Any) -> W.Widget:
    """The input widget for one property of a settings schema."""
    label = prop.get("title", name)
    common = {"description": label, "style": {"description_width": "initial"},
              "tooltip": prop.get("description") or label}
    if "enum" in prop:
        return W.Dropdown(options=list(prop["enum"]), value=value, **common)
    kind = prop.get("type")
    if kind == "boolean":
        return W.Checkbox(value=bool(value), indent=False, **common)
    if kind == "integer":
        return W.IntText(value=int(value or 0), **common)
    if kind == "number":
        return W.FloatText(value=float(value or 0.0), **common)
    return W.Text(value="" if value is None else str(value), **common)


class SettingsForm(TextFallback, W.VBox):
    """Edit and save one installed extension's settings."""

    def __init__(self, lib: Any, extension_id: str):
        from core.extensions.settings import settings_schema
        from .registry import definition, manager
        self.lib, self.extension_id = lib, extension_id
        self.definition = definition(lib, extension_id)
        self.schema = settings_schema(self.definition.config_cls)
        saved = manager(lib).record(extension_id)["config"]
        self.fields = {name: field_widget(name, prop, saved.get(name, prop.get("default")))
                       for name, prop in self.schema["properties"].items()}
        self.state, self.error = "editing", None
        self._save = button("Save", "save", "primary")
        self._save.on_click(lambda _b: self.save())
        self._status = W.HTML()
        head = W.HTML(f"<b>Settings of {html.escape(self.definition.name)}</b> "
                      f"<code>{html.escape(extension_id)}</code>")
        body = list(self.fields.values()) or [W.HTML("<i>This extension has no settings.</i>")]
        super().__init__([head, *body, self._save, self._status])
        self.add_class("vdfs-settings-form")

    def values(self) -> dict[str, Any]:
        return {name: w.value for name, w in self.fields.items()}

    def save(self, **changes: Any) -> dict[str, Any] | None:
        """Apply `changes` to the form, then validate and store; the saved values, or None."""
        from core.errors import VdfsError
        from .registry import manager
        for name, value in changes.items():
            if name not in self.fields:
                self.state, self.error = "refused", f"no setting {name!r} (have {sorted(self.fields)})"
                self._render()
                return None
            self.fields[name].value = value
        try:
            ctx = manager(self.lib).upgrade(self.definition, config=self.values())
        except VdfsError as exc:
            self.state, self.error = "refused", str(exc)
            self._render()
            return None
        self.state, self.error = "saved", None
        self._render()
        from core.extensions.settings import config_values
        return config_values(ctx.config)

    def _render(self) -> None:
        colour = {"saved": "green", "refused": "#b00"}.get(self.state, "#555")
        msg = self.error if self.error else self.state
        self._status.value = f'<span style="color:{colour}">{html.escape(msg)}</span>'

    def text(self) -> str:
        lines = [f"Settings of {self.definition.name} ({self.extension_id}): {self.state}"]
        for name, prop in self.schema["properties"].items():
            extra = f" (one of {prop['enum']})" if "enum" in prop else ""
            lines.append(f"  {prop.get('title', name)} [{name}] = {self.fields[name].value!r}{extra}")
        if self.error:
            lines.append(f"  ! {self.error}")
        return "\n".join(lines)
