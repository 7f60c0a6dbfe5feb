"""GC-MS chromatography: from a raw run to components (LC-MS/MS runs: :mod:`nps_id.lcms`).

Map
---
- :mod:`nps_id.gcms.run` -- a run as a scans x nominal-m/z matrix (:func:`load_run`, TIC, EICs).
- :mod:`nps_id.gcms.peaks` -- baseline, noise, peak detection (:func:`detect_peaks`).
- :mod:`nps_id.gcms.deconvolution` -- AMDIS-style components (:func:`extract_components`) and
  blank subtraction.
- :mod:`nps_id.gcms.retention_index` -- van den Dool-Kratz retention indices from an alkane ladder.

What is done with them (search, verdicts, results) is :mod:`nps_id.match`.
"""
