"""AI model registry and loaders against real onnxruntime and real HTTP servers on 127.0.0.1."""
from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from core.ai import (AiService, AiSettings, ConsentRequired, ModelError, ModelIntegrityError,
                     ModelRegistry, ModelSource, OnnxModel, Prompts, PromptError)
from core.store.paths import models_dir

W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
B = np.array([0.5, -1.0], dtype=np.float32)


def affine_relu_onnx() -> bytes:
    """y = relu(x @ W + B): a graph whose output is known for any x."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"]),
         helper.make_node("Add", ["xw", "B"], ["z"]),
         helper.make_node("Relu", ["z"], ["y"])],
        "affine_relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
        initializer=[numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


class _Server:
    """A real HTTP server in a thread; `routes` maps (method, path) to a handler(body) → (code, bytes)."""

    def __init__(self, routes):
        outer = self
        self.requests: list[tuple[str, str, dict]] = []

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                outer.requests.append((method, self.path, body))
                fn = routes.get((method, self.path))
                code, payload = fn(body) if fn else (404, b"not found")
                self.send_response(code)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):  # noqa: N802
                self._serve("GET")

            def do_POST(self):  # noqa: N802
                self._serve("POST")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    made = []

    def start(routes):
        made.append(_Server(routes))
        return made[-1]
    yield start
    for s in made:
        s.close()


def test_bundled_model_runs_and_gives_the_known_output():
    reg = ModelRegistry()
    m = reg.register("tiny", "scene", ModelSource.bundled(affine_relu_onnx()))
    assert reg.path(m).is_file() and reg.path(m).parent.parent == models_dir()
    model = AiService(reg).from_registered("scene:tiny")
    assert isinstance(model, OnnxModel) and model.input_names == ["x"]
    x = np.array([[1, 0, 0], [0, 0, -1], [1, 1, 1]], dtype=np.float32)
    np.testing.assert_allclose(model(x), np.maximum(x @ W + B, 0))
    np.testing.assert_allclose(model(x)[1], [0.0, 0.0])     # relu clipped both


def test_download_verifies_sha256_while_streaming(server):
    blob = affine_relu_onnx() * 1   # real bytes served over HTTP
    srv = server({("GET", "/m.onnx"): lambda _: (200, blob),
                  ("GET", "/gone.onnx"): lambda _: (404, b"")})
    reg = ModelRegistry()
    good = hashlib.sha256(blob).hexdigest()
    with pytest.raises(ModelIntegrityError, match="expected " + "0" * 64):
        reg.register("dl", "scene", ModelSource.download(srv.url + "/m.onnx", "0" * 64))
    assert not any(p.is_file() for p in (models_dir() / "scene").iterdir())   # nothing kept
    assert reg.list() == []
    with pytest.raises(ModelError, match="HTTP 404"):
        reg.register("dl", "scene", ModelSource.download(srv.url + "/gone.onnx", good))
    m = reg.register("dl", "scene", ModelSource.download(srv.url + "/m.onnx", good))
    assert m.sha256 == good and hashlib.sha256(reg.path(m).read_bytes()).hexdigest() == good
    assert AiService(reg).from_registered("dl")(np.ones((1, 3), np.float32)).shape == (1, 2)


def test_local_path_is_copied_and_reregistration_replaces(tmp_path):
    src = tmp_path / "m.onnx"
    src.write_bytes(affine_relu_onnx())
    reg = ModelRegistry()
    first = reg.register("loc", "scene", ModelSource.local(src))
    assert reg.register("loc", "scene", ModelSource.local(src)).file == first.file
    second = reg.register("loc", "scene", ModelSource.bundled(b"other bytes", format="bin"))
    assert not reg.path(first).exists() and reg.path(second).exists()
    reg.unregister("scene:loc")
    assert not reg.path(second).exists()
    with pytest.raises(ModelError, match="no registered model 'scene:loc'"):
        reg.get("scene:loc")
    with pytest.raises(ModelError, match="does not exist"):
        ModelSource.local(tmp_path / "missing.onnx")
    with pytest.raises(ModelError, match="name must match"):
        reg.register("bad:name", "scene", ModelSource.bundled(b"x"))


def test_garbage_onnx_is_refused_on_load():
    reg = ModelRegistry()
    reg.register("junk", "scene", ModelSource.bundled(b"not a graph"))
    with pytest.raises(ModelError, match="not a loadable ONNX graph"):
        AiService(reg).from_registered("scene:junk")


def test_ollama_client_speaks_the_generate_protocol(server):
    def generate(body):
        assert body["stream"] is False
        answer = {"model": body["model"], "response": body["prompt"].upper(), "done": True}
        return 200, json.dumps(answer).encode()
    srv = server({("POST", "/api/generate"): generate,
                  ("POST", "/api/chat"): lambda b: (200, json.dumps(
                      {"message": {"role": "assistant", "content": str(len(b["messages"]))},
                       "done": True}).encode())})
    reg = ModelRegistry()
    reg.register("llama", "llm", ModelSource.ollama("llama3.2", srv.url))
    llm = AiService(reg).from_registered("llm:llama")
    assert llm.generate("describe this photo", temperature=0) == "DESCRIBE THIS PHOTO"
    assert srv.requests[-1][2]["options"] == {"temperature": 0}
    assert llm.chat([{"role": "user", "content": "hi"}]) == "1"


def test_openai_compatible_cloud_model_needs_preference_and_consent(server, monkeypatch):
    def chat(body):
        text = " ".join(m["content"] for m in body["messages"])
        return 200, json.dumps({"id": "c1", "object": "chat.completion", "model": body["model"],
                                "choices": [{"index": 0, "finish_reason": "stop",
                                             "message": {"role": "assistant", "content": text[::-1]}}]
                                }).encode()
    srv = server({("POST", "/v1/chat/completions"): chat})
    monkeypatch.setenv("TEST_KEY", "sk-test")
    reg = ModelRegistry()
    reg.register("gpt", "llm", ModelSource.openai("gpt-x", srv.url + "/v1", api_key_env="TEST_KEY"))
    settings = AiSettings()
    with pytest.raises(ConsentRequired, match="preference is 'local'"):
        AiService(reg, settings).from_registered("llm:gpt")
    settings.set_preference("cloud")
    with pytest.raises(ConsentRequired, match="has not consented"):
        AiService(reg, settings).from_registered("llm:gpt")
    settings.record_consent("llm:gpt", srv.url + "/v1")
    assert AiService(reg, settings).from_registered("llm:gpt").generate("abc", system="x") == "cba x"
    assert len(srv.requests) == 1   # the refused calls never reached the server
    settings.revoke_consent("llm:gpt")
    with pytest.raises(ConsentRequired):
        AiService(reg, settings).from_registered("llm:gpt")


def test_unreachable_endpoint_is_a_clear_error():
    reg = ModelRegistry()
    reg.register("off", "llm", ModelSource.ollama("m", "http://127.0.0.1:9"))
    with pytest.raises(ModelError, match="unreachable"):
        AiService(reg).from_registered("llm:off").generate("x")


def test_prompts_render_with_strict_variables(tmp_path):
    (tmp_path / "caption.j2").write_text("Describe {{ n }} photo{{ 's' if n != 1 }} from {{ place }}.")
    prompts = Prompts(tmp_path)
    assert prompts.render("caption.j2", n=2, place="Oslo") == "Describe 2 photos from Oslo."
    with pytest.raises(PromptError, match="'place' is undefined"):
        prompts.render("caption.j2", n=1)
    with pytest.raises(PromptError, match="no prompt template 'nope.j2'"):
        prompts.render("nope.j2")
    (tmp_path / "evil.j2").write_text("{{ ''.__class__.__mro__ }}")
    with pytest.raises(Exception, match="unsafe|not safely"):
        prompts.render("evil.j2")
