"""The command group: every subcommand is listed, help stays light, errors map to exit codes."""
from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from nps_id.cli import COMMANDS, cli


def test_help_lists_every_command_without_heavy_imports():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from nps_id.cli import cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(result.output)\n"
        "print('HEAVY:', sorted(m for m in ('numba', 'h5py', 'rdkit', 'matplotlib', 'matchms') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for name in COMMANDS:
        assert f"  {name} " in out
    assert "HEAVY: []" in out


def test_python_dash_m_runs_the_same_cli():
    out = subprocess.run([sys.executable, "-m", "nps_id", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("nps-id, version")


def test_every_subcommand_help_shows_an_example():
    for name in COMMANDS:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert "nps-id" in result.output.split("Options:")[-1], f"{name} --help has no example"


def test_unreadable_file_is_one_line_and_exit_3(tmp_path):
    unknown = tmp_path / "notes.xyz"
    unknown.write_text("not a spectrum\n")
    result = CliRunner().invoke(cli, ["inspect", str(unknown)])
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nps-id: error: ") and "notes.xyz" in lines[0]
    assert "cannot tell the file format" in lines[0]


def test_debug_shows_the_traceback(tmp_path):
    unknown = tmp_path / "notes.xyz"
    unknown.write_text("not a spectrum\n")
    result = CliRunner().invoke(cli, ["--debug", "inspect", str(unknown)])
    assert result.exit_code != 0 and result.exception is not None
    assert type(result.exception).__name__ == "InputError"


def test_ctrl_c_exits_130_with_one_line_and_warnings_are_one_line(monkeypatch, tmp_path):
    import warnings

    from click.testing import CliRunner

    import nps_id.io
    from nps_id.cli import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(nps_id.io, "read", interrupted)  # as if Ctrl-C came while reading
    source = tmp_path / "x.msp"
    source.write_text("Name: x\nNum Peaks: 2\n10 1\n20 2\n")
    result = CliRunner().invoke(cli, ["inspect", str(source)])
    assert result.exit_code == 130 and result.output.strip() == "nps-id: interrupted"

    with warnings.catch_warnings():
        CliRunner().invoke(cli, ["--help"])  # the group callback installs the one-line form
        warnings.simplefilter("always")
        shown = []
        monkeypatch.setattr("click.echo", lambda text, err=False: shown.append((text, err)))
        warnings.warn("index cache not written")
        assert shown == [("nps-id: warning: index cache not written", True)]


def test_the_command_line_runs_the_cyclic_garbage_collector_rarely():
    # A search holds hundreds of thousands of long-lived objects (spectra, hits, library rows):
    # at Python's default thresholds the collector rescanned them ~770 times in a 9,670-query
    # search (0.4 s CPU of ~6 s); every 50,000 allocations it runs ~9 times, in the same memory.
    code = (
        "import gc, sys\n"
        "from nps_id.cli import main\n"
        "sys.argv = ['nps-id', '--version']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('THRESHOLD', gc.get_threshold()[0], gc.isenabled())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    threshold, enabled = out.split("THRESHOLD ")[1].split()
    assert int(threshold) >= 10_000 and enabled == "True"  # rarer, never off: a batch may run for hours


def _every_command(group, ctx, path=()):
    """(command words, click command, its context) for every leaf command below ``group``."""
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        sub = click.Context(command, info_name=name, parent=ctx)
        if isinstance(command, click.Group):
            yield from _every_command(command, sub, (*path, name))
        else:
            yield (*path, name), command, sub


def test_every_option_help_states_one_default():
    # `batch --help` said "-j, --workers: Local worker processes (default: all cores).  [default: 2; x>=1]":
    # the prose default and click's, computed on the machine that imported the module, disagreed
    root = click.Context(cli, info_name="nps-id", **cli.context_settings)
    helps = {(*words, record[0]): record[1]
             for words, command, ctx in _every_command(cli, root)
             for param in command.get_params(ctx) if (record := param.get_help_record(ctx))}
    assert len(helps) > 100
    assert {key: text for key, text in helps.items() if text.lower().count("default:") > 1} == {}
    assert helps[("batch", "-j, --workers INTEGER RANGE")].endswith("[default: (all usable cores); x>=1]")
    # `search --threads` said "all cores" beside batch's "all usable cores"; both take usable_cores()
    # (the process's CPU affinity), and both help texts say what "usable" means
    for option in (("batch", "-j, --workers INTEGER RANGE"), ("search", "--threads INTEGER RANGE")):
        assert helps[option].endswith("[default: (all usable cores); x>=1]"), helps[option]
        assert "those this process may run on (its CPU affinity)" in helps[option]


def test_every_readme_section_a_help_text_names_is_a_readme_heading():
    # `report --help` sent a user to README.md, "Reports": the heading is "Reports and early-warning
    # export", and a reader searching the headings for "Reports" alone found none
    import re
    from pathlib import Path

    headings = {line.lstrip("#").strip() for line in
                (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("#")}
    root = click.Context(cli, info_name="nps-id", **cli.context_settings)
    named = {(words, section) for words, command, ctx in _every_command(cli, root)
             for section in re.findall(r'README\.md, "([^"]+)"', " ".join(command.get_help(ctx).split()))}
    assert (("report",), "Reports and early-warning export") in named
    assert {(words, section) for words, section in named if section not in headings} == set()
