"""LC-MS/MS runs: data-dependent MS2 scans and the MS1 evidence behind them.

Map
---
- :mod:`nps_id.lcms.groups` -- MS2 scans grouped by precursor and RT, merged into consensus spectra.

What is done with them (search, verdicts, results) is :mod:`nps_id.match`.
"""
