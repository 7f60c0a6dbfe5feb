"""The run's notes in the analyst report: what ``nps-id match`` said about the run beside its findings.

``match`` writes them into the results (``notes``) and prints them on its terminal: scans it could not
match (no precursor m/z, no retention time), MS/MS scans scored at a unit-resolution fragment tolerance,
a blank not subtracted or the run being the blank itself, an alkane ladder that indexes nothing. Until
stop 48 the report left them out, so a chemist or a court reading it could not see that a run was scored
at 0.5 Da or that scans were skipped. The report document carries them per acquisition
(``acquisitions[].notes``); the HTML and the PDF show them, as written, under the acquisition.
"""
from __future__ import annotations

from typing import Any, Mapping

#: The heading above the notes (HTML and PDF alike).
NOTES_HEADING = "Notes of the analysis (as nps-id match wrote them)"
#: A note's most characters on a PDF page: one made of a long file name must not run under the footer.
PDF_NOTE_CHARACTERS = 600


def run_notes(doc: Mapping[str, Any]) -> list[str]:
    """Every acquisition's notes, in order; empty when match said nothing about the run and for report
    documents built before stop 48, which have no ``notes``."""
    return [note for acquisition in doc["acquisitions"] for note in acquisition.get("notes") or []]
