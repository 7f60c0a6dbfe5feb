"""``nps-id match``: components or MS2 groups -> library search -> findings with verdicts.

Map
---
- :mod:`nps_id.match.pipeline` -- :func:`match_run` / :func:`match_files` (the results dict of
  ``docs/match.md``), :class:`MatchParameters`, :class:`ReferenceLibrary`.
- :mod:`nps_id.match.standards` -- internal standards (``role``, per-run check) and reference
  standard runs (a finding's RT against the standard's).
- :mod:`nps_id.match.verdict` -- identified / tentative / inconclusive and the criteria behind them.
- :mod:`nps_id.match.group_model` -- the learned ``suspected_group`` of a spectrum no library
  compound explains (shipped ``group_model_ei.npz`` / ``group_model_ms2.npz``).
- :mod:`nps_id.match.results` -- the typed results (:class:`~nps_id.match.results.Finding`, its hits,
  the components), each with one serialiser, and the results JSON as written (for `match` and `batch`).
"""
