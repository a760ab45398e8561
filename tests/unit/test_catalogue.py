import ast
from pathlib import Path

import pytest

from maildoctor import catalogue
from maildoctor.catalogue import CatalogueError, parse_area
from maildoctor.checks import all_checks
from maildoctor.report import SYMPTOMS, Severity

TESTS = Path(__file__).resolve().parents[1]


def test_catalogue_loads_and_every_entry_is_complete() -> None:
    cat = catalogue.load()
    assert len(cat) >= 10
    for code in cat:
        e = cat[code]
        assert e.title and e.cause and e.fix
        assert all(s in SYMPTOMS for s in e.symptoms)
        if e.severity.is_problem:
            assert e.references, f"{code}: a problem needs references"


def test_every_emitted_code_is_catalogued_and_every_catalogued_code_is_emitted() -> None:
    declared = set().union(*(c.codes for c in all_checks()))
    catalogued = set(catalogue.load())
    assert declared - catalogued == set(), "checks emit codes the catalogue lacks"
    assert catalogued - declared == set(), "catalogue holds codes no check emits"


def _test_strings() -> set[str]:
    found: set[str] = set()
    for path in TESTS.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_every_code_is_named_in_a_test() -> None:
    strings = _test_strings()
    untested = [code for code in catalogue.load() if code not in strings]
    assert untested == []


def test_finding_fills_placeholders_exactly() -> None:
    cat = catalogue.load()
    f = cat.finding("mx.null", subject="example.com", evidence="MX 0 .", domain="example.com")
    assert "MX  10 mail.example.com." in f.fix
    assert f.severity is Severity.WARNING and f.symptoms == ("cannot-receive",)
    with pytest.raises(CatalogueError, match="placeholders"):
        cat.finding("mx.null", subject="x", evidence="e")
    with pytest.raises(CatalogueError, match="placeholders"):
        cat.finding("mx.null", subject="x", evidence="e", domain="d", extra="no")
    with pytest.raises(CatalogueError, match="not in the catalogue"):
        cat.finding("mx.nonexistent", subject="x", evidence="e")


def test_severity_override() -> None:
    cat = catalogue.load()
    f = cat.finding(
        "mx.null", subject="x", evidence="e", severity=Severity.INFO, domain="example.com"
    )
    assert f.severity is Severity.INFO


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('["spf.x"]\nseverity="error"\ntitle="t"\ncause="c"\nfix="f"', "code must look like"),
        ('["mx.x"]\nseverity="bad"\ntitle="t"\ncause="c"\nfix="f"', "unknown severity"),
        ('["mx.x"]\nseverity="error"\ntitle="t"\ncause="c"', "fix must be"),
        (
            '["mx.x"]\nseverity="error"\ntitle="t"\ncause="c"\nfix="f"\nsymptoms=["slow"]',
            "symptoms",
        ),
        (
            '["mx.x"]\nseverity="error"\ntitle="t"\ncause="c"\nfix="f"\ncolour="red"',
            "unknown fields",
        ),
        ('["mx.x"\n', "mx.toml"),
    ],
)
def test_bad_catalogue_data_is_refused(text: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        parse_area("mx", text)


def test_reflow_joins_prose_and_keeps_literal_lines() -> None:
    from maildoctor.catalogue import reflow

    text = (
        "\nPublish the record, the one\nport 25 uses:\n"
        "  example.com. MX 10 mail.example.com.\n  mail IN A 192.0.2.1\n"
        "Then wait\nfor the TTL.\n\nNew paragraph.\n"
    )
    assert reflow(text) == (
        "Publish the record, the one port 25 uses:\n"
        "  example.com. MX 10 mail.example.com.\n"
        "  mail IN A 192.0.2.1\n"
        "Then wait for the TTL.\n\nNew paragraph."
    )
