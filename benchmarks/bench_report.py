"""Time the report stages on a real results JSON, and the two ways to make the PDF side by side.

Usage::

    PYTHONPATH=. python benchmarks/bench_report.py RESULTS.match.json [--repeat 3]

Prints a table: building the report document (EWA classification, reference spectra from the
library, schema validation), rendering HTML, rendering the PDF with matplotlib (what nps-id
does) and printing the HTML to PDF with headless Chromium (the alternative), EWA and LIMS.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


def best_of(repeat: int, func) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from nps_id.report import render
    from nps_id.report.document import build_report
    from nps_id.report.inputs import load_document

    results = load_document(args.results)
    doc = build_report(results)
    render(doc, "html")  # warm up: imports matplotlib once, outside the timings
    rows = [
        ("build report document", best_of(args.repeat, lambda: build_report(results))),
        ("render HTML (inline SVG)", best_of(args.repeat, lambda: render(doc, "html"))),
        ("render PDF, matplotlib PdfPages", best_of(args.repeat, lambda: render(doc, "pdf"))),
        ("render EWA CSV + JSON", best_of(args.repeat, lambda: render(doc, "ewa"))),
        ("render LIMS CSV", best_of(args.repeat, lambda: render(doc, "csv"))),
    ]
    browser = shutil.which("chromium")
    if browser:
        with tempfile.TemporaryDirectory() as tmp:
            html = Path(tmp) / "report.html"
            html.write_bytes(render(doc, "html")[".html"])
            pdf = Path(tmp) / "report.pdf"
            command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                       f"--user-data-dir={tmp}/profile", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                       html.as_uri()]
            rows.append(("print HTML to PDF, headless Chromium",
                         best_of(args.repeat, lambda: subprocess.run(command, capture_output=True, check=True))))
    base = dict(rows)["render PDF, matplotlib PdfPages"]
    print(f"{args.results.name}: {len(doc['findings'])} findings")
    print(f"| stage | seconds (best of {args.repeat}) | vs matplotlib PDF |")
    print("|---|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {seconds / base:.2f}x |")


if __name__ == "__main__":
    main()
