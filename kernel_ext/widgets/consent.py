"""`%vdfs consent MODEL`: ask the user before a registered model may send data to a cloud.

Shows where the model runs (its endpoint); Allow records consent for exactly that endpoint, Revoke
withdraws it. The user's default local/cloud preference is a separate toggle: a cloud model runs
only with both (an extension's model follows the preference its UseModel grant carries).
Consent is kept per model and endpoint in the user's AI settings, so a model whose endpoint
changes asks again. A local model needs no consent, and the widget says so.
"""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as W

from .base import TextFallback, button


class ConsentWidget(TextFallback, W.VBox):
    """Allow or revoke one model's access to its cloud endpoint."""

    def __init__(self, ref: str, *, registry: Any = None, settings: Any = None):
        from core.ai import AiSettings, ModelRegistry
        self.registry = registry or ModelRegistry()
        self.settings = settings or AiSettings()
        self.model = self.registry.get(ref)
        self.endpoint = self.model.source.get("base_url", "")
        self._allow = button("Allow", "check", "warning",
                             tooltip=f"send this model's inputs to {self.endpoint}")
        self._revoke = button("Revoke", "times")
        self._allow.on_click(lambda _b: self.allow())
        self._revoke.on_click(lambda _b: self.revoke())
        self._preference = W.ToggleButtons(options=["local", "cloud"],
                                           value=self.settings.preference,
                                           description="Preference", tooltips=[
                                               "only models on this machine",
                                               "cloud models the user consented to"])
        self._preference.observe(lambda change: self.set_preference(change["new"]), names="value")
        self._status = W.HTML()
        head = W.HTML(f"<b>Model</b> <code>{html.escape(self.model.ref)}</code>"
                      + (f" runs at <code>{html.escape(self.endpoint)}</code>: what it is asked "
                         "(prompts, file contents) leaves this machine." if self.model.cloud
                         else " runs on this machine: no consent is needed."))
        buttons = [W.HBox([self._allow, self._revoke]), self._preference] if self.model.cloud else []
        super().__init__([head, *buttons, self._status])
        self.add_class("vdfs-consent")
        self._render()

    @property
    def state(self) -> str:
        if not self.model.cloud:
            return "local"
        consent = self.settings.consent(self.model.ref)
        allowed = bool(consent) and consent.get("endpoint") == self.endpoint
        return f"{'allowed' if allowed else 'not allowed'}, preference {self.settings.preference}"

    def allow(self) -> None:
        if self.model.cloud:
            self.settings.record_consent(self.model.ref, self.endpoint)
        self._render()

    def set_preference(self, preference: str) -> None:
        self.settings.set_preference(preference)
        self._preference.value = preference
        self._render()

    def revoke(self) -> None:
        if self.model.cloud:
            self.settings.revoke_consent(self.model.ref)
        self._render()

    def _render(self) -> None:
        colour = "green" if self.state in ("local", "allowed, preference cloud") else "#b00"
        self._status.value = f'<span style="color:{colour}">{html.escape(self.state)}</span>'

    def text(self) -> str:
        where = f"cloud: {self.endpoint}" if self.model.cloud else "local"
        return f"Model {self.model.ref} ({where}): {self.state}"
