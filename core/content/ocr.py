"""OCR through the ONNX models of the optional `rapidocr-onnxruntime` package (extra `ocr`)."""
from __future__ import annotations

import functools
import os
from typing import Any

from core.errors import VdfsError


class OcrUnavailable(VdfsError):
    """The optional OCR engine is not installed."""


def ocr_available() -> bool:
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def _engine() -> Any:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise OcrUnavailable("OCR needs the optional extra: pip install 'vdfs[ocr]' "
                             "(rapidocr-onnxruntime)") from exc
    return RapidOCR()


def ocr_image(path: str | os.PathLike[str], min_score: float = 0.5) -> list[dict[str, Any]]:
    """Lines of text found in an image, top to bottom: [{"text", "score", "box"}]."""
    result, _ = _engine()(str(path))
    lines = []
    for box, text, score in result or []:
        if float(score) >= min_score:
            lines.append({"text": text, "score": round(float(score), 4),
                          "box": [[round(float(x), 1), round(float(y), 1)] for x, y in box]})
    lines.sort(key=lambda l: (l["box"][0][1], l["box"][0][0]))
    return lines


def ocr_text(path: str | os.PathLike[str]) -> str:
    return "\n".join(line["text"] for line in ocr_image(path))
