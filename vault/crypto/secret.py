"""The base of every secret-holding object: it never prints and cannot be pickled."""

from __future__ import annotations

from typing import NoReturn

__all__ = ["Unprintable"]


class Unprintable:
    """repr, str and format give ``***``; pickling raises. Subclasses keep their own ``__slots__``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "***"

    def __str__(self) -> str:
        return "***"

    def __format__(self, format_spec: str) -> str:
        return "***"

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled")
