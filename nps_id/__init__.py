"""nps-id: forensic spectral identification of new psychoactive substances.

Entry points
------------
- :class:`nps_id.spectrum.Spectrum` -- the one spectrum model every module shares.
- :func:`nps_id.io.read` -- stream spectra from any supported file.
- ``nps-id`` -- the command line (:mod:`nps_id.cli`).
"""
from nps_id.spectrum import Spectrum

__version__ = "0.1.0"
__all__ = ["Spectrum", "__version__"]
