"""The written contract between an ONNX graph and the typed helpers: what its inputs and
outputs mean (OnnxContract), an image as the helpers open it, and a detector's raw candidates.
Shared by helpers.py and the YuNet decoder (yunet.py), below both."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from .sources import ModelError

DEFAULT_IMAGE_SIZE = 224


class OnnxContract:
    """Reads the metadata and input/output shapes of one onnxruntime session once."""

    def __init__(self, session: Any, ref: str):
        self.session, self.ref = session, ref
        self.meta: dict[str, str] = dict(session.get_modelmeta().custom_metadata_map or {})
        self.inputs = session.get_inputs()
        self.outputs = session.get_outputs()

    def meta_json(self, key: str, default: Any = None) -> Any:
        if key not in self.meta:
            return default
        try:
            return json.loads(self.meta[key])
        except ValueError as exc:
            raise ModelError(f"model {self.ref}: metadata {key!r} is not JSON: {exc}") from None

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            outs = self.session.run([o.name for o in self.outputs], feeds)
        except Exception as exc:  # onnxruntime's own error types: shape or type mismatch
            raise ModelError(f"model {self.ref} could not run on this input: {exc}") from exc
        return {o.name: v for o, v in zip(self.outputs, outs)}

    # ---- images ---------------------------------------------------------------------------
    def layout(self) -> tuple[bool, int]:
        """(channels last?, channels) of the image input."""
        shape = list(self.inputs[0].shape)
        if len(shape) != 4:
            raise ModelError(f"model {self.ref}: an image model takes [N, C, H, W] or [N, H, W, C], "
                             f"its input {self.inputs[0].name!r} has shape {shape}")
        nhwc = shape[3] in (1, 3) and shape[1] not in (1, 3)
        return nhwc, shape[3] if nhwc else shape[1]

    def input_size(self) -> tuple[int, int]:
        """(width, height) the model takes; a symbolic size comes from `image_size` metadata."""
        shape = list(self.inputs[0].shape)
        h, w = shape[1:3] if self.layout()[0] else shape[2:4]
        size = self.meta_json("image_size", DEFAULT_IMAGE_SIZE)
        dh, dw = size if isinstance(size, list) else (size, size)
        return (w if isinstance(w, int) and w > 0 else dw,
                h if isinstance(h, int) and h > 0 else dh)

    def image_tensor(self, image: bytes | np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        """The model's image input and the original (width, height)."""
        nhwc, channels = self.layout()
        pixels, original = _decoded(image, "L" if channels == 1 else "RGB", self.input_size(),
                                    self.ref)
        mean, std = self.meta_json("mean"), self.meta_json("std")
        if mean is not None:
            pixels = pixels - np.asarray(mean, np.float32)
        if std is not None:
            pixels = pixels / np.asarray(std, np.float32)
        tensor = pixels[None] if nhwc else pixels.transpose(2, 0, 1)[None]
        return np.ascontiguousarray(tensor, dtype=np.float32), original

    def output(self, outs: dict[str, np.ndarray], *names: str) -> np.ndarray | None:
        for n in names:
            if n in outs:
                return outs[n]
        return None


def open_image(image: bytes | np.ndarray, ref: str) -> Any:
    """A PIL image from encoded bytes or an 8-bit array ([H, W] or [H, W, C])."""
    from PIL import Image, UnidentifiedImageError
    if isinstance(image, np.ndarray):
        arr = image if image.ndim == 3 else image[..., None]
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8).squeeze())
    try:
        im = Image.open(io.BytesIO(bytes(image)))
        im.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ModelError(f"model {ref}: the input is not a readable image: {exc}") from None
    return im


@dataclass(frozen=True)
class RawDetections:
    """A detector's candidates in model-input pixels or normalised units, before NMS:
    boxes [N, 4] x1 y1 x2 y2, scores [N], landmarks [N, k, 2]; (sx, sy) maps them to the image."""

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray
    scale: tuple[float, float]
    image_size: tuple[int, int]


def _decoded(image: bytes | np.ndarray, mode: str, size: tuple[int, int], ref: str
             ) -> tuple[np.ndarray, tuple[int, int]]:
    """Pixels as float32 [H, W, C] in [0, 1] resized to `size`, and the original (w, h)."""
    from PIL import Image
    im = open_image(image, ref)
    original = im.size
    small = im.convert(mode).resize(size, Image.BILINEAR)
    arr = np.asarray(small, dtype=np.float32) / 255.0
    return (arr[..., None] if arr.ndim == 2 else arr), original
