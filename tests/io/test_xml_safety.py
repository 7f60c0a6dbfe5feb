"""Hostile XML: entity expansion ("billion laughs") and external entities (XXE) are refused."""
from __future__ import annotations

import gzip
import io
import time

import pytest

from nps_id.errors import ReaderError
from nps_id.io import read as io_read
from nps_id.io._xml import safe_iterparse

SECRET = "TOP-SECRET-CASE-FILE-4711"

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE {root} [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n' for i in range(1, 10))
    + ']>\n<{root}><run id="&lol9;"/></{root}>\n'
)


def _xxe(root: str, secret_path) -> str:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret_path}">]>\n'
        f'<{root}><run id="&xxe;">&xxe;</run></{root}>\n'
    )


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.mark.parametrize("suffix,root", [(".mzML", "mzML"), (".mzXML", "mzXML")])
def test_billion_laughs_is_rejected_quickly_without_expansion(tmp_path, suffix, root):
    path = tmp_path / f"laughs{suffix}"
    path.write_text(BILLION_LAUGHS.format(root=root))
    start = time.perf_counter()
    with pytest.raises(ReaderError, match="DOCTYPE") as info:
        list(io_read(path))
    assert time.perf_counter() - start < 2.0
    assert "lollol" not in str(info.value)


@pytest.mark.parametrize("suffix,root", [(".mzML", "indexedmzML"), (".mzXML", "mzXML")])
def test_external_entity_is_rejected_and_leaks_nothing(tmp_path, secret, suffix, root):
    path = tmp_path / f"xxe{suffix}"
    path.write_text(_xxe(root, secret))
    with pytest.raises(ReaderError, match="refused for safety") as info:
        list(io_read(path))
    assert SECRET not in str(info.value)


def test_gzipped_hostile_file_is_rejected_too(tmp_path, secret):
    path = tmp_path / "xxe.mzML.gz"
    path.write_bytes(gzip.compress(_xxe("mzML", secret).encode()))
    with pytest.raises(ReaderError, match="DOCTYPE"):
        list(io_read(path))


def test_external_dtd_reference_is_rejected(tmp_path):
    path = tmp_path / "dtd.mzML"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE mzML SYSTEM "http://127.0.0.1:9/evil.dtd">\n<mzML/>\n')
    with pytest.raises(ReaderError, match="DOCTYPE"):
        list(io_read(path))


def test_doctype_behind_a_huge_prolog_is_found_by_the_parser(tmp_path):
    path = tmp_path / "padded.mzML"
    path.write_text('<?xml version="1.0"?>\n<!--' + "x" * (1 << 20) + '-->\n<!DOCTYPE mzML []>\n<mzML/>\n')
    with pytest.raises(ReaderError, match="declares a DTD"):
        list(io_read(path))


def test_the_parser_itself_does_not_resolve_entities(secret):
    # Second fence: even when the DOCTYPE check is bypassed, the parser leaves entities alone.
    document = (
        f'<?xml version="1.0"?>\n<!DOCTYPE mzML [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<mzML xmlns="x"><run>before &xxe; after</run></mzML>\n'
    ).encode()
    texts = ["".join(elem.itertext()) for _, elem in safe_iterparse(io.BytesIO(document), ("{x}run",))]
    assert texts and "before" in texts[0]
    assert SECRET not in "".join(texts)
