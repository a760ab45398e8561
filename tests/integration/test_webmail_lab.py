"""The webmail probe against the lab's webmail stand-in (lab/web/up, nginx on 127.0.30.1 by SNI).

Runs the way diagnose will: the registered probes plus webmail_probes(url), through
engine.run_checks, with the webmail checks only. Each fault vhost must yield exactly its codes
(lab/scenarios.tsv column 3), the control none of warning or worse.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from maildoctor.checks import all_checks
from maildoctor.engine import run_checks
from maildoctor.probes import all_probes
from maildoctor.probes.webmail import webmail_probes
from maildoctor.report import Report
from maildoctor.settings import Resolver, Settings

from .conftest import LAB_DIR, Lab

pytestmark = pytest.mark.lab


def _run(lab: Lab, url: str, *, ca: bool = True) -> Report:
    settings = Settings(
        resolvers=(Resolver(lab.resolver, lab.resolver_port),),
        allow_private=True,
        ca_file=Path(lab.ca_file) if ca else None,
        step_timeout=5.0,
    )
    checks = [c for c in all_checks() if c.area == "webmail"]
    return asyncio.run(
        run_checks(url, settings, checks, specs={**all_probes(), **webmail_probes(url)})
    )


def _problems(report: Report) -> set[str]:
    return {f.code for f in report.problems()}


def _scenario_codes(domain: str) -> set[str]:
    for line in (LAB_DIR / "scenarios.tsv").read_text().splitlines():
        if line.startswith(domain + "\t"):
            return {c.strip() for c in line.split("\t")[2].split(",")}
    raise AssertionError(f"{domain} not in lab/scenarios.tsv")


def test_the_control_is_clean(lab: Lab) -> None:
    report = _run(lab, "https://webmail.good.test/")
    assert [f.code for f in report.findings] == ["webmail.ok"]
    assert report.not_checked == ()
    ev = report.evidence["webmail.page"]
    assert ev.page.has_login_form
    assert ev.plain.status == 301 and ev.plain.location == "https://webmail.good.test/"
    names = {c.cookie.name: c.cookie for c in ev.cookies}
    assert names["roundcube_sessid"].secure and names["roundcube_sessid"].httponly
    assert names["roundcube_sessauth"].expired  # Roundcube-style deletion, not judged


def test_the_control_by_bare_name_and_by_http(lab: Lab) -> None:
    for url in ("webmail.good.test", "http://webmail.good.test/"):
        report = _run(lab, url)
        assert [f.code for f in report.findings] == ["webmail.ok"], url
    ev = _run(lab, "http://webmail.good.test/").evidence["webmail.page"]
    assert [h.fetch.status for h in ev.hops] == [301, 200]


@pytest.mark.parametrize(
    ("domain", "first"),
    [
        ("webmail-cookie.test", "webmail.cookie_rejected"),
        ("webmail-down.test", "webmail.server_error"),
        ("webmail-plain.test", "webmail.no_https_redirect"),
        ("webmail-expired.test", "webmail.cert_invalid"),
        ("webmail-loop.test", "webmail.redirect_loop"),
    ],
)
def test_fault_vhosts_yield_exactly_their_codes(lab: Lab, domain: str, first: str) -> None:
    report = _run(lab, f"https://webmail.{domain}/")
    codes = {f.code for f in report.findings}
    assert codes == _scenario_codes(domain)
    assert report.findings[0].code == first  # worst first: what diagnose names first
    assert "webmail-login" in report.findings[0].symptoms


def test_cookie_fault_names_both_cookies(lab: Lab) -> None:
    report = _run(lab, "https://webmail.webmail-cookie.test/")
    rejected = {f.subject: f for f in report.findings if f.code == "webmail.cookie_rejected"}
    assert set(rejected) == {"roundcube_sessid", "roundcube_cookies"}
    assert "SameSite=None without Secure" in rejected["roundcube_sessid"].cause
    assert "Domain=webmail.example.com" in rejected["roundcube_cookies"].cause
    mixed = next(f for f in report.findings if f.code == "webmail.mixed_content")
    assert "http://webmail.webmail-cookie.test/program/js/app.min.js" in mixed.evidence


def test_down_names_the_bad_gateway(lab: Lab) -> None:
    report = _run(lab, "https://webmail.webmail-down.test/")
    (f,) = report.findings
    assert f.code == "webmail.server_error" and "502" in f.title and "Bad Gateway" in f.cause


def test_without_the_lab_ca_the_certificate_is_untrusted(lab: Lab) -> None:
    report = _run(lab, "https://webmail.good.test/", ca=False)
    assert _problems(report) == {"webmail.cert_invalid"}
    assert "maildoctor lab root CA" in report.findings[0].title


def test_unknown_name_and_closed_port(lab: Lab) -> None:
    assert _problems(_run(lab, "https://webmail.nxdomain.test/")) == {"webmail.unreachable"}
    # mx.closed.test: the address exists, nothing listens on 443
    assert _problems(_run(lab, "https://mx.closed.test/")) == {"webmail.unreachable"}


def test_loop_is_caught_after_two_hops(lab: Lab) -> None:
    report = _run(lab, "https://webmail.webmail-loop.test/")
    ev = report.evidence["webmail.page"]
    assert [h.fetch.status for h in ev.hops] == [302, 302]
    assert ev.redirect_problem.startswith("redirect loop:")
