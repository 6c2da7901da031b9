"""Render backends: a registry of names → factories, loaded lazily.

A backend module registers its factory with `@register_backend("name")` when it
is imported. Backends shipped here are imported on first use by name (so
`import hmworld.render` stays cheap and a missing optional dependency only
matters to the backend that needs it); third-party backends plug in through
the `hmworld.backends` entry-point group, pointing at their module or factory,
without touching anything here.

    @register_backend("blender")
    class BlenderBackend:            # satisfies hmworld.render.base.Backend
        name = "blender"; version = "1"
        batch_size = 1               # shots per render_batch call (a work unit of the runner)
        def __init__(self, **options): ...
        def render_clip(self, shot, out_dir): ...
        def render_batch(self, items):
            return render_each(self, items)   # hmworld.render.base: render_clip shot after shot
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib import metadata
from typing import Any, TypeVar

from hmworld.errors import UserError, check_choice
from hmworld.render.base import Backend

DEFAULT_BACKEND = "builtin"
ENTRY_POINT_GROUP = "hmworld.backends"

# shipped backends: name → module that registers it when imported
_SHIPPED: dict[str, str] = {
    "builtin": "hmworld.render.builtin.backend",
    "ue5": "hmworld.render.ue5",
}
_FACTORIES: dict[str, Callable[..., Backend]] = {}

F = TypeVar("F", bound=Callable[..., Any])


def register_backend(name: str) -> Callable[[F], F]:
    """Class/function decorator: `factory(**options) -> Backend` becomes available as `name`."""

    def deco(factory: F) -> F:
        _FACTORIES[name] = factory
        return factory

    return deco


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def backend_names() -> list[str]:
    """Every backend name that `get_backend` accepts."""
    return sorted({*_SHIPPED, *_FACTORIES, *_entry_points()})


def _load(name: str) -> Callable[..., Backend]:
    if name not in _FACTORIES:
        if name in _SHIPPED:
            try:
                importlib.import_module(_SHIPPED[name])
            except ModuleNotFoundError as e:
                if e.name == _SHIPPED[name]:
                    raise UserError(f"backend {name!r} is not installed in this copy of hmworld") from e
                raise UserError(f"backend {name!r} needs the missing module {e.name!r}") from e
        else:
            loaded = _entry_points()[name].load()
            if callable(loaded) and name not in _FACTORIES:
                _FACTORIES[name] = loaded
    if name not in _FACTORIES:
        raise RuntimeError(f"module for backend {name!r} did not register it with @register_backend")
    return _FACTORIES[name]


def get_backend(name: str = DEFAULT_BACKEND, **options: Any) -> Backend:
    """A ready backend instance; an unknown name is a one-line UserError listing the known ones."""
    check_choice("backend", name, backend_names())
    return _load(name)(**options)


__all__ = ["DEFAULT_BACKEND", "Backend", "backend_names", "get_backend", "register_backend"]
