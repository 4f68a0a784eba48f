"""Build `models/photos_v1.onnx`, the Photos extension's bundled face/scene model.

A stand-in, small enough to read: a real ONNX graph whose outputs are known for any input,
proving the registry → onnxruntime path end to end. Input `image` is an RGB image resized to
8×8, float32 in [0, 1], shape [N, 3, 8, 8]. The graph averages each channel (GlobalAveragePool)
and computes:

- `scene`      [N, 4] softmax over (sunset, forest, sea, night): a channel dominating → its
               scene; a dark image → night.
- `face_score` [N, 1] sigmoid(12·(max channel − min channel) − 3): "a face" when the colour is
               saturated (gray images have none).
- `embedding`  [N, 8] L2-normalised projection of the mean colour: photos of one "person"
               (one dominant colour) get nearly the same embedding.

Real faces are not this model's job: the Haar cascade (faces.py) finds them and dlib's ResNet
face descriptor (embedding.py) embeds them. The stand-in's embedding is the fallback when dlib
or its weights are not installed, and its colour "face" is the only face under the `standin`
setting; its scene labels are always used.

Run `python extensions/photos/build_model.py` to regenerate the file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SCENES = ["sunset", "forest", "sea", "night"]
EMBED = np.array([[1.0, 0.2, 0.0, 0.1, 0.5, 0.0, 0.3, 0.0],
                  [0.0, 1.0, 0.2, 0.0, 0.0, 0.5, 0.0, 0.3],
                  [0.2, 0.0, 1.0, 0.3, 0.0, 0.0, 0.5, 0.1]], dtype=np.float32)
SCENE_W = np.array([[10, 0, 0, -10], [0, 10, 0, -10], [0, 0, 10, -10]], dtype=np.float32)
SCENE_B = np.array([0, 0, 0, 4], dtype=np.float32)


def build() -> bytes:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    h = helper
    nodes = [
        h.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        h.make_node("Flatten", ["pooled"], ["mean_rgb"], axis=1),
        h.make_node("MatMul", ["mean_rgb", "scene_w"], ["scene_xw"]),
        h.make_node("Add", ["scene_xw", "scene_b"], ["scene_logits"]),
        h.make_node("Softmax", ["scene_logits"], ["scene"], axis=1),
        h.make_node("ReduceMax", ["mean_rgb"], ["cmax"], axes=[1], keepdims=1),
        h.make_node("ReduceMin", ["mean_rgb"], ["cmin"], axes=[1], keepdims=1),
        h.make_node("Sub", ["cmax", "cmin"], ["spread"]),
        h.make_node("Mul", ["spread", "twelve"], ["spread12"]),
        h.make_node("Sub", ["spread12", "three"], ["face_logit"]),
        h.make_node("Sigmoid", ["face_logit"], ["face_score"]),
        h.make_node("MatMul", ["mean_rgb", "embed_w"], ["raw_embedding"]),
        h.make_node("ReduceL2", ["raw_embedding"], ["norm"], axes=[1], keepdims=1),
        h.make_node("Add", ["norm", "eps"], ["norm_eps"]),
        h.make_node("Div", ["raw_embedding", "norm_eps"], ["embedding"]),
    ]
    inits = [numpy_helper.from_array(SCENE_W, "scene_w"), numpy_helper.from_array(SCENE_B, "scene_b"),
             numpy_helper.from_array(EMBED, "embed_w"),
             numpy_helper.from_array(np.array(12.0, np.float32), "twelve"),
             numpy_helper.from_array(np.array(3.0, np.float32), "three"),
             numpy_helper.from_array(np.array(1e-6, np.float32), "eps")]
    graph = h.make_graph(
        nodes, "photos_v1",
        [h.make_tensor_value_info("image", TensorProto.FLOAT, [None, 3, 8, 8])],
        [h.make_tensor_value_info("scene", TensorProto.FLOAT, [None, 4]),
         h.make_tensor_value_info("face_score", TensorProto.FLOAT, [None, 1]),
         h.make_tensor_value_info("embedding", TensorProto.FLOAT, [None, 8])],
        initializer=inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 13)], producer_name="vdfs-photos")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def reference(image: np.ndarray) -> dict[str, np.ndarray]:
    """What the graph computes, in numpy (the tests compare both)."""
    x = image.mean(axis=(2, 3))
    logits = x @ SCENE_W + SCENE_B
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    spread = x.max(axis=1, keepdims=True) - x.min(axis=1, keepdims=True)
    raw = x @ EMBED
    return {"scene": e / e.sum(axis=1, keepdims=True),
            "face_score": 1 / (1 + np.exp(-(12 * spread - 3))),
            "embedding": raw / (np.linalg.norm(raw, axis=1, keepdims=True) + 1e-6)}


if __name__ == "__main__":
    out = Path(__file__).with_name("models") / "photos_v1.onnx"
    out.write_bytes(build())
    print(f"wrote {out} ({out.stat().st_size} bytes)")
