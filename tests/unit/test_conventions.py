"""Project conventions that keep the layers honest (DESIGN.md, "Conventions")."""

import ast
from pathlib import Path

import pytest

from maildoctor.settings import parse_resolver
from maildoctor.targets import parse_domain

SRC = Path(__file__).resolve().parents[2] / "src/maildoctor"
PURE = [
    "report.py",
    "addresses.py",
    "targets.py",
    "catalogue",
    "checks",
    "evidence",
    "records",
    "protocols",
    "explain",
    "render",
    "symptoms.py",
    "message",
    "diagnose/menu.py",
]
IO_MODULES = (
    "socket",
    "ssl",
    "asyncio",
    "dns",
    "smtplib",
    "imaplib",
    "poplib",
    "http.client",
    "http.server",
    "urllib.request",
    "subprocess",
    "selectors",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _does_io(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in IO_MODULES)


@pytest.mark.parametrize("part", PURE)
def test_pure_layers_do_no_io(part: str) -> None:
    target = SRC / part
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    for path in files:
        bad = {name for name in _imports(path) if _does_io(name)}
        assert not bad, f"{path.relative_to(SRC)} imports {bad}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8.8.8.8", "8.8.8.8"),
        ("127.0.53.53:5353", "127.0.53.53:5353"),
        ("[::1]:53", "::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:5300", "[2001:db8::1]:5300"),
    ],
)
def test_parse_resolver(text: str, expected: str) -> None:
    assert str(parse_resolver(text)) == expected


@pytest.mark.parametrize("bad", ["", "ns.example", "1.2.3.4:0", "[::1", "1.2.3.4:x", "[::1]x"])
def test_parse_resolver_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_resolver(bad)


def test_parse_domain() -> None:
    assert parse_domain("Example.COM.") == "example.com"
    assert parse_domain("bücher.example") == "xn--bcher-kva.example"
    for bad in ("localhost", "a..b", "-a.com", "a" * 64 + ".com", "http://x.com", "1.2.3.4", ""):
        with pytest.raises(ValueError):
            parse_domain(bad)
