"""The MSP reader builds its spectra without the constructor's copies and checks
(``Spectrum._from_checked``, stop 31): each spectrum must be the one ``Spectrum(mz, intensity,
metadata)`` makes of the same peaks, and a record whose peaks the constructor refuses must still
be refused at its own line. Real files: MassBank MS/MS queries, Golm's ``mz:int`` pairs, an AMDIS
MSL, and a record whose peaks are written out of order."""
from __future__ import annotations

import itertools

import pytest

from nps_id.errors import ReaderError
from nps_id.io import msp
from nps_id.io._source import ReadReport
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
