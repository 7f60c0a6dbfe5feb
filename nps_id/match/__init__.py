"""``nps-id match``: components or MS2 groups -> library search -> findings with verdicts.

Map
---
- :mod:`nps_id.match.pipeline` -- :func:`match_run` / :func:`match_files` (the results dict of
  ``docs/match.md``): a run read, sent down its GC or LC-MS/MS path, the standards applied.
- :mod:`nps_id.match.parameters` -- :class:`MatchParameters`; :mod:`nps_id.match.reference_library`
  -- :class:`ReferenceLibrary` (a library opened once for many runs).
- :mod:`nps_id.match.gc_run` / :mod:`nps_id.match.ms2_run` -- the GC-EI-MS path (components, blank
  subtraction, one finding per peak) and the LC-MS/MS path (MS2 groups, one finding per compound
  and elution, its other ions, unassigned features); :mod:`nps_id.match.findings_build` -- the
  search and the finding they share.
- :mod:`nps_id.match.standards` -- internal standards (``role``, per-run check) and reference
  standard runs (a finding's RT against the standard's).
- :mod:`nps_id.match.verdict` -- identified / tentative / inconclusive and the criteria behind them.
- :mod:`nps_id.match.group_model` -- the learned ``suspected_group`` of a spectrum no library
  compound explains (shipped ``group_model_ei.npz`` / ``group_model_ms2.npz``).
- :mod:`nps_id.match.results` -- the typed results (:class:`~nps_id.match.results.Finding`, its hits,
  the components), each with one serialiser, and the results JSON as written (for `match` and `batch`).
"""
