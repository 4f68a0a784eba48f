"""`ctx.ai()`: turn a registered model into a loader, honouring the user's local/cloud preference
and their recorded consent for each cloud model (settings in $VDFS_HOME/ai_settings.json)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from core.store.clock import now_iso
from core.store.faults import storage_faults
from core.store.paths import vdfs_home
from .loaders import OllamaClient, OnnxModel, OpenAIClient
from .registry import ModelRegistry, RegisteredModel
from .sources import ConsentRequired, ModelError

PREFERENCES = ("local", "cloud")


class AiSettings:
    """The user's AI choices: default preference and per-model consent to send data to a cloud."""

    def __init__(self, path: Path | None = None):
        self.path = path or vdfs_home() / "ai_settings.json"

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"preference": "local", "consent": {}}

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".tmp")
        try:
            with storage_faults(self.path.parent):   # a full disk keeps the old settings
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
                os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    @property
    def preference(self) -> str:
        return self._read().get("preference", "local")

    def set_preference(self, preference: str) -> None:
        if preference not in PREFERENCES:
            raise ValueError(f"preference must be one of {PREFERENCES}, got {preference!r}")
        data = self._read()
        data["preference"] = preference
        self._write(data)

    def record_consent(self, ref: str, endpoint: str) -> None:
        data = self._read()
        data.setdefault("consent", {})[ref] = {"endpoint": endpoint, "at": now_iso()}
        self._write(data)

    def revoke_consent(self, ref: str) -> None:
        data = self._read()
        data.get("consent", {}).pop(ref, None)
        self._write(data)

    def consent(self, ref: str) -> dict[str, Any] | None:
        return self._read().get("consent", {}).get(ref)


class AiService:
    """Loaders for registered models. `preference_for(category)` is the permission check an
    extension's context passes in (it raises when the category was not granted)."""

    def __init__(self, registry: ModelRegistry | None = None, settings: AiSettings | None = None,
                 preference_for: Callable[[str], str] | None = None):
        self.registry = registry or ModelRegistry()
        self.settings = settings or AiSettings()
        self.preference_for = preference_for
        self._cache: dict[str, Any] = {}

    def from_registered(self, ref: str) -> OnnxModel | OllamaClient | OpenAIClient:
        """The loader of a registered model. A model the extension registered itself needs no
        separate UseModel grant (the user's grant, when there is one, still sets its local/cloud
        preference); any other model needs its category granted."""
        model = self._own(ref)
        if model is not None:
            preference = self._own_preference(model.category)
        else:
            if self.preference_for and ":" in ref:
                self.preference_for(ref.split(":", 1)[0])   # refuse before revealing what exists
            model = self.registry.get(ref)
            preference = (self.preference_for(model.category) if self.preference_for
                          else self.settings.preference)
        if model.cloud:
            self._check_cloud(model, preference)
        if model.ref not in self._cache:
            self._cache[model.ref] = self._load(model)
        return self._cache[model.ref]

    def _own(self, ref: str) -> RegisteredModel | None:
        """`ref` when the extension this service belongs to registered it, else None."""
        owner = self.registry.extension_id
        if owner is None or self.preference_for is None:
            return None
        try:
            model = self.registry.get(ref)
        except ModelError:
            return None
        return model if model.extension_id == owner else None

    def _own_preference(self, category: str) -> str:
        assert self.preference_for is not None
        try:
            return self.preference_for(category)
        except PermissionError:          # no grant for the category: the user's default
            return self.settings.preference

    def _check_cloud(self, model: RegisteredModel, preference: str) -> None:
        endpoint = model.source.get("base_url", "")
        if preference != "cloud":
            raise ConsentRequired(
                f"model {model.ref} runs in the cloud ({endpoint}) but the preference is "
                f"{preference!r}: choose 'cloud' to allow it")
        consent = self.settings.consent(model.ref)
        if not consent or consent.get("endpoint") != endpoint:
            raise ConsentRequired(
                f"model {model.ref} sends data to {endpoint}: the user has not consented "
                f"(record it with AiSettings().record_consent({model.ref!r}, {endpoint!r}))")

    def _load(self, model: RegisteredModel) -> Any:
        src = model.source
        if src["kind"] == "ollama":
            return OllamaClient(src["base_url"], src["model"], model.ref)
        if src["kind"] == "openai":
            return OpenAIClient(src["base_url"], src["model"], model.ref,
                                api_key_env=src.get("api_key_env"))
        if src.get("format") == "onnx":
            return OnnxModel(self.registry.path(model), model.ref)
        raise ModelError(f"model {model.ref}: no loader for format {src.get('format')!r}")

    def close(self) -> None:
        for loader in self._cache.values():
            close = getattr(loader, "close", None)
            if callable(close):
                close()
        self._cache.clear()
