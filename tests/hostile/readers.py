"""Seeded generator of hostile and damaged files for the readers (issue 12, items 8, 11, 14).

Every function writes one file into ``folder`` and returns its path; nothing here is committed as a
file. ``rng`` (a :class:`random.Random`) varies the incidental parts (names, ids, padding) so a
reader cannot pass by matching one exact byte string; the hostile part is fixed by the arguments.

- Memory bombs: :func:`mzml_zlib_bomb`, :func:`mzxml_zlib_bomb`, :func:`jcamp_dup_bomb`, :func:`andi_gzip_bomb`,
  :func:`endless_line`.
- Tracebacks of old: :func:`jcamp_huge_intensity`, :func:`mzml_numpress_zero_fixed_point`,
  :func:`mzml_odd_index`, :func:`andi_file` (short arrays, a bad ``scale_factor``).
- DTD tricks that got past a text scan: :func:`xml_with_dtd`.
"""
from __future__ import annotations

import base64
import gzip
import random
import struct
import zlib
from pathlib import Path

import numpy as np

_MIB = 1 << 20


def _name(rng: random.Random, stem: str) -> str:
    return f"{stem}-{rng.randrange(16 ** 6):06x}"


def _zlib_zeros(megabytes: int) -> bytes:
    """A zlib stream of ``megabytes`` MiB of zero bytes (about 1,000:1) made in milliseconds: after
    a full flush the compressor forgets its history, so every further MiB compresses to the same
    bytes, which are repeated; the trailer's Adler-32 is computed over the whole."""
    block = bytes(_MIB)
    packer = zlib.compressobj(9)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.flush()[:-4]  # the empty final block, without the Adler-32 of two MiB
    checksum = 1
    for _ in range(megabytes):
        checksum = zlib.adler32(block, checksum)
    return first + again * (megabytes - 1) + end + struct.pack(">I", checksum)


def _gzip_repeated(head: bytes, block: bytes, times: int) -> bytes:
    """``head`` then ``block`` ``times`` times, as gzip members (one member repeated: a file of
    any decompressed size in milliseconds; gzip readers join the members)."""
    return gzip.compress(head, mtime=0) + gzip.compress(block, compresslevel=9, mtime=0) * times


# -- mzML ---------------------------------------------------------------------------------------
def _mzml(spectra: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<mzML xmlns="http://psi.hupo.org/ms/mzml" version="1.1.0">'
            f'<run id="r"><spectrumList count="1">{spectra}</spectrumList></run></mzML>\n')


def _array(accessions: tuple[str, ...], payload: bytes, length: int | None = None) -> str:
    params = "".join(f'<cvParam cvRef="MS" accession="{acc}" name="x"/>' for acc in accessions)
    attr = f' encodedLength="{length}"' if length is not None else ""
    return (f'<binaryDataArray{attr}>{params}<binary>{base64.b64encode(payload).decode()}</binary>'
            "</binaryDataArray>")


def _spectrum(index: str, spectrum_id: str, length: int, mz: str, intensity: str) -> str:
    return (f'<spectrum index="{index}" id="{spectrum_id}" defaultArrayLength="{length}">'
            '<cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="1"/>'
            f'<binaryDataArrayList count="2">{mz}{intensity}</binaryDataArrayList></spectrum>')


_MZ64, _INT32, _ZLIB, _NONE, _MZ_ARRAY, _INT_ARRAY = ("MS:1000523", "MS:1000521", "MS:1000574", "MS:1000576",
                                                      "MS:1000514", "MS:1000515")


def _plain_intensity(values: np.ndarray) -> str:
    return _array((_INT32, _NONE, _INT_ARRAY), values.astype("<f4").tobytes())


def mzml_zlib_bomb(folder: Path, rng: random.Random, megabytes: int = 512) -> Path:
    """An mzML whose one spectrum declares 3 points but whose zlib m/z array inflates to
    ``megabytes`` MiB (the 1.4 MB file of the issue: 1,024 MiB)."""
    path = folder / f"{_name(rng, 'zlib-bomb')}.mzML"
    mz = _array((_MZ64, _ZLIB, _MZ_ARRAY), _zlib_zeros(megabytes))
    path.write_text(_mzml(_spectrum("0", "scan=1", 3, mz, _plain_intensity(np.ones(3)))))
    return path


def mzxml_zlib_bomb(folder: Path, rng: random.Random, megabytes: int = 512) -> Path:
    """An mzXML scan of ``peaksCount="1"`` whose zlib peak list inflates to ``megabytes`` MiB."""
    path = folder / f"{_name(rng, 'zlib-bomb')}.mzXML"
    peaks = base64.b64encode(_zlib_zeros(megabytes)).decode()
    path.write_text('<?xml version="1.0"?>\n<mzXML xmlns="http://sashimi.sourceforge.net/schema_revision/mzXML_3.2">'
                    '<msRun scanCount="1"><scan num="1" msLevel="1" peaksCount="1" retentionTime="PT1S">'
                    '<peaks precision="32" byteOrder="network" pairOrder="m/z-int" compressionType="zlib" '
                    f'compressedLen="{len(peaks)}">{peaks}</peaks></scan></msRun></mzXML>\n')
    return path


def mzml_numpress_zero_fixed_point(folder: Path, rng: random.Random) -> Path:
    """MS-Numpress linear m/z whose fixed point is 0 (a division by zero when decoded)."""
    path = folder / f"{_name(rng, 'numpress-zero')}.mzML"
    payload = struct.pack(">d", 0.0) + struct.pack("<II", 1000, 2000)
    mz = _array(("MS:1002312", _MZ_ARRAY), payload)
    path.write_text(_mzml(_spectrum("0", "scan=1", 2, mz, _plain_intensity(np.ones(2)))))
    return path


def mzml_odd_index(folder: Path, rng: random.Random, index: str = "\u00b2") -> Path:
    """A well-formed spectrum whose ``index`` attribute is a digit Python's ``int`` refuses ("²")."""
    path = folder / f"{_name(rng, 'odd-index')}.mzML"
    mz = _array((_MZ64, _NONE, _MZ_ARRAY), np.array([50.0, 60.0]).tobytes())
    path.write_text(_mzml(_spectrum(index, "scan=1", 2, mz, _plain_intensity(np.ones(2)))), encoding="utf-8")
    return path


# -- XML with a DTD ------------------------------------------------------------------------------
#: What an internal entity expands to; must never appear in what a reader yields.
EXPANDED = "EXPANDED"
_DTD = f'<!DOCTYPE {{root}} [<!ENTITY e "{EXPANDED}-"><!ENTITY ee "&e;&e;&e;&e;">]>'
_MZXML_BODY = ('<mzXML xmlns="http://sashimi.sourceforge.net/schema_revision/mzXML_3.2"><msRun scanCount="1">'
               '<scan num="1" msLevel="1" peaksCount="1" retentionTime="PT1S" id="&ee;">'
               '<peaks precision="32" byteOrder="network" pairOrder="m/z-int">QkgAAEKWAAA=</peaks>'
               "</scan></msRun></mzXML>")
DTD_TRICKS = ("comment", "processing-instruction", "utf-16", "plain")


def xml_with_dtd(folder: Path, rng: random.Random, root: str, trick: str) -> Path:
    """An mzML (``root="mzML"``) or mzXML with an internal DTD whose entity is used in a scan id,
    the DTD placed behind one of :data:`DTD_TRICKS`: a comment holding ``<a``, a processing
    instruction, UTF-16 encoding, or nothing (a plain prolog)."""
    if root == "mzML":
        mz = _array((_MZ64, _NONE, _MZ_ARRAY), np.array([50.0, 60.0]).tobytes())
        body = _mzml(_spectrum("0", "&ee;", 2, mz, _plain_intensity(np.ones(2)))).split("\n", 1)[1]
        suffix = ".mzML"
    else:
        body, suffix = _MZXML_BODY, ".mzXML"
    encoding = "UTF-16" if trick == "utf-16" else "UTF-8"
    hide = {"comment": f"<!-- <a {rng.randrange(999)} -->\n", "processing-instruction": "<?pi <a href='x'?>\n"}
    text = (f'<?xml version="1.0" encoding="{encoding}"?>\n{hide.get(trick, "")}'
            f"{_DTD.format(root=root)}\n{body}\n")
    path = folder / f"{_name(rng, 'dtd-' + trick)}{suffix}"
    path.write_bytes(text.encode("utf-16") if trick == "utf-16" else text.encode())
    return path


# -- JCAMP-DX -----------------------------------------------------------------------------------
def jcamp_dup_bomb(folder: Path, rng: random.Random, tokens: int = 1000, npoints: int | None = None) -> Path:
    """A ~6 KB JCAMP-DX spectrum of ``tokens`` DUP tokens, each repeating a value 899,999 times,
    with ``##NPOINTS=`` declared (``npoints``) or not."""
    path = folder / f"{_name(rng, 'dup-bomb')}.jdx"
    declared = f"##NPOINTS={npoints}\n" if npoints is not None else ""
    data = "\n".join(f"{50 + i} 5Z99999" for i in range(tokens))
    path.write_text(f"##TITLE= {_name(rng, 'dup')}\n##JCAMP-DX= 4.24\n{declared}##XYDATA= (X++(Y..Y))\n"
                    f"{data}\n##END=\n")
    return path


def jcamp_huge_intensity(folder: Path, rng: random.Random, value: str = "1e39") -> Path:
    """A JCAMP-DX peak table whose intensity is finite as float64 but not as float32."""
    path = folder / f"{_name(rng, 'huge-intensity')}.jdx"
    path.write_text(f"##TITLE= {_name(rng, 'huge')}\n##JCAMP-DX= 4.24\n##PEAK TABLE= (XY..XY)\n"
                    f"50, 10 51, {value}\n##END=\n##TITLE= fine\n##PEAK TABLE= (XY..XY)\n60, 10\n##END=\n")
    return path


# -- text: one endless line ---------------------------------------------------------------------
_ENDLESS_HEAD = {".msp": "Name: endless\nNum Peaks: 1\n", ".mgf": "BEGIN IONS\nTITLE=endless\n",
                 ".jdx": "##TITLE= endless\n##PEAK TABLE= (XY..XY)\n"}


def endless_line(folder: Path, rng: random.Random, suffix: str, megabytes: int = 512) -> Path:
    """A gzipped ``.msp``/``.mgf``/``.jdx`` whose peak line has no end: ``megabytes`` MiB of
    digits and blanks without a line break, from a file of a few hundred KB."""
    path = folder / f"{_name(rng, 'endless')}{suffix}.gz"
    path.write_bytes(_gzip_repeated(_ENDLESS_HEAD[suffix].encode(), b"1 " * (_MIB // 2), megabytes))
    return path


# -- ANDI / netCDF-3 ----------------------------------------------------------------------------
_NC_TYPES = {"b": 1, "c": 2, "h": 3, "i": 4, "f": 5, "d": 6}  # numpy kind/char -> netCDF type


def _nc_name(name: str) -> bytes:
    raw = name.encode()
    return struct.pack(">i", len(raw)) + raw + bytes(-len(raw) % 4)


def _nc_attrs(attrs: dict[str, object]) -> bytes:
    if not attrs:
        return bytes(8)
    out = struct.pack(">ii", 0x0C, len(attrs))
    for name, value in attrs.items():
        if isinstance(value, str):
            raw, kind, count = value.encode(), 2, len(value.encode())
        else:
            array = np.atleast_1d(np.asarray(value, dtype=">f8"))
            raw, kind, count = array.tobytes(), 6, array.size
        out += _nc_name(name) + struct.pack(">ii", kind, count) + raw + bytes(-len(raw) % 4)
    return out


def netcdf3(dims: dict[str, int], variables: dict[str, tuple[tuple[str, ...], np.ndarray, dict]],
            data_bytes: dict[str, int] | None = None) -> tuple[bytes, list[tuple[str, int]]]:
    """A classic netCDF-3 header for ``variables`` (name -> (dimension names, values, attributes))
    and where each variable's data starts. ``data_bytes`` overrides a variable's declared size
    (its values are then not written: the caller streams them)."""
    data_bytes = data_bytes or {}
    dim_ids = {name: i for i, name in enumerate(dims)}
    head = b"CDF\x01" + struct.pack(">i", 0)
    head += struct.pack(">ii", 0x0A, len(dims)) + b"".join(_nc_name(n) + struct.pack(">i", s) for n, s in dims.items())
    head += bytes(8)  # no global attributes
    entries = []
    for name, (var_dims, values, attrs) in variables.items():
        size = data_bytes.get(name, values.nbytes)
        entries.append((name, var_dims, values, attrs, size + (-size % 4)))
    var_part = struct.pack(">ii", 0x0B, len(entries))
    # the begin offsets depend on the header length: lay it out with placeholders first
    layout = [(_nc_name(n) + struct.pack(">i", len(d)) + b"".join(struct.pack(">i", dim_ids[x]) for x in d)
               + _nc_attrs(a) + struct.pack(">ii", _NC_TYPES[v.dtype.char.lower()], size)) for n, d, v, a, size in entries]
    begin = len(head) + len(var_part) + sum(len(part) + 4 for part in layout)
    starts = []
    for part, (name, _, _, _, size) in zip(layout, entries):
        var_part += part + struct.pack(">i", begin)
        starts.append((name, begin))
        begin += size
    return head + var_part, starts


def andi_file(folder: Path, rng: random.Random, *, scans: int = 3, counts: int | None = None,
              times: int | None = None, mass_scale: object = None, overlap: bool = False) -> Path:
    """A small ANDI-MS file of ``scans`` two-peak scans; ``counts``/``times`` shorten the
    ``point_count`` / ``scan_acquisition_time`` arrays, ``mass_scale`` sets a (bad) ``scale_factor``,
    ``overlap`` points every scan at the first one's peaks."""
    counts = scans if counts is None else counts
    times = scans if times is None else times
    mass_attrs = {} if mass_scale is None else {"scale_factor": mass_scale}
    variables = {
        "scan_index": (("scan",), (np.arange(scans) * (0 if overlap else 2)).astype(">i4"), {}),
        "point_count": (("count",), np.full(counts, 2, dtype=">i4"), {}),
        "scan_acquisition_time": (("time",), (np.arange(times) + 1.0).astype(">f8"), {}),
        "mass_values": (("point",), np.tile(np.array([50.0, 60.0], dtype=">f4"), scans), mass_attrs),
        "intensity_values": (("point",), np.full(scans * 2, 10.0, dtype=">f4"), {}),
    }
    header, _ = netcdf3({"scan": scans, "count": counts, "time": times, "point": 2 * scans}, variables)
    body = b"".join(v.tobytes() + bytes(-v.nbytes % 4) for _, v, _ in variables.values())
    path = folder / f"{_name(rng, 'andi')}.cdf"
    path.write_bytes(header + body)
    return path


def andi_gzip_bomb(folder: Path, rng: random.Random, megabytes: int = 512) -> Path:
    """A gzipped ANDI-MS file of one scan over ``megabytes`` MiB of zero peaks (a few hundred KB)."""
    points = megabytes * _MIB // 8
    variables = {
        "scan_index": (("scan",), np.zeros(1, dtype=">i4"), {}),
        "point_count": (("scan",), np.array([points], dtype=">i4"), {}),
        "mass_values": (("point",), np.zeros(0, dtype=">f4"), {}),
        "intensity_values": (("point",), np.zeros(0, dtype=">f4"), {}),
    }
    sizes = {"mass_values": points * 4, "intensity_values": points * 4}
    header, _ = netcdf3({"scan": 1, "point": points}, variables, sizes)
    path = folder / f"{_name(rng, 'andi-bomb')}.cdf.gz"
    # the data: scan_index 0, point_count, then the zero peaks
    path.write_bytes(_gzip_repeated(header + struct.pack(">ii", 0, points), bytes(_MIB), megabytes))
    return path
