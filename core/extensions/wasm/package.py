"""A WASM extension package — a folder or a .zip of one — read into memory and validated.

Install copies it into the library (`<library>/extensions/<id>/<version>/`), so the library
can run it again later without the original folder.
"""
from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from core.extensions.manifest import (ManifestError, UiManifest, default_query_compiler,
                                      validate_ui_manifest)
from .manifest import validate_wasm_manifest

MAX_PACKAGE_BYTES = 256 << 20
DEFAULT_ENTRY = "extension.wasm"


@dataclass
class WasmPackage:
    manifest: dict[str, Any]
    files: dict[str, bytes]            # relative POSIX path -> bytes
    ui: UiManifest | None
    source: str

    @property
    def id(self) -> str:
        return self.manifest["id"]

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def entry(self) -> str:
        return self.manifest.get("entry", DEFAULT_ENTRY).removeprefix("wasm:")

    @property
    def wasm(self) -> bytes:
        return self.files[self.entry]

    def write_to(self, root: Path) -> None:
        for rel, data in self.files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def _safe(name: str, source: str) -> str | None:
    p = PurePosixPath(name)
    if name.endswith("/"):
        return None
    if p.is_absolute() or ".." in p.parts:
        raise ManifestError("package", "$", f"{source}: member {name!r} escapes the package")
    return str(p)


def _read_zip(path: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as z:
            names = [i for i in z.infolist() if _safe(i.filename, str(path))]
            prefix = _common_folder([i.filename for i in names])
            for info in names:
                total += info.file_size
                if total > MAX_PACKAGE_BYTES:
                    raise ManifestError("package", "$",
                                        f"{path}: larger than {MAX_PACKAGE_BYTES:,} bytes")
                files[info.filename[len(prefix):]] = z.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:   # a damaged archive
        raise ManifestError("package", "$", f"{path}: not a readable .zip ({exc})") from None
    return files


def _common_folder(names: list[str]) -> str:
    """'pkg/' when every member is inside one top folder (a zip of the folder), else ''."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names):
        return next(iter(tops)) + "/"
    return ""


def _read_folder(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for p in sorted(root.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts):
            total += p.stat().st_size
            if total > MAX_PACKAGE_BYTES:
                raise ManifestError("package", "$", f"{root}: larger than {MAX_PACKAGE_BYTES:,} bytes")
            files[p.relative_to(root).as_posix()] = p.read_bytes()
    return files


def _json(files: dict[str, bytes], name: str) -> Any:
    if name not in files:
        raise ManifestError(name, "$", "is not in the package")
    try:
        return json.loads(files[name].decode("utf-8"))
    except UnicodeDecodeError:
        raise ManifestError(name, "$", "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(name, "$", f"not valid JSON (line {exc.lineno}, column {exc.colno}): "
                                       f"{exc.msg}") from None


def read_package_files(path: str | Path) -> dict[str, bytes]:
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if path.is_file() and zipfile.is_zipfile(path):
        return _read_zip(path)
    raise ManifestError("manifest.json", "$", f"{path} is neither a package folder nor a .zip of one")


def load_wasm_package(path: str | Path | dict[str, bytes], *,
                      compile_query: Callable[[str], Any] | None = default_query_compiler
                      ) -> WasmPackage:
    """Read and validate a package (nothing is installed): manifest, entry file, ui_manifest."""
    files = path if isinstance(path, dict) else read_package_files(path)
    source = "<memory>" if isinstance(path, dict) else str(path)
    manifest = validate_wasm_manifest(_json(files, "manifest.json"))
    pkg = WasmPackage(manifest, files, None, source)
    if pkg.entry not in files:
        raise ManifestError("manifest.json", "$.entry", f"{pkg.entry!r} is not in the package")
    ui_name = manifest.get("ui_manifest", "ui_manifest.json")
    if ui_name in files:
        data = _json(files, ui_name)
        pkg.ui = validate_ui_manifest(data, compile_query=compile_query, file=ui_name)
        for group in ("sidebar_sections", "views"):
            for i, item in enumerate(data.get(group, [])):
                if "icon" in item and item["icon"] not in files:
                    raise ManifestError(ui_name, f"$.{group}[{i}].icon",
                                        f"icon file {item['icon']!r} is not in the package")
    elif "ui_manifest" in manifest:
        raise ManifestError("manifest.json", "$.ui_manifest", f"{ui_name!r} is not in the package")
    return pkg


def zip_package(files: dict[str, bytes]) -> bytes:
    """A .zip of a package (for tests and for shipping one file)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(files.items()):
            z.writestr(name, data)
    return buf.getvalue()
