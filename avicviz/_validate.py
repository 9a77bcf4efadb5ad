"""Argument checks shared by the model: one wording for every "bad input" message."""

from __future__ import annotations

import numbers

__all__ = ["check_int", "parse_int"]


def check_int(name: str, value: object, lo: int, hi: int | None = None) -> int:
    """Return ``value`` as an int if it is an integer in ``lo..hi``; else raise ValueError.

    The message names the parameter, the value and the valid range.

    >>> check_int("vcpu", 5, 0, 511)
    5
    >>> check_int("vcpu", 512, 0, 511)
    Traceback (most recent call last):
    ...
    ValueError: vcpu=512 is out of range: valid range 0..511 (0x1FF)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{name}={value!r} is not an integer: valid range {rng}")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        if hi is None:
            raise ValueError(f"{name}={v} is out of range: valid range >= {lo}")
        raise ValueError(f"{name}={v} is out of range: valid range {lo}..{hi} (0x{hi:X})")
    return v


def parse_int(name: str, text: str, lo: int, hi: int) -> int:
    """Parse decimal or 0x-hex text and range-check it.

    >>> parse_int("TAG", "0x32c", 0, 0xFFFFFFFF)
    812
    >>> parse_int("TAG", "twelve", 0, 0xFFFFFFFF)
    Traceback (most recent call last):
    ...
    ValueError: TAG='twelve' is not a number (decimal or 0x-hex): valid range 0..4294967295 (0xFFFFFFFF)
    """
    s = str(text).strip().replace("_", "")
    try:
        v = int(s, 16) if s.lower().startswith(("0x", "-0x")) else int(s, 10)
    except ValueError:
        raise ValueError(
            f"{name}={text!r} is not a number (decimal or 0x-hex): valid range {lo}..{hi} (0x{hi:X})"
        ) from None
    if not lo <= v <= hi:
        raise ValueError(f"{name}={text!r} is out of range: valid range {lo}..{hi} (0x{hi:X})")
    return v
