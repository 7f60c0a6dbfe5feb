"""Modified cosine: the cosine that also pairs peaks shifted by the two compounds' mass difference.

Candidate pairs are the direct ones and those with ``|mz_a - (mz_b + M_a - M_b)| <= tolerance``
(a fragment that kept the modification; equivalently a shared neutral loss), as matchms
``ModifiedCosineGreedy`` / ``ModifiedCosineHungarian``. ``M`` is the precursor m/z (MS/MS) or,
for EI, the estimated molecular ion (:func:`molecular_ion`: the highest m/z at >= 2 % of the base
peak, the same for query and library).

Entry points
------------
- :class:`ModifiedCosine` -- the score.
- :func:`molecular_ion` -- the EI mass estimate, per spectrum of a CSR set.
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from nps_id.peaks import CSRPeaks
from nps_id.search.scores.base import required_mass
from nps_id.search.scores.cosine import Cosine
from nps_id.spectrum import Spectrum


def molecular_ion(nominal: CSRPeaks, floor: float = 0.02) -> np.ndarray:
    """Estimated molecular-ion m/z per spectrum: the highest m/z at >= ``floor`` of the base peak.

    EI spectra often lack the molecular ion; this estimate is consistent between query and
    library, which is what a mass *difference* needs.
    """
    spec = np.repeat(np.arange(nominal.n_spectra), nominal.counts)
    base = np.zeros(nominal.n_spectra, dtype=np.float64)
    np.maximum.at(base, spec, nominal.intensity)
    ok = nominal.intensity >= floor * base[spec]
    out = np.full(nominal.n_spectra, np.nan)
    np.fmax.at(out, spec[ok], nominal.mz[ok])
    return out


@dataclass(frozen=True)
class ModifiedCosine(Cosine):
    """:class:`~nps_id.search.scores.cosine.Cosine` that also pairs peaks shifted by ``M_a - M_b``.

    In ``pair``, if ``|M_a - M_b|`` is within the tolerance only direct pairs are used (as matchms).

    Parameters
    ----------
    tolerance, mz_power, intensity_power, pairing, clean
        As :class:`~nps_id.search.scores.cosine.Cosine`.
    mass_key : str or None, default None
        Metadata key holding ``M`` (e.g. ``"precursor_mz"``, ``"exact_mass"``); None: as the
        search, the precursor m/z for MS/MS and the estimated molecular ion for EI. A spectrum
        without it raises :class:`~nps_id.errors.InputError`.
    """

    mass_key: str | None = None

    name = "modified_cosine"
    serves = (("ei", "analog"), ("ms2", "identity"), ("ms2", "analog"))
    default_for = (("ei", "analog"), ("ms2", "analog"))
    describes = "modified cosine (fragments direct or shifted by the mass difference)"
    reference = "matchms `ModifiedCosineGreedy` / `ModifiedCosineHungarian`"

    def shift(self, delta: np.ndarray) -> np.ndarray:
        return np.nan_to_num(delta)

    def pair_shift(self, kind: str, a: Spectrum, b: Spectrum, peaks_a: tuple, peaks_b: tuple) -> float:
        if self.mass_key is None and kind == "ei":
            (mz_a, int_a), (mz_b, int_b) = peaks_a, peaks_b
            both = CSRPeaks(np.array([0, mz_a.size, mz_a.size + mz_b.size]), np.concatenate([mz_a, mz_b]),
                            np.concatenate([int_a, int_b]).astype(np.float32))
            mass_a, mass_b = molecular_ion(both)
        else:
            key = self.mass_key or "precursor_mz"
            mass_a, mass_b = required_mass(a, key), required_mass(b, key)
        shift = float(np.nan_to_num(mass_a - mass_b))
        return 0.0 if abs(shift) <= self.for_kind(kind).tolerance.window_da(mass_a) else shift
