"""Typer's option values converted without pydantic when they plainly convert.

Typer converts every parameter's value through a pydantic `TypeAdapter` built when the
command runs: importing pydantic and building an adapter per option cost about 0.12 s of
every command's start (`report` has ten options), more than the report itself on a small
database. Our options are mostly text, paths, enum choices, flags and whole numbers: `install()`
gives Typer a converter that handles those directly, with Typer's own functions for
choices and paths, and hands anything else to Typer's pydantic converter, built only
then. A value the direct way does not accept goes there too, so every error message is
Typer's own. tests/test_startup.py holds the two converters to the same results over
every option of every command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

#: What a whole number typed on the command line looks like to Python and pydantic alike.
_WHOLE = re.compile(r"[+-]?[0-9]+")


class _NotDirect(Exception):
    """The value is for Typer's own converter."""


def install() -> None:
    """Route Typer's parameter conversion through `_direct` (a no-op if this Typer keeps
    its conversion elsewhere: the options then convert as Typer always did, slower)."""
    try:
        from typer import _coercion, _param_types, core
    except ImportError:
        return
    original: Any = getattr(core, "build_runtime_param", None)
    if original is None or getattr(original, "direct", False):
        return

    @dataclass(frozen=True)
    class DirectParam(_coercion.RuntimeParam):
        descriptor: Any

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return _direct(self.descriptor, value, param, ctx, _param_types)
            except (_NotDirect, ValueError):
                return original(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def build(descriptor: Any) -> Any:
        if _handles(descriptor):
            return DirectParam(
                annotation=descriptor.annotation,
                parameter_info=descriptor.parameter_info,
                descriptor=descriptor,
            )
        return original(descriptor)

    build.direct = True  # type: ignore[attr-defined]
    setattr(core, "build_runtime_param", build)  # noqa: B010 (not exported, so not typed)


def _plain(annotation: Any) -> bool:
    return annotation in (str, int, bool, Path) or (
        isinstance(annotation, type) and issubclass(annotation, Enum)
    )


def _handles(descriptor: Any) -> bool:
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None or info.parser is not None:
        return False
    if info.min is not None or info.max is not None:
        return False
    annotation = descriptor.annotation
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    return _plain(annotation)


def _direct(descriptor: Any, value: Any, param: Any, ctx: Any, types: Any) -> Any:
    annotation = descriptor.annotation
    if get_origin(annotation) is list:
        if not isinstance(value, list | tuple):
            raise _NotDirect
        (item,) = get_args(annotation)
        return [_one(item, descriptor.parameter_info, each, param, ctx, types) for each in value]
    return _one(annotation, descriptor.parameter_info, value, param, ctx, types)


def _one(annotation: Any, info: Any, value: Any, param: Any, ctx: Any, types: Any) -> Any:
    if annotation is str:
        if isinstance(value, str):
            return value
    elif annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _WHOLE.fullmatch(value):
            return int(value)
    elif annotation is Path:
        if isinstance(value, str) and value:
            value = Path(value)
        if isinstance(value, Path) and info.path_type is None:
            return types.coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)
    elif issubclass(annotation, Enum):
        return types.coerce_cli_choice(
            value, choices=tuple(annotation), case_sensitive=info.case_sensitive, ctx=ctx
        )
    raise _NotDirect
