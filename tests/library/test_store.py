"""The library file format on small synthetic libraries: write, read back, versions, hash."""
from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from nps_id.errors import LibraryError
from nps_id.library import FORMAT_VERSION, Library, validate_library, write_library
from nps_id.library.build import find_duplicates
from nps_id.library.store import REQUIRED_COLUMNS
from nps_id.library.writer import columns_from_spectra
from nps_id.peaks import CSRPeaks
from nps_id.spectrum import Spectrum


def make_spectra(n: int = 6, peaks: int = 5) -> list[Spectrum]:
    """Small spectra with varied metadata (some keys absent, repeats for categorical columns)."""
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        meta = {
            "name": f"compound {i}",
            "formula": "C10H15N" if i % 2 else "C12H17NO",
            "source_id": f"ID{i}",
            "ion_mode": "positive",
        }
        if i % 3 == 0:
            meta["synonyms"] = (f"alias {i}", f"other name {i}")
            meta["precursor_mz"] = 150.5 + i
            meta["ms_level"] = 2
        if i == 1:
            meta.update(inchikey="LFQSCWFLJHTTHZ-UHFFFAOYSA-N", exact_mass=46.0419, retention_index=1234.5)
        mz = np.sort(rng.uniform(30, 300, peaks)).round(4)
        out.append(Spectrum(mz, rng.uniform(1, 999, peaks), meta))
    return out


def write(path: Path, spectra: list[Spectrum], **kwargs) -> str:
    sources = ["synthetic.msp"] * len(spectra)
    return write_library(path, CSRPeaks.from_spectra(spectra), columns_from_spectra(spectra, sources),
                         name=kwargs.pop("name", "test"), release="1", **kwargs)


def test_round_trip_spectra_and_columns(tmp_path):
    spectra = make_spectra()
    path = tmp_path / "lib.h5"
    sha = write(path, spectra)
    with Library.open(path) as lib:
        assert lib.n_spectra == 6 and lib.sha256 == sha and len(sha) == 64
        assert lib.info["format"] == "nps-id-library" and lib.info["format_version"] == FORMAT_VERSION == "2.0"
        assert lib.info["name"] == "test" and lib.info["created"].endswith("Z")
        assert list(lib.columns[: len(REQUIRED_COLUMNS)]) == list(REQUIRED_COLUMNS)
        for i, original in enumerate(spectra):
            back = lib.spectrum(i)
            assert back == original.replace(source_file="synthetic.msp")
        # column types and "absent" values, as the API promises
        assert lib.column("name").dtype == object and lib.column("name")[2] == "compound 2"
        assert lib.column("inchikey")[0] == ""
        assert lib.column("synonyms")[3] == "alias 3\nother name 3"
        assert np.isnan(lib.column("precursor_mz")[1]) and lib.column("precursor_mz")[3] == 153.5
        assert lib.column("ms_level").tolist() == [2, 0, 0, 2, 0, 0]
        assert lib.column("exact_mass").dtype == np.float64
        peaks = lib.peaks()
        assert peaks.mz.dtype == np.float64 and peaks.intensity.dtype == np.float32
        assert peaks.offsets.tolist() == list(range(0, 31, 5))
        assert [s for s in lib.spectra()] == [lib.spectrum(i) for i in range(6)]
    assert validate_library(path).sha256 == sha


def test_rows_count_from_the_end_like_a_list_and_stop_at_its_length(tmp_path):
    path = tmp_path / "lib.h5"
    write(path, make_spectra())
    with Library.open(path) as lib:
        assert lib.spectrum(-1) == lib.spectrum(5) and lib.spectrum(-6) == lib.spectrum(0)
        assert lib.column("name", -1) == "compound 5" and lib.column("ms_level", 0) == 2
        for bad in (6, -7):
            with pytest.raises(IndexError, match="out of range for a library of 6"):
                lib.spectrum(bad)
            with pytest.raises(IndexError, match="out of range for a library of 6"):
                lib.column("name", bad)


def test_library_closes_the_file(tmp_path):
    path = tmp_path / "lib.h5"
    write(path, make_spectra())
    with Library.open(path) as lib:
        lib.spectrum(0)
    with h5py.File(path, "r+"):  # would fail if a handle were still open in write-locking HDF5
        pass
    with pytest.raises(Exception):
        lib.spectrum(0)


def test_hash_is_over_content_only(tmp_path):
    spectra = make_spectra()
    a = write(tmp_path / "a.h5", spectra, created="2020-01-01T00:00:00Z")
    b = write(tmp_path / "b.h5", spectra, name="other name", provenance=[{"file": "x", "sha256": "0"}])
    assert a == b
    changed_peak = spectra[:5] + [spectra[5].replace(intensity=spectra[5].intensity * 2)]
    changed_meta = spectra[:5] + [spectra[5].replace(name="something else")]
    assert write(tmp_path / "c.h5", changed_peak) != a
    assert write(tmp_path / "d.h5", changed_meta) != a


def test_string_columns_are_checksummed_utf8_csr(tmp_path):
    spectra = make_spectra(40) + [Spectrum([1.0, 2.0], [1, 1], {"name": "Δ9-THC – ½ µg"})]
    path = tmp_path / "lib.h5"
    write(path, spectra)
    with h5py.File(path) as f:
        name = f["metadata/name"]
        assert name.attrs["encoding-type"] == b"utf8-array"
        assert name["offsets"].dtype == np.int64 and name["data"].dtype == np.uint8
        assert name["data"].fletcher32 and name["offsets"].fletcher32
        assert f["metadata/synonyms"].attrs["separator"] == b"\n"  # fixed-length UTF-8
    with Library.open(path) as lib:
        assert lib.column("name")[-1] == "Δ9-THC – ½ µg" == lib.column("name", 40) == lib.column("name", -1)
        assert lib.column("formula")[:3].tolist() == ["C12H17NO", "C10H15N", "C12H17NO"]
        assert lib.column("formula", slice(1, 3)).tolist() == ["C10H15N", "C12H17NO"]
        many = np.array([40, 3, 3, *range(20, 0, -1), 0])  # more than FEW_ROWS: only their strings made
        for name in ("name", "formula"):  # a column with UTF-8 beyond ASCII, and one without
            assert lib.column(name, many).tolist() == lib.column(name)[many].tolist()
        assert lib.spectrum(3).get("synonyms") == ("alias 3", "other name 3")


def test_no_pickle_or_object_data_anywhere(tmp_path):
    path = tmp_path / "lib.h5"
    write(path, make_spectra(), indexes={"toy": ({"bins": np.arange(5)}, {"kind": "toy"})})
    found = []

    def check(name, obj):
        if isinstance(obj, h5py.Dataset):
            ok = obj.dtype.kind in "iuf"  # no object, string or opaque data at all
            found.append((name, ok))

    with h5py.File(path) as f:
        f.visititems(check)
        untyped = []
        f.visititems(lambda name, obj: untyped.append(name) if "encoding-type" not in obj.attrs else None)
    assert found and all(ok for _, ok in found), [n for n, ok in found if not ok]
    assert untyped == []  # every group and dataset says how to read it


def test_indexes_are_stored_with_the_content_hash(tmp_path):
    path = tmp_path / "lib.h5"
    arrays = {"mz": np.linspace(1, 2, 100_000), "small": np.array([1, 2, 3], dtype=np.int32)}
    sha = write(path, make_spectra(), indexes={"ei": (arrays, {"kind": "nominal", "version": 1})})
    with Library.open(path) as lib:
        assert lib.index_names() == ["ei"]
        back = lib.read_index("ei")
        assert np.array_equal(back["mz"], arrays["mz"]) and back["small"].tolist() == [1, 2, 3]
        attrs = lib.index_attrs("ei")
        assert attrs["kind"] == "nominal" and attrs["library_sha256"] == sha
        assert lib.read_index("ms2") is None and lib.index_attrs("ms2") == {}
    path2 = tmp_path / "noindex.h5"
    write(path2, make_spectra())
    with Library.open(path2) as lib:
        assert lib.index_names() == [] and lib.read_index("ei") is None


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: None, "no such library file"),
        (lambda p: p.write_text("Name: not hdf5\n"), "not an HDF5 file"),
        (lambda p: h5py.File(p, "w").close(), "not an nps-id library"),
    ],
)
def test_open_errors_are_one_line_library_errors(tmp_path, setup, message):
    path = tmp_path / "lib.h5"
    setup(path)
    with pytest.raises(LibraryError, match=message) as info:
        Library.open(path)
    assert "\n" not in str(info.value) and info.value.exit_code == 4


def test_columns_of_an_unknown_encoding_are_skipped_not_fatal(tmp_path):
    path = tmp_path / "lib.h5"
    write(path, make_spectra())
    with h5py.File(path, "r+") as f:  # what a later minor version might add
        f["metadata"].create_group("ccs").attrs["encoding-type"] = "interval-array"
        f["metadata"].attrs["column-order"] = [*f["metadata"].attrs["column-order"], b"ccs"]
    with Library.open(path) as lib:
        assert "ccs" not in lib.columns and lib.spectrum(0).name == "compound 0"
        with pytest.raises(LibraryError, match="'ccs' has encoding 'interval-array'"):
            lib.column("ccs")


def test_unknown_peak_encoding_is_refused(tmp_path):
    path = tmp_path / "lib.h5"
    write(path, make_spectra())
    with h5py.File(path, "r+") as f:
        f["peaks"].attrs["encoding-type"] = "dense-matrix"
    with pytest.raises(LibraryError, match="/peaks has encoding-type 'dense-matrix'"):
        Library.open(path)


def test_newer_major_format_version_says_why(tmp_path):
    path = tmp_path / "lib.h5"
    write(path, make_spectra())
    with h5py.File(path, "r+") as f:
        f.attrs["encoding-version"] = "3.0"
    with pytest.raises(LibraryError, match=r"format version 3\.0 is newer.*\(format 2\.0\).*upgrade"):
        Library.open(path)
    with h5py.File(path, "r+") as f:  # a newer *minor* version still opens
        f.attrs["encoding-version"] = "2.7"
    with Library.open(path) as lib:
        assert lib.n_spectra == 6


def test_validate_detects_tampered_content(tmp_path):
    path = tmp_path / "lib.h5"
    write(path, make_spectra())
    with h5py.File(path, "r+") as f:  # a rewrite keeps the checksums valid: only the hash can tell
        f["metadata/source_id/data"][0] = ord("X")  # "ID0" -> "XD0"
    with pytest.raises(LibraryError, match="does not match its SHA-256"):
        validate_library(path)
    write(path, make_spectra())
    with h5py.File(path, "r+") as f:
        f["peaks/mz"][1] = 1e6  # spectrum 0 no longer sorted
    with pytest.raises(LibraryError, match="not ascending within spectrum 0"):
        validate_library(path)


def test_a_column_of_one_row_is_said_in_the_singular(tmp_path):
    # "column 'precursor_mz' has 1 rows, expected 6" (stop 34)
    path = tmp_path / "lib.h5"
    write(path, make_spectra())
    with h5py.File(path, "r+") as f:
        attrs = dict(f["metadata/precursor_mz"].attrs)
        del f["metadata/precursor_mz"]
        f.create_dataset("metadata/precursor_mz", data=np.array([300.1]), fletcher32=True)
        f["metadata/precursor_mz"].attrs.update(attrs)
    with pytest.raises(LibraryError, match=r"column 'precursor_mz' has 1 row, expected 6$"):
        validate_library(path)


def _big_library(tmp_path: Path, n: int = 20_000, k: int = 60) -> Path:
    """A library of ``n`` spectra of ``k`` random peaks (over 10 MB), named c0, c1, ..."""
    if not Path("/proc/self/io").exists():
        pytest.skip("needs Linux /proc/self/io to count bytes read")
    rng = np.random.default_rng(1)
    mz = np.sort(rng.uniform(50, 500, (n, k)), axis=1).ravel()
    peaks = CSRPeaks(np.arange(0, n * k + 1, k, dtype=np.int64), mz, rng.uniform(1, 1e4, n * k).astype(np.float32))
    spectra_meta = [Spectrum([1.0, 2.0], [1, 1], {"name": f"c{i}", "source_id": f"id{i}"}) for i in range(n)]
    columns = columns_from_spectra(spectra_meta, ["big.msp"] * n)
    path = tmp_path / "big.h5"
    write_library(path, peaks, columns, name="big", release="1")
    assert path.stat().st_size > 10_000_000
    return path


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_reading_one_spectrum_does_not_read_the_whole_file(tmp_path):
    path = _big_library(tmp_path)
    size = path.stat().st_size
    before = _rchar()
    with Library.open(path) as lib:
        s = lib.spectrum(12_345)
    used = _rchar() - before
    assert len(s) == 60 and s.name == "c12345"
    assert used < size / 10, f"read {used} bytes of a {size}-byte library for one spectrum"


def test_a_lazy_reference_reads_the_rows_a_search_uses_not_the_library(tmp_path):
    """`nps-id search` of one spectrum quotes a few library rows: the lazy reference reads
    those (names, peaks) and the same values as the whole arrays give."""
    from nps_id.search.reference import Reference

    path = _big_library(tmp_path)
    size = path.stat().st_size
    rows = np.array([17_000, 3, 12_345])
    before = _rchar()
    with Library.open(path) as lib:
        ref = Reference.from_library(lib, lazy=True)
        names = ref.column_rows("name", rows).tolist()
        ids = ref.column_rows("source_id", rows).tolist()
        peaks = [ref.peaks.row(int(r)) for r in rows]
        used = _rchar() - before
        whole = Reference.from_library(lib)
        assert ref.n_spectra == whole.n_spectra == 20_000
        assert np.array_equal(ref.peaks.mz, whole.peaks.mz) and ref.columns["name"][5] == "c5"
    assert names == ["c17000", "c3", "c12345"] and ids == ["id17000", "id3", "id12345"]
    for (mz, intensity), row in zip(peaks, rows.tolist()):
        assert np.array_equal(mz, whole.peaks.row(row)[0]) and np.array_equal(intensity, whole.peaks.row(row)[1])
        assert mz.dtype == whole.peaks.mz.dtype and intensity.dtype == whole.peaks.intensity.dtype
    assert used < size / 10, f"read {used} bytes of a {size}-byte library for three rows"


def test_name_formula_duplicates_need_near_identical_spectra():
    base = Spectrum([41, 43, 58, 91], [100, 200, 999, 50], {"name": "MDMA", "formula": "C11H15NO2"})
    twin = base.replace(intensity=[101, 199, 999, 50], name="mdma ")  # same after case/space folding
    other = base.replace(intensity=[999, 10, 10, 10])
    keyed = base.replace(inchikey="SHXWCVYOXRDMCX-UHFFFAOYSA-N")
    spectra = [base, twin, other, keyed, keyed]
    columns = columns_from_spectra(spectra, ["x"] * 5)
    dups, n_pairs = find_duplicates(CSRPeaks.from_spectra(spectra), columns)
    assert [d.rows for d in dups if d.kind == "inchikey"] == [(3, 4)]
    # 2 differs; 3 and 4 are near-identical but already reported through their shared InChIKey
    assert [d.rows for d in dups if d.kind == "name+formula"] == [
        (0, 1), (0, 3), (0, 4), (1, 3), (1, 4)] and n_pairs == 5
    assert all(d.cosine > 0.99 for d in dups if d.kind == "name+formula")


def test_thousands_of_records_of_one_name_and_spectrum_are_counted_in_bounded_memory():
    """A lab's export of 4,000 unknowns under one name: 7,998,000 near-identical pairs, which
    as one object each took 3.2 GB (stop 29). All are counted; the first 100 are listed."""
    import tracemalloc

    spectra = [Spectrum([41, 43, 58, 91], [100, 200, 999, 50], {"name": "Sample unknown"})] * 4000
    peaks, columns = CSRPeaks.from_spectra(spectra), columns_from_spectra(spectra, ["x"] * 4000)
    tracemalloc.start()
    try:
        dups, n_pairs = find_duplicates(peaks, columns)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert n_pairs == 4000 * 3999 // 2
    assert [d.rows for d in dups[:3]] == [(0, 1), (0, 2), (0, 3)] and len(dups) == 100
    assert peak < 100 << 20, f"{peak >> 20} MB"


def test_store_does_not_import_h5py_for_the_cli_help():
    import subprocess

    code = "import nps_id.commands.library, sys; print('h5py' in sys.modules, 'rdkit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split() == ["False", "False"]


def test_opening_a_library_does_not_import_the_builder():
    """A search opens a verified library: the builder (and what it imports) loads only when a
    library is built, checked or exported, and the package's names still resolve."""
    import subprocess

    code = ("import sys; from nps_id.library import open_verified, Library; "
            "print(sorted(m for m in sys.modules if m.startswith('nps_id.library.'))); "
            "from nps_id.library import build_library, BuildSummary, export_library, write_library; "
            "import nps_id.library as lib; print(lib.build_library is build_library)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split("\n")[:2] == ["['nps_id.library.store', 'nps_id.library.validate']", "True"]


def test_a_string_column_with_invalid_utf8_is_a_one_line_library_error(tmp_path):
    path = tmp_path / "lib.h5"
    write(path, make_spectra())
    with h5py.File(path, "r+") as f:  # rewritten without its checksum, as a damaged copy could be
        data = f["metadata/name/data"][()]
        data[0] = 0xFF
        del f["metadata/name/data"]
        f["metadata/name/data"] = data
    with Library.open(path) as lib:
        assert lib.column("formula")[0] == "C12H17NO"  # the other columns still read
        with pytest.raises(LibraryError, match=r"corrupt library: /metadata/name holds invalid UTF-8"):
            lib.column("name")
