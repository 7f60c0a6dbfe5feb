"""Mass tolerances ("0.5 Da", "10 ppm") parsed once into one small type.

Entry points: :class:`Tolerance`, :func:`Tolerance.parse`, :meth:`Tolerance.window_da`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(da|ppm|th|mda)?\s*$", re.I)


@dataclass(frozen=True)
class Tolerance:
    """A symmetric mass tolerance.

    Examples
    --------
    >>> Tolerance.parse("10 ppm").window_da(500.0)
    0.005
    >>> Tolerance.parse("0.5").unit
    'Da'
    """

    value: float
    unit: Literal["Da", "ppm"] = "Da"

    def __post_init__(self) -> None:
        if not (self.value >= 0 and np.isfinite(self.value)):
            raise ValueError(f"tolerance must be a non-negative number, got {self.value}")
        if self.unit not in ("Da", "ppm"):
            raise ValueError(f"tolerance unit must be 'Da' or 'ppm', got {self.unit!r}")

    @classmethod
    def parse(cls, text: str | float | "Tolerance") -> "Tolerance":
        """Parse ``"0.01 Da"``, ``"10ppm"``, ``"5 mDa"`` or a bare number (Da)."""
        if isinstance(text, Tolerance):
            return text
        if isinstance(text, (int, float)):
            return cls(float(text), "Da")
        match = _PATTERN.match(str(text))
        if not match:
            raise ValueError(f"cannot read tolerance {text!r}: expected e.g. '0.01 Da' or '10 ppm'")
        value, unit = float(match.group(1)), (match.group(2) or "Da").lower()
        if unit == "mda":
            return cls(value / 1000.0, "Da")
        return cls(value, "ppm" if unit == "ppm" else "Da")

    def window_da(self, mz: float | np.ndarray) -> float | np.ndarray:
        """Half-width of the window in Da at ``mz`` (a float for a scalar, else an array)."""
        if np.isscalar(mz):
            return self.value if self.unit == "Da" else float(mz) * self.value * 1e-6
        mz = np.asarray(mz, dtype=np.float64)
        return np.full(mz.shape, self.value) if self.unit == "Da" else mz * self.value * 1e-6

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"
