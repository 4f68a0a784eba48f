"""Installing a WASM package into a library: validate, compile, copy it into the library, and
hand its ExtensionDefinition to ExtensionManager.install — which checks compatibility, records
the extension and its grants, and activates it exactly as for a Python extension.

    lib.extensions.install("large_files/", "requested")
    lib.extensions.install("large_files.zip", [Permission.ReadEntries(glob="**")])
"""
from __future__ import annotations

import json
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from core.extensions import definition as ext_definition
from core.extensions.definition import ExtensionDefinition
from .definition import wasm_definition
from core.extensions.manifest import ManifestError
from .abi import check_entry
from .errors import WasmAbiError
from .limits import limits_from_manifest
from .package import WasmPackage, load_wasm_package
from .sandbox import WasmProgram

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library


def is_wasm_package(ext: Any) -> bool:
    """A .zip package, or a folder whose manifest.json declares an abi_version or that holds a
    .wasm module (so a manifest that forgot its abi_version is reported as such, not taken for a
    Python package)."""
    if not isinstance(ext, (str, Path)):
        return False
    path = Path(ext)
    if path.is_file():
        return zipfile.is_zipfile(path)
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False
    return (isinstance(manifest, dict) and "abi_version" in manifest) or \
        any(path.glob("*.wasm"))


def packages_dir(lib: Library) -> Path:
    return lib.path / "extensions"


def stage(lib: Library, pkg: WasmPackage) -> Path:
    """Copy the package into the library (replacing the same version) and compile it there."""
    program = WasmProgram(pkg.wasm, name=pkg.id,
                          limits=limits_from_manifest(pkg.manifest.get("limits")),
                          cache_dir=lib.path / "cache" / "wasm")   # refuses a bad module first
    check_exports(pkg, program)
    root = packages_dir(lib) / pkg.id / pkg.version
    tmp = root.with_name(f".{pkg.version}.{uuid.uuid4().hex}")
    pkg.write_to(tmp)
    if root.exists():
        shutil.rmtree(root)
    tmp.rename(root)
    return root


def check_exports(pkg: WasmPackage, program: WasmProgram) -> None:
    """Every export the manifest names is an entry point of the module."""
    for group, keys in (("jobs", ("export", "task")), ("actions", ("export",)),
                        ("hooks", ("export",))):
        for i, item in enumerate(pkg.manifest.get(group, [])):
            for key in keys:
                if key not in item:
                    continue
                try:
                    check_entry(program.module, item[key])
                except WasmAbiError as exc:
                    raise ManifestError("manifest.json", f"$.{group}[{i}].{key}",
                                        f"{pkg.entry}: {exc}") from None


def wasm_definition_for(lib: Library, ext: Any, *, wasm_only: bool = False
                        ) -> ExtensionDefinition | None:
    """The definition of a WASM package path (staged into the library), or None for anything
    that is not one (ExtensionManager.install then resolves it as a Python extension).
    With wasm_only, `ext` is validated as a WASM package whatever it looks like."""
    if not wasm_only and not is_wasm_package(ext):
        return None
    pkg = load_wasm_package(ext)
    d = wasm_definition(pkg, stage(lib, pkg))
    ext_definition._DEFINED[d.id] = d
    return d


def resolve_any(lib: Library, ext: Any) -> ExtensionDefinition:
    """What ExtensionManager.install will install: a WASM package or any Python extension."""
    return wasm_definition_for(lib, ext) or ext_definition.resolve(ext)


def stored_definition(lib: Library, extension_id: str, version: str) -> ExtensionDefinition | None:
    """An installed WASM extension's definition, rebuilt from its copy in the library (how it
    comes back when the library is opened by a new process)."""
    root = packages_dir(lib) / extension_id / version
    if not (root / "manifest.json").is_file():
        return None
    d = wasm_definition(load_wasm_package(root), root)
    ext_definition._DEFINED[d.id] = d
    return d
