"""Metadata normalisation shared by the text readers (MSP, MassBank, JCAMP-DX): the value parsers
that turn what a file writes into the normalised :data:`~nps_id.spectrum.METADATA_KEYS` values.

Entry points
------------
- :func:`normalise_cas` -- CAS registry number with dashes, check digit verified.
- :func:`parse_retention_time` -- retention time in seconds from text with or without a unit;
  :func:`check_rt_unit` refuses a default unit it does not know.
- :func:`normalise_ion_mode` -- ``'positive'`` / ``'negative'``.
- :func:`add_metadata` / :func:`keep_raw` -- store a key that has no normalised meaning, or a
  value that could not be normalised, without losing it (repeated keys collect a tuple).
"""
from __future__ import annotations

import math
import re
from typing import Any

from nps_id.errors import InputError
from nps_id.spectrum import METADATA_KEYS

__all__ = ["normalise_cas", "parse_retention_time", "check_rt_unit", "normalise_ion_mode", "add_metadata",
           "keep_raw"]

_CAS_RE = re.compile(r"^(\d{2,7})-?(\d{2})-?(\d)$")
_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
#: A retention time's number: also "inf" / "-Infinity" / "infinite" (refused later, not skipped as
#: no number: an MSP "RetentionTime: infinite" was read as an unknown time while "inf" was refused).
#: "∞" too (it was read as an unknown time, as "infinite" was before).
_RT_NUMBER_RE = re.compile(r"(?i)(?<![a-z])[-+]?(?:inf(?:inity|inite)?\b|∞)|" + _NUMBER_RE.pattern)
#: Digits after a decimal comma (``6,51``: a European export), not a list (``6,51, 6,60`` is one).
_RT_COMMA_DECIMALS = re.compile(r",(\d+)(?![\d.]|,\d)")
_RT_UNIT_RE = re.compile(r"(?i)\b(min(?:ute)?s?|m|sec(?:ond)?s?|s|ms|h(?:ours?)?)\b")
_RT_FACTORS = {"min": 60.0, "m": 60.0, "sec": 1.0, "s": 1.0, "ms": 1e-3, "h": 3600.0}


def normalise_cas(value: str) -> str | None:
    """CAS registry number with dashes (``"481298"`` -> ``"481-29-8"``), or None if invalid.

    The check digit is verified (weighted digit sum modulo 10), so identifiers that merely
    look like numbers (``"TUBE2_~1-N1010"``, ``"0"``) are rejected.

    >>> normalise_cas("50000"), normalise_cas("50-00-0"), normalise_cas("50-00-1")
    ('50-00-0', '50-00-0', None)
    """
    match = _CAS_RE.match(value.strip())
    if not match:
        return None
    body = match.group(1) + match.group(2)
    if not body.strip("0"):
        return None
    checksum = sum(i * int(d) for i, d in enumerate(reversed(body), start=1)) % 10
    if checksum != int(match.group(3)):
        return None
    return f"{int(match.group(1))}-{match.group(2)}-{match.group(3)}"


def parse_retention_time(value: str, default_unit: str = "min") -> float | None:
    """Retention time in seconds from ``"620.432 sec"``, ``"14.6 min"``, ``"9.648"``, ...

    The first number is taken (``"11.25, 11.54 min"`` -> 675 s); its unit is the first unit
    word in the text, else ``default_unit`` (``"min"``: MS-DIAL, AMDIS and most MassBank
    records give unitless minutes). A decimal comma is read (``"6,51"`` -> 390.6 s); a number
    with two commas (``"1,234,567"``) or a point and a comma gives None.
    ``-1`` (unknown in RECETOX files), NaN and text without a number give None; any other negative or an infinite time is returned as read, for
    :class:`~nps_id.spectrum.Spectrum` to refuse as every reader's scans are refused.

    >>> parse_retention_time("14.6 min"), parse_retention_time("620.432  sec"), parse_retention_time("-1")
    (876.0, 620.432, None)
    """
    number = _RT_NUMBER_RE.search(value)
    if number is None:
        return None
    # "infinite", "∞": float() knows "infinity"
    text, end = re.sub(r"(?i)inite$", "inity", number.group()).replace("∞", "inf"), number.end()
    if value[end:end + 1] == "," and value[end + 1:end + 2].isdigit():
        # a decimal comma ("6,51" min was read as 6 min; "9,648" as in AMDIS's "RT:9.648": retention
        # times are not written with thousands separators); "6.5,1" and "1,234,567" are not guessed
        decimals = _RT_COMMA_DECIMALS.match(value, end)
        if decimals is None or not text.lstrip("+-").isdigit():
            return None
        text, end = f"{text}.{decimals.group(1)}", decimals.end()
    seconds = float(text)
    if math.isnan(seconds) or seconds == -1:
        return None
    unit = _RT_UNIT_RE.search(value, end)
    word = unit.group(1).lower() if unit else default_unit
    factor = _RT_FACTORS.get(word) or _RT_FACTORS.get(word[:3]) or _RT_FACTORS.get(word[:1], 1.0)
    return seconds * factor


def normalise_ion_mode(value: str) -> str | None:
    """``'positive'`` / ``'negative'`` from P, N, POSITIVE, Negative, +, -; None if unknown."""
    word = value.strip().lower()
    if word in ("p", "pos", "positive", "+"):
        return "positive"
    if word in ("n", "neg", "negative", "-"):
        return "negative"
    return None


def check_rt_unit(unit: str) -> str:
    """``unit`` lower-cased, or :class:`InputError` when :func:`parse_retention_time` does not know it."""
    word = unit.lower()
    if word not in _RT_FACTORS and word[:3] not in _RT_FACTORS:
        raise InputError(f"unknown retention-time unit {unit!r}; use 'min' or 's'")
    return word


def keep_raw(meta: dict[str, Any], key: str, value: str) -> None:
    """Keep a value that could not be normalised under its own key (nothing is lost)."""
    if key in METADATA_KEYS:
        key += "_text"
    add_metadata(meta, key, value)


def add_metadata(meta: dict[str, Any], key: str, value: str) -> None:
    """Store an unknown key; a repeated key collects its values in a tuple."""
    if key not in meta:
        meta[key] = value
    elif isinstance(meta[key], tuple):
        meta[key] += (value,)
    else:
        meta[key] = (meta[key], value)
