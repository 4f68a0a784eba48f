"""Typed helpers over a plain ONNX graph: `detect_faces`, `embed`, `classify` and `generate`.

A model file says nothing about what its tensors mean, so these helpers read a small, written
contract instead of guessing per model:

- Image input: the graph's first input, NCHW (`[N, 3, H, W]`) or NHWC (`[N, H, W, 3]`); a
  symbolic H/W takes the `image_size` metadata (default 224). Pixels are scaled to [0, 1], then
  `(x - mean) / std` when the model's metadata holds `mean` / `std` (JSON lists per channel).
- `detect_faces`: outputs `boxes` ([N, 4] or [1, N, 4]; x1, y1, x2, y2 normalised to [0, 1], or
  in pixels of the model input when any value is above 1.5) and `scores` ([N] or [1, N]); an
  optional `landmarks` ([N, 2k]) is scaled the same way. Unnamed outputs: the one whose last
  dimension is 4 is the boxes.
- `embed`: the output named `embedding` / `embeddings`, else the first; L2-normalised.
- `classify`: the first output, one score per label; labels from the `labels` metadata (a JSON
  list) or the caller. Scores that are not already probabilities are softmaxed.
- `generate` (a text model): an int64 `input_ids` input ([1, T]), an optional `attention_mask`,
  and a `logits` output ([1, T, V] or [1, V]). Tokens come from the `vocab` metadata (a JSON list,
  greedy longest match) or are UTF-8 bytes (ids 0..255); `eos_token_id` metadata stops decoding.
  Decoding is greedy (arg-max), so the same prompt always gives the same text.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from . import yunet
from .contract import OnnxContract, RawDetections
from .sources import ModelError

NMS_IOU = 0.4


@dataclass(frozen=True)
class FaceDetection:
    """One face: its box in pixels of the original image (x, y, width, height) and its score."""

    x: float
    y: float
    width: float
    height: float
    score: float
    landmarks: tuple[tuple[float, float], ...] = ()

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.width, self.height)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for a model field or a sidecar."""
        out = asdict(self)
        out["landmarks"] = [list(p) for p in self.landmarks]
        return out


# ---- detect_faces ----------------------------------------------------------------------------
def detect_faces(c: OnnxContract, image: bytes | np.ndarray, *, min_score: float = 0.5,
                 iou: float = NMS_IOU) -> list[FaceDetection]:
    """Faces in one image, best first, overlapping boxes suppressed (non-maximum suppression).
    A YuNet graph (OpenCV's face detector: cls/obj/bbox/kps outputs per stride) is decoded as
    such; any other graph follows the boxes/scores contract."""
    raw = yunet.detect(c, image) if yunet.is_yunet(c) else _contract_detections(c, image)
    return faces_of(raw, min_score=min_score, iou=iou)


def _contract_detections(c: OnnxContract, image: bytes | np.ndarray) -> RawDetections:
    tensor, (ow, oh) = c.image_tensor(image)
    outs = c.run({c.inputs[0].name: tensor})
    boxes = c.output(outs, "boxes", "bboxes")
    if boxes is None:
        boxes = next((v for v in outs.values() if v.shape and v.shape[-1] == 4), None)
    scores = c.output(outs, "scores", "confidences")
    if scores is None:
        scores = next((v for v in outs.values() if v is not boxes), None)
    if boxes is None or scores is None:
        raise ModelError(f"model {c.ref}: a face detector needs `boxes` [N, 4] and `scores` [N] "
                         f"outputs, it has {sorted(outs)}")
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    scores = np.asarray(scores, np.float32).reshape(-1)
    if len(scores) != len(boxes):
        raise ModelError(f"model {c.ref}: {len(boxes)} boxes but {len(scores)} scores")
    marks = c.output(outs, "landmarks")
    marks = (np.asarray(marks, np.float32).reshape(len(boxes), -1, 2) if marks is not None
             else np.zeros((len(boxes), 0, 2), np.float32))
    iw, ih = c.input_size()
    pixels = bool(boxes.size) and float(np.abs(boxes).max()) > 1.5
    return RawDetections(boxes, scores, marks, (ow / iw, oh / ih) if pixels else (ow, oh),
                         (ow, oh))


def faces_of(raw: RawDetections, *, min_score: float, iou: float) -> list[FaceDetection]:
    """Threshold, suppress overlaps, and map to the image's pixels (clipped to it)."""
    boxes, scores, marks = raw.boxes, raw.scores, raw.landmarks
    (sx, sy), (ow, oh) = raw.scale, raw.image_size
    keep = [i for i in np.argsort(-scores, kind="stable") if scores[i] >= min_score]
    chosen: list[int] = []
    for i in keep:
        if all(_iou(boxes[i], boxes[j]) <= iou for j in chosen):
            chosen.append(int(i))
    out = []
    for i in chosen:
        x1, y1, x2, y2 = (float(v) for v in boxes[i])
        x1, x2 = sorted((max(0.0, x1 * sx), min(float(ow), x2 * sx)))
        y1, y2 = sorted((max(0.0, y1 * sy), min(float(oh), y2 * sy)))
        lm = tuple((float(px * sx), float(py * sy)) for px, py in marks[i])
        out.append(FaceDetection(x1, y1, x2 - x1, y2 - y1, float(scores[i]), lm))
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


# ---- embed / classify -----------------------------------------------------------------------
def _feeds(c: OnnxContract, x: Any) -> dict[str, np.ndarray]:
    """Image bytes, text (for an int64 input) or an array, as the model's input(s)."""
    first = c.inputs[0]
    if isinstance(x, (bytes, bytearray, memoryview)):
        return {first.name: c.image_tensor(bytes(x))[0]}
    if isinstance(x, str):
        if "int64" not in first.type:
            raise ModelError(f"model {c.ref} takes {first.type}, not text")
        return _token_feeds(c, Tokenizer.of(c).encode(x))
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
    if len(first.shape) == arr.ndim + 1:
        arr = arr[None]
    return {first.name: arr}


def embed(c: OnnxContract, x: ArrayLike) -> np.ndarray:
    """A float32 unit vector for one image (bytes), text, or array."""
    outs = c.run(_feeds(c, x))
    vec = c.output(outs, "embedding", "embeddings")
    vec = np.asarray(vec if vec is not None else next(iter(outs.values())), np.float32)
    vec = vec[0] if vec.ndim > 1 else vec
    if vec.ndim > 1:                      # token-level output: mean over tokens
        vec = vec.mean(axis=0)
    norm = float(np.linalg.norm(vec))
    return (vec / norm if norm else vec).astype(np.float32)


def classify(c: OnnxContract, x: ArrayLike, *, labels: Sequence[str] | None = None,
             top_k: int = 5) -> list[tuple[str, float]]:
    """The `top_k` (label, probability) pairs, most likely first."""
    outs = c.run(_feeds(c, x))
    scores = np.asarray(next(iter(outs.values())), np.float64).reshape(-1)
    names = list(labels) if labels is not None else c.meta_json("labels")
    if names is None:
        names = [str(i) for i in range(len(scores))]
    if len(names) != len(scores):
        raise ModelError(f"model {c.ref}: {len(scores)} scores but {len(names)} labels")
    if scores.min() < 0 or scores.max() > 1 or abs(scores.sum() - 1) > 1e-3:
        e = np.exp(scores - scores.max())
        scores = e / e.sum()
    order = np.argsort(-scores, kind="stable")[:max(0, top_k)]
    return [(str(names[i]), float(scores[i])) for i in order]


# ---- generate -------------------------------------------------------------------------------
class Tokenizer:
    """Greedy longest-match over the model's `vocab`, or UTF-8 bytes when it has none."""

    def __init__(self, vocab: list[str] | None, eos: int | None):
        self.vocab, self.eos = vocab, eos
        self.ids = {t: i for i, t in enumerate(vocab)} if vocab else {}
        self.longest = max((len(t) for t in vocab), default=1) if vocab else 1

    @classmethod
    def of(cls, c: OnnxContract) -> "Tokenizer":
        vocab = c.meta_json("vocab")
        if vocab is not None and not (isinstance(vocab, list) and all(isinstance(t, str) for t in vocab)):
            raise ModelError(f"model {c.ref}: metadata 'vocab' must be a JSON list of strings")
        return cls(vocab, c.meta_json("eos_token_id"))

    def encode(self, text: str) -> list[int]:
        if self.vocab is None:
            return list(text.encode("utf-8"))
        out, i = [], 0
        while i < len(text):
            for n in range(min(self.longest, len(text) - i), 0, -1):
                if text[i:i + n] in self.ids:
                    out.append(self.ids[text[i:i + n]])
                    i += n
                    break
            else:
                raise ModelError(f"text has {text[i]!r}, which is in no token of the model's vocab")
        return out

    def decode(self, ids: list[int]) -> str:
        if self.vocab is None:
            return bytes(i for i in ids if 0 <= i < 256).decode("utf-8", errors="replace")
        return "".join(self.vocab[i] for i in ids if 0 <= i < len(self.vocab))


def _token_feeds(c: OnnxContract, ids: list[int]) -> dict[str, np.ndarray]:
    arr = np.asarray([ids], dtype=np.int64)
    feeds = {c.inputs[0].name: arr}
    for i in c.inputs[1:]:
        if i.name == "attention_mask":
            feeds[i.name] = np.ones_like(arr)
        else:
            raise ModelError(f"model {c.ref}: generate() feeds input_ids and attention_mask, "
                             f"the model also needs {i.name!r}")
    return feeds


def generate(c: OnnxContract, prompt: str, *, max_new_tokens: int = 32,
             stop: Sequence[str] = ()) -> str:
    """Greedy continuation of `prompt` (the prompt itself is not repeated)."""
    if not isinstance(prompt, str):
        raise ModelError(f"generate() takes a text prompt, got {type(prompt).__name__}")
    if "int64" not in c.inputs[0].type:
        raise ModelError(f"model {c.ref} is not a text model: its input {c.inputs[0].name!r} is "
                         f"{c.inputs[0].type}, generate() needs int64 token ids")
    tok = Tokenizer.of(c)
    ids = tok.encode(prompt)
    if not ids:
        raise ModelError("generate() needs a non-empty prompt")
    new: list[int] = []
    for _ in range(max(0, max_new_tokens)):
        outs = c.run(_token_feeds(c, ids + new))
        logits = c.output(outs, "logits")
        logits = np.asarray(logits if logits is not None else next(iter(outs.values())))
        last = logits.reshape(-1, logits.shape[-1])[-1]
        nxt = int(np.argmax(last))
        if tok.eos is not None and nxt == tok.eos:
            break
        new.append(nxt)
        text = tok.decode(new)
        if any(s and s in text for s in stop):
            return text[:min(text.index(s) for s in stop if s and s in text)]
    return tok.decode(new)
