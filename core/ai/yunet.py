"""YuNet, OpenCV's face detector, decoded by `detect_faces` when a registered ONNX graph has its
outputs: `cls_S`, `obj_S` ([1, N, 1]), `bbox_S` ([1, N, 4]) and `kps_S` ([1, N, 10]) for the
strides S = 8, 16, 32, one row per cell of the padded input, row-major.

Input, as OpenCV's FaceDetectorYN feeds it: BGR, 0–255 (no scaling), [1, 3, H, W] with H and W
multiples of 32, the image in the top-left corner and zeros to the right and below. A graph
with a fixed input size gets the image scaled to fit (aspect kept); a dynamic one gets the
image's own size (a side above MAX_SIDE is scaled down), padded up to a multiple of 32.

Per cell (r, c) of stride S: score = sqrt(clamp(cls) · clamp(obj)); centre = ((c + dx)·S,
(r + dy)·S); size = (exp(dw)·S, exp(dh)·S); landmark k = ((kx + c)·S, (ky + r)·S).
The weights are not shipped with vdfs: register the file (ModelSource.local or .download).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .contract import OnnxContract, RawDetections, open_image
from .sources import ModelError

STRIDES = (8, 16, 32)
DIVISOR = 32
MAX_SIDE = 640


def is_yunet(c: OnnxContract) -> bool:
    names = {o.name for o in c.outputs}
    return all(f"{k}_{s}" in names for k in ("cls", "obj", "bbox") for s in STRIDES)


def _fixed(dim: Any) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def padded_input(c: OnnxContract, image: bytes | np.ndarray
                 ) -> tuple[np.ndarray, float, tuple[int, int]]:
    """The BGR 0–255 tensor, the scale applied to the image, and the image's (w, h)."""
    from PIL import Image
    im = open_image(image, c.ref).convert("RGB")
    ow, oh = im.size
    shape = list(c.inputs[0].shape)
    if len(shape) != 4:
        raise ModelError(f"model {c.ref}: YuNet takes [1, 3, H, W], its input has shape {shape}")
    fh, fw = _fixed(shape[2]), _fixed(shape[3])
    if fh and fw:
        scale = min(fw / ow, fh / oh)
        pw, ph = fw, fh
    else:
        scale = min(1.0, MAX_SIDE / max(ow, oh))
    w, h = max(1, round(ow * scale)), max(1, round(oh * scale))
    if not (fh and fw):
        pw, ph = (-(-w // DIVISOR) * DIVISOR, -(-h // DIVISOR) * DIVISOR)
    rgb = np.asarray(im.resize((w, h), Image.BILINEAR) if (w, h) != (ow, oh) else im,
                     dtype=np.float32)
    canvas = np.zeros((ph, pw, 3), np.float32)
    canvas[:h, :w] = rgb[..., ::-1]                     # RGB -> BGR
    return canvas.transpose(2, 0, 1)[None].copy(), scale, (ow, oh)


def decode(outs: dict[str, np.ndarray], width: int, height: int) -> tuple[np.ndarray, ...]:
    """Boxes (x1 y1 x2 y2), scores and landmarks [N, 5, 2], in padded-input pixels."""
    boxes, scores, marks = [], [], []
    for s in STRIDES:
        cols, rows = width // s, height // s
        n = cols * rows
        cls = np.clip(np.asarray(outs[f"cls_{s}"], np.float32).reshape(-1)[:n], 0, 1)
        obj = np.clip(np.asarray(outs[f"obj_{s}"], np.float32).reshape(-1)[:n], 0, 1)
        bbox = np.asarray(outs[f"bbox_{s}"], np.float32).reshape(-1, 4)[:n]
        kps = (np.asarray(outs[f"kps_{s}"], np.float32).reshape(-1, 10)[:n]
               if f"kps_{s}" in outs else np.zeros((n, 10), np.float32))
        if len(cls) != n or len(bbox) != n:
            raise ModelError(f"YuNet stride {s}: expected {n} cells for a {width}x{height} input, "
                             f"got {len(cls)} scores and {len(bbox)} boxes")
        r, c = np.divmod(np.arange(n), cols)
        cx, cy = (c + bbox[:, 0]) * s, (r + bbox[:, 1]) * s
        w, h = np.exp(bbox[:, 2]) * s, np.exp(bbox[:, 3]) * s
        boxes.append(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1))
        scores.append(np.sqrt(cls * obj))
        pts = kps.reshape(n, 5, 2)
        marks.append(np.stack([(pts[..., 0] + c[:, None]) * s, (pts[..., 1] + r[:, None]) * s],
                              axis=2))
    return np.concatenate(boxes), np.concatenate(scores), np.concatenate(marks)


def detect(c: OnnxContract, image: bytes | np.ndarray) -> RawDetections:
    tensor, scale, size = padded_input(c, image)
    outs = c.run({c.inputs[0].name: tensor})
    boxes, scores, marks = decode(outs, tensor.shape[3], tensor.shape[2])
    return RawDetections(boxes.astype(np.float32), scores.astype(np.float32),
                         marks.astype(np.float32), (1 / scale, 1 / scale), size)
