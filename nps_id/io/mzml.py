"""mzML reader and writer (PSI standard XML for mass spectra).

Entry points
------------
- :func:`read` -- stream :class:`~nps_id.spectrum.Spectrum` objects from plain, indexed or gzipped
  mzML (zlib, MS-Numpress linear/pic/slof, 32/64-bit arrays; MS1 and MSn).
- :func:`write` -- write spectra as indexed mzML with psims (atomic).

Why not ``pyteomics.mzml``: its generic cvParam machinery builds a nested dict of every
parameter of every scan, which is slower than this reader needs to be on 2,430-scan GC-MS runs
(see ``benchmarks/bench_read_mzml.py``), and it cannot decode MS-Numpress without the
``pynumpress`` extension. This module streams the XML with lxml (hardened: see
:mod:`nps_id.io._xml`), reads only the parameters :data:`~nps_id.spectrum.METADATA_KEYS` needs
(by accession, including ``referenceableParamGroup`` references) and decodes arrays with numpy.
The file index of indexed mzML is not needed to read every spectrum in order, so it is ignored.
"""
from __future__ import annotations

import base64
import binascii
import math
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
from lxml import etree

from nps_id._atomic import atomic_output
from nps_id.io._source import (CHROMATOGRAM_SKIP, MAX_POINTS, ReadReport, guard_io, inflate, open_binary, parse_float,
                               scan_peaks)
from nps_id.io._xml import refuse_dtd, safe_iterparse
from nps_id.spectrum import Spectrum

_NS = "{http://psi.hupo.org/ms/mzml}"



# PSI-MS / UO accessions this reader understands.
MS_LEVEL = "MS:1000511"
MS1_SPECTRUM = "MS:1000579"
POSITIVE_SCAN = "MS:1000130"
NEGATIVE_SCAN = "MS:1000129"
SCAN_START_TIME = "MS:1000016"
SELECTED_ION_MZ = "MS:1000744"
CHARGE_STATE = "MS:1000041"
ISOLATION_TARGET_MZ = "MS:1000827"
COLLISION_ENERGY = "MS:1000045"
MZ_ARRAY = "MS:1000514"
INTENSITY_ARRAY = "MS:1000515"
ELECTRON_IONIZATION = "MS:1000389"

# Ionisation types (children of MS:1000008) and analyser types (MS:1000443) that writers use,
# by accession so that terms inherited from a referenceableParamGroup count too.
_IONIZATION = {
    ELECTRON_IONIZATION: "electron ionization", "MS:1000073": "electrospray ionization",
    "MS:1000398": "nanoelectrospray", "MS:1000070": "atmospheric pressure chemical ionization",
    "MS:1000382": "atmospheric pressure photoionization", "MS:1000071": "chemical ionization",
    "MS:1000271": "Negative Ion chemical ionization", "MS:1000075": "matrix-assisted laser desorption ionization",
    "MS:1000258": "field ionization", "MS:1000259": "glow discharge ionization",
}
_ANALYZER = {
    "MS:1000081": "quadrupole", "MS:1000084": "time-of-flight", "MS:1000484": "orbitrap",
    "MS:1000264": "ion trap", "MS:1000082": "quadrupole ion trap", "MS:1000083": "radial ejection linear ion trap",
    "MS:1000078": "axial ejection linear ion trap", "MS:1000079": "fourier transform ion cyclotron resonance",
    "MS:1000080": "magnetic sector", "MS:1000254": "electrostatic energy analyzer",
}

_DTYPES = {
    "MS:1000521": np.dtype("<f4"),
    "MS:1000523": np.dtype("<f8"),
    "MS:1000519": np.dtype("<i4"),
    "MS:1000522": np.dtype("<i8"),
}
_NO_COMPRESSION, _ZLIB = "MS:1000576", "MS:1000574"
# numpress accession -> (decoder name, zlib applied after numpress)
_NUMPRESS = {
    "MS:1002312": ("linear", False),
    "MS:1002313": ("pic", False),
    "MS:1002314": ("slof", False),
    "MS:1002746": ("linear", True),
    "MS:1002747": ("pic", True),
    "MS:1002748": ("slof", True),
}
_COMPRESSIONS = {_NO_COMPRESSION, _ZLIB, *_NUMPRESS}

# Seconds per time unit, by UO accession and by name (some writers give only unitName).
_TIME_UNITS = {
    "UO:0000010": 1.0,
    "UO:0000028": 1e-3,
    "UO:0000031": 60.0,
    "UO:0000032": 3600.0,
    "second": 1.0,
    "millisecond": 1e-3,
    "minute": 60.0,
    "hour": 3600.0,
}


class _BadSpectrum(Exception):
    """Internal: a spectrum element that cannot be turned into a Spectrum (message for the user)."""


# -- reading -------------------------------------------------------------------------------------
def read(path: str | Path, report: ReadReport | None = None, ms_level: int | None = None) -> Iterator[Spectrum]:
    """Stream the spectra of an mzML file.

    Parameters
    ----------
    path
        ``.mzML`` file, optionally gzip-compressed (detected by its magic bytes).
    report
        Filled with skip counts (empty spectra, chromatograms, level filter) and, in lenient
        mode, the quarantine of malformed spectra.
    ms_level
        Keep only spectra of this MS level (default: all levels; a GC-EI run is all MS1).

    Yields
    ------
    Spectrum
        m/z, intensity and metadata ``scan_id``, ``scan_index``, ``ms_level``,
        ``retention_time`` (seconds, converted from the unit the file declares),
        ``precursor_mz``, ``precursor_charge``, ``collision_energy``, ``ion_mode``,
        ``source_file``, and from the spectrum's instrument configuration ``ionization`` (the
        source's ionisation type, e.g. "electron ionization") and ``analyzer`` (e.g.
        "quadrupole", "quadrupole, time-of-flight") when the file declares them.

    Raises
    ------
    ReaderError
        The file is not well-formed XML (e.g. truncated), declares a DOCTYPE, or (strict mode)
        a spectrum has bad base64, a wrong compression flag, NaN or negative values.
    """
    path = str(path)
    if report is None:
        report = ReadReport(path)
    refuse_dtd(path)  # before returning the generator, so a hostile file fails up front
    return guard_io(_read(path, report, ms_level), path)


def _read(path: str, report: ReadReport, ms_level: int | None) -> Iterator[Spectrum]:
    groups: dict[str, list[tuple[str, str, str]]] = {}  # referenceableParamGroup id -> cvParams
    configs: dict[str, dict[str, str]] = {}  # instrumentConfiguration id -> ionization, analyzer
    chromatograms = 0
    last = None  # (index, id) of the last spectrum, to place a syntax error
    local_tags = ("spectrum", "chromatogram", "referenceableParamGroup", "instrumentConfiguration")
    # Some writers leave out the mzML namespace: match the bare names as well.
    tags = tuple(_NS + t for t in local_tags) + local_tags
    with open_binary(path) as fh:
        events = safe_iterparse(fh, tags)
        try:
            for _, elem in events:
                local = etree.QName(elem).localname
                if local == "spectrum":
                    last = (elem.get("index"), elem.get("id"))
                    spectrum = _spectrum(elem, path, groups, configs, report, ms_level)
                    if spectrum is not None:
                        yield spectrum
                elif local == "chromatogram":
                    chromatograms += 1
                elif local == "instrumentConfiguration":  # before the run: kept for its spectra
                    configs[elem.get("id", "")] = _configuration(elem, groups)
                    continue
                else:  # referenceableParamGroup: kept whole, referenced by id from spectra
                    groups[elem.get("id", "")] = [_param(c) for c in elem if _is(c, "cvParam")]
                    continue
                _free(elem)
        except etree.XMLSyntaxError as exc:
            where = f" after spectrum {last[1]!r}" if last else ""
            report.bad(
                f"malformed or truncated XML{where}: {exc.msg}", record=last[0] if last else None, line=exc.lineno
            )
            return
    if chromatograms:
        report.skip(CHROMATOGRAM_SKIP, chromatograms)


def _is(elem: etree._Element, local: str) -> bool:
    tag = elem.tag
    return isinstance(tag, str) and (tag == _NS + local or tag == local)


def _free(elem: etree._Element) -> None:
    """Drop a processed element and its already-parsed siblings so memory stays flat."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _param(elem: etree._Element) -> tuple[str, str, str]:
    """(accession, value, unit) of a cvParam; unit is its unitAccession or unitName."""
    return elem.get("accession", ""), elem.get("value", ""), elem.get("unitAccession") or elem.get("unitName") or ""


def _params(elem: etree._Element, groups: dict[str, list]) -> dict[str, tuple[str, str]]:
    """accession -> (value, unit) of the direct cvParams of ``elem`` and its referenced groups."""
    out: dict[str, tuple[str, str]] = {}
    for child in elem:
        if _is(child, "cvParam"):
            acc, value, unit = _param(child)
            out[acc] = (value, unit)
        elif _is(child, "referenceableParamGroupRef"):
            for acc, value, unit in groups.get(child.get("ref", ""), ()):
                out.setdefault(acc, (value, unit))
    return out


def _child(elem: etree._Element | None, *path: str) -> etree._Element | None:
    for local in path:
        if elem is None:
            return None
        elem = next((c for c in elem if _is(c, local)), None)
    return elem


def _configuration(elem: etree._Element, groups: dict) -> dict[str, str]:
    """``ionization`` and ``analyzer`` of an instrumentConfiguration (what it declares of them)."""
    components = _child(elem, "componentList")
    found: dict[str, list[str]] = {"ionization": [], "analyzer": []}
    for component in components if components is not None else ():
        known = {"source": ("ionization", _IONIZATION), "analyzer": ("analyzer", _ANALYZER)}.get(
            etree.QName(component).localname if isinstance(component.tag, str) else "")
        if known is None:
            continue
        key, terms = known
        names = [terms[acc] for acc in _params(component, groups) if acc in terms]
        found[key] += [n for n in names if n not in found[key]]
    return {key: ", ".join(names) for key, names in found.items() if names}


def _spectrum(
    elem: etree._Element, path: str, groups: dict, configs: dict, report: ReadReport, ms_level: int | None
) -> Spectrum | None:
    index_text, scan_id = elem.get("index"), elem.get("id")
    index = _count(index_text)
    record = index_text if index is None else index
    try:
        if index_text is not None and index is None:  # mzML: a non-negative integer
            raise _BadSpectrum(f"index {index_text!r} is not a whole number")
        params = _params(elem, groups)
        level = _ms_level(params)
        if ms_level is not None and level != ms_level:
            report.skip(f"ms level {level} (kept only ms level {ms_level})")
            return None
        peaks = scan_peaks(*_arrays(elem, groups), report)
        if peaks is None:
            return None
        meta: dict[str, Any] = {
            "scan_id": scan_id,
            "scan_index": index,
            "ms_level": level,
            "source_file": path,
        }
        if POSITIVE_SCAN in params:
            meta["ion_mode"] = "positive"
        elif NEGATIVE_SCAN in params:
            meta["ion_mode"] = "negative"
        meta["retention_time"] = _retention_time(elem, groups)
        meta.update(_instrument(elem, configs))
        meta.update(_precursor(elem, groups))
        return Spectrum(*peaks, meta)
    except (_BadSpectrum, ValueError) as exc:
        report.bad(f"spectrum {scan_id!r}: {exc}", record=record, text=scan_id)
        return None


def _count(text: str | None) -> int | None:
    """A count or index attribute as an int; None unless it is ASCII digits ("²" is a digit to
    ``str.isdigit`` but not a number to ``int``)."""
    return int(text) if text and text.isascii() and text.isdigit() else None


def _declared_length(elem: etree._Element, what: str) -> int:
    """The number of values an array element (``arrayLength``) or its spectrum
    (``defaultArrayLength``) declares; :data:`MAX_POINTS` when none is given."""
    text = elem.get("arrayLength") or elem.get("defaultArrayLength")
    if text is None:
        return MAX_POINTS
    count = _count(text.strip())
    if count is None:
        raise _BadSpectrum(f"{what} length {text!r} is not a whole number")
    if count > MAX_POINTS:
        raise _BadSpectrum(f"declares {count} points, more than the {MAX_POINTS:,} a spectrum may hold")
    return count


def _ms_level(params: dict[str, tuple[str, str]]) -> int | None:
    if MS_LEVEL in params:
        value = params[MS_LEVEL][0]
        if not value.strip().isdigit():
            raise _BadSpectrum(f"ms level {value!r} is not a positive integer")
        return int(value)
    if MS1_SPECTRUM in params:
        return 1
    return None


def _retention_time(elem: etree._Element, groups: dict) -> float | None:
    scan = _child(elem, "scanList", "scan")
    if scan is None:
        return None
    value, unit = _params(scan, groups).get(SCAN_START_TIME, ("", ""))
    if not value:
        return None
    if unit and unit not in _TIME_UNITS:
        raise _BadSpectrum(f"scan start time has unknown unit {unit!r} (expected second or minute)")
    # mzML requires a unit; when a writer leaves it out, seconds is the PSI-MS default for time.
    return parse_float(value, "scan start time") * (_TIME_UNITS[unit] if unit else 1.0)


def _instrument(elem: etree._Element, configs: dict[str, dict[str, str]]) -> dict[str, str]:
    """The ionisation and analyser of the configuration a scan names, else of the file's only
    configuration (several and no reference: unknown rather than guessed)."""
    scan = _child(elem, "scanList", "scan")
    ref = scan.get("instrumentConfigurationRef") if scan is not None else None
    if ref in configs:
        return configs[ref]
    return next(iter(configs.values()), {}) if len(configs) == 1 else {}


def _precursor(elem: etree._Element, groups: dict) -> dict[str, Any]:
    precursor = _child(elem, "precursorList", "precursor")
    if precursor is None:
        return {}
    out: dict[str, Any] = {}
    ion = _child(precursor, "selectedIonList", "selectedIon")
    ion_params = _params(ion, groups) if ion is not None else {}
    window = _child(precursor, "isolationWindow")
    window_params = _params(window, groups) if window is not None else {}
    if SELECTED_ION_MZ in ion_params:
        out["precursor_mz"] = parse_float(ion_params[SELECTED_ION_MZ][0], "selected ion m/z")
    elif ISOLATION_TARGET_MZ in window_params:
        out["precursor_mz"] = parse_float(window_params[ISOLATION_TARGET_MZ][0], "isolation window target m/z")
    if CHARGE_STATE in ion_params:
        out["precursor_charge"] = int(parse_float(ion_params[CHARGE_STATE][0], "charge state"))
    activation = _child(precursor, "activation")
    if activation is not None:
        energy = _params(activation, groups).get(COLLISION_ENERGY)
        if energy and energy[0]:
            out["collision_energy"] = energy[0]
    return out


def _arrays(elem: etree._Element, groups: dict) -> tuple[np.ndarray, np.ndarray]:
    """The decoded (m/z, intensity) arrays of a spectrum element."""
    default_length = _declared_length(elem, "defaultArrayLength")
    arrays: dict[str, np.ndarray] = {}
    bda_list = _child(elem, "binaryDataArrayList")
    for bda in bda_list if bda_list is not None else ():
        if not _is(bda, "binaryDataArray"):
            continue
        params = _params(bda, groups)
        kind = MZ_ARRAY if MZ_ARRAY in params else INTENSITY_ARRAY if INTENSITY_ARRAY in params else None
        if kind is None:
            continue  # charge, noise, ... arrays: not part of the Spectrum model
        binary = _child(bda, "binary")
        text = binary.text if binary is not None and binary.text else ""
        what = "m/z" if kind == MZ_ARRAY else "intensity"
        length = _declared_length(bda, f"{what} arrayLength") if bda.get("arrayLength") else default_length
        arrays[kind] = decode_array(text, params, what=what, length=length)
    declared = elem.get("defaultArrayLength")
    if MZ_ARRAY not in arrays or INTENSITY_ARRAY not in arrays:
        if not arrays and declared in (None, "0"):
            return np.empty(0), np.empty(0)
        raise _BadSpectrum("expected an m/z array and an intensity array")
    mz, intensity = arrays[MZ_ARRAY], arrays[INTENSITY_ARRAY]
    if mz.size != intensity.size:
        raise _BadSpectrum(f"{mz.size} m/z values but {intensity.size} intensities")
    if declared is not None and default_length != mz.size:
        raise _BadSpectrum(f"defaultArrayLength is {declared} but the arrays hold {mz.size} values")
    return mz, intensity


def decode_array(text: str, params: dict[str, tuple[str, str]], what: str = "array",
                 length: int = MAX_POINTS) -> np.ndarray:
    """Decode one ``<binary>`` payload given its cvParams (accession -> (value, unit)).

    ``length`` is the number of values the file declares for the array: a zlib payload is
    inflated only as far as that many values can take (a compression bomb is refused, not
    inflated). Returns float64 values. Raises ``_BadSpectrum`` with a user-facing message on bad
    base64, a wrong compression flag, a payload larger than declared or a byte count that does
    not fit the declared data type.
    """
    compression = next((acc for acc in params if acc in _COMPRESSIONS), _NO_COMPRESSION)
    dtype = next((_DTYPES[acc] for acc in params if acc in _DTYPES), None)
    if compression in _NUMPRESS:
        max_bytes = 16 + 5 * length  # numpress: 8-byte fixed point, then at most 4.5 bytes a value
    elif dtype is None:
        raise _BadSpectrum(f"{what} array declares no data type (expected 32/64-bit float or integer)")
    else:
        max_bytes = length * dtype.itemsize
    try:
        raw = base64.b64decode(text.strip(), validate=True) if text.strip() else b""
    except (binascii.Error, ValueError) as exc:
        raise _BadSpectrum(f"{what} array is not valid base64 ({exc})") from None
    if raw and (compression == _ZLIB or _NUMPRESS.get(compression, ("", False))[1]):
        try:
            raw = inflate(raw, max_bytes)
        except zlib.error as exc:
            raise _BadSpectrum(f"{what} array is flagged zlib-compressed but does not decompress ({exc})") from None
        except ValueError:
            raise _BadSpectrum(f"{what} array inflates to more than the {length} values its "
                               "defaultArrayLength declares (a compression bomb or a damaged file)") from None
    if compression in _NUMPRESS:
        try:
            return _NUMPRESS_DECODERS[_NUMPRESS[compression][0]](raw)
        except (IndexError, struct.error, ValueError) as exc:
            raise _BadSpectrum(f"{what} array: corrupt MS-Numpress data ({exc})") from None
    if len(raw) % dtype.itemsize:
        raise _BadSpectrum(
            f"{what} array holds {len(raw)} bytes, not a whole number of {dtype.itemsize}-byte values "
            "(wrong data type or compression flag?)"
        )
    return np.frombuffer(raw, dtype=dtype).astype(np.float64)


# -- MS-Numpress (hand-written: the pynumpress extension is not a dependency) ----------------------
# Transcribed from the reference MSNumpress.cpp (Teleman et al., MCP 2014, doi:10.1074/mcp.O114.037879).
def _halfbytes(data: bytes) -> list[int]:
    out = []
    for byte in data:
        out.append(byte >> 4)
        out.append(byte & 0xF)
    return out


def _decode_ints(halves: list[int]) -> list[int]:
    """The variable-length integers of a numpress half-byte stream (signed 32-bit)."""
    values, i, end = [], 0, len(halves)
    while i < end:
        if i == end - 1 and i % 2 and halves[i] in (0x0, 0x8):
            # A lone low half-byte at the end pads an odd-length stream: current encoders
            # write 0x8, early ones (e.g. pymzml's test files) 0x0.
            break
        head = halves[i]
        i += 1
        res = 0
        if head <= 8:
            n = head
        else:  # leading 0xf half-bytes of a negative number are implied
            n = head - 8
            for k in range(n):
                res |= 0xF0000000 >> (4 * k)
        if n < 8:
            if i + (8 - n) > end:
                raise IndexError("integer runs past the end of the data")
            for k in range(8 - n):
                res |= halves[i + k] << (4 * k)
            i += 8 - n
        values.append(res - (1 << 32) if res & 0x80000000 else res)
    return values


def _fixed_point(data: bytes) -> float:
    """The scaling factor that opens linear and slof data (a positive finite number)."""
    if len(data) < 8:
        raise IndexError("shorter than the 8-byte fixed point")
    fixed_point = struct.unpack(">d", data[:8])[0]
    if not (math.isfinite(fixed_point) and fixed_point > 0):
        raise ValueError(f"fixed point {fixed_point!r} is not a positive number")
    return fixed_point


def _numpress_linear(data: bytes) -> np.ndarray:
    fixed_point = _fixed_point(data)
    if len(data) == 8:
        return np.empty(0)
    ints = [0, struct.unpack("<I", data[8:12])[0], 0]
    result = [ints[1] / fixed_point]
    if len(data) == 12:
        return np.array(result)
    ints[2] = struct.unpack("<I", data[12:16])[0]
    result.append(ints[2] / fixed_point)
    for diff in _decode_ints(_halfbytes(data[16:])):
        ints[0], ints[1] = ints[1], ints[2]
        ints[2] = 2 * ints[1] - ints[0] + diff
        result.append(ints[2] / fixed_point)
    return np.array(result)


def _numpress_pic(data: bytes) -> np.ndarray:
    return np.array([v & 0xFFFFFFFF for v in _decode_ints(_halfbytes(data))], dtype=np.float64)


def _numpress_slof(data: bytes) -> np.ndarray:
    fixed_point = _fixed_point(data)
    values = np.frombuffer(data[8 : 8 + (len(data) - 8) // 2 * 2], dtype="<u2")
    return np.exp(values / fixed_point) - 1.0


_NUMPRESS_DECODERS = {"linear": _numpress_linear, "pic": _numpress_pic, "slof": _numpress_slof}


# -- writing -------------------------------------------------------------------------------------
def write(spectra: Iterable[Spectrum], path: str | Path) -> int:
    """Write ``spectra`` as indexed mzML (zlib, 64-bit m/z, 32-bit intensity) with psims.

    Retention times are written in seconds, precursor m/z/charge and collision energy in the
    precursor list; ``scan_id`` is kept as the native id when present. The file appears only
    when complete (:func:`nps_id._atomic.atomic_output`).

    Returns
    -------
    int
        Number of spectra written.
    """
    with warnings.catch_warnings():  # psims warns about its optional hdf5plugin at import
        warnings.simplefilter("ignore")
        from psims.mzml.writer import MzMLWriter  # heavy import: only when writing

    spectra = list(spectra)  # psims writes the count before the spectra
    levels = {s.get("ms_level") or 1 for s in spectra}
    content = ["MS1 spectrum" if level == 1 else "MSn spectrum" for level in sorted(levels)]
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        with MzMLWriter(fh, close=False) as out:
            out.controlled_vocabularies()
            out.file_description(content + ["centroid spectrum"])
            out.software_list([{"id": "nps-id", "version": _version(), "params": ["custom unreleased software tool"]}])
            out.instrument_configuration_list([{"id": "IC1", "component_list": []}])
            out.data_processing_list([{"id": "nps-id-export", "processing_methods": [
                {"order": 1, "software_reference": "nps-id", "params": ["Conversion to mzML"]}]}])
            with out.run(id=Path(path).name.split(".")[0] or "run", instrument_configuration="IC1"):
                with out.spectrum_list(count=len(spectra), data_processing_method="nps-id-export"):
                    for i, spectrum in enumerate(spectra):
                        _write_spectrum(out, spectrum, i)
    return len(spectra)


def _write_spectrum(out: Any, spectrum: Spectrum, index: int) -> None:
    level = spectrum.get("ms_level") or 1
    precursor = None
    if spectrum.precursor_mz is not None:
        precursor = {"mz": spectrum.precursor_mz}
        if spectrum.get("precursor_charge") is not None:
            precursor["charge"] = spectrum.get("precursor_charge")
        if spectrum.get("collision_energy") is not None:
            energy = _energy_value(spectrum.get("collision_energy"))
            if energy is not None:  # the number as the source wrote it, so "35" reads back as "35"
                precursor["activation"] = ["collision-induced dissociation", {"collision energy": energy}]
    rt = spectrum.retention_time
    out.write_spectrum(
        spectrum.mz,
        spectrum.intensity,
        id=spectrum.get("scan_id") or f"index={index}",
        # psims writes no polarity term for 0: an unknown ion mode stays unknown, not "positive".
        polarity={"positive": 1, "negative": -1}.get(spectrum.get("ion_mode"), 0),
        centroided=True,
        scan_start_time=None if rt is None else {"name": "scan start time", "value": rt, "unitName": "second"},
        params=[{"ms level": level}, "MS1 spectrum" if level == 1 else "MSn spectrum"],
        precursor_information=precursor,
        encoding={"m/z array": np.float64, "intensity array": np.float32},
    )


def _energy_value(text: Any) -> str | None:
    """The number in a collision energy such as ``"35"`` or ``"35 eV"``; None if there is none."""
    head = str(text).strip().split()[0] if str(text).strip() else ""
    try:
        float(head)
    except ValueError:
        return None
    return head


def _version() -> str:
    from nps_id import __version__

    return __version__
