"""The one spectrum model shared by every reader, the library, the search and the reports.

Entry points
------------
- :class:`Spectrum` -- immutable peaks (m/z float64 ascending, intensity float32) plus metadata.
- :data:`METADATA_KEYS` -- the normalised metadata keys and their meaning.
- :func:`to_matchms` / :func:`from_matchms` -- lossless conversion to and from ``matchms.Spectrum``.
- :func:`spectra_count` -- ``1 spectrum`` / ``2 spectra``: how every message counts them.
- :func:`pack_spectra` / :func:`unpack_spectra` -- a list of spectra as a few arrays and the
  metadata, for another process (pickling each spectrum's arrays costs ~6x as much).

Transformations are functions that return a new :class:`Spectrum` (:meth:`Spectrum.replace`,
and the preprocessing in :mod:`nps_id.search.preprocess`); nothing mutates a spectrum in place.
"""
from __future__ import annotations

import math
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

if TYPE_CHECKING:  # matchms imports numba: keep it off the import path of ``nps-id --help``
    import matchms

MZ_DTYPE = np.float64
INTENSITY_DTYPE = np.float32
#: Largest m/z a peak may have (instruments end near 10**5; a larger value is a damaged file).
MAX_MZ = 1e6
#: Largest retention time, in seconds, a spectrum may have (31 years: no run lasts so long, even a
#: run in milliseconds read as seconds; 1e300 made a 300-digit run summary). Below 0 (a scan before
#: the injection) and infinite times are refused too; NaN is unknown (a library's empty cell).
MAX_RT_SECONDS = 1e9

#: Normalised metadata keys. Readers map every dialect onto these; anything else a file carries
#: is kept under its own lower-case key so that nothing is lost.
METADATA_KEYS: dict[str, str] = {
    "name": "compound name (str)",
    "synonyms": "other names (tuple of str)",
    "formula": "molecular formula, Hill order as given (str)",
    "inchikey": "InChIKey (str)",
    "smiles": "SMILES (str)",
    "inchi": "InChI (str)",
    "cas": "CAS registry number, with dashes (str)",
    "exact_mass": "monoisotopic mass of the neutral compound, Da (float)",
    "precursor_mz": "precursor m/z (float)",
    "precursor_charge": "precursor charge, signed (int)",
    "precursor_type": "adduct, e.g. [M+H]+ (str)",
    "ion_mode": "'positive' or 'negative' (str)",
    "ms_level": "1 for EI/full scan, 2 for MS/MS (int)",
    "collision_energy": "collision/activation energy as given (str)",
    "instrument_type": "e.g. GC-EI-TOF, LC-ESI-QFT (str)",
    "instrument": "instrument model (str)",
    "retention_time": "retention time in seconds (float)",
    "retention_index": "retention index (float)",
    "scan_id": "native scan id (str)",
    "scan_index": "0-based index of the scan/record in its file (int)",
    "source_file": "file the spectrum was read from (str)",
    "source_id": "record id in its source: MSP DB#/ID/NISTNO, MGF SPECTRUMID/TITLE, MassBank ACCESSION (str)",
    "licence": "licence of the record (str)",
    "comments": "free-text comments (str)",
}

_INT_KEYS = {"ms_level", "precursor_charge", "scan_index"}
_FLOAT_KEYS = {"precursor_mz", "retention_time", "retention_index", "exact_mass"}
_CONVERTED = _INT_KEYS | _FLOAT_KEYS | {"synonyms"}


def _normalise_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (metadata or {}).items():
        key = str(key).lower()
        if isinstance(value, str):
            if not value.strip():
                continue
            if key not in _CONVERTED:  # most values: text kept as given, decided in two tests
                out[key] = value
                continue
        elif value is None:
            continue
        if key in _INT_KEYS:
            value = int(value)
        elif key in _FLOAT_KEYS:
            value = float(value) + 0.0  # -0.0 + 0.0 is 0.0: an MSP "RT: -0" was shown as "-0.00 min"
            if key == "retention_time" and not 0 <= value <= MAX_RT_SECONDS and not math.isnan(value):
                # every reader builds its scans here, so this is the one check of their times
                raise ValueError(f"retention time must be 0 to {MAX_RT_SECONDS:g} s (found {value:g} s): "
                                 "no scan precedes the injection or lasts so long")
            if not math.isfinite(value):
                continue
            if key == "precursor_mz" and value <= 0:  # MoNA's "PrecursorMZ: 0", PEPMASS=-1: not known
                continue
            if key == "precursor_mz" and value > MAX_MZ:  # near 1e308 its window overflowed: wrong hits
                raise ValueError(f"precursor m/z must be at most {MAX_MZ:g} (found {value:g}): no mass "
                                 "spectrometer selects such ions")
        elif key == "synonyms":
            value = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
        out[key] = value
    return out


def _check_peaks(mz: np.ndarray, intensity: np.ndarray) -> None:
    """Raise the ``ValueError`` that names what is wrong with the peaks, if anything."""
    if not (np.isfinite(mz).all() and np.isfinite(intensity).all()):
        raise ValueError("m/z and intensity values must be finite (found NaN or infinity)")
    if mz.min() <= 0:
        raise ValueError(f"m/z must be positive (found {mz.min():g})")
    if mz.max() > MAX_MZ:
        raise ValueError(f"m/z must be at most {MAX_MZ:g} (found {mz.max():g}): no mass spectrometer "
                         "measures such ions, and the nominal-mass binning would need memory in proportion")
    if intensity.min() < 0:
        raise ValueError(f"intensities must not be negative (found {intensity.min():g})")


class Spectrum:
    """A centroided mass spectrum: sorted peaks and normalised metadata.

    Parameters
    ----------
    mz, intensity
        Peak m/z values and intensities of equal length. They are validated (finite,
        m/z > 0, intensity >= 0), cast to float64 / float32, sorted by m/z and made read-only.
    metadata
        Keys from :data:`METADATA_KEYS` (others are kept lower-cased). Empty text, None and
        non-finite numbers are dropped as unknown, and so is a precursor m/z of 0 or below.

    Raises
    ------
    ValueError
        If the arrays differ in length, are not one-dimensional, or hold non-finite,
        non-positive m/z, m/z above :data:`MAX_MZ` or negative intensities, a precursor m/z
        above :data:`MAX_MZ`, or a retention time below 0, infinite or above :data:`MAX_RT_SECONDS`.

    Examples
    --------
    >>> s = Spectrum([91.0, 65.0], [999, 120], {"name": "toluene fragment"})
    >>> s.mz.tolist(), s.intensity.tolist(), len(s)
    ([65.0, 91.0], [120.0, 999.0], 2)
    """

    __slots__ = ("_mz", "_intensity", "_metadata")

    def __init__(self, mz: Any, intensity: Any, metadata: Mapping[str, Any] | None = None) -> None:
        # np.array copies, so a caller's arrays never alias a spectrum's peaks.
        mz_arr = np.array(mz, dtype=MZ_DTYPE)
        with np.errstate(over="ignore"):  # > 3.4e38 becomes inf and is refused just below
            int_arr = np.array(intensity, dtype=INTENSITY_DTYPE)
        if mz_arr.ndim != 1 or int_arr.ndim != 1:
            raise ValueError("m/z and intensity must be one-dimensional arrays")
        if mz_arr.shape != int_arr.shape:
            raise ValueError(f"{mz_arr.size} m/z values but {int_arr.size} intensities")
        # Sorted m/z (a NaN breaks the order) from first to last within (0, MAX_MZ] and finite
        # intensities >= 0 decide the common case in three reductions; else find what is wrong.
        ordered = mz_arr.size < 2 or bool((mz_arr[1:] >= mz_arr[:-1]).all())
        if mz_arr.size and not (ordered and 0 < mz_arr[0] and mz_arr[-1] <= MAX_MZ
                                and int_arr.min() >= 0 and int_arr.max() < np.inf):
            _check_peaks(mz_arr, int_arr)
        if not ordered:
            order = np.argsort(mz_arr, kind="stable")
            mz_arr, int_arr = mz_arr[order], int_arr[order]
        mz_arr.flags.writeable = False
        int_arr.flags.writeable = False
        self._mz = mz_arr
        self._intensity = int_arr
        self._metadata = MappingProxyType(_normalise_metadata(metadata))

    @classmethod
    def _from_checked(cls, mz: np.ndarray, intensity: np.ndarray, metadata: Mapping[str, Any] | None,
                      ordered: bool) -> "Spectrum":
        """The spectrum ``Spectrum(mz, intensity, metadata)`` makes, from peaks a reader has checked
        itself: ``mz`` a new float64 array, every value in (0, MAX_MZ], ascending when ``ordered``;
        ``intensity`` a float64 array of finite values >= 0 up to the float32 maximum. Both are
        kept, not copied (the reader holds no other reference), and not checked again: a search
        reads ~12,000 such queries, and the copies and reductions cost ~15 % of reading them
        (benchmarks/README.md, stop 31 speed31b). ``tests/io/test_msp_spectrum_path.py`` ties it to
        the constructor."""
        int_arr = intensity.astype(INTENSITY_DTYPE)
        if not ordered:
            order = np.argsort(mz, kind="stable")
            mz, int_arr = mz[order], int_arr[order]
        mz.flags.writeable = False
        int_arr.flags.writeable = False
        spectrum = cls.__new__(cls)
        spectrum._mz = mz
        spectrum._intensity = int_arr
        spectrum._metadata = MappingProxyType(_normalise_metadata(metadata))
        return spectrum

    # -- peaks ---------------------------------------------------------------------------
    @property
    def mz(self) -> np.ndarray:
        """Peak m/z, float64, ascending, read-only."""
        return self._mz

    @property
    def intensity(self) -> np.ndarray:
        """Peak intensities, float32, read-only."""
        return self._intensity

    def __len__(self) -> int:
        return int(self._mz.size)

    # -- metadata ------------------------------------------------------------------------
    @property
    def metadata(self) -> Mapping[str, Any]:
        """Read-only view of the normalised metadata."""
        return self._metadata

    def get(self, key: str, default: Any = None) -> Any:
        """Metadata value for ``key`` or ``default``."""
        return self._metadata.get(key, default)

    @property
    def name(self) -> str | None:
        return self._metadata.get("name")

    @property
    def ms_level(self) -> int | None:
        return self._metadata.get("ms_level")

    @property
    def precursor_mz(self) -> float | None:
        return self._metadata.get("precursor_mz")

    @property
    def retention_time(self) -> float | None:
        """Retention time in seconds, or None."""
        return self._metadata.get("retention_time")

    def replace(
        self, *, mz: Any = None, intensity: Any = None, **metadata: Any
    ) -> "Spectrum":
        """A new spectrum with other peaks and/or updated metadata (``key=None`` removes a key)."""
        meta = dict(self._metadata)
        meta.update(metadata)
        return Spectrum(
            self._mz if mz is None else mz,
            self._intensity if intensity is None else intensity,
            meta,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spectrum):
            return NotImplemented
        return (
            np.array_equal(self._mz, other._mz)
            and np.array_equal(self._intensity, other._intensity)
            and dict(self._metadata) == dict(other._metadata)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value object: not hashable

    def __repr__(self) -> str:
        label = self.name or self.get("scan_id") or self.get("source_id") or "unnamed"
        return f"Spectrum({label!r}, {len(self)} peaks)"


def pack_spectra(spectra: list[Spectrum]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """``spectra`` as (peak counts, all m/z, all intensities, metadata dicts): picklable at the cost
    of three arrays, where each spectrum pickled alone pickles two (:func:`unpack_spectra`)."""
    sizes = np.fromiter((s._mz.size for s in spectra), np.int64, len(spectra))
    mz = np.concatenate([s._mz for s in spectra]) if spectra else np.empty(0, MZ_DTYPE)
    intensity = np.concatenate([s._intensity for s in spectra]) if spectra else np.empty(0, INTENSITY_DTYPE)
    return sizes, mz, intensity, [dict(s._metadata) for s in spectra]


def unpack_spectra(packed: tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]) -> list[Spectrum]:
    """The spectra :func:`pack_spectra` packed, equal bit for bit (their peaks read-only views of the
    packed arrays; the metadata already normalised, so taken as it is)."""
    sizes, mz, intensity, metadata = packed
    mz.flags.writeable = False
    intensity.flags.writeable = False
    ends = np.cumsum(sizes).tolist()
    spectra = []
    for start, end, meta in zip([0, *ends[:-1]], ends, metadata):
        spectrum = Spectrum.__new__(Spectrum)
        spectrum._mz, spectrum._intensity = mz[start:end], intensity[start:end]
        spectrum._metadata = MappingProxyType(meta)
        spectra.append(spectrum)
    return spectra


# -- matchms interoperability ------------------------------------------------------------
# matchms' own key names where they differ from ours (matchms harmonises on import).
_TO_MATCHMS = {
    "name": "compound_name",
    "retention_time": "retention_time",
    "precursor_charge": "charge",
    "precursor_type": "adduct",
    "ion_mode": "ionmode",
    "source_id": "spectrum_id",
    "exact_mass": "parent_mass",
    "cas": "casno",
}
_FROM_MATCHMS = {v: k for k, v in _TO_MATCHMS.items()}


def spectra_count(n: int) -> str:
    """``1 spectrum``, ``2 spectra``.

    >>> spectra_count(1), spectra_count(2988)
    ('1 spectrum', '2988 spectra')
    """
    return f"{n} spectrum" if n == 1 else f"{n} spectra"


def _import_matchms():
    """``import matchms`` without the warning its import of psims' mzMLb writer prints ("hdf5plugin
    is missing! Only the slower GZIP compression ..."): noise about a format nps-id never writes."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="hdf5plugin is missing", category=UserWarning)
        import matchms
    return matchms


def to_matchms(spectrum: Spectrum) -> "matchms.Spectrum":
    """Convert to ``matchms.Spectrum`` (metadata harmonisation off, so values pass unchanged).

    ``exact_mass`` travels as matchms' ``parent_mass``; synonyms as a list.
    """
    matchms = _import_matchms()
    meta: dict[str, Any] = {}
    for key, value in spectrum.metadata.items():
        if key == "synonyms":
            value = list(value)
        meta[_TO_MATCHMS.get(key, key)] = value
    return matchms.Spectrum(
        mz=np.array(spectrum.mz, dtype=float),
        intensities=np.array(spectrum.intensity, dtype=float),
        metadata=meta,
        metadata_harmonization=False,
    )


def from_matchms(spectrum: "matchms.Spectrum") -> Spectrum:
    """Convert a ``matchms.Spectrum`` to a :class:`Spectrum` (m/z float64, intensity float32)."""
    meta: dict[str, Any] = {}
    for key, value in spectrum.metadata.items():
        key = _FROM_MATCHMS.get(key, key)
        if key == "ionmode" or key == "ion_mode":
            key = "ion_mode"
        meta[key] = value
    return Spectrum(spectrum.peaks.mz, spectrum.peaks.intensities, meta)
