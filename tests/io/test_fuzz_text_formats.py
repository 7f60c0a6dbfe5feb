"""Property tests: random and mutated MSP, JCAMP-DX and MassBank text gives spectra or the
project's ReaderError -- never an IndexError, ValueError, UnicodeError or a hang.

Each example is written to a file (plain or gzip, sometimes truncated) and read through the
public readers in strict and in lenient mode.
"""
from __future__ import annotations

import gzip
import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nps_id.errors import ReaderError
from nps_id.io import jcamp, massbank, msp
from nps_id.io._source import ReadReport
from nps_id.spectrum import Spectrum

MSP_SEED = (
    "Name: Fentanyl\nSynon: Sublimaze\nFormula: C22H28N2O\nCASNO: 437387\nID: 3919\n"
    "PrecursorMZ: 337.2\nIon_mode: P\nRetention_time: 14.6 min\n"
    'Comments: "license=CC BY"\nNum Peaks: 4\n42 438; 105 353;\n146 81 "frag"\n245 999\n\n'
    "NAME:G3P\nRI:1586.2\nNUM PEAKS:  2\n( 52    3) ( 55  136)\n\n"
    "Name: golm\nNum Peaks: 2\n70:10 76:35\n"
)
JCAMP_SEED = (
    "##TITLE= run\n##JCAMP-DX= 5.00\n##NTUPLES= MASS SPECTRUM\n##VAR_NAME= MASS, INTENSITY, RETENTION TIME\n"
    "##SYMBOL= X, Y, T\n##UNITS= M/Z, RELATIVE ABUNDANCE, SECONDS\n##PAGE= T= 272\n##NPOINTS= 3\n"
    "##DATA TABLE= (XY..XY), PEAKS\n50, 2.52; 51, 9.32; 52, 7.42\n##PAGE= T= 301\n"
    "##RETENTION_TIME= 301\n##XYDATA= (X++(Y..Y))\n50A0J1%T\n53B1j\n##END NTUPLES= MASS SPECTRUM\n##END=\n"
)
MASSBANK_SEED = (
    "ACCESSION: MSBNK-Test-TE000001\nCH$NAME: caffeine\nCH$LINK: CAS 58-08-2\n"
    "AC$MASS_SPECTROMETRY: MS_TYPE MS2\nAC$MASS_SPECTROMETRY: ION_MODE POSITIVE\n"
    "AC$CHROMATOGRAPHY: RETENTION_TIME 3.2 min\nMS$FOCUSED_ION: PRECURSOR_M/Z 195.0877\n"
    "PK$NUM_PEAK: 2\nPK$PEAK: m/z int. rel.int.\n  138.066 1000 999\n  195.088 500 499\n//\n"
)
READERS = {"msp": (msp.read, MSP_SEED, ".msp"), "jcamp": (jcamp.read, JCAMP_SEED, ".jdx"),
           "massbank": (massbank.read, MASSBANK_SEED, ".txt")}

# Characters that mean something to one of the parsers, plus a few that mean nothing.
ALPHABET = list("0123456789.,;:()\"' \t\n-+eE@AaJjSsTZ%#$=/") + [
    "Name: ", "Num Peaks: ", "NaN", "inf", "-1", "##", "##XYDATA= (X++(Y..Y))\n",
    "##PEAK TABLE= (XY..XY)\n", "##PAGE= T=", "##END=\n", "PK$PEAK: m/z int. rel.int.\n",
    "PK$NUM_PEAK: ", "//\n", "\r\n", "\x00", "\u00e9", "\ufffd", "1e999", "99999999999",
]


@st.composite
def mutated(draw, seed: str) -> str:
    """``seed`` with a few random deletions, insertions, substitutions and line shuffles."""
    text = seed
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["delete", "insert", "replace", "duplicate_line", "drop_line"]))
        pos = draw(st.integers(0, max(len(text) - 1, 0)))
        if op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 8)):]
        elif op == "insert":
            text = text[:pos] + draw(st.sampled_from(ALPHABET)) + text[pos:]
        elif op == "replace":
            text = text[:pos] + draw(st.sampled_from(ALPHABET)) + text[pos + 1:]
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines[i:i + 1] = [lines[i]] * 2 if op == "duplicate_line" else []
            text = "".join(lines)
    return text


random_text = st.lists(st.sampled_from(ALPHABET), max_size=80).map("".join)


@st.composite
def payload(draw, seed: str) -> bytes:
    """Encoded text, sometimes with invalid UTF-8, sometimes gzipped and/or cut short."""
    text = draw(st.one_of(mutated(seed), random_text, st.just(seed)))
    data = text.encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):
        data += draw(st.binary(max_size=8))  # stray bytes, often invalid UTF-8
    if draw(st.booleans()):
        data = gzip.compress(data)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]  # a truncated download
    return data


def _read_all(reader, path: Path, lenient: bool) -> list[Spectrum]:
    report = ReadReport(str(path), lenient=lenient)
    # islice bounds the work on a pathological file; a valid one is tiny anyway
    return list(itertools.islice(reader(path, report), 1000))


def _check(name: str, data: bytes) -> None:
    reader, _, suffix = READERS[name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        for lenient in (False, True):
            try:
                spectra = _read_all(reader, path, lenient)
            except ReaderError:
                continue
            assert all(isinstance(s, Spectrum) for s in spectra)
            for s in spectra:
                assert (s.mz > 0).all() and (s.intensity >= 0).all()


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", sorted(READERS))
def test_seed_files_are_valid(name, tmp_path):
    reader, seed, suffix = READERS[name]
    path = tmp_path / f"seed{suffix}"
    path.write_text(seed)
    spectra = list(reader(path))
    assert spectra and all(len(s) > 0 for s in spectra)


@FUZZ
@given(data=payload(MSP_SEED))
def test_msp_gives_spectra_or_reader_error(data):
    _check("msp", data)


@FUZZ
@given(data=payload(JCAMP_SEED))
def test_jcamp_gives_spectra_or_reader_error(data):
    _check("jcamp", data)


@FUZZ
@given(data=payload(MASSBANK_SEED))
def test_massbank_gives_spectra_or_reader_error(data):
    _check("massbank", data)


@settings(max_examples=200, deadline=None)
@given(line=st.text(alphabet=st.sampled_from(list("0123456789.+- ,@AIaiJRjr%SZs?xE")), max_size=40))
def test_asdf_line_decoder_raises_only_value_error(line):
    try:
        values, dif = jcamp.decode_asdf_line(line)
    except ValueError:
        return
    assert isinstance(dif, bool) and all(isinstance(v, float) for v in values)
