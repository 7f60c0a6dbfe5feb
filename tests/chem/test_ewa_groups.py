"""EWA substance groups on a hand-checked sample of real library entries.

Every expected value below was written from chemistry knowledge (the structure or the well-known
identity of the substance), not copied from the classifier's output. ``ANY`` marks an NPS status
that is debatable and therefore not asserted (the group still is).
"""
from __future__ import annotations

import gzip

import pytest

from nps_id.errors import InputError
from nps_id.chem.ewa_groups import classify, load_overrides, normalise_name, taxonomy_version
from tests.conftest import data_path

ANY = object()
SC, CATH, PEA = "synthetic_cannabinoids", "synthetic_cathinones", "phenethylamines"
PIP, TRYP = "piperazines", "tryptamines"
AI, KET, PLANT, OTHER, UNK = "aminoindanes", "ketamine_pcp", "plant_based", "other_substances", "unknown"
FENT, NITA, OPI, BZD = "fentanyl_analogues", "nitazenes", "other_opioids", "benzodiazepines"

# SWGDRUG 3.4 names (no structures in that library: classified from names and synonyms).
SWGDRUG_EXPECTED = [
    ("JWH-018", SC, None, True), ("AM2201", SC, None, True), ("UR-144", SC, None, True),
    ("XLR11", SC, None, True), ("PB-22", SC, None, True), ("5-Fluoro-PB-22", SC, None, True),
    ("AB-FUBINACA", SC, None, True), ("ADB-PINACA", SC, None, True), ("AB-PINACA", SC, None, True),
    ("MDMB-CHMINACA", SC, None, True), ("FDU-PB-22", SC, None, True), ("MAM2201", SC, None, True),
    ("EMB-FUBINACA", SC, None, True), ("AB-FUBICA", SC, None, True), ("5-Fluoro-MDMB-PICA", SC, None, True),
    ("ADB-BINACA", SC, None, True), ("MDMB-CHMICA", SC, None, True),
    (".alpha.-PVP", CATH, None, True), ("MPHP", CATH, None, True), ("4-Fluoro-.alpha.-PHP", CATH, None, True),
    ("4-MeO-.alpha.-PVP", CATH, None, True), ("Mephedrone", CATH, None, True), ("Methylone", CATH, None, True),
    ("Pentylone", CATH, None, True), ("Eutylone", CATH, None, True), ("Dimethylone", CATH, None, True),
    ("N-Ethylpentylone", CATH, None, True), ("Normephedrone", CATH, None, True),
    ("N-Propylcathinone", CATH, None, True), ("3-Methylmethcathinone", CATH, None, True),
    ("2C-B", PEA, None, True), ("2C-I", PEA, None, True), ("2C-E", PEA, None, True), ("DOB", PEA, None, True),
    ("DOC", PEA, None, True), ("25I-NBOMe", PEA, None, True), ("25C-NBOMe", PEA, None, True),
    ("5-APB", PEA, None, True), ("6-APB", PEA, None, True), ("5-MAPB", PEA, None, True),
    ("Bromo-DragonFLY", PEA, None, True), ("4-Methoxymethamphetamine", PEA, None, True),
    ("Metaescaline", PEA, None, True), ("3-Methylamphetamine", PEA, None, True),
    ("4-Fluoroamphetamine", PEA, None, True),
    ("Amphetamine", PEA, None, False), ("Methamphetamine", PEA, None, False), ("Ephedrine", PEA, None, False),
    ("1-Benzylpiperazine", PIP, None, True), ("1-(3-Chlorophenyl)piperazine", PIP, None, True),
    ("1-(4-Methoxyphenyl)piperazine", PIP, None, True), ("1-[3-(Trifluoromethyl)phenyl]piperazine", PIP, None, True),
    ("Methylbenzylpiperazine", PIP, None, True),
    ("4-Methoxy-DMT", TRYP, None, True), ("5-Methoxy-N,N-Diisopropyltryptamine", TRYP, None, True),
    ("N,N-Dipropyltryptamine", TRYP, None, True), ("4-Hydroxy-N-methyl-N-ethyltryptamine", TRYP, None, True),
    ("5-Methoxy-N,N-Dimethyltryptamine", TRYP, None, True), ("Psilocin", TRYP, None, False),
    ("2-Aminoindane", AI, None, True), ("MDAI", AI, None, True), ("5-Iodo-2-aminoindan", AI, None, True),
    ("Ketamine", KET, None, True), ("Methoxetamine", KET, None, True), ("Deschloroketamine", KET, None, True),
    ("Deschloro-N-ethyl-ketamine", KET, None, True), ("2-Methoxy-ketamine", KET, None, True),
    ("Phencyclidine", KET, None, False), ("Eticyclidine", KET, None, False),
    ("Mitragynine", PLANT, None, True), ("Salvinorin A", PLANT, None, True),
    ("2-Furanyl fentanyl", OTHER, FENT, True), ("Acetyl fentanyl", OTHER, FENT, True),
    ("Butyryl fentanyl", OTHER, FENT, True), ("Carfentanil", OTHER, FENT, True),
    ("3-Methylfentanyl", OTHER, FENT, True), ("Cyclopropyl fentanyl", OTHER, FENT, True),
    ("ortho-Methyl Acrylfentanyl", OTHER, FENT, True), ("Valeryl Fentanyl", OTHER, FENT, True),
    ("Fentanyl", OTHER, FENT, False),
    ("U-47700", OTHER, OPI, True), ("MT-45", OTHER, OPI, True), ("O-Desmethyltramadol", OTHER, OPI, True),
    ("Tramadol", OTHER, OPI, False), ("Heroin", OTHER, OPI, False), ("Morphine", OTHER, OPI, False),
    ("Flubromazepam", OTHER, BZD, True), ("Etizolam", OTHER, BZD, True), ("Phenazepam", OTHER, BZD, True),
    ("Diclazepam", OTHER, BZD, True), ("Pyrazolam", OTHER, BZD, True), ("Flubromazolam", OTHER, BZD, True),
    ("Clonazolam", OTHER, BZD, True), ("Flualprazolam", OTHER, BZD, True), ("Meclonazepam", OTHER, BZD, True),
    ("Deschloroetizolam", OTHER, BZD, True), ("Flunitrazolam", OTHER, BZD, True),
    ("Diazepam", OTHER, BZD, False), ("Alprazolam", OTHER, BZD, False), ("Clobazam", OTHER, BZD, False),
    ("Bupivacaine", OTHER, None, False), ("Lidocaine", OTHER, None, False), ("Caffeine", OTHER, None, False),
    ("Cocaine", OTHER, None, False), ("Levamisole", OTHER, None, False), ("Procaine", OTHER, None, False),
    ("Phenacetin", OTHER, None, False), ("Ibuprofen", OTHER, None, False), ("Piracetam", OTHER, None, False),
    ("Epiandrosterone", OTHER, "anabolic_steroids", False), ("Sildenafil", UNK, None, None),
    ("Testosterone", OTHER, "anabolic_steroids", False),
]

# MassBank 2025.05.1 records (accession, name as stored) with SMILES: classified from structure.
# motif: True when the group must be found from the structure alone (no name given).
MASSBANK_EXPECTED = [
    ("MSBNK-Eawag-EA281901", "1-(3-(Trifluoromethyl)phenyl)piperazine", PIP, None, True, True),
    ("MSBNK-Athens_Univ-AU169406", "1-Benzylpiperazine", PIP, None, True, True),
    ("MSBNK-Eawag-EQ347001", "ortho-Chlorophenylpiperazine", PIP, None, True, True),
    ("MSBNK-Eawag-EQ360601", "3,4-Methylenedioxy-N-ethylamphetamine (MDEA)", PEA, None, False, True),
    ("MSBNK-Eawag-EQ361301", "3,4-Methylenedioxy-N-methylamphetamine (MDMA)", PEA, None, False, True),
    ("MSBNK-Eawag-EQ371501", "3,4-Methylenedioxyamphetamine (MDA)", PEA, None, False, True),
    ("MSBNK-Eawag-EQ01087201", "4-Hydroxyamphetamine", PEA, None, False, True),
    ("MSBNK-Fac_Eng_Univ_Tokyo-JP003736", "4-HYDROXY-N,N-DIMETHYLTRYPTAMINE PSILOCIN", TRYP, None, False, True),
    ("MSBNK-Keio_Univ-KO003502", "5-Methoxy-N,N-dimethyltryptamine", TRYP, None, True, True),
    ("MSBNK-Fac_Eng_Univ_Tokyo-JP003741", "N,N-DIMETHYLTRYPTAMINE", TRYP, None, False, True),
    ("MSBNK-Fac_Eng_Univ_Tokyo-JP002803", "PSILOCYBIN", TRYP, None, False, True),
    ("MSBNK-Athens_Univ-AU157406", "6-Monoacetylmorphine", OTHER, OPI, False, True),
    ("MSBNK-RIKEN-PR301449", "7-Hydroxymitragynine", PLANT, None, True, True),
    ("MSBNK-RIKEN-PR301315", "Mitragynine", PLANT, None, True, True),
    ("MSBNK-Athens_Univ-AU157006", "Alprazolam", OTHER, BZD, False, True),
    ("MSBNK-Athens_Univ-AU154001", "Amphetamine", PEA, None, False, True),
    ("MSBNK-Athens_Univ-AU151506", "Bromazepam", OTHER, BZD, False, True),
    ("MSBNK-Eawag-EQ330501", "Bupivacaine", OTHER, None, False, False),
    ("MSBNK-Osaka_Univ-OUF00133", "Caffeine", OTHER, None, False, False),
    ("MSBNK-JEOL_Ltd-JEL00039", "Cocaine", OTHER, None, False, False),
    ("MSBNK-BAFG-CSL23111018629", "Clonazepam", OTHER, BZD, False, True),
    ("MSBNK-MSSJ-MSJ01577", "Clotiazepam", OTHER, BZD, False, True),
    ("MSBNK-Athens_Univ-AU162301", "Codeine", OTHER, OPI, False, True),
    ("MSBNK-CASMI_2016-SM856001", "Diazepam", OTHER, BZD, False, True),
    ("MSBNK-Univ_Connecticut-CO000166", "Ephedrine", PEA, None, False, True),
    ("MSBNK-Athens_Univ-AU154501", "Fentanyl", OTHER, FENT, False, True),
    ("MSBNK-Eawag-EQ368101", "Flunitrazepam", OTHER, BZD, False, True),
    ("MSBNK-Athens_Univ-AU170630", "JWH-018", SC, None, True, True),
    ("MSBNK-Athens_Univ-AU170401", "JWH-073", SC, None, True, True),
    ("MSBNK-Eawag-EA282601", "Ketamine", KET, None, True, True),
    ("MSBNK-Eawag-EA257201", "Lidocaine", OTHER, None, False, False),
    ("MSBNK-Eawag-EQ313801", "Lorazepam", OTHER, BZD, False, True),
    ("MSBNK-Athens_Univ-AU169606", "Mephedrone", CATH, None, True, True),
    ("MSBNK-Athens_Univ-AU156006", "Methamphetamine", PEA, None, False, True),
    ("MSBNK-Athens_Univ-AU155901", "Midazolam", OTHER, BZD, False, True),
    ("MSBNK-Fac_Eng_Univ_Tokyo-JP003089", "Morphine", OTHER, OPI, False, True),
    ("MSBNK-MSSJ-MSJ01654", "Nimetazepam", OTHER, BZD, False, True),
    ("MSBNK-Eawag-EQ361201", "Norfentanyl", OTHER, FENT, False, True),
    ("MSBNK-BAFG-CSL23111018501", "Phencyclidine", KET, None, False, True),
    ("MSBNK-Univ_Connecticut-CO000381", "Remifentanil", OTHER, FENT, False, True),
    ("MSBNK-Univ_Connecticut-CO000421", "Sufentanil", OTHER, FENT, False, True),
    ("MSBNK-Eawag-EA256701", "Tramadol", OTHER, OPI, False, True),
    ("MSBNK-MSSJ-MSJ01523", "Etizolam", OTHER, BZD, True, True),
    ("MSBNK-Eawag-EQ359301", "Clobazam", OTHER, BZD, False, True),
    ("MSBNK-Eawag-EQ361701", "Chlordiazepoxide", OTHER, BZD, False, True),
    ("MSBNK-Athens_Univ-AU160201", "Oxycodone", OTHER, OPI, False, True),
    ("MSBNK-Eawag-EQ333201", "Hydrocodone", OTHER, OPI, False, True),
    ("MSBNK-Athens_Univ-AU162801", "Methadone", OTHER, OPI, False, False),
    ("MSBNK-Eawag-EQ333101", "Meperidine", OTHER, OPI, False, False),
    ("MSBNK-Eawag-EQ01073701", "Naloxone", OTHER, OPI, False, True),
    ("MSBNK-Eawag-EA282401", "Dextromethorphan", OTHER, None, False, False),
    ("MSBNK-RIKEN-PR300831", "Harmine", OTHER, None, False, False),
    ("MSBNK-Eawag-EA285701", "Levamisole", OTHER, None, False, False),
    ("MSBNK-Eawag-EQ01072801", "Procaine", OTHER, None, False, False),
    ("MSBNK-RIKEN-PR010193", "Benzocaine", OTHER, None, False, False),
    ("MSBNK-ACES_SU-AS000197", "Paracetamol", OTHER, None, False, False),
    ("MSBNK-Eawag-EQ307601", "Piracetam", OTHER, None, False, False),
    ("MSBNK-RIKEN-PR301401", "Papaverine", OTHER, None, False, False),
    ("MSBNK-Eawag-EQ362901", "delta9-Tetrahydrocannabinol", OTHER, None, False, False),
    ("MSBNK-Osaka_Univ-OUF00478", "Tryptamine", TRYP, None, False, True),
    ("MSBNK-JEOL_Ltd-JEL00042", "Temazepam", OTHER, BZD, False, True),
    ("MSBNK-KWR-KW108301", "Oxazepam", OTHER, BZD, False, True),
    ("MSBNK-Eawag-EQ360851", "Nordiazepam", OTHER, BZD, False, True),
    ("MSBNK-MSSJ-MSJ01743", "Lormetazepam", OTHER, BZD, False, True),
    ("MSBNK-BAFG-CSL23111018937", "Norcocaine", OTHER, None, False, False),
    ("MSBNK-Fac_Eng_Univ_Tokyo-JP002812", "THEBAINE", OTHER, OPI, False, True),
    ("MSBNK-Athens_Univ-AU217801", "Dihydrocodeine", OTHER, OPI, False, True),
    ("MSBNK-Eawag-EQ333001", "Tetrazepam", OTHER, BZD, False, True),
    ("MSBNK-Eawag-EQ302201", "Medazepam", OTHER, BZD, False, True),
    ("MSBNK-MSSJ-MSJ01553", "Quazepam", OTHER, BZD, False, True),
    ("MSBNK-Eawag-EQ368301", "Nitrazepam", OTHER, BZD, False, True),
    ("MSBNK-Athens_Univ-AU163101", "Flurazepam", OTHER, BZD, False, True),
    ("MSBNK-Athens_Univ-AU154706", "Norephedrine", PEA, None, False, True),
    ("MSBNK-Keio_Univ-KO001379", "5-Methoxytryptamine", TRYP, None, ANY, True),
    ("MSBNK-Keio_Univ-KO003497", "Nw-Methyltryptamine", TRYP, None, ANY, True),
]

# Names from other libraries and seizure reports (SWGDRUG 3.4 has no nitazene).
OTHER_NAMES_EXPECTED = [
    ("Isotonitazene", OTHER, NITA, True), ("Metonitazene", OTHER, NITA, True),
    ("N-Pyrrolidino etonitazene", OTHER, NITA, True), ("Protonitazene", OTHER, NITA, True),
    ("Brorphine", OTHER, OPI, True), ("alpha-PHP", CATH, None, True), ("α-PHP", CATH, None, True),
    ("Bromazolam", OTHER, BZD, True), ("MDMB-4en-PINACA", SC, None, True), ("3-MeO-PCP", KET, None, True),
]


def test_sample_is_large_enough():
    assert len(SWGDRUG_EXPECTED) + len(MASSBANK_EXPECTED) >= 100


def _check(got, group, subclass, nps, label):
    assert (got.group, got.subclass) == (group, subclass), label
    if nps is not ANY:
        assert got.nps is nps, label


@pytest.fixture(scope="module")
def swgdrug_records() -> dict[str, tuple[list[str], str | None]]:
    """Name -> (synonyms, InChIKey) for every SWGDRUG 3.4 record."""
    records: dict[str, tuple[list[str], str | None]] = {}
    name = None
    with gzip.open(data_path("swgdrug", "SWGDRUG-3.4.msp.gz"), "rt", encoding="latin-1") as handle:
        for line in handle:
            key, _, value = line.rstrip("\r\n").partition(":")
            if key == "Name":
                name = value.strip()
                records[name] = ([], None)
            elif key == "Synon" and name:
                records[name][0].append(value.strip())
            elif key == "InChIKey" and name:
                records[name] = (records[name][0], value.strip())
    return records


@pytest.mark.parametrize("name,group,subclass,nps", SWGDRUG_EXPECTED, ids=[r[0] for r in SWGDRUG_EXPECTED])
def test_swgdrug_names(swgdrug_records, name, group, subclass, nps):
    assert name in swgdrug_records, f"{name} is not a SWGDRUG 3.4 name"
    synonyms, inchikey = swgdrug_records[name]
    _check(classify(name, synonyms, inchikey=inchikey), group, subclass, nps, name)


@pytest.fixture(scope="module")
def massbank_records() -> dict[str, dict[str, str]]:
    """Accession -> {name, smiles, inchikey} for the accessions of the sample."""
    wanted = {row[0] for row in MASSBANK_EXPECTED}
    found: dict[str, dict[str, str]] = {}
    for fname in ("ei-library.msp.gz", "ms2-library.msp.gz"):
        record: dict[str, str] = {}
        with gzip.open(data_path("massbank", fname), "rt", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(("Name:", "DB#:", "SMILES:", "InChIKey:")):
                    key, _, value = line.partition(":")
                    record[key] = value.strip()
                elif not line.strip():
                    if record.get("DB#") in wanted and "SMILES" in record:
                        found.setdefault(record["DB#"], record)
                    record = {}
    return found


@pytest.mark.parametrize("acc,name,group,subclass,nps,motif", MASSBANK_EXPECTED, ids=[r[1] for r in MASSBANK_EXPECTED])
def test_massbank_structures(massbank_records, acc, name, group, subclass, nps, motif):
    record = massbank_records[acc]
    assert record["Name"] == name
    got = classify(record["Name"], smiles=record["SMILES"], inchikey=record.get("InChIKey"))
    _check(got, group, subclass, nps, name)
    if motif:  # the structure alone, without any name, gives the same chemical group
        alone = classify(None, smiles=record["SMILES"])
        assert (alone.group, alone.subclass, alone.source) == (group, subclass, "structure"), name


@pytest.mark.parametrize("name,group,subclass,nps", OTHER_NAMES_EXPECTED, ids=[r[0] for r in OTHER_NAMES_EXPECTED])
def test_names_outside_swgdrug(name, group, subclass, nps):
    _check(classify(name), group, subclass, nps, name)


def test_structure_wins_over_a_misleading_name():
    # Flubromazepam drawn as SMILES but labelled with a non-informative code name.
    got = classify("Sample compound 7", smiles="O=C1CN=C(c2ccccc2F)c2cc(Br)ccc2N1")
    assert (got.group, got.subclass, got.source, got.nps) == (OTHER, BZD, "structure", True)


def test_unparsable_structure_falls_back_to_names():
    got = classify("Etizolam", smiles="this is not smiles")
    assert (got.subclass, got.source) == (BZD, "name")


def test_name_normalisation():
    assert normalise_name(" .alpha.-PVP ") == "alpha-pvp"
    assert normalise_name("α-PHP") == "alpha-php"


def test_taxonomy_version_is_recorded():
    assert classify("Etizolam").taxonomy_version == taxonomy_version() != ""


def test_override_by_name_and_inchikey(tmp_path):
    path = tmp_path / "lab.csv"
    path.write_text(
        "key,group,subclass,nps\n"
        "Bupivacaine,other_substances,,yes\n"
        "LEBVLXFERQHONN-UHFFFAOYSA-N,piperazines,,\n"
        "Ketamine,ketamine_pcp,,no\n",
        encoding="utf-8",
    )
    overrides = load_overrides(path)
    assert classify("Ketamine", overrides=overrides).nps is False
    by_name = classify("BUPIVACAINE", overrides=overrides)
    assert (by_name.source, by_name.nps) == ("override", True)
    by_key = classify("some name", inchikey="LEBVLXFERQHONN-UHFFFAOYSA-N", overrides=overrides)
    assert (by_key.group, by_key.source) == (PIP, "override")


def test_override_with_a_bad_group_names_file_and_line(tmp_path):
    path = tmp_path / "lab.csv"
    path.write_text("key,group\nEtizolam,benzodiazepines\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"lab.csv: line 2: unknown EWA group 'benzodiazepines'"):
        load_overrides(path)


def test_tag_a_whole_library(swgdrug_library):
    from nps_id.library import Library
    from nps_id.chem.ewa_groups import classify_library

    with Library.open(swgdrug_library) as lib:
        tags = classify_library(lib)
        names = [str(n) for n in lib.column("name")]
    assert len(tags) == 2988
    by_name = dict(zip(names, tags))
    assert (by_name["Flubromazepam"].subclass, by_name["Flubromazepam"].nps) == (BZD, True)
    assert (by_name[".alpha.-PVP"].group, by_name[".alpha.-PVP"].nps) == (CATH, True)
    assert by_name["Bupivacaine"].nps is False
    # SWGDRUG's own file has no structures; the library build verifies most from names and
    # the MassBank table (issue 14), so structure rules decide those records
    assert {t.source for t in tags} == {"name", "none", "structure"}


@pytest.mark.parametrize("name, smiles, group, subclass, effect", [
    ("1P-LSD", "CCC(=O)n1cc2c3c(cccc31)C1=CC(C(=O)N(CC)CC)CN(C)C1C2", OTHER, "lysergamides", "classic_hallucinogen"),
    ("gamma-Butyrolactone", "O=C1CCCO1", OTHER, "ghb_type", "sedative_hypnotic"),
    ("4-Fluoroethylphenidate", "CCOC(=O)C(c1ccc(F)cc1)C1CCCCN1", OTHER, "phenidates", "stimulant"),
    ("2C-B", "COc1cc(CCN)c(OC)cc1Br", PEA, None, "classic_hallucinogen"),
    ("Mephedrone", "CNC(C)C(=O)c1ccc(C)cc1", CATH, None, "stimulant"),
    ("Pentobarbital", "CCCC(C)C1(CC)C(=O)NC(=O)NC1=O", OTHER, "other_sedatives", "sedative_hypnotic"),
])
def test_structure_gives_group_subclass_and_effect(name, smiles, group, subclass, effect):
    got = classify(None, smiles=smiles)  # the structure alone decides
    assert (got.group, got.subclass, got.effect) == (group, subclass, effect), name
    assert got.source == "structure"


def test_group_of_a_bare_smiles_and_of_a_set():
    from nps_id.chem.ewa_groups import classify_structures

    cathinones = ["CNC(C)C(=O)c1ccc(C)cc1", "CCNC(C)C(=O)c1ccc(C)cc1", "CCCC(N1CCCC1)C(=O)c1ccccc1"]
    assert classify_structures(cathinones[:1]).group == CATH
    assert classify_structures(cathinones).group == CATH
    # a set that shares no group: their maximum common substructure decides (here nothing)
    assert classify_structures(["CNC(C)C(=O)c1ccccc1", "O=C1CCCO1"]).group == UNK


def test_ergolines_are_not_tryptamines_and_lysergic_acid_goes_with_the_lysergamides(swgdrug_library):
    """The ergoline ring holds an indole-3-ethylamine, which the tryptamine rule matched before any
    ergoline rule but the amides': SWGDRUG's lysergic acid ester and silyl derivatives (the name
    rule already called lysergic acid a lysergamide) and lysergol and pergolide (ergolines that are
    neither lysergamides nor tryptamine NPS: 'Other substances', no subclass)."""
    from nps_id.library import Library
    from nps_id.chem.ewa_groups import classify_library

    with Library.open(swgdrug_library) as lib:
        by_name = dict(zip([str(n) for n in lib.column("name")], classify_library(lib)))
    for name in ("Lysergic acid methyl ester", "Lysergic Acid TMS Derivative", "LSD", "1P-LSD"):
        assert (by_name[name].group, by_name[name].subclass, by_name[name].source) == (OTHER, "lysergamides",
                                                                                       "structure"), name
    for name in ("Lysergol", "Pergolide"):
        assert (by_name[name].group, by_name[name].subclass, by_name[name].source) == (OTHER, None, "structure"), name
    for name in ("5-Methoxy-N,N-Diisopropyltryptamine", "Psilocin"):  # plain tryptamines keep their group
        assert (by_name[name].group, by_name[name].source) == (TRYP, "structure"), name


def test_phenibut_type_structures_and_their_lactams_are_other_sedatives(swgdrug_library):
    """SWGDRUG's phenibut and its GC lactam by structure (the lactam has no name rule: until stop 28
    it had no group, so a phenibut missing from the library was 'isomer not excluded' with the lactam
    and no suspected group); phenylpiracetam (an N-substituted 4-phenyl-2-pyrrolidinone, a racetam)
    is not one of them."""
    from nps_id.library import Library
    from nps_id.chem.ewa_groups import classify_library

    with Library.open(swgdrug_library) as lib:
        by_name = dict(zip([str(n) for n in lib.column("name")], classify_library(lib)))
    for name in ("Phenibut", "4-Phenyl-2-Pyrrolidinone"):
        assert (by_name[name].subclass, by_name[name].source) == ("other_sedatives", "structure"), name
    assert by_name["Phenylpiracetam"].subclass != "other_sedatives"
    rolipram = classify(None, smiles="COc1ccc(C2CNC(=O)C2)cc1OC1CCCC1")  # a 4-aryl-2-pyrrolidinone, no sedative
    assert rolipram.subclass != "other_sedatives"


def test_an_analytical_derivative_takes_its_drugs_group(swgdrug_library):
    """SWGDRUG's TFA, HFBA, TPC and silyl derivatives whose drug no name rule catches had no group
    (the structure rules read a basic amine or a free hydroxyl, which the derivatization capped):
    a derivative is its drug analysed after derivatization, so it takes the drug's group (stop 29).
    A derivative a rule already matches keeps it; a derivative of a compound of no group (a
    sugar, a medicine) stays of none; acetyl is not a derivatizing group here (melatonin is no
    tryptamine)."""
    from nps_id.library import Library
    from nps_id.chem.ewa_groups import classify_library

    with Library.open(swgdrug_library) as lib:
        by_name = dict(zip([str(n) for n in lib.column("name")], classify_library(lib)))
    for name, group in (("4-EMA TFA derivative", PEA), ("DOET-HFBA Derivative", PEA), ("Cathine TPC derivative", PEA),
                        ("bk-MPA TFA derivative", CATH), ("2-Methylmethcatinone-HFBA Derivative", CATH)):
        found = by_name[name]
        assert (found.group, found.source, found.rule.endswith("(derivative)")) == (group, "structure", True), name
    butanediol = by_name["1.4-Butanediol 2TMS derivative"]
    assert (butanediol.subclass, butanediol.effect) == ("ghb_type", by_name["1,4-Butanediol"].effect)
    assert by_name["Methylnaphthidate-TFA"].subclass == "phenidates"
    for name in ("Sucrose 8-TMS derivative", "N-acetyl-MMDMA"):
        assert by_name[name].group == UNK, name
    # a medicine's derivative is that medicine: no NPS group, as ibuprofen (taxonomy 2026.5)
    ibuprofen = by_name["Ibuprofen TMS derivative"]
    assert (ibuprofen.group, ibuprofen.subclass, ibuprofen.nps) == (OTHER, None, False)
    assert by_name["Fentanyl"].rule == "anilidopiperidine"  # a rule that matches the molecule decides
    assert classify(None, smiles="COc1ccc2[nH]cc(CCNC(C)=O)c2c1").group == UNK  # melatonin


def test_a_silyl_group_on_an_aromatic_nitrogen_gives_back_its_drug(swgdrug_library):
    """SWGDRUG's indole N-TMS derivatives (psilocin di-TMS, LSD TMS): the nitrogen the silyl group
    leaves needs its hydrogen back explicitly (an aromatic N takes no implicit one), else the ring
    could not be kekulized and the derivative had no drug (``underivatized`` gave None)."""
    from rdkit import Chem

    from nps_id.chem.derivatives import underivatized
    from nps_id.library import Library

    with Library.open(swgdrug_library) as lib:
        smiles = dict(zip([str(n) for n in lib.column("name")], [str(s) for s in lib.column("smiles")]))
    for derivative, drug in (("Psilocin di-TMS derivative", "Psilocin"), ("LSD TMS Derivative", "LSD")):
        parent = underivatized(Chem.MolFromSmiles(smiles[derivative]))
        assert parent is not None, derivative
        assert Chem.MolToInchiKey(parent) == Chem.MolToInchiKey(Chem.MolFromSmiles(smiles[drug])), derivative
    # a silyl group on nothing but a hydroxyl or an amine leaves no drug, and the reagent is none
    assert Chem.MolToSmiles(underivatized(Chem.MolFromSmiles("C[Si](C)(C)N[Si](C)(C)C"))) == "N"
    assert underivatized(Chem.MolFromSmiles("C[Si](C)(C)C")) is None  # no N, O or S: no derivative


def test_a_huge_hand_edited_structure_is_classified_in_bounded_time():
    """A results file's SMILES edited to 2,000 N-TMS units (12,001 heavy atoms): the search for
    derivatizing groups to remove took 19 s of the report (5,000 units: nearly 3 minutes). A
    structure that large is no drug's derivative; it is classified by its name, as it was."""
    import time

    from nps_id.chem.ewa_groups import classify

    start = time.perf_counter()
    found = classify("Flubromazepam", smiles="C" + "CN([Si](C)(C)C)" * 2000)
    assert time.perf_counter() - start < 5
    assert (found.group, found.subclass) == ("other_substances", "benzodiazepines")


def test_the_u_series_ah_7921_type_and_mt_45_are_other_opioids(swgdrug_library):
    """SWGDRUG's U-51754 and its analogues (aryl*acetamides* of trans-N,N-dimethylcyclohexane-1,2-diamine),
    U-48753E (an anilide on a cyclopentane), U-69,593 and the AH-7921 type (benzamides of
    1-(aminomethyl)-N,N-dimethylcyclohexylamine) had no group: the U-series rule asked for a benzamide;
    MT-45 (1-cyclohexyl-4-(1,2-diphenylethyl)piperazine), an opioid, was a dissociative by the
    diarylethylamine rule (taxonomy 2026.5)."""
    from nps_id.library import Library
    from nps_id.chem.ewa_groups import classify_library

    with Library.open(swgdrug_library) as lib:
        by_name = dict(zip([str(n) for n in lib.column("name")], classify_library(lib)))
    for name in ("U-51754", "4-Phenyl U-51754", "3,4-Ethylenedioxy U-51754", "U-48800", "U-48753E", "U-69,593",
                 "AH 7921", "AH 8529", "AH 7959", "MT-45", "MT-45-d11", "U-47700"):
        found = by_name[name]
        assert (found.subclass, found.nps, found.source) == ("other_opioids", True, "structure"), name
    assert by_name["Diphenidine"].group == "ketamine_pcp"  # the piperidine, not the piperazine


def test_coca_alkaloids_cocaine_by_products_and_their_derivatives_are_not_nps(swgdrug_library):
    """A cocaine seizure's alkaloids and by-products (tropacocaine, cinnamoylcocaines, the 3',4',5'-
    trimethoxy alkaloids, ecgonine and its methyl ester, anhydroecgonine methyl ester, cocaethylene)
    and their TMS derivatives are cocaine's chemistry, not NPS: no group, as cocaine (taxonomy
    2026.5). The cocaine analogues sold as NPS keep theirs."""
    from nps_id.library import Library
    from nps_id.chem.ewa_groups import classify_library

    with Library.open(swgdrug_library) as lib:
        by_name = dict(zip([str(n) for n in lib.column("name")], classify_library(lib)))
    for name in ("Tropacocaine", "cis-Cinnamoylcocaine", "trans-Cinnamoylcocaine", "3', 4', 5'-Trimethoxycocaine",
                 "Ecgonine", "Ecgonine Methyl Ester", "Anhydroecgonine methyl ester", "Cocaethylene",
                 "Methyl Ecgonine TMS Derivative", "Ecgonine diTMS Derivative", "Norcocaine TMS Derivative", "Cocaine"):
        found = by_name[name]
        assert (found.group, found.subclass, found.nps) == (OTHER, None, False), name
    for name in ("p-Fluorococaine", "4-Fluorotropacocaine", "Dichloropane"):
        assert (by_name[name].subclass, by_name[name].nps) == ("other_stimulants", True), name
    # an established drug's derivative is not an NPS either, and keeps its chemical group
    found = by_name["Methamphetamine TFA derivative"]
    assert (found.group, found.nps) == (PEA, False)


def test_amino_acids_and_azole_ethylamines_are_not_phenethylamines_or_tryptamines(swgdrug_library):
    """An alpha-amino acid carries the phenethylamine or tryptamine chain with a carboxyl on the
    amine's carbon (phenylalanine, levodopa, tryptophan): a nutrient or medicine, in no EWA group;
    an azole's ethylamine (betazole, histamine, histidine) is no phenethylamine either. The LC-MS/MS
    metabolite run exported L-phenylalanine and L-histidine to the EWA as NPS phenethylamines
    (taxonomy 2026.6). The series keep theirs: amphetamine, 5-APB, 5-IT, methiopropamine (a
    thiophene), the pyridine analogue of methamphetamine SWGDRUG holds, tryptamine."""
    from nps_id.library import Library
    from nps_id.chem.ewa_groups import classify_library

    with Library.open(swgdrug_library) as lib:
        by_name = dict(zip([str(n) for n in lib.column("name")], classify_library(lib)))
    for name in ("Phenylalanine", "Levodopa", "Methyldopa", "Betazole", "N-methyl-3,4-methylenedioxyphenylalanine"):
        assert (by_name[name].group, by_name[name].source) == (UNK, "none"), name
    for name in ("Amphetamine", "5-APB", "5-IT", "Methiopropamine", "N-Methyl-1-(6-methylpyridin-2-yl)propan-2-amine"):
        assert (by_name[name].group, by_name[name].source) == (PEA, "structure"), name
    assert (by_name["Tryptamine"].group, by_name["Tryptamine"].source) == (TRYP, "structure")
    for smiles in ("N[C@@H](Cc1c[nH]c2ccccc12)C(=O)O", "N[C@@H](Cc1ccc(O)cc1)C(=O)O", "NCCc1c[nH]cn1"):
        assert classify(None, smiles=smiles).group == UNK, smiles  # L-tryptophan, L-tyrosine, histamine


def test_medicines_and_endogenous_compounds_of_a_series_skeleton_are_in_no_group(swgdrug_library):
    """Taxonomy 2026.7: the steroid rule filed every steroid skeleton as an anabolic steroid
    (corticosteroids, estrogens, progesterone, sterols), the diazepine rules took the dibenzo- and
    thienobenzodiazepine antipsychotics, and the phenethylamine rule the beta-adrenergic
    phenylethanolamines: medicines and endogenous compounds in no EWA group, which a suspected new
    substance among them was exported under. Each series keeps its drugs and designer drugs."""
    from nps_id.library import Library
    from nps_id.chem.ewa_groups import classify_library

    with Library.open(swgdrug_library) as lib:
        by_name = dict(zip([str(n) for n in lib.column("name")], classify_library(lib)))
    for name in ("Cortisone", "Dexamethasone", "Triamcinolone Acetonide", "Progesterone", "Pregnanetriol",
                 "Estradiol", "Ethinyl estradiol", "Mestranol", "Cholesterol", "Campesterol", "Diosgenin",
                 "Spironolactone", "Clozapine", "Olanzapine", "Sotalol", "Albuterol", "Clenbuterol", "Bambuterol"):
        assert (by_name[name].group, by_name[name].source) == (UNK, "structure"), name
    for name in ("Testosterone", "Testosterone Undecanoate", "Nandrolone Decanoate", "Stanozolol", "Trenbolone",
                 "Tetrahydrogestrinone", "Norbolethone", "Desoxymethyltestosterone", "Methasterone",
                 "Dehydroisoandrosterone", "5-Androstenediol di-TMS Derivative", "Oxandrolone"):
        assert by_name[name].subclass == "anabolic_steroids", name
    for name in ("Etizolam", "Deschloroetizolam", "Flubromazepam", "Flubromazolam", "Alprazolam", "Clobazam",
                 "Bentazepam"):
        assert by_name[name].subclass == BZD, name
    for name in ("2C-B", "Ephedrine", "Methylephedrine", "4-Methylephedrine", "Methylsynephrine",
                 "3,4-Methylenedioxyephedrine", "N-Ethyl-2C-B"):
        assert by_name[name].group == PEA, name
    # MassBank MS/MS's nevirapine (a dipyridodiazepinone) and dobutamine (an N-arylbutyl dopamine)
    for smiles in ("Cc1ccnc2c1NC(=O)c1cccnc1N2C1CC1", "CC(CCc1ccc(O)cc1)NCCc1ccc(O)c(O)c1"):
        assert classify(None, smiles=smiles).group == UNK, smiles


def test_drug_records_the_rules_missed_are_in_their_series(swgdrug_library):
    """Taxonomy 2026.8: SWGDRUG records of a series that no rule reached had no group, so when
    left out they counted as 'a group named for a compound of none' and, as neighbours, voted for
    none: the prodines (4-acyloxy-4-phenylpiperidines, pethidine's reversed esters), LAAM (a
    methadol ester), dromostanolone propionate and ethyltolylbarbituric acid (no structure, names
    spelled past the rules), 5-MeO-MALT, the 2-phenylmorpholines substituted on C-5 or C-6, and the
    PTI indolylthiazoles under their long names (PTI-1 and PTI-2 had their group by name only)."""
    from nps_id.library import Library
    from nps_id.chem.ewa_groups import classify_library

    with Library.open(swgdrug_library) as lib:
        by_name = dict(zip([str(n) for n in lib.column("name")], classify_library(lib)))
    expected = {
        "Alphaprodine": ("other_opioids", False), "1-Methyl-4-phenyl-4-propionoxypiperidine": ("other_opioids", True),
        "Levo-.alpha.-acetylmethadol": ("other_opioids", False), "Dromostanolone Propionate": ("anabolic_steroids", False),
        "Ethyltolylbarbituric acid": ("other_sedatives", True), "3,6-DMPM": ("other_stimulants", True),
        "5-Methyl-2-phenylmorpholine": ("other_stimulants", True),
    }
    for name, (subclass, nps) in expected.items():
        assert (by_name[name].group, by_name[name].subclass, by_name[name].nps) == (OTHER, subclass, nps), name
    assert (by_name["5-MeO-MALT"].group, by_name["5-MeO-MALT"].nps) == (TRYP, True)
    for name in ("N,N-Diethyl-2-(1-pentyl-1H-indol-3-yl)-4-thiazol-methanamine", "PTI-1", "PTI-2",
                 "N-(2-Methoxyethyl)-N-(1-methylethyl)-2-(1-pentyl-1H-indol-3-yl)-4-thiazol-methanamine"):
        assert by_name[name].group == SC, name
    # the series around them keep theirs; a 2-arylmorpholine's ring stays the phenmetrazines'
    assert by_name["Meperidine"].subclass == "other_opioids" and by_name["Phenmetrazine"].subclass == "other_stimulants"
    assert classify(None, smiles="CC1COC(CN1)c1ccccc1").subclass == "other_stimulants"  # 5-methyl-2-phenylmorpholine
    assert classify(None, smiles="C1COCC(N1)c1ccccc1").group == UNK  # 3-phenylmorpholine: the aryl beside N, not O


def test_every_group_a_new_substance_can_be_given_has_the_effect_group_its_members_share():
    # A suspected new substance's EWA row is filed under its suspected group (a group or subclass
    # label the group models name); its effect group was always empty, so a suspected new
    # barbiturate had no "Sedatives/hypnotics" (stop 35).
    from nps_id.chem.ewa_groups import effect_label_of, load_taxonomy
    from nps_id.match.group_model import shipped_group_model

    taxonomy = load_taxonomy()
    labels = {label for kind in ("ei", "ms2") for label in shipped_group_model(kind).labels if label}
    assert labels <= {e["label"] for e in [*taxonomy["subclasses"].values(), *taxonomy["groups"].values()]}
    effects = {label: effect_label_of(label) for label in labels}
    assert effects["Other sedatives/hypnotics (barbiturates, Z-drugs, quinazolinones, carbamates)"] == \
        "Sedatives/hypnotics" == classify("Phenobarbital").effect_label
    assert effects["Benzodiazepines"] == "Sedatives/hypnotics"
    assert effects["Fentanyl analogues"] == effects["Other opioids"] == "Synthetic opioids"
    assert effects["Synthetic cathinones"] == effects["Piperazines"] == "Stimulants"
    assert effects["Tryptamines"] == effects["Lysergamides"] == "Classic hallucinogens"
    assert effects["Ketamine- and phencyclidine-type substances"] == "Dissociatives"
    # none where the EWA gives none (plant-based: UNODC leaves them out of its effect groups), and
    # none where the group's members differ: a new phenethylamine may be a 2C (classic hallucinogen)
    assert effects["Plant-based substances"] is effects["Other substances"] is effects["Anabolic steroids"] is None
    assert effects["Phenethylamines"] is None
    assert classify("2C-B").effect_label == "Classic hallucinogens" != classify("4-Fluoroamphetamine").effect_label
    assert effect_label_of("Unknown (not classified)") is effect_label_of(None) is None


def test_endogenous_phenethylamines_keep_their_group_but_are_no_nps():
    """Tyramine, dopamine and the catecholamines, trace amines and supplement amines are in the
    phenethylamines' series but no new substance: tyramine's isomer rule read "it may be a new
    substance" in `nps-id search` of the MassBank EI identity queries (stop 37), the one hit of 347."""
    for name, smiles, key in (("Tyramine", "NCCc1ccc(O)cc1", "DZGWFCGJZKJUFP-UHFFFAOYSA-N"),
                              ("Dopamine HCl", "NCCc1ccc(O)c(O)c1", "VYFYYTLLBUKUHU-UHFFFAOYSA-N"),
                              ("Noradrenaline", "NC[C@H](O)c1ccc(O)c(O)c1", "SFLSHLFXELFNJZ-QMMMGPOBSA-N"),
                              (None, "CN(C)CCc1ccc(O)cc1", "KUBCEEMXQZUPDQ-UHFFFAOYSA-N")):  # hordenine, by key
        found = classify(name, smiles=smiles, inchikey=key)
        assert (found.group, found.nps) == ("phenethylamines", False), name
    assert classify("2C-B", smiles="COc1cc(CCN)c(OC)cc1Br").nps is True  # the series' NPS stay NPS


@pytest.mark.parametrize("named, chemical", [
    ("MCHB-1", "1-(Cyclohexylmethyl)-2-[(4-ethoxyphenyl)methyl]-N,N-diethyl-1H-benzimidazol-5-carboxamide"),
    ("Elemicine", "1,2,3-trimethoxy-5-(2-propenyl)benzene"),
])
def test_a_compounds_record_under_its_chemical_name_has_the_group_of_its_named_record(named, chemical):
    """SWGDRUG 3.4 holds these compounds twice (one InChIKey); until taxonomy 2026.10 the chemical name had no
    group, and the dev bench took it as the truth: MCHB-1 left out, named a synthetic cannabinoid at 0.984 by the
    group model, counted a wrong group."""
    assert classify(chemical).group == classify(named).group != "unknown"
    assert classify(chemical).nps is True
