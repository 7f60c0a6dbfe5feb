"""Chemistry on library structures (RDKit): isomers a mass spectrum may not tell apart.

Entry points: :mod:`nps_id.chem.isomers` (:func:`~nps_id.chem.isomers.enumerate_isomers`).
"""
