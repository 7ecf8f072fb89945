"""Homeward: a Telegram bot for family tracing requests."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = PROJECT_ROOT / "locales"
SUPPORTED_LOCALES = ("uk", "ru", "en")

_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _import_aiogram_with_lazy_schemas() -> None:
    """Import aiogram without building a validator for every Telegram type up front.

    aiogram declares its ~400 types with `defer_build=True`, then, at the end of
    `aiogram.types`, calls `model_rebuild()` on every one of them with a namespace that
    resolves their forward references. Each model gets its own pydantic-core validator and
    serializer with the whole tree of nested types inlined (`Message` alone nests most of
    the API): ~120 MB of RSS and ~2 s of start-up, for types this bot never sees.

    Here those rebuilds are skipped, and the names each type's annotations refer to (the
    imports aiogram keeps under TYPE_CHECKING) are added to its module, which is where
    pydantic looks when it builds a deferred model on first use, whichever model triggers
    it. Same schemas, built later, and only for the models in use.

    The patch is in place only while `aiogram.types` is imported, and only for its types.
    If aiogram was imported before `bot`, nothing changes.
    """
    if "aiogram.types" in sys.modules:
        return
    from pydantic import BaseModel

    original = BaseModel.__dict__["model_rebuild"]
    rebuild = original.__func__
    deferred_types: list[tuple[type[BaseModel], Mapping[str, Any]]] = []

    def deferred(cls: type[BaseModel], *args: Any, **kwargs: Any) -> bool | None:
        namespace = kwargs.get("_types_namespace")
        if (
            namespace is not None
            and not args
            and not kwargs.get("force")
            and cls.__module__.startswith("aiogram.types.")
            and not cls.__pydantic_complete__
        ):
            deferred_types.append((cls, namespace))
            return None
        if kwargs.get("_parent_namespace_depth", 2) > 0:
            # This wrapper is one more frame between pydantic and the caller.
            kwargs["_parent_namespace_depth"] = kwargs.get("_parent_namespace_depth", 2) + 1
        return rebuild(cls, *args, **kwargs)

    BaseModel.model_rebuild = classmethod(deferred)  # type: ignore[method-assign,assignment]
    try:
        import aiogram.types  # noqa: F401
    finally:
        BaseModel.model_rebuild = original  # type: ignore[method-assign]

    for cls, namespace in deferred_types:
        module = vars(sys.modules[cls.__module__])
        # Inherited fields are evaluated in the subclass's module too.
        for klass in cls.__mro__:
            for annotation in vars(klass).get("__annotations__", {}).values():
                for name in _IDENTIFIER.findall(str(annotation)):
                    if name not in module and name in namespace:
                        module[name] = namespace[name]


_import_aiogram_with_lazy_schemas()
