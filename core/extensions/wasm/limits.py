"""Per-call limits of a WASM extension: core defaults, narrowed or widened by its manifest
within hard ceilings the manifest cannot exceed."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import WasmAbiError


@dataclass(frozen=True)
class Limits:
    fuel: int = 50_000_000             # wasm instructions (roughly) per call
    deadline_ms: int = 5_000           # wall clock per call, enforced by epoch interruption
    memory_bytes: int = 64 << 20       # linear memory
    table_elements: int = 10_000
    max_request_bytes: int = 1 << 20   # one host-call request (guest -> host)
    max_response_bytes: int = 4 << 20  # one host-call response (host -> guest)
    max_output_bytes: int = 4 << 20    # what an exported function returns

    def with_overrides(self, **values: Any) -> "Limits":
        return replace(self, **{k: v for k, v in values.items() if v is not None})


DEFAULTS = Limits()
CEILINGS = Limits(fuel=10_000_000_000, deadline_ms=600_000, memory_bytes=1 << 30,
                  table_elements=1_000_000, max_request_bytes=64 << 20,
                  max_response_bytes=64 << 20, max_output_bytes=64 << 20)
NAMES = tuple(f.name for f in fields(Limits))


def limits_from_manifest(data: dict[str, Any] | None, base: Limits = DEFAULTS) -> Limits:
    """The manifest's `limits` object applied to `base`; a value above the ceiling is refused."""
    data = dict(data or {})
    for name, value in data.items():
        if name not in NAMES:
            raise WasmAbiError(f"unknown limit {name!r}; known: {', '.join(NAMES)}")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise WasmAbiError(f"limit {name} must be a positive integer, not {value!r}")
        ceiling = getattr(CEILINGS, name)
        if value > ceiling:
            raise WasmAbiError(f"limit {name}={value:,} exceeds the host ceiling {ceiling:,}")
    return base.with_overrides(**data)
