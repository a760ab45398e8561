"""The lab's DNS behaves as lab/scenarios.tsv says, seen through the lab resolver.

Plain DNS queries (dnspython) against the lab's Unbound, independent of maildoctor's own code:
if one of these fails, the lab is wrong, not the product. The expectations are written here
from the scenario descriptions, not read from lab/dns/records.tsv, so they check the generator.
"""

from __future__ import annotations

import base64
import ipaddress
import time
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.resolver
import dns.reversename
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.lab

LAB_DIR = Path(__file__).resolve().parents[2] / "lab"
GOOD_IP = "127.0.10.1"


def _tsv(name: str) -> list[list[str]]:
    rows = []
    for line in (LAB_DIR / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


HOSTS = {r[1]: r[0] for r in _tsv("hosts.tsv")}  # name -> ip
SCENARIOS = [r[0] for r in _tsv("scenarios.tsv")]
LIVE = [d for d in SCENARIOS if d != "nxdomain.test"]
# domains with a server of their own in the address plan (mx.<domain>)
SERVER_DOMAINS = [d for d in LIVE if f"mx.{d}" in HOSTS]

MX_FAULTS = {"no-mx.test", "null-mx.test", "mx-noaddr.test", "mx-ip.test", "mx-cname.test"}
SPF_FAULTS = {
    "spf-syntax.test",
    "spf-multi.test",
    "spf-lookups.test",
    "spf-void.test",
    "spf-all.test",
    "spf-ptr.test",
    "spf-notcover.test",
    "spf-missing.test",
    "spf-loop.test",
    "spf-softfail.test",
}
DKIM_FAULTS = {
    "dkim-bad.test",
    "dkim-weak512.test",
    "dkim-weak1024.test",
    "dkim-testing.test",
    "dkim-revoked.test",
    "dkim-none.test",
}
DMARC_FAULTS = {
    "dmarc-missing.test",
    "dmarc-none.test",
    "dmarc-malformed.test",
    "dmarc-multi.test",
    "sub.dmarc-org.test",
}
TLSRPT_FAULTS = {"tlsrpt-invalid.test"}
SRV_FAULTS = {"autoconfig-none.test", "autoconfig-plain.test"}
COMMON_SELECTORS = ["default", "selector1", "selector2", "google", "k1", "s1", "s2", "mail", "dkim"]
DNSBLS = ["zen.spamhaus.org", "b.barracudacentral.org", "bl.spamcop.net"]


@pytest.fixture(scope="module")
def res(lab) -> dns.resolver.Resolver:
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [lab.resolver]
    r.port = lab.resolver_port
    r.lifetime = 3.0
    r.timeout = 3.0
    r.cache = None
    return r


def answer(res: dns.resolver.Resolver, name: str, rtype: str) -> dns.resolver.Answer:
    return res.resolve(name, rtype, raise_on_no_answer=False)


def texts(res: dns.resolver.Resolver, name: str) -> list[str]:
    """TXT strings at name (character-strings joined), [] when there are none."""
    try:
        ans = answer(res, name, "TXT")
    except dns.resolver.NXDOMAIN:
        return []
    return sorted(b"".join(r.strings).decode() for r in ans)


def spf_records(res: dns.resolver.Resolver, name: str) -> list[str]:
    return [t for t in texts(res, name) if t.lower().startswith("v=spf1 ") or t.lower() == "v=spf1"]


def a_records(res: dns.resolver.Resolver, name: str) -> list[str]:
    try:
        return sorted(r.address for r in answer(res, name, "A"))
    except dns.resolver.NXDOMAIN:
        return []


def mx_set(res: dns.resolver.Resolver, name: str) -> set[tuple[int, str]]:
    try:
        return {(r.preference, r.exchange.to_text()) for r in answer(res, name, "MX")}
    except dns.resolver.NXDOMAIN:
        return set()


def tags(record: str) -> dict[str, str]:
    out = {}
    for part in record.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def dkim_key_bits(record: str) -> int:
    p = "".join(tags(record)["p"].split())
    key = serialization.load_der_public_key(base64.b64decode(p))
    assert isinstance(key, rsa.RSAPublicKey)
    return key.key_size


def server_ip(domain: str) -> str:
    return HOSTS.get(f"mx.{domain}", GOOD_IP)


# --- every scenario domain -------------------------------------------------------------------


def test_scenarios_cover_the_address_plan() -> None:
    # every mx.<domain> server of hosts.tsv belongs to a scenario domain
    servers = {n[3:] for n in HOSTS if n.startswith("mx.")}
    assert servers <= set(SCENARIOS)
    assert "good.test" in SERVER_DOMAINS and len(SERVER_DOMAINS) >= 19


@pytest.mark.parametrize("domain", LIVE)
def test_domain_exists(res, domain: str) -> None:
    ans = answer(res, domain, "SOA")  # raises NXDOMAIN if the domain is missing
    assert ans.response.rcode() == 0


@pytest.mark.parametrize("domain", [d for d in LIVE if d not in MX_FAULTS])
def test_mx_points_at_its_server(res, domain: str) -> None:
    own = f"mx.{domain}"
    expected = own if own in HOSTS else "mx.good.test"
    assert mx_set(res, domain) == {(10, expected + ".")}
    assert a_records(res, expected) == [server_ip(domain)]


@pytest.mark.parametrize("domain", SERVER_DOMAINS)
def test_server_domain_hostnames(res, domain: str) -> None:
    ip = HOSTS[f"mx.{domain}"]
    for host in ("mx", "mail", "smtp", "imap", "pop"):
        assert a_records(res, f"{host}.{domain}") == [ip], host


@pytest.mark.parametrize("domain", [d for d in LIVE if d not in SPF_FAULTS])
def test_spf_default_covers_the_server(res, domain: str) -> None:
    (record,) = spf_records(res, domain)
    if domain in MX_FAULTS:
        # the MX itself is broken: SPF names the server's address instead
        assert record == f"v=spf1 ip4:{GOOD_IP} -all"
    else:
        assert record == "v=spf1 mx -all"
        # "mx" really covers the server: its MX hosts resolve to the server IP
        ips = {ip for _, host in mx_set(res, domain) for ip in a_records(res, host)}
        assert ips == {server_ip(domain)}


@pytest.mark.parametrize("domain", [d for d in LIVE if d not in DKIM_FAULTS])
def test_dkim_default_is_2048_bit(res, domain: str) -> None:
    (record,) = texts(res, f"mail._domainkey.{domain}")
    t = tags(record)
    assert t["v"] == "DKIM1" and t["k"] == "rsa" and "t" not in t
    assert dkim_key_bits(record) == 2048


@pytest.mark.parametrize("domain", [d for d in LIVE if d not in DMARC_FAULTS])
def test_dmarc_default_is_reject(res, domain: str) -> None:
    (record,) = texts(res, f"_dmarc.{domain}")
    t = tags(record)
    assert record.startswith("v=DMARC1;")
    assert t["p"] == "reject"
    assert t["rua"] == f"mailto:dmarc@{domain}"


SRV_SET = [
    ("_submission._tcp", 587),
    ("_submissions._tcp", 465),
    ("_imap._tcp", 143),
    ("_imaps._tcp", 993),
    ("_pop3._tcp", 110),
    ("_pop3s._tcp", 995),
]


def srv(res: dns.resolver.Resolver, name: str) -> list[tuple[int, str]]:
    try:
        return [(r.port, r.target.to_text()) for r in answer(res, name, "SRV")]
    except dns.resolver.NXDOMAIN:
        return []


@pytest.mark.parametrize("domain", [d for d in LIVE if d not in TLSRPT_FAULTS])
def test_tlsrpt_default(res, domain: str) -> None:
    assert texts(res, f"_smtp._tls.{domain}") == [f"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}"], (
        f"if {domain} plants a TLS-RPT fault, add it to TLSRPT_FAULTS"
    )


@pytest.mark.parametrize("domain", [d for d in LIVE if d not in SRV_FAULTS])
def test_srv_default(res, domain: str) -> None:
    target = f"mail.{domain}." if domain in SERVER_DOMAINS else "mail.good.test."
    for label, port in SRV_SET:
        assert srv(res, f"{label}.{domain}") == [(port, target)], (
            f"{label}: if {domain} plants an SRV fault, add it to SRV_FAULTS"
        )


def test_ttls_are_short(res) -> None:
    for name, rtype in [
        ("good.test", "MX"),
        ("mx.good.test", "A"),
        ("good.test", "TXT"),
        ("1.10.0.127.in-addr.arpa", "PTR"),
    ]:
        ans = answer(res, name, rtype)
        assert ans.rrset is not None and ans.rrset.ttl <= 60


def test_good_test_control(res) -> None:
    assert mx_set(res, "good.test") == {(10, "mx.good.test.")}
    for host in ("mx", "mail", "smtp", "imap", "pop"):
        assert a_records(res, f"{host}.good.test") == [GOOD_IP]
    assert a_records(res, "webmail.good.test") == [HOSTS["webmail.good.test"]]
    assert spf_records(res, "good.test") == ["v=spf1 mx -all"]
    assert texts(res, "_dmarc.good.test") == ["v=DMARC1; p=reject; rua=mailto:dmarc@good.test"]
    assert texts(res, "_smtp._tls.good.test") == ["v=TLSRPTv1; rua=mailto:tlsrpt@good.test"]


def test_good_dkim_private_key_is_kept_for_signing(res, lab) -> None:
    """The private half of good.test's published key is under $LAB_RUN/dkim (keys.tsv)."""
    keys_tsv = Path(str(lab.state["dkim"]["keys"]))  # type: ignore[index]
    lines = keys_tsv.read_text().splitlines()
    rows = [x.split("\t") for x in lines if not x.startswith("#")]
    (row,) = [r for r in rows if r[0] == "good.test"]
    assert row[1] == "mail" and row[2] == "2048"
    private = serialization.load_pem_private_key(Path(row[3]).read_bytes(), password=None)
    (record,) = texts(res, "mail._domainkey.good.test")
    published = base64.b64decode(tags(record)["p"])
    own = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert own == published


# --- MX faults -------------------------------------------------------------------------------


def test_no_mx_has_only_an_a_record(res) -> None:
    assert mx_set(res, "no-mx.test") == set()
    assert answer(res, "no-mx.test", "MX").response.rcode() == 0  # NODATA, not NXDOMAIN
    assert a_records(res, "no-mx.test") == [GOOD_IP]


def test_null_mx(res) -> None:
    assert mx_set(res, "null-mx.test") == {(0, ".")}


def test_mx_target_without_address(res) -> None:
    assert mx_set(res, "mx-noaddr.test") == {(10, "ghost.mx-noaddr.test.")}
    assert a_records(res, "ghost.mx-noaddr.test") == []
    try:
        aaaa = list(answer(res, "ghost.mx-noaddr.test", "AAAA"))
    except dns.resolver.NXDOMAIN:
        aaaa = []
    assert aaaa == []


def test_mx_target_is_an_ip_literal(res) -> None:
    assert mx_set(res, "mx-ip.test") == {(10, "127.0.10.1.")}
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve("127.0.10.1.", "A")


def test_mx_target_is_a_cname(res) -> None:
    assert mx_set(res, "mx-cname.test") == {(10, "alias.mx-cname.test.")}
    cname = answer(res, "alias.mx-cname.test", "CNAME")
    assert [r.target.to_text() for r in cname] == ["mx.good.test."]
    a = res.resolve("alias.mx-cname.test", "A")
    assert a.canonical_name.to_text() == "mx.good.test."
    assert [r.address for r in a] == [GOOD_IP]


# --- SPF faults ------------------------------------------------------------------------------


def spf_cost(
    res: dns.resolver.Resolver, domain: str, seen: set[str] | None = None
) -> tuple[int, int]:
    """(DNS-querying terms, void lookups) of domain's SPF, includes followed (RFC 7208 4.6.4)."""
    seen = set() if seen is None else seen
    assert domain not in seen, f"SPF loop at {domain}"
    seen.add(domain)
    (record,) = spf_records(res, domain)
    lookups = voids = 0
    for term in record.split()[1:]:
        mech = term.lstrip("+-~?")
        name, _, arg = mech.partition(":")
        if "=" in mech:
            name, _, arg = mech.partition("=")
        name = name.split("/")[0].lower()
        if name not in ("include", "a", "mx", "ptr", "exists", "redirect"):
            continue
        lookups += 1
        target = arg.split("/")[0] or domain
        if name in ("include", "redirect"):
            sub = spf_cost(res, target, seen)
            lookups += sub[0]
            voids += sub[1]
        elif (name in ("a", "exists") and not a_records(res, target)) or (
            name == "mx" and not mx_set(res, target)
        ):
            voids += 1
    return lookups, voids


class LookupLimit(Exception):
    pass


def spf_eval(
    res: dns.resolver.Resolver, domain: str, ip: str, limit: int | None, n: list[int]
) -> str:
    """A small RFC 7208 check_host(): a, mx, exists, include, ip4, all; n[0] counts lookups."""
    results = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
    (record,) = spf_records(res, domain)
    for term in record.split()[1:]:
        qual = term[0] if term[0] in results else "+"
        mech = term.lstrip("+-~?")
        name, _, arg = mech.partition(":")
        target = arg or domain
        if name in ("a", "mx", "exists", "include", "ptr"):
            n[0] += 1
            if limit is not None and n[0] > limit:
                raise LookupLimit(f"lookup {n[0]} ({term}) exceeds {limit}")
        if name == "all":
            return results[qual]
        if name == "ip4":
            matched = ipaddress.ip_address(ip) in ipaddress.ip_network(arg)
        elif name in ("a", "exists"):
            matched = ip in a_records(res, target) if name == "a" else bool(a_records(res, target))
        elif name == "mx":
            matched = any(ip in a_records(res, host) for _, host in mx_set(res, target))
        elif name == "include":
            matched = spf_eval(res, target, ip, limit, n) == "pass"
        else:
            matched = False
        if matched:
            return results[qual]
    return "neutral"


@pytest.mark.parametrize("domain", [d for d in LIVE if d not in SPF_FAULTS])
def test_spf_default_passes_the_server(res, domain: str) -> None:
    assert spf_eval(res, domain, server_ip(domain), 10, [0]) == "pass"
    assert spf_eval(res, domain, "192.0.2.66", 10, [0]) == "fail"


def test_spf_lookup_limit_is_hit_on_evaluation(res) -> None:
    n = [0]
    with pytest.raises(LookupLimit):
        spf_eval(res, "spf-lookups.test", GOOD_IP, 10, n)
    assert n[0] == 11
    # without the limit, the final "mx" would pass it: the limit is the only fault
    n = [0]
    assert spf_eval(res, "spf-lookups.test", GOOD_IP, None, n) == "pass"
    assert n[0] == 12


def test_spf_good_costs_one_lookup(res) -> None:
    assert spf_cost(res, "good.test") == (1, 0)


def test_spf_syntax_error(res) -> None:
    (record,) = spf_records(res, "spf-syntax.test")
    assert "inclde:" in record and "include:" not in record


def test_spf_multiple_records(res) -> None:
    assert len(spf_records(res, "spf-multi.test")) == 2


def test_spf_include_chain_costs_12_lookups(res) -> None:
    lookups, voids = spf_cost(res, "spf-lookups.test")
    assert (lookups, voids) == (12, 0)
    # every host of the chain answers, and none of them is the server: a real evaluation for
    # 127.0.10.1 walks the whole chain and exceeds the limit of 10
    hosts = [f"h{i}.spf-lookups.test" for i in range(1, 9)]
    assert all(a_records(res, h) and GOOD_IP not in a_records(res, h) for h in hosts)


def test_spf_void_lookups(res) -> None:
    (record,) = spf_records(res, "spf-void.test")
    lookups, voids = spf_cost(res, "spf-void.test")
    assert voids == 3 and lookups == 4
    assert record.endswith(" mx -all")  # the server itself is still covered


def test_spf_permissive_all(res) -> None:
    assert spf_records(res, "spf-all.test") == ["v=spf1 mx +all"]


def test_spf_ptr_mechanism(res) -> None:
    (record,) = spf_records(res, "spf-ptr.test")
    assert "ptr" in record.split()


def test_spf_does_not_cover_the_server(res) -> None:
    assert spf_records(res, "spf-notcover.test") == ["v=spf1 ip4:192.0.2.1 -all"]
    assert a_records(res, "mx.good.test") == [GOOD_IP]  # its MX, not 192.0.2.1


def test_spf_missing(res) -> None:
    assert spf_records(res, "spf-missing.test") == []
    assert mx_set(res, "spf-missing.test") == {(10, "mx.good.test.")}


# --- DKIM faults -----------------------------------------------------------------------------


def dkim(res: dns.resolver.Resolver, domain: str) -> str:
    (record,) = texts(res, f"mail._domainkey.{domain}")
    return record


def test_dkim_invalid_key(res) -> None:
    record = dkim(res, "dkim-bad.test")
    assert tags(record)["p"]
    with pytest.raises(ValueError):
        dkim_key_bits(record)


@pytest.mark.parametrize(
    ("domain", "bits"), [("dkim-weak512.test", 512), ("dkim-weak1024.test", 1024)]
)
def test_dkim_weak_keys(res, domain: str, bits: int) -> None:
    assert dkim_key_bits(dkim(res, domain)) == bits


def test_dkim_testing_mode(res) -> None:
    record = dkim(res, "dkim-testing.test")
    assert tags(record)["t"] == "y"
    assert dkim_key_bits(record) == 2048


def test_dkim_revoked(res) -> None:
    record = dkim(res, "dkim-revoked.test")
    assert "p" in tags(record) and tags(record)["p"] == ""


@pytest.mark.parametrize("selector", COMMON_SELECTORS)
def test_dkim_none_under_common_selectors(res, selector: str) -> None:
    assert texts(res, f"{selector}._domainkey.dkim-none.test") == []


# --- DMARC faults ----------------------------------------------------------------------------


def test_dmarc_missing(res) -> None:
    assert texts(res, "_dmarc.dmarc-missing.test") == []


def test_dmarc_policy_none(res) -> None:
    (record,) = texts(res, "_dmarc.dmarc-none.test")
    assert tags(record)["p"] == "none"


def test_dmarc_malformed(res) -> None:
    assert texts(res, "_dmarc.dmarc-malformed.test") == ["v=DMARC1; p=rejekt; pct=abc"]


def test_dmarc_multiple_records(res) -> None:
    records = texts(res, "_dmarc.dmarc-multi.test")
    assert len(records) == 2 and all(r.startswith("v=DMARC1;") for r in records)


def test_dmarc_org_domain_fallback(res) -> None:
    assert texts(res, "_dmarc.sub.dmarc-org.test") == []
    assert mx_set(res, "sub.dmarc-org.test") == {(10, "mx.good.test.")}
    assert a_records(res, "sub.dmarc-org.test") == [GOOD_IP]
    (org,) = texts(res, "_dmarc.dmarc-org.test")
    assert tags(org)["p"] == "reject"


# --- reverse DNS -----------------------------------------------------------------------------


def ptr(res: dns.resolver.Resolver, ip: str) -> list[str]:
    try:
        ans = answer(res, dns.reversename.from_address(ip).to_text(), "PTR")
    except dns.resolver.NXDOMAIN:
        return []
    return [r.target.to_text() for r in ans]


PTR_EXPECTED = [
    (ip, name) for name, ip in HOSTS.items() if ip not in ("127.0.10.18", "127.0.10.19")
]


@pytest.mark.parametrize(("ip", "name"), PTR_EXPECTED)
def test_ptr_forward_confirmed(res, ip: str, name: str) -> None:
    assert ptr(res, ip) == [name + "."]
    assert ip in a_records(res, name)


def test_ptr_missing(res) -> None:
    assert HOSTS["mx.ptr-missing.test"] == "127.0.10.18"
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve("18.10.0.127.in-addr.arpa", "PTR")
    assert a_records(res, "mx.ptr-missing.test") == ["127.0.10.18"]


def test_ptr_mismatch(res) -> None:
    assert ptr(res, "127.0.10.19") == ["other.ptr-mismatch.test."]
    assert "127.0.10.19" not in a_records(res, "other.ptr-mismatch.test")
    assert a_records(res, "mx.ptr-mismatch.test") == ["127.0.10.19"]


def test_helo_mismatch_ptr_is_correct(res) -> None:
    assert ptr(res, "127.0.10.20") == ["mx.helo-mismatch.test."]
    assert a_records(res, "mx.helo-mismatch.test") == ["127.0.10.20"]
    assert a_records(res, "wrongname.helo-mismatch.test") == []


def test_localhost_ptr(res) -> None:
    assert ptr(res, "127.0.0.1") == ["localhost."]


# --- DNS blocklists --------------------------------------------------------------------------


def dnsbl(res: dns.resolver.Resolver, ip: str, zone: str) -> list[str] | None:
    """The A answers for ip on zone, None when not listed (NXDOMAIN)."""
    q = ".".join(reversed(ip.split("."))) + "." + zone
    try:
        return sorted(r.address for r in res.resolve(q, "A"))
    except dns.resolver.NXDOMAIN:
        return None


BL_LISTED = {
    "zen.spamhaus.org": {
        "127.0.0.2": ["127.0.0.10", "127.0.0.2", "127.0.0.4"],
        "127.0.10.11": ["127.0.0.2", "127.0.0.4"],
    },
    "b.barracudacentral.org": {"127.0.0.2": ["127.0.0.2"], "127.0.10.11": ["127.0.0.2"]},
    "bl.spamcop.net": {"127.0.0.2": ["127.0.0.2"], "127.0.10.11": ["127.0.0.2"]},
}


@pytest.mark.parametrize("zone", DNSBLS)
def test_dnsbl_listings(res, zone: str) -> None:
    for ip, codes in BL_LISTED[zone].items():
        assert dnsbl(res, ip, zone) == codes, ip
        q = ".".join(reversed(ip.split("."))) + "." + zone
        assert texts(res, q), f"no TXT reason for {ip} on {zone}"
    # RFC 5782 5: 127.0.0.1 must not be listed; neither is any other lab address
    assert dnsbl(res, "127.0.0.1", zone) is None
    for name, ip in HOSTS.items():
        if ip != "127.0.10.11":
            assert dnsbl(res, ip, zone) is None, name


def test_zen_reason_text(res) -> None:
    reasons = texts(res, "11.10.0.127.zen.spamhaus.org")
    assert any("spamhaus.org" in r and "127.0.10.11" in r for r in reasons)


@pytest.mark.parametrize("ip", ["127.0.0.2", "127.0.10.1", "127.0.10.11", "192.0.2.99"])
def test_blocked_resolver_list_answers_everything(res, ip: str) -> None:
    assert dnsbl(res, ip, "sbl.spamhaus.org") == ["127.255.255.254"]


# --- names that do not exist -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "nxdomain.test",
        "mx.nxdomain.test",
        "example.com",
        "www.google.com",
        "gmail.com",
        "nonexistent.invalid",
    ],
)
def test_nxdomain_fast(res, name: str) -> None:
    start = time.monotonic()
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve(name, "MX")
    assert time.monotonic() - start < 1.0, "slow: a timeout, not the lab root's NXDOMAIN"


def test_resolver_is_recursive_and_nsd_authoritative(lab) -> None:
    q = dns.message.make_query("good.test", "MX")
    r = dns.query.udp(q, lab.resolver, port=lab.resolver_port, timeout=2)
    assert r.flags & dns.flags.RA and r.rcode() == 0
    ns = str(lab.state.get("nameserver", "127.0.53.1"))
    q = dns.message.make_query("good.test", "MX")
    q.flags &= ~dns.flags.RD
    r = dns.query.udp(q, ns, port=53, timeout=2)
    assert r.flags & dns.flags.AA and r.rcode() == 0
    # TCP works too (large answers, e.g. 2048-bit DKIM keys, may need it)
    r = dns.query.tcp(
        dns.message.make_query("mail._domainkey.good.test", "TXT"),
        lab.resolver,
        port=lab.resolver_port,
        timeout=2,
    )
    assert r.rcode() == 0 and r.answer


# --- scenarios of the later issues (MTA-STS, TLS-RPT, autoconfig, DKIM/DMARC extras, lists) --


def test_tlsrpt_invalid(res) -> None:
    assert texts(res, "_smtp._tls.tlsrpt-invalid.test") == [
        "v=TLSRPTv1; rua=tlsrpt@tlsrpt-invalid.test"
    ]


def test_autoconfig_srv_faults(res) -> None:
    for label, _ in SRV_SET:
        assert srv(res, f"{label}.autoconfig-none.test") == [], label
    plain = {label: srv(res, f"{label}.autoconfig-plain.test") for label, _ in SRV_SET}
    assert plain == {
        "_submission._tcp": [(587, "mail.good.test.")],
        "_submissions._tcp": [],
        "_imap._tcp": [(143, "mail.good.test.")],
        "_imaps._tcp": [],
        "_pop3._tcp": [],
        "_pop3s._tcp": [],
    }


def test_dkim_ed25519_selector(res) -> None:
    (record,) = texts(res, "brisbane._domainkey.dkim-ed25519.test")
    t = tags(record)
    assert t["k"] == "ed25519" and len(base64.b64decode(t["p"])) == 32
    assert dkim_key_bits(dkim(res, "dkim-ed25519.test")) == 2048


def test_dkim_two_records_under_one_selector(res) -> None:
    records = texts(res, "s1._domainkey.dkim-multi.test")
    assert sorted(tags(r)["k"] for r in records) == ["ed25519", "rsa"]
    (rsa_record,) = [r for r in records if tags(r)["k"] == "rsa"]
    assert dkim_key_bits(rsa_record) == 1024


def test_dkim_wildcard_answers_every_selector(res) -> None:
    assert texts(res, "no-such-selector._domainkey.dkim-wild.test") == ["v=spf1 -all"]
    assert dkim_key_bits(dkim(res, "dkim-wild.test")) == 2048  # mail: the real key


def test_dmarc_external_report_authorisation(res) -> None:
    for domain in ("dmarc-extauth.test", "dmarc-extnoauth.test"):
        (record,) = texts(res, f"_dmarc.{domain}")
        assert tags(record)["ruf"] == "mailto:forensic@dmarc-reports.test"
    # RFC 7489 7.1: <domain>._report._dmarc.<destination>
    assert texts(res, "dmarc-extauth.test._report._dmarc.dmarc-reports.test") == ["v=DMARC1"]
    assert texts(res, "dmarc-extnoauth.test._report._dmarc.dmarc-reports.test") == []


def test_dmarc_pct(res) -> None:
    (record,) = texts(res, "_dmarc.dmarc-pct.test")
    assert tags(record)["p"] == "reject" and tags(record)["pct"] == "50"


MTA_STS_TXT = [d for d in LIVE if d == "good.test" or d.startswith("mta-sts-")]


@pytest.mark.parametrize("domain", MTA_STS_TXT)
def test_mta_sts_txt_and_policy_host(res, domain: str) -> None:
    records = [t for t in texts(res, f"_mta-sts.{domain}") if t.startswith("v=STSv1")]
    if domain == "mta-sts-notxt.test":
        assert records == []
    else:
        (record,) = records
        assert tags(record)["id"]
    assert a_records(res, f"mta-sts.{domain}") == [HOSTS[f"mta-sts.{domain}"]]


def test_broken_lab_blocklists(res) -> None:
    # wild.dnsbl-lab.test lists everything, 127.0.0.1 included; dead.dnsbl-lab.test nothing
    assert dnsbl(res, "127.0.0.1", "wild.dnsbl-lab.test") == ["127.0.0.2"]
    assert dnsbl(res, "127.0.0.2", "wild.dnsbl-lab.test") == ["127.0.0.2"]
    assert dnsbl(res, "127.0.0.2", "dead.dnsbl-lab.test") is None


@pytest.mark.parametrize(
    ("zone", "listed", "code"),
    [
        ("dbl.spamhaus.org", ["test", "dbltest.com"], "127.0.1.2"),
        ("multi.surbl.org", ["test", "test.surbl.org"], "127.0.0.248"),
    ],
)
def test_domain_blocklists(res, zone: str, listed: list[str], code: str) -> None:
    def lookup(name: str) -> list[str] | None:
        try:
            return sorted(r.address for r in res.resolve(f"{name}.{zone}", "A"))
        except dns.resolver.NXDOMAIN:
            return None

    for name in listed:  # RFC 5782 5 test points
        assert lookup(name) == [code], name
    assert lookup("invalid") is None
    expected = {"dbl.spamhaus.org": ["127.0.1.2"], "multi.surbl.org": ["127.0.0.64"]}[zone]
    assert lookup("dbl-listed.test") == expected
    for domain in ("good.test", "dnsbl.test"):
        assert lookup(domain) is None


def test_ipv6_test_point_on_zen(res) -> None:
    name = dns.reversename.from_address("::2").to_text().replace("ip6.arpa.", "zen.spamhaus.org")
    assert sorted(r.address for r in res.resolve(name, "A")) == [
        "127.0.0.10",
        "127.0.0.2",
        "127.0.0.4",
    ]
