"""Sealed facades: objects that hold no path to the Library.

What an extension's code receives (its ExtensionContext, job, task, action and agent contexts)
is a facade whose core-internal half — the context that holds the library, its connection,
the unchecked API or the jobs manager — lives in a side table keyed by the facade, not in an
attribute, a slot or a `__dict__`. So `ctx.lib`, `ctx.conn`, `ctx.manager` and walking
`vars(ctx)` find nothing to misuse, and the only door to the library is the permission-checked
host API `ctx.vdfs()`.

This is a guard rail against mistakes, not a sandbox: Python extensions are trusted code, and
code in the same process can always import its way to the library. Extensions from others run
as WebAssembly, where the host API is the only door there is.
"""
from __future__ import annotations

import weakref
from typing import Any, Generic, TypeVar

from core.errors import VdfsError

T = TypeVar("T")
F = TypeVar("F", bound="Facade")


class NotForExtensions(VdfsError, AttributeError):
    """An extension asked its context for something it does not hand out (`ctx.lib`, …).
    An AttributeError too, so `hasattr(ctx, "lib")` is simply False."""


class Backing(Generic[T]):
    """The side table from each facade to its core-internal half (weakly keyed: a facade
    that is no longer used takes its entry with it)."""

    __slots__ = ("_inner", "_what")

    def __init__(self, what: str):
        self._inner: weakref.WeakKeyDictionary[Any, T] = weakref.WeakKeyDictionary()
        self._what = what
        _BACKINGS.append(self)

    def bind(self, facade: F, inner: T) -> F:
        self._inner[facade] = inner
        return facade

    def get(self, facade: Facade) -> T | None:
        return self._inner.get(facade)

    def __call__(self, facade: Any) -> T:
        try:
            return self._inner[facade]
        except KeyError:
            raise NotForExtensions(f"this {self._what} is not bound to a library in this "
                                   "process") from None


_BACKINGS: list[Backing[Any]] = []


def core_side(ctx: Any) -> Any:
    """Core's half of an extension-facing context, for core code that acts for an extension
    (a host shim registered as the extension's job or action, such as the WASM host's);
    any other object is returned as it is. Extension code has no business calling it."""
    if not isinstance(ctx, Facade):
        return ctx
    for backing in _BACKINGS:
        inner = backing.get(ctx)
        if inner is not None:
            return inner
    raise NotForExtensions(f"{type(ctx).__name__} has no core side in this process")


def passthrough(backing: Backing[Any], name: str, doc: str | None = None) -> property:
    """A read-only property of a facade that shows one plain value of its core half."""
    return property(lambda self: getattr(backing(self), name), doc=doc)


class Facade:
    """Base of the extension-facing contexts: no instance dictionary, and a clear refusal for
    any attribute the class does not define."""

    __slots__ = ("__weakref__",)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotForExtensions(
            f"{type(self).__name__} has no {name!r}: an extension's context hands out only the "
            "permission-checked host API (ctx.vdfs()) and its own services")

    def __setattr__(self, name: str, value: Any) -> None:
        raise NotForExtensions(f"{type(self).__name__} cannot be altered (tried to set {name!r})")
