"""LC-MS/MS runs: data-dependent MS2 scans and the MS1 evidence behind them.

Map
---
- :mod:`nps_id.lcms.groups` -- MS2 scans grouped by precursor and RT, merged into consensus spectra.
- :mod:`nps_id.lcms.features` -- MS1 evidence: extracted-ion chromatograms and their peaks, adduct
  m/z, mass errors, isotope patterns.
- :mod:`nps_id.lcms.isotopes` -- precursors that are another precursor's 13C peak (M+1), not a
  second compound.

What is done with them (search, verdicts, results) is :mod:`nps_id.match`.
"""
