"""``nps-id library``: build, inspect, validate and export reference libraries.

Subcommands: ``build``, ``info``, ``validate``, ``export``, ``fetch``. Each parses its options, calls one
function of :mod:`nps_id.library`, and prints the result; h5py, numpy and rdkit load only when a
subcommand runs.
"""
from __future__ import annotations

import importlib
import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import click

from nps_id.commands.options import default_library_path, lenient_option, refuse_output_onto_inputs


@click.group(
    "library",
    epilog="""\b
Examples:
  nps-id library build SWGDRUG-3.4.msp.gz -o swgdrug.h5 --name SWGDRUG --release 3.4 --ms-level 1
  nps-id library info swgdrug.h5
  nps-id library fetch massbank-ei
""",
)
def library() -> None:
    """Build, inspect, validate and export reference libraries (HDF5).

    The file format is documented in docs/library-format.md.
    """


def _index_builder() -> Callable | None:
    """nps_id.search.index.build_indexes when the search engine provides it, else None."""
    try:
        module = importlib.import_module("nps_id.search.index")
    except ImportError:
        return None
    return getattr(module, "build_indexes", None)


@library.command(
    "build",
    epilog="""\b
Examples:
  nps-id library build SWGDRUG-3.4.msp.gz -o swgdrug.h5 --name SWGDRUG --release 3.4 --ms-level 1
  nps-id library build MassBank-data/ -o massbank.h5 --lenient
  nps-id library build inhouse-2026.msp -o swgdrug.h5 --append --release 3.4+inhouse
  nps-id library build -o swgdrug.h5 --append --structures-from massbank-ei.h5
""",
)
@click.argument("sources", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Library file to write (.h5); replaced atomically.")
@click.option("--name", default="", show_default="the output file name (kept on --append)",
              help="Library name stored in the file.")
@click.option("--release", default="", show_default="today's date, YYYY-MM-DD (kept on --append)",
              help="Release label stored in the file.")
@click.option("--append", is_flag=True,
              help="Keep the spectra of the existing OUTPUT and add SOURCES to them.")
@lenient_option
@click.option("--ms-level", type=click.IntRange(1, 10), default=None,
              help="MS level of spectra whose file does not say (1 for an EI library such as SWGDRUG).")
@click.option("--instrument-type", default=None,
              help="Instrument type of spectra whose file does not say, e.g. GC-EI-Q.")
@click.option("--structures-from", "structures_from", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="LIBRARY",
              help="Copy verified structures from another nps-id library to records with the "
                   "same full InChIKey (repeatable; a library failing its checks is refused, exit 4).")
@click.option("--structures-table", "structure_tables", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE",
              help="A lab's structure table (TSV/CSV with columns inchikey and smiles or inchi), "
                   "consulted by full InChIKey besides the tables shipped in libraries/ "
                   "(repeatable).")
def build(sources: tuple[Path, ...], output: Path, name: str, release: str, append: bool,
          lenient: bool, ms_level: int | None, instrument_type: str | None,
          structures_from: tuple[Path, ...], structure_tables: tuple[Path, ...]) -> None:
    """Build a library from spectrum files or folders (MSP, MGF, mzML, JCAMP-DX, ...).

    Spectra with fewer than two peaks or no intensity are rejected; with --lenient, malformed
    records (e.g. m/z <= 0, NaN) are rejected and counted instead of stopping the build.
    Duplicates (same InChIKey, or same name and formula with near-identical spectra) are
    reported, not removed. Missing InChIKeys are computed from SMILES/InChI.

    Every record gets a structure (SMILES, InChI) when one is found and verified: its own,
    one from --structures-from libraries and structure tables, or one OPSIN reads from its
    names (needs Java; skipped with a note without it). A structure is stored only when its
    InChIKey agrees with the record's. With --append and no SOURCES, only structures are added.
    """
    from datetime import date

    from nps_id.library import build_library
    from nps_id.library.structures import default_tables

    if not sources and not (append and output.exists()):
        raise click.UsageError("name at least one SOURCE (only --append onto an existing library "
                               "may add structures alone)")
    refuse_output_onto_inputs([output], [*sources, *structures_from, *structure_tables])
    if not (append and output.exists()):  # a new library: --append keeps an existing one's labels
        name = name or output.stem
        release = release or date.today().isoformat()
    summary = build_library(list(sources), output, name=name, release=release, append=append,
                            lenient=lenient, index_builder=_index_builder(),
                            defaults={k: v for k, v in (("ms_level", ms_level),
                                                        ("instrument_type", instrument_type)) if v},
                            structures_from=list(structures_from),
                            structure_tables=default_tables() + list(structure_tables))
    _print_summary(summary, output)


def _print_summary(summary: Any, output: Path) -> None:
    """What a build kept, rejected and found, per source."""
    from nps_id.spectrum import spectra_count

    for note in summary.notes:
        click.echo(f"note: {note}", err=True)
    if summary.previous_spectra:
        click.echo(f"kept {spectra_count(summary.previous_spectra)} already in {output}")
    width = max((len(Path(s.path).name) for s in summary.sources), default=6)
    if summary.sources:  # an --append of structures only reads no source: no table over no rows
        click.echo(f"{'source':<{width}}  {'format':<8} {'read':>7} {'kept':>7} {'rejected':>8}  reasons")
    for s in summary.sources:
        reasons = ", ".join(f"{r}: {c}" for r, c in s.rejected.most_common()) or "-"
        click.echo(f"{Path(s.path).name:<{width}}  {s.format:<8} {s.read:>7} {s.kept:>7} "
                   f"{s.n_rejected:>8}  {reasons}")
        if s.not_selected:
            click.echo(f"{'':<{width}}  {spectra_count(s.not_selected)} left out by the filter")
        if s.inchikey_filled:
            click.echo(f"{'':<{width}}  InChIKey computed for {spectra_count(s.inchikey_filled)}")
    keys = sum(d.kind == "inchikey" for d in summary.duplicates)
    click.echo(f"duplicates: {keys} InChIKeys with several spectra, "
               f"{summary.name_formula_pairs} near-identical name+formula pairs")
    shown = [d for d in summary.duplicates if d.kind == "name+formula"][:5]
    for dup in shown:
        click.echo(f"  {dup.key}: rows {dup.rows[0]} and {dup.rows[1]} (cosine {dup.cosine:.4f})")
    if summary.name_formula_pairs > len(shown):  # five listed of 1,295 read as if they were all
        click.echo(f"  ... and {summary.name_formula_pairs - len(shown)} more pairs, not listed")
    for step in summary.structures:  # --structures-from: say what each library gave, 0 included
        if step.step == "library":
            click.echo(f"structures from {step.origin}: {step.improved} records given one "
                       f"({step.tried} of its InChIKeys looked up, {step.rejected} refused)")
    if summary.structure_coverage:
        click.echo(f"structures: {_coverage_line(summary.structure_coverage)}")
    if summary.indexes:
        click.echo(f"indexes: {', '.join(summary.indexes)}")
    click.echo(f"wrote {output}: {spectra_count(summary.n_spectra)}, sha256 {summary.sha256}")


def _coverage_line(cover: dict[str, Any]) -> str:
    """``2554 of 2988 verified (85.5 %), 4 unverified; opsin 1782 (279 derivatives of a parent), ...``:
    a derivative, labelled standard or stereoisomer built from a parent structure that source gave."""
    from nps_id._words import counted

    n = cover["n_spectra"] or 1
    total: Counter = Counter()
    built: Counter = Counter()
    for kind, count in cover["by_source"].items():
        base = kind.split("+", 1)[0]
        total[base] += count
        built[base] += count if "+" in kind else 0
    by = ", ".join(f"{k} {v}" + (f" ({counted(built[k], 'derivative')} of a parent)" if built[k] else "")
                   for k, v in total.most_common()) or "none"
    return (f"{cover['verified']} of {cover['n_spectra']} verified ({100 * cover['verified'] / n:.1f} %), "
            f"{cover['unverified']} unverified; {by}")


def _instrument_type(recorded: str, ms_level: int) -> str:
    """The spectrum's instrument type; where its file did not say, what its MS level (read from the
    file or given with ``--ms-level``) does: every search reads an MS1 library spectrum as EI
    (SWGDRUG's MSP records name no instrument), an MS2 one as MS/MS."""
    if recorded:
        return recorded
    return {1: "EI (instrument type not recorded)", 2: "MS/MS (instrument type not recorded)"}.get(ms_level, "unknown")


def library_info(path: Path) -> dict[str, Any]:
    """The facts ``nps-id library info`` prints, as a JSON-ready dict."""
    from nps_id.library import open_verified
    from nps_id.library.structures import coverage

    with open_verified(path) as lib:
        levels = Counter(int(v) for v in lib.column("ms_level"))
        present = "structure_status" in lib.columns  # format 1.0 files have no structures
        empty = [""] * lib.n_spectra
        structures = coverage(lib.column("structure_source") if present else empty,
                              lib.column("structure_status") if present else empty)
        instruments = Counter(_instrument_type(str(t), int(level))
                              for t, level in zip(lib.column("instrument_type"), lib.column("ms_level")))
        sources = Counter(str(v) for v in lib.column("source"))
        return {
            "path": str(path),
            "size_bytes": path.stat().st_size,
            **{k: lib.info[k] for k in ("name", "release", "created", "software_version",
                                        "format", "format_version") if k in lib.info},
            "n_spectra": lib.n_spectra,
            "sha256": lib.sha256,
            "ms_level": {("unknown" if k == 0 else f"MS{k}"): n for k, n in sorted(levels.items())},
            "instrument_type": dict(instruments.most_common()),
            "source": dict(sources.most_common()),
            "provenance": lib.provenance(),
            "indexes": lib.index_names(),
            "columns": list(lib.columns),
            "structures": {**structures, "steps": lib.structure_provenance()},
        }


@library.command(
    "info",
    epilog="""\b
Examples:
  nps-id library info swgdrug.h5
  nps-id library info massbank.h5 --json | jq .sha256
""",
)
@click.argument("library_path", metavar="LIBRARY", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(library_path: Path, as_json: bool) -> None:
    """Show what a library holds: counts by MS level, instrument and source; size; hash."""
    facts = library_info(library_path)
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    click.echo(f"library   {facts['path']} ({facts['size_bytes'] / 1e6:.1f} MB)")
    click.echo(f"name      {facts.get('name', '')}  release {facts.get('release', '')}")
    click.echo(f"created   {facts.get('created', '')} by nps-id {facts.get('software_version', '')}"
               f" (format {facts.get('format_version', '')})")
    click.echo(f"spectra   {facts['n_spectra']}")
    click.echo(f"sha256    {facts['sha256']}")
    for title in ("ms_level", "instrument_type", "source"):
        counts = facts[title]
        shown = list(counts.items())[:10]
        more = f", ... ({len(counts) - 10} more)" if len(counts) > 10 else ""
        click.echo(f"{title:<16}" + ", ".join(f"{k}: {v}" for k, v in shown) + more)
    click.echo(f"structures {_coverage_line(facts['structures'])}")
    click.echo(f"indexes   {', '.join(facts['indexes']) or 'none'}")


@library.command(
    "validate",
    epilog="""\b
Examples:
  nps-id library validate swgdrug.h5
  nps-id library validate massbank.h5 || echo "library damaged: rebuild it"
""",
)
@click.argument("library_path", metavar="LIBRARY", type=click.Path(path_type=Path, dir_okay=False))
def validate(library_path: Path) -> None:
    """Check every checksum and invariant and recompute the content hash (exit 4 if bad)."""
    from nps_id.library import validate_library
    from nps_id._words import counted
    from nps_id.spectrum import spectra_count

    result = validate_library(library_path)
    click.echo(f"OK {result.path}: {spectra_count(result.n_spectra)}, {counted(result.n_peaks, 'peak')}, "
               f"{counted(result.n_columns, 'metadata column')}, sha256 {result.sha256}")


@library.command(
    "export",
    epilog="""\b
Examples:
  nps-id library export swgdrug.h5 -o swgdrug.msp
  nps-id library export massbank.h5 -o massbank.mgf
  nps-id library export swgdrug.h5 -o swgdrug.mzML.gz
""",
)
@click.argument("library_path", metavar="LIBRARY", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output file: .msp, .mgf or .mzML (optionally .gz).")
def export(library_path: Path, output: Path) -> None:
    """Write a library's spectra to MSP, MGF or mzML (everything the format can hold)."""
    from nps_id.library import export_library
    from nps_id.spectrum import spectra_count

    refuse_output_onto_inputs([output], [library_path])
    n = export_library(library_path, output)
    # its output is only the file: where it went is a diagnostic, on stderr (as `convert`; stdout until stop 32)
    click.echo(f"wrote {spectra_count(n)} to {output}", err=True)


@library.command(
    "fetch",
    epilog="""\b
Examples:
  nps-id library fetch --list
  nps-id library fetch massbank-ei                      # into the default library location
  nps-id library fetch massbank-ms2 -o massbank-ms2.h5 --mirror /srv/mirror/massbank
""",
)
@click.argument("name", required=False)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              show_default="the default library location",
              help="Library file to write (.h5); replaced atomically.")
@click.option("--mirror", default=None, metavar="URL|DIR",
              help="Take the file from this folder or base URL instead of the catalogue URL.")
@click.option("--catalogue", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, show_default="libraries/catalogue.toml or $NPS_ID_CATALOGUE",
              help="Catalogue of public libraries.")
@click.option("--list", "list_only", is_flag=True, help="List the catalogue and exit.")
def fetch(name: str | None, output: Path | None, mirror: str | None, catalogue: Path | None,
          list_only: bool) -> None:
    """Download a public library from the catalogue and build it.

    Downloads resume where an interrupted one stopped; a file whose SHA-256 differs from the
    catalogue's pinned value is refused. The file's SHA-256 and URL are recorded in the
    library's provenance. Nothing is written unless the whole download and build succeed.
    """
    from nps_id.library.fetch import fetch_library, load_catalogue

    entries = load_catalogue(catalogue)
    if list_only or name is None:
        for entry in entries.values():
            click.echo(f"{entry.name:<16} {entry.release:<26} {entry.description}")
            click.echo(f"{'':<16} licence: {entry.licence}")
        return
    if name not in entries:
        raise click.BadParameter(f"{name!r} is not in the catalogue ({', '.join(entries)})",
                                 param_hint="NAME")
    output = output or default_library_path()
    bar = _download_bar()
    summary = fetch_library(entries[name], output, mirror=mirror, progress=bar,
                            index_builder=_index_builder())
    _print_summary(summary, output)


def _download_bar() -> Callable[[int, int | None], None] | None:
    """A progress callback drawing a bar on a terminal, else None (no noise in logs)."""
    import sys

    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int | None) -> None:
        text = f"{done / 1e6:8.1f} MB" + (f" of {total / 1e6:.1f} MB" if total else "")
        click.echo(f"\rdownloading {text}", err=True, nl=False)
        if total and done >= total:
            click.echo("", err=True)

    return show
