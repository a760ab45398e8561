"""Client autoconfiguration: the XML parsers and checks/autoconfig.py on hand-built evidence."""

from __future__ import annotations

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.autoconfig import autoconfig
from maildoctor.evidence.autoconfig import (
    SRV_SERVICES,
    AutoconfigEvidence,
    HostLookup,
    WebEndpoint,
    parse_srv,
)
from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.evidence.http import FetchError, HttpFetch
from maildoctor.probes.autoconfig import _split_url
from maildoctor.records.autoconfig import parse_autodiscover, parse_thunderbird
from maildoctor.report import Finding, NotChecked, Severity
from maildoctor.settings import Settings

D = "example.com"

THUNDERBIRD = """<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="example.com">
  <incomingServer type="imap"><hostname>Mail.Example.com</hostname><port>993</port>
    <socketType>SSL</socketType></incomingServer>
  <outgoingServer type="smtp"><hostname>mail.example.com</hostname><port>587</port>
    <socketType>STARTTLS</socketType></outgoingServer>
</emailProvider></clientConfig>"""

AUTODISCOVER = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
 <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
  <Account><AccountType>email</AccountType><Action>settings</Action>
   <Protocol><Type>IMAP</Type><Server>mail.example.com</Server><Port>993</Port><SSL>on</SSL></Protocol>
   <Protocol><Type>SMTP</Type><Server>mail.example.com</Server><Port>587</Port>
     <Encryption>TLS</Encryption></Protocol>
   <Protocol><Type>WEB</Type></Protocol>
  </Account></Response></Autodiscover>"""


# --- parsers ---------------------------------------------------------------------------------


def test_thunderbird_config() -> None:
    cfg = parse_thunderbird(THUNDERBIRD)
    assert cfg.valid
    assert [s.describe() for s in cfg.servers] == [
        "imap mail.example.com:993 ssl",
        "smtp mail.example.com:587 starttls",
    ]


def test_autodiscover_response() -> None:
    cfg = parse_autodiscover(AUTODISCOVER)
    assert cfg.valid
    assert [(s.protocol, s.port, s.security) for s in cfg.servers] == [
        ("imap", 993, "ssl"),
        ("smtp", 587, "starttls"),
    ]
    err = parse_autodiscover(
        "<Autodiscover><Response><Error><ErrorCode>600</ErrorCode>"
        "<Message>Invalid Request</Message></Error></Response></Autodiscover>"
    )
    assert not err.valid and "Invalid Request" in err.problems[0]


def test_hostile_xml_is_refused_not_expanded() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<clientConfig>&lol2;</clientConfig>"
    )
    cfg = parse_thunderbird(bomb)
    assert not cfg.valid and "DTD" in cfg.problems[0]
    xxe = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Autodiscover>&e;</Autodiscover>'
    assert "DTD" in parse_autodiscover(xxe).problems[0]
    assert "not XML" in parse_thunderbird("404 page").problems[0]
    assert "not well-formed" in parse_thunderbird("<clientConfig><a></clientConfig>").problems[0]
    assert "<html>" in parse_thunderbird("<html><body/></html>").problems[0]
    many = "<clientConfig>" + '<incomingServer type="imap"/>' * 5000 + "</clientConfig>"
    assert len(parse_thunderbird(many).servers) == 20


def test_srv_and_url_parsing() -> None:
    t = parse_srv("0 1 993 Mail.Example.com.")
    assert t is not None and (t.port, t.target) == (993, "mail.example.com")
    dot = parse_srv("0 0 0 .")
    assert dot is not None and dot.target == ""
    assert parse_srv("garbage") is None
    assert _split_url("https://a.example/x?y") == ("a.example", 443, "/x?y")
    assert _split_url("https://a.example:8443") == ("a.example", 8443, "/")
    assert _split_url("http://a.example/") is None  # never downgrade to plaintext
    assert _split_url("https://user@a.example/") is None
    assert _split_url("https://a.example:99999/") is None


# --- checks ----------------------------------------------------------------------------------


def srv(label: str, *records: str, status: DnsStatus = DnsStatus.NOERROR) -> DnsResult:
    if not records and status is DnsStatus.NOERROR:
        status = DnsStatus.NXDOMAIN
    return DnsResult(f"{label}.{D}", "SRV", status, records=records)


def all_srv(**records: str) -> tuple[DnsResult, ...]:
    """One answer per RFC 6186 label; keyword = label without dots (e.g. _imaps_tcp)."""
    out = []
    for label, *_ in SRV_SERVICES:
        key = label.replace(".", "")
        out.append(srv(label, records[key]) if key in records else srv(label))
    return tuple(out)


def lookup(name: str, *ips: str) -> HostLookup:
    status = DnsStatus.NOERROR if ips else DnsStatus.NXDOMAIN
    return HostLookup(
        name,
        DnsResult(name, "A", status, records=ips),
        DnsResult(name, "AAAA", DnsStatus.NODATA if ips else status),
    )


def web(kind: str, name: str, fetch: HttpFetch | None) -> WebEndpoint:
    return WebEndpoint(
        kind, lookup(name, "192.0.2.5") if fetch else lookup(name), (fetch,) if fetch else ()
    )


def got(
    url: str,
    status: int = 200,
    body: str = "",
    error: FetchError = FetchError.NONE,
    detail: str = "",
) -> HttpFetch:
    host = url.split("/")[2]
    if error is not FetchError.NONE:
        return HttpFetch(url, "GET", host, "192.0.2.5", 443, error, detail)
    return HttpFetch(
        url,
        "GET",
        host,
        "192.0.2.5",
        443,
        status=status,
        reason="R",
        body=body,
        body_bytes=len(body),
    )


def evidence(
    srv_results: tuple[DnsResult, ...],
    endpoints: tuple[WebEndpoint, ...] = (),
    hosts: tuple[HostLookup, ...] = (),
) -> AutoconfigEvidence:
    return AutoconfigEvidence(
        D, srv_results, srv("_autodiscover._tcp"), endpoints, hosts, ("mx1.example.com",)
    )


def run(ev: AutoconfigEvidence) -> list[Finding | NotChecked]:
    return list(autoconfig(CheckContext(Settings(), catalogue.load()), ev))


def codes(ev: AutoconfigEvidence) -> list[str]:
    return [f.code for f in run(ev) if isinstance(f, Finding)]


TLS_SRV = {
    "_submissions_tcp": "0 1 465 mail.example.com.",
    "_imaps_tcp": "0 1 993 mail.example.com.",
    "_pop3s_tcp": "0 1 995 mail.example.com.",
}


def test_srv_with_tls_is_ok() -> None:
    (f,) = run(evidence(all_srv(**TLS_SRV, _imap_tcp="0 1 143 mail.example.com.")))
    assert isinstance(f, Finding) and f.code == "autoconfig.ok"
    assert "SRV _imaps._tcp -> mail.example.com:993" in f.evidence


def test_nothing_published_is_missing_with_srv_fix() -> None:
    ev = evidence(all_srv(), hosts=(lookup("mail.example.com", "192.0.2.25"),))
    (f,) = run(ev)
    assert isinstance(f, Finding) and f.code == "autoconfig.missing" and f.severity is Severity.INFO
    assert "_imaps._tcp.example.com.        3600  IN  SRV  0 1 993 mail.example.com." in f.fix
    assert "password-rejected" in f.symptoms
    # no mail./imap./smtp. name: the MX host is the best guess
    (f,) = run(evidence(all_srv()))
    assert isinstance(f, Finding) and "SRV  0 1 465 mx1.example.com." in f.fix


def test_dot_target_means_not_offered() -> None:
    ev = evidence(all_srv(_imaps_tcp="0 0 0 .", _imap_tcp="0 1 143 mail.example.com."))
    (f,) = run(ev)
    assert isinstance(f, Finding) and f.code == "autoconfig.insecure"
    assert "_imap._tcp (mail.example.com:143)" in f.cause
    assert "_imaps._tcp.example.com.  3600  IN  SRV  0 1 993 mail.example.com." in f.fix


def test_plaintext_only_srv_is_insecure() -> None:
    ev = evidence(
        all_srv(_imap_tcp="0 1 143 mail.example.com.", _submission_tcp="0 1 587 mail.example.com.")
    )
    (f,) = run(ev)
    assert (
        isinstance(f, Finding)
        and f.code == "autoconfig.insecure"
        and f.severity is Severity.WARNING
    )
    assert "SRV  0 1 465 mail.example.com." in f.fix and "SRV  0 1 993 mail.example.com." in f.fix


def test_thunderbird_config_found_and_plain_config_insecure() -> None:
    url = f"https://autoconfig.{D}/mail/config-v1.1.xml"
    ev = evidence(all_srv(), (web("autoconfig", f"autoconfig.{D}", got(url, body=THUNDERBIRD)),))
    (f,) = run(ev)
    assert (
        isinstance(f, Finding)
        and f.code == "autoconfig.ok"
        and "imap mail.example.com:993 ssl" in f.cause
    )
    plain = THUNDERBIRD.replace("SSL", "plain").replace("993", "143")
    ev = evidence(all_srv(), (web("autoconfig", f"autoconfig.{D}", got(url, body=plain)),))
    assert codes(ev) == ["autoconfig.insecure"]


def test_autodiscover_with_wrong_certificate_is_broken() -> None:
    url = f"https://autodiscover.{D}/autodiscover/autodiscover.xml"
    bad = got(url, error=FetchError.CERT, detail="Hostname mismatch, certificate is not valid")
    ev = evidence(all_srv(**TLS_SRV), (web("autodiscover", f"autodiscover.{D}", bad),))
    found = {f.code: f for f in run(ev) if isinstance(f, Finding)}
    assert set(found) == {"autoconfig.endpoint_broken", "autoconfig.ok"}
    broken = found["autoconfig.endpoint_broken"]
    assert broken.severity is Severity.WARNING and "client-ssl-error" in broken.symptoms
    assert "Hostname mismatch" in broken.cause and f"curl -sv {url}" in broken.fix


def test_endpoint_404_is_info_and_401_counts_as_found() -> None:
    url = f"https://autoconfig.{D}/mail/config-v1.1.xml"
    ev = evidence(all_srv(), (web("autoconfig", f"autoconfig.{D}", got(url, status=404)),))
    found = [f for f in run(ev) if isinstance(f, Finding)]
    assert [f.code for f in found] == ["autoconfig.endpoint_broken", "autoconfig.missing"]
    assert found[0].severity is Severity.INFO and "HTTP 404" in found[0].cause
    ad = f"https://autodiscover.{D}/autodiscover/autodiscover.xml"
    ev = evidence(all_srv(), (web("autodiscover", f"autodiscover.{D}", got(ad, status=401)),))
    assert codes(ev) == ["autoconfig.ok"]
    # a name without an address is not fetched and not an error
    assert codes(evidence(all_srv(**TLS_SRV), (web("autoconfig", f"autoconfig.{D}", None),))) == [
        "autoconfig.ok"
    ]


def test_srv_timeouts_are_not_checked() -> None:
    ev = evidence(tuple(srv(label, status=DnsStatus.TIMEOUT) for label, *_ in SRV_SERVICES))
    (nc,) = run(ev)
    assert isinstance(nc, NotChecked) and "TIMEOUT" in nc.reason


def test_domain_that_does_not_exist_is_not_checked() -> None:
    ev = AutoconfigEvidence(D, all_srv(), srv("_autodiscover._tcp"), (), (), (), DnsStatus.NXDOMAIN)
    (nc,) = run(ev)
    assert isinstance(nc, NotChecked) and "does not exist" in nc.reason


def test_no_mx_and_nothing_published_is_not_checked() -> None:
    ev = AutoconfigEvidence(D, all_srv(), srv("_autodiscover._tcp"), (), (), (), DnsStatus.NODATA)
    (nc,) = run(ev)
    assert isinstance(nc, NotChecked) and "has no MX host" in nc.reason


def test_srv_target_without_address() -> None:
    ghost = lookup("old.example.com")  # NXDOMAIN
    live = lookup("mail.example.com", "192.0.2.25")
    ev = AutoconfigEvidence(
        D,
        all_srv(
            _imaps_tcp="0 1 993 old.example.com.", _submissions_tcp="0 1 465 mail.example.com."
        ),
        srv("_autodiscover._tcp"),
        (),
        (live,),
        ("mx1.example.com",),
        DnsStatus.NOERROR,
        (ghost, live),
    )
    (f,) = run(ev)  # no "ok" while a record leads nowhere
    assert isinstance(f, Finding) and f.code == "autoconfig.srv_target_unresolvable"
    assert f.severity is Severity.WARNING and f.subject == "old.example.com"
    assert "_imaps._tcp names old.example.com" in f.cause and "NXDOMAIN" in f.cause
    assert "_imaps._tcp.example.com.  3600  IN  SRV  0 1 993 mail.example.com." in f.fix
    # a DNS failure on the target decides nothing
    failing = HostLookup(
        "old.example.com",
        DnsResult("old.example.com", "A", DnsStatus.SERVFAIL),
        DnsResult("old.example.com", "AAAA", DnsStatus.SERVFAIL),
    )
    ev = AutoconfigEvidence(
        D, ev.srv, ev.autodiscover_srv, (), (live,), ev.mx_hosts, DnsStatus.NOERROR, (failing, live)
    )
    assert codes(ev) == ["autoconfig.ok"]
