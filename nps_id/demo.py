"""The two-minute demo: a real seized-card GC-MS run searched against a public library.

Run ``python -m nps_id.demo`` (``make demo`` installs first). The run is LRCFS card FL22/009-2
(220223030), public in ``LRCFS/GcMsDataProcess``; with ``../shared/data`` beside the checkout
(or ``$NPS_ID_DATA``) everything comes from there, offline: the mzML conversion of that run and
the SWGDRUG 3.4 library. Without it the ``.ms1`` export is downloaded at a pinned commit and
checked against its SHA-256, and the MassBank EI library is fetched from the catalogue.
Ends by printing the path of the HTML report.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from nps_id.errors import LibraryError

RUN_URL = (
    "https://raw.githubusercontent.com/LRCFS/GcMsDataProcess/"
    "9a71bad63d9b9c5171cd0a7a24078f391824db25/GcDataConverterMs/220223030.ms1"
)
RUN_SHA256 = "2bace5b15d43b119067301cdc71f77777e9575cab3d41a67c0adfbf5131c4855"


def _data_folder() -> Path:
    return Path(os.environ.get("NPS_ID_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


def shared_data() -> Path | None:
    """``$NPS_ID_DATA``, else ``../shared/data`` beside the checkout, if it exists."""
    candidate = _data_folder()
    return candidate if candidate.is_dir() else None


def _where_data_is_looked_for() -> str:
    return (f"the demo looks for its data in {_data_folder()} ($NPS_ID_DATA when set, else ../shared/data "
            "beside the checkout)")


def _online_inputs(work: Path) -> tuple[Path, Path]:
    from nps_id.library.fetch import CatalogueEntry, fetch_library, load_catalogue, obtain
    from nps_id.search.index import build_indexes

    # The run is fetched like a catalogue file: resumable, and refused unless the SHA-256 matches.
    run_entry = CatalogueEntry(
        name="lrcfs-220223030", description="LRCFS seized card FL22/009-2", licence="GPL-3.0",
        url=RUN_URL, filename="220223030.ms1", format="ms1", release="9a71bad", sha256=RUN_SHA256,
    )
    run, _, _ = obtain(run_entry, work)
    library = work / "massbank-ei.h5"
    if not library.exists():
        fetch_library(load_catalogue()["massbank-ei"], library, index_builder=build_indexes)
    return run, library


def _offline_inputs(data: Path, work: Path) -> tuple[Path, Path]:
    from nps_id.library import build_library
    from nps_id.search.index import build_indexes

    run = data / "gcms" / "lrcfs" / "220223030.mzML"
    library = work / "swgdrug-3.4.h5"
    if not library.exists():
        build_library([data / "swgdrug" / "SWGDRUG-3.4.msp.gz"], library, name="SWGDRUG",
                      release="3.4", index_builder=build_indexes, defaults={"ms_level": 1})
    return run, library


def run_demo(out_dir: Path, *, offline: bool | None = None) -> Path:
    """Match the demo run and write its HTML report into ``out_dir``; returns the report path.

    ``offline=None`` uses ``../shared/data`` when present, else downloads.
    """
    from nps_id.commands.match import format_table
    from nps_id.match.parameters import MatchParameters
    from nps_id.match.pipeline import match_files
    from nps_id.match.standards import InternalStandard
    from nps_id.report import write_reports

    out_dir.mkdir(parents=True, exist_ok=True)
    data = shared_data()
    if offline and data is None:
        raise click.ClickException(f"--offline: no data; {_where_data_is_looked_for()}")
    use_shared = data is not None and offline is not False
    try:
        run, library = _offline_inputs(data, out_dir) if use_shared else _online_inputs(out_dir)
    except LibraryError as exc:  # a failed download: say where offline data would be found instead
        failed = str(exc).replace(", or use --mirror", "")  # the demo has no --mirror option
        raise LibraryError(f"{failed}. No offline data either: {_where_data_is_looked_for()}") from None
    # The laboratory's internal standard at its method RT (../shared/data/README.md); the MassBank
    # library of the online demo has no bupivacaine.
    params = MatchParameters(internal_standards=(InternalStandard("Bupivacaine", 6.51),) if use_shared else ())
    ((_, results),) = list(match_files([run], library, params))
    click.echo(format_table(results))
    written = write_reports(results, ["html"], out_dir, library_path=library,
                            command_line="python -m nps_id.demo")
    return next(p for p in written if p.suffix == ".html")


@click.command()
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("nps-id-demo"), show_default=True, help="Where the library and report go.")
@click.option("--offline/--online", default=None,
              help="Force ../shared/data (offline) or downloading (online). Default: offline when "
                   "../shared/data is there.")
def main(out_dir: Path, offline: bool | None) -> None:
    """Identify the substances in a real seized card (LRCFS FL22/009-2) and write an HTML report."""
    from nps_id.errors import NpsIdError

    try:
        report = run_demo(out_dir, offline=offline)
    except NpsIdError as exc:
        click.echo(f"nps-id demo: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    click.echo(f"report: {report.resolve()}")


if __name__ == "__main__":
    main()
