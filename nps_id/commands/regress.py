"""``nps-id regress``: re-run a suite of reference runs and spectra; fail on any regression."""
from __future__ import annotations

import sys
from pathlib import Path

import click

EPILOG = """
\b
Examples:
  nps-id regress regress/shared-data.toml
  nps-id regress lab-suite.toml --junit regress-junit.xml
  NPS_ID_LIBRARY=/srv/libs/swgdrug.h5 nps-id regress lab-suite.toml -k LRCFS

\b
Exit codes: 0 every case passed, 1 a regression (a case failed),
            3 bad suite or input file (also: --junit onto an input), 4 bad or missing library.
"""


@click.command(epilog=EPILOG)
@click.argument("suite", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the results as JUnit XML (for CI systems).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where libraries built from the suite's 'build' sources are kept. "
                   "[default: $XDG_CACHE_HOME/nps-id/regress, else ~/.cache/nps-id/regress; "
                   "not $NPS_ID_CACHE, the search caches' folder]")
@click.option("-k", "--select", "selected", metavar="TEXT",
              help="Run only the cases whose name contains TEXT (case-insensitive).")
def regress(suite: Path, junit: Path | None, cache_dir: Path | None, selected: str | None) -> None:
    """Run a regression suite and print a pass/fail table.

    A suite (TOML, see docs/regress.md) lists runs with the substances each must show (verdict,
    minimum MF, RT window) or must not show, and spectrum files whose top search hits must be
    right at a minimum rate, with the libraries to use.
    """
    from dataclasses import replace

    from nps_id.errors import InputError
    from nps_id.commands.options import refuse_output_onto_inputs
    from nps_id.regress import exit_code, format_table, load_suite, run_suite, suite_inputs, write_junit

    loaded = load_suite(suite)
    refuse_output_onto_inputs([junit], suite_inputs(loaded))
    if selected:
        cases = tuple(c for c in loaded.cases if selected.casefold() in c.name.casefold())
        if not cases:
            raise InputError(f"{suite}: no case name contains {selected!r}")
        loaded = replace(loaded, cases=cases)
    # Progress on a terminal only, on one line rewritten per case and cleared before the table:
    # the table is the one listing of the results (it was printed twice, once case by case).
    live = sys.stderr.isatty()
    result = run_suite(loaded, cache_dir, on_case=(lambda c: click.echo(
        f"\r\x1b[K{c.status.upper():<6} {c.case.name}", nl=False, err=True)) if live else None,
        on_build=lambda spec, target: click.echo(
            f"building library {spec.key!r} from {', '.join(str(p) for p in spec.build)} "
            f"(once: kept in {target.parent})", err=True))
    if live:
        click.echo("\r\x1b[K", nl=False, err=True)
    click.echo(format_table(result))
    if junit is not None:
        # where an output went is a diagnostic: stdout holds the table only (stdout until stop 32)
        click.echo(f"JUnit XML: {write_junit(result, junit)}", err=True)
    code = exit_code(result)
    if code:
        click.get_current_context().exit(code)
