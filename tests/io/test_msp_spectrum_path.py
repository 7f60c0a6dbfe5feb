"""The MSP reader builds its spectra without the constructor's copies and checks
(``Spectrum._from_checked``, stop 31): each spectrum must be the one ``Spectrum(mz, intensity,
metadata)`` makes of the same peaks, and a record whose peaks the constructor refuses must still
be refused at its own line. Real files: MassBank MS/MS queries, Golm's ``mz:int`` pairs, an AMDIS
MSL, and a record whose peaks are written out of order."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from nps_id.errors import ReaderError
from nps_id.io import msp
from nps_id.io._source import ReadReport, decimal_numbers
from nps_id.spectrum import Spectrum
from tests.conftest import data_path


def _same_as_constructed(spectrum: Spectrum) -> None:
    """``spectrum`` equals the constructor's spectrum of its own peaks, dtype, order and flags too."""
    built = Spectrum(spectrum.mz, spectrum.intensity, spectrum.metadata)
    for mine, theirs in ((spectrum.mz, built.mz), (spectrum.intensity, built.intensity)):
        assert mine.dtype == theirs.dtype and mine.tobytes() == theirs.tobytes()
        assert mine.flags.c_contiguous and not mine.flags.writeable
    assert dict(spectrum.metadata) == dict(built.metadata)


@pytest.mark.parametrize("parts", [("massbank", "ms2-queries-identity.msp.gz"),
                                   ("formats", "matchms-tests", "golm.msp"),
                                   ("formats", "matchms-tests", "JL_2021_V2.msl")])
def test_read_spectra_are_the_constructors(parts):
    spectra = list(itertools.islice(msp.read(data_path(*parts)), 300))
    assert spectra
    for spectrum in spectra:
        _same_as_constructed(spectrum)


def _with_second_record_edited(tmp_path, edit) -> tuple:
    """Three MassBank MS/MS query records, one peak a line, the peak lines of the second passed
    through ``edit`` (a list of lines -> the new list). Returns (path, the peak lines' first line)."""
    path = tmp_path / "three.msp"
    msp.write(itertools.islice(msp.read(data_path("massbank", "ms2-queries-identity.msp.gz")), 3), path)
    lines = path.read_text(encoding="utf-8").split("\n")
    start = [i for i, line in enumerate(lines) if line.startswith("Num Peaks:")][1] + 1
    end = lines.index("", start)
    lines[start:end] = edit(lines[start:end])
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, start + 1


def test_peaks_out_of_order_are_sorted_with_their_intensities(tmp_path):
    path, _ = _with_second_record_edited(tmp_path, lambda peaks: peaks[::-1])
    original = list(msp.read(data_path("massbank", "ms2-queries-identity.msp.gz")))[1]
    reread = list(msp.read(path))[1]
    assert len(reread) > 1  # a record of one peak is in order either way
    assert reread.mz.tolist() == original.mz.tolist()
    assert reread.intensity.tolist() == original.intensity.tolist()
    _same_as_constructed(reread)


@pytest.mark.parametrize("bad", ["-5 100", "0 100", "2000000 100", "100 -1", "100 1e39"])
@pytest.mark.parametrize("reverse", [False, True])
def test_a_peak_the_constructor_refuses_is_refused_at_its_line(tmp_path, bad, reverse):
    """In order or not (the reader decides the two cases by different reductions), the last peak
    replaced by one out of range: a one-line error naming that line, and --lenient skips the record."""
    def edit(peaks):
        peaks = peaks[:-1] + [bad]
        return peaks[::-1] if reverse else peaks

    path, _ = _with_second_record_edited(tmp_path, edit)
    lines = path.read_text(encoding="utf-8").split("\n")
    at = lines.index(bad) + 1
    with pytest.raises(ReaderError) as err:
        list(msp.read(path))
    assert f"line {at}" in str(err.value) and bad in str(err.value)
    report = ReadReport(str(path), lenient=True)
    assert len(list(msp.read(path, report))) == 2
    mz, intensity = (float(v) for v in bad.split())
    with pytest.raises(ValueError):
        Spectrum([mz, 50.0], [intensity, 1.0])


def _read_each_alone(monkeypatch, path, report):
    """The spectra and report of ``path`` with every record's peaks converted alone (``_parse_peaks``,
    the reader's path before stop 39 and still that of a record it must report)."""
    with monkeypatch.context() as patch:
        patch.setattr(msp, "_batch_peaks", lambda records: [None] * len(records))
        return list(msp.read(path, report))


def _same_spectra(batched: list[Spectrum], alone: list[Spectrum]) -> None:
    assert len(batched) == len(alone)
    for mine, theirs in zip(batched, alone):
        for a, b in ((mine.mz, theirs.mz), (mine.intensity, theirs.intensity)):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes() and a.flags.writeable == b.flags.writeable
        assert dict(mine.metadata) == dict(theirs.metadata)


@pytest.mark.parametrize("parts", [("massbank", "ms2-queries-identity.msp.gz"), ("swgdrug", "SWGDRUG-3.4.msp.gz"),
                                   ("massbank", "ei-queries-identity.msp.gz"),
                                   ("formats", "matchms-tests", "golm.msp"),
                                   ("formats", "matchms-tests", "JL_2021_V2.msl"),
                                   ("formats", "recetox-gc-ei-msp", "recetox_gc-ei_ms_20201028.msp")])
def test_records_converted_together_are_the_records_converted_alone(monkeypatch, parts):
    """A batch of records' peaks in one conversion (stop 39) gives each spectrum its own
    conversion gives: MassBank's one peak a line, SWGDRUG's five "mz int;" pairs a line (CRLF),
    Golm's "mz:int", AMDIS's "(mz int)", RECETOX's records, MassBank EI's intensities such as
    "8.10195e+06" (``float()`` reads those; the plain decimals are read by digits, stop 41)."""
    path = data_path(*parts)
    _same_spectra(list(msp.read(path)), _read_each_alone(monkeypatch, path, ReadReport(str(path))))


def test_a_bad_record_amid_a_batch_is_reported_in_its_place(monkeypatch, tmp_path):
    """Records out of order, out of range, with a word among the peaks, a wrong peak count and a
    line that is neither -- all within one batch of good ones: --lenient keeps the same spectra and
    reports the same records in the same order as when each record is converted alone; the strict
    read stops at the first bad record with every spectrum before it given."""
    source = data_path("massbank", "ms2-queries-identity.msp.gz")
    path = tmp_path / "mixed.msp"
    msp.write(itertools.islice(msp.read(source), 40), path)
    records = path.read_text(encoding="utf-8").split("\n\n")
    def peaks_of(i: int) -> list[str]:
        return records[i].split("\n")[[j for j, line in enumerate(records[i].split("\n"))
                                       if line.startswith("Num Peaks:")][0] + 1:]
    records[3] = records[3].replace("\n".join(peaks_of(3)), "\n".join(peaks_of(3)[::-1]))
    records[7] = records[7] + "\n2000000 5"
    records[12] = records[12] + "\nabc 5"
    records[15] = records[15].replace("Num Peaks:", "Num Peaks: 999\nX:")
    records[20] = records[20].replace("Formula:", "no colon here\nFormula:")
    records[25] = records[25].replace("Num Peaks: ", "Num Peaks: -")
    path.write_text("\n\n".join(records), encoding="utf-8")
    batched_report, alone_report = ReadReport(str(path), lenient=True), ReadReport(str(path), lenient=True)
    batched = list(msp.read(path, batched_report))
    alone = _read_each_alone(monkeypatch, path, alone_report)
    _same_spectra(batched, alone)
    assert len(batched) < 40 and vars(batched_report) == vars(alone_report)
    given: list[Spectrum] = []
    with pytest.raises(ReaderError) as err:
        given.extend(msp.read(path))
    given_alone: list[Spectrum] = []
    with pytest.raises(ReaderError) as err_alone, monkeypatch.context() as patch:
        patch.setattr(msp, "_batch_peaks", lambda records: [None] * len(records))
        given_alone.extend(msp.read(path))
    assert str(err.value) == str(err_alone.value)
    assert len(given) == 7  # the record out of order is sorted, the one out of range stops the read
    _same_spectra(given, given_alone)


# a peak line's tokens as files write them, and what else float() reads or refuses
_DECIMAL = st.from_regex(r"\A[0-9]{0,9}(\.[0-9]{0,9})?\Z").filter(lambda t: any(c.isdigit() for c in t))
_TOKEN = st.one_of(_DECIMAL, _DECIMAL, st.from_regex(r"\A[+-]?[0-9]{1,18}(\.[0-9]{0,18})?([eE][+-]?[0-9]{1,3})?\Z"),
                   st.sampled_from(["0", "-0", "0.0", ".5", "5.", "9007199254740993", "1.7976931348623157e308",
                                    "4.9e-324", "1e400", "291.41777631706690", "8.3533740681241586", ".", "-", "e5", "1e", "1.2.3", "nan", "inf", "1_0", "١٢"]))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.tuples(_TOKEN, st.sampled_from([" ", "  ", "\t", " \t ", ";", "; ", ":", "(", ")"])),
                         max_size=12), max_size=6),
       st.sampled_from(["", ";:(),"]))
def test_numbers_read_by_digits_are_float_s_bit_for_bit(texts, separators):
    """Every number of every text as ``float()`` reads its token (the bits: -0.0 too), and each
    text's count, the tokens split at white space and ``separators`` (SWGDRUG's "mz int;" pairs);
    or None where a token is none ``float()`` would surely read or a separator is not one --
    never another value. Plain decimals of at most 15 digits are always read."""
    texts = ["".join(token + space for token, space in text).strip() for text in texts]
    numbers = decimal_numbers(texts, separators)
    spaced = [text.translate(str.maketrans(dict.fromkeys(separators, " "))) for text in texts]
    tokens = [text.split() for text in spaced]
    plain = all(t.replace(".", "", 1).isdigit() and t.isascii() and sum(map(str.isdigit, t)) <= 15
                for text in tokens for t in text)
    if numbers is None:
        assert not plain or any(c in text for text in texts for c in ";:()" if c not in separators)
        return
    values, counts = numbers
    assert counts.tolist() == list(map(len, tokens))
    expected = np.array([float(t) for text in tokens for t in text], dtype=np.float64)
    assert values.dtype == np.float64 and values.tobytes() == expected.tobytes()


def test_a_signed_or_exponent_number_before_a_separator_is_read_by_digits_too():
    """ "mz int;" pairs whose intensity carries a sign or an exponent (an export's "1.2e+03;"): the
    token float() reads is the number without its separator (it was read with it, refused, and the
    whole batch fell back to float() token by token)."""
    values, counts = decimal_numbers(["41 1.2e+03; 43:+7, 58 -0;", "(60 5E-1)"], ";:(),")
    expected = [41.0, 1200.0, 43.0, 7.0, 58.0, -0.0, 60.0, 0.5]
    assert values.tobytes() == np.array(expected).tobytes() and counts.tolist() == [6, 2]
