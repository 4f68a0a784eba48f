"""Loaders for registered models: ONNX on the CPU, Ollama and OpenAI-compatible chat over HTTP."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import httpx
import numpy as np
from numpy.typing import ArrayLike

from . import helpers
from .sources import ModelError


class OnnxModel:
    """An onnxruntime session on the CPU. `model(x)` or `model.run({"input": x})`, and the typed
    helpers `detect_faces`, `embed`, `classify`, `generate` (their tensor contract is in
    core.ai.helpers)."""

    def __init__(self, path: Path, ref: str = ""):
        import onnxruntime as ort
        self.ref = ref
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(f"model {ref or path} is not a loadable ONNX graph: {exc}") from exc
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._contract = helpers.OnnxContract(self.session, ref or str(path))

    def detect_faces(self, image: bytes | np.ndarray, *, min_score: float = 0.5
                     ) -> list[helpers.FaceDetection]:
        """Faces in an image (encoded bytes or an RGB array), best first, in its pixels."""
        return helpers.detect_faces(self._contract, image, min_score=min_score)

    def embed(self, x: ArrayLike) -> np.ndarray:
        """A unit float32 vector for an image (bytes), text (str) or an array."""
        return helpers.embed(self._contract, x)

    def classify(self, x: ArrayLike, *, labels: Sequence[str] | None = None, top_k: int = 5
                 ) -> list[tuple[str, float]]:
        """The most likely (label, probability) pairs for an image, text or array."""
        return helpers.classify(self._contract, x, labels=labels, top_k=top_k)

    def generate(self, prompt: str, *, max_new_tokens: int = 32, stop: Sequence[str] = ()) -> str:
        """Greedy text continuation by an ONNX language model."""
        return helpers.generate(self._contract, prompt, max_new_tokens=max_new_tokens, stop=stop)

    def run(self, inputs: dict[str, Any]) -> dict[str, np.ndarray]:
        missing = sorted(set(self.input_names) - set(inputs))
        if missing:
            raise ModelError(f"model {self.ref}: missing inputs {missing} (needs {self.input_names})")
        feeds = {k: np.asarray(v) for k, v in inputs.items()}
        outs = self.session.run(self.output_names, feeds)
        return dict(zip(self.output_names, outs))

    def __call__(self, *arrays: Any) -> np.ndarray | list[np.ndarray]:
        if len(arrays) != len(self.input_names):
            raise ModelError(f"model {self.ref} takes {len(self.input_names)} inputs "
                             f"{self.input_names}, got {len(arrays)}")
        outs = list(self.run(dict(zip(self.input_names, arrays))).values())
        return outs[0] if len(outs) == 1 else outs


class _HttpModel:
    def __init__(self, base_url: str, model: str, ref: str, timeout: float,
                 headers: dict[str, str] | None = None):
        self.base_url, self.model, self.ref = base_url.rstrip("/"), model, ref
        self.client = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers or {})

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = self.client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise ModelError(f"model {self.ref}: {self.base_url}{path} unreachable: {exc}") from exc
        if resp.status_code != 200:
            raise ModelError(f"model {self.ref}: {path} answered HTTP {resp.status_code}: "
                             f"{resp.text[:200]}")
        try:
            return resp.json()
        except ValueError as exc:
            raise ModelError(f"model {self.ref}: {path} did not answer JSON") from exc

    def close(self) -> None:
        self.client.close()


class OllamaClient(_HttpModel):
    """Ollama's REST API (non-streaming): /api/generate and /api/chat."""

    def __init__(self, base_url: str, model: str, ref: str = "", timeout: float = 120.0):
        super().__init__(base_url, model, ref or model, timeout)

    def generate(self, prompt: str, *, system: str | None = None, **options: Any) -> str:
        body: dict[str, Any] = {"model": self.model, "prompt": prompt, "stream": False}
        if system:
            body["system"] = system
        if options:
            body["options"] = options
        data = self._post("/api/generate", body)
        if "response" not in data:
            raise ModelError(f"model {self.ref}: /api/generate answer has no 'response': {data}")
        return data["response"]

    def chat(self, messages: Sequence[dict[str, str]], **options: Any) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), "stream": False}
        if options:
            body["options"] = options
        data = self._post("/api/chat", body)
        return data["message"]["content"]


class OpenAIClient(_HttpModel):
    """An OpenAI-compatible server: POST {base_url}/chat/completions."""

    def __init__(self, base_url: str, model: str, ref: str = "", *, api_key_env: str | None = None,
                 timeout: float = 120.0):
        key = os.environ.get(api_key_env) if api_key_env else None
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        super().__init__(base_url, model, ref or model, timeout, headers)

    def chat(self, messages: Sequence[dict[str, str]], **params: Any) -> str:
        data = self._post("/chat/completions", {"model": self.model, "messages": list(messages),
                                                **params})
        try:
            return data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ModelError(f"model {self.ref}: unexpected chat answer {data}") from exc

    def generate(self, prompt: str, *, system: str | None = None, **params: Any) -> str:
        messages = ([{"role": "system", "content": system}] if system else [])
        messages.append({"role": "user", "content": prompt})
        return self.chat(messages, **params)
