#!/usr/bin/env python3
"""Render the lab's DNS from data: zone files, nsd.conf, unbound.conf and the /etc/hosts block.

Inputs (lab/): hosts.tsv (address plan), scenarios.tsv (domains), dns/records.tsv (what each
domain breaks), dns/dnsbl.tsv (blocklist entries), dns/*.conf.in (templates).
Outputs ($LAB_RUN): dns/zones/*.zone, dns/nsd.conf, dns/unbound.conf, dns/hosts.block,
dns/summary.json, and the DKIM keys dkim/rsa-BITS.{key,pub} (generated with openssl once,
kept across lab/down) with dkim/keys.tsv saying which domain publishes which key.

Only files whose content changed are rewritten; the names of the daemons whose inputs changed
are printed on stdout ("nsd", "unbound"), one a line, so lab/dns/up restarts just those.
Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

TTL = 60
NS_NAME = "ns.lab.test."
HOSTMASTER = "hostmaster.lab.test."
GOOD = "good.test"
SELECTOR = "mail"
SERVICE_HOSTS = ("mail", "smtp", "imap", "pop")
# RFC 6186 service records: (owner label, port)
SRV = (
    ("_submission._tcp", 587),
    ("_submissions._tcp", 465),
    ("_imap._tcp", 143),
    ("_imaps._tcp", 993),
    ("_pop3._tcp", 110),
    ("_pop3s._tcp", 995),
)


def fail(msg: str) -> None:
    print(f"lab/dns/render.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def tsv(path: Path, min_cols: int) -> list[list[str]]:
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < min_cols:
            fail(f"{path}:{n}: expected {min_cols} tab-separated columns: {line!r}")
        rows.append([c.strip() for c in cols])
    return rows


def fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def txt_rdata(text: str) -> str:
    """TXT rdata in zone-file syntax, split in character-strings of at most 255 octets."""
    raw = text.encode()
    chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    out = []
    for c in chunks:
        s = c.decode()
        out.append('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(out)


def rev_name(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa."


def bl_owner(item: str, zone: str) -> str:
    """The name a blocklist answers for item: "*" (every query), an IPv4 or IPv6 address
    (reversed octets / nibbles, RFC 5782 2.1 and 2.4), or a domain name (RFC 5782 2.3)."""
    if item == "*":
        return f"*.{zone}"
    try:
        addr = ipaddress.ip_address(item)
    except ValueError:
        return f"{item.lower().rstrip('.')}.{zone}"
    arpa = "in-addr.arpa" if addr.version == 4 else "ip6.arpa"
    return addr.reverse_pointer.removesuffix(arpa) + zone


class Keys:
    """RSA keys for DKIM, generated with openssl on first use and kept under $LAB_RUN/dkim."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.cache: dict[int, str] = {}

    def path(self, bits: int) -> Path:
        return self.dir / f"rsa-{bits}.key"

    def public_b64(self, bits: int) -> str:
        if bits in self.cache:
            return self.cache[bits]
        key, pub = self.path(bits), self.dir / f"rsa-{bits}.pub"
        self.dir.mkdir(parents=True, exist_ok=True)
        if not key.exists() or not pub.exists():
            tmp = key.with_suffix(".key.tmp")
            subprocess.run(
                [
                    "openssl",
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    f"rsa_keygen_bits:{bits}",
                    "-out",
                    str(tmp),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            os.chmod(tmp, 0o600)
            subprocess.run(
                ["openssl", "pkey", "-in", str(tmp), "-pubout", "-out", str(pub)],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            tmp.rename(key)
            print(f"lab/dns/render.py: generated {bits}-bit DKIM key {key}", file=sys.stderr)
        # the PEM body of a SubjectPublicKeyInfo is exactly DKIM's p= (RFC 6376 3.6.1)
        lines = pub.read_text().splitlines()
        body = "".join(x for x in lines if x and not x.startswith("-----"))
        self.cache[bits] = body
        return body


class Zone:
    def __init__(self, origin: str) -> None:
        self.origin = fqdn(origin) if origin != "." else "."
        self.records: list[tuple[str, str, str]] = []

    def add(self, owner: str, rtype: str, rdata: str) -> None:
        self.records.append((fqdn(owner) if owner != "." else ".", rtype, rdata))

    def text(self) -> str:
        body = "".join(f"{o}\t{TTL}\tIN\t{t}\t{r}\n" for o, t, r in self.records)
        serial = zlib.crc32(body.encode()) % 2_000_000_000 + 1
        head = (
            f"; generated by lab/dns/render.py: do not edit\n$TTL {TTL}\n"
            f"{self.origin}\t{TTL}\tIN\tSOA\t{NS_NAME} {HOSTMASTER} {serial} 300 60 86400 {TTL}\n"
            f"{self.origin}\t{TTL}\tIN\tNS\t{NS_NAME}\n"
        )
        return head + body

    @property
    def filename(self) -> str:
        return "root.zone" if self.origin == "." else self.origin.rstrip(".") + ".zone"


def in_zone(name: str, origin: str) -> bool:
    name, origin = name.rstrip(".").lower(), origin.rstrip(".").lower()
    return origin == "" or name == origin or name.endswith("." + origin)


def build(lab: Path, run: Path) -> tuple[dict[str, str], list[Zone], dict[str, object], str]:
    ns_ip = resolver_ip = None
    hosts: list[tuple[str, str]] = []
    for ip, name, *_ in tsv(lab / "hosts.tsv", 2):
        hosts.append((ip, name.lower()))
        if name == "ns.lab.test":
            ns_ip = ip
        if name == "resolver.lab.test":
            resolver_ip = ip
    if not ns_ip or not resolver_ip:
        fail("hosts.tsv must name ns.lab.test and resolver.lab.test")
    host_ip = {n: ip for ip, n in hosts}

    domains: list[str] = [r[0].lower() for r in tsv(lab / "scenarios.tsv", 1)]
    over: dict[str, dict[str, list[str]]] = {}
    for dom, key, *rest in tsv(lab / "dns" / "records.tsv", 2):
        dom = dom.lower()
        if key not in ("mx", "spf", "dkim", "dmarc", "tlsrpt", "srv", "ptr", "rr", "zone"):
            fail(f"records.tsv: unknown key {key!r} for {dom}")
        over.setdefault(dom, {}).setdefault(key, []).append(rest[0] if rest else "")
        if dom not in domains:
            domains.append(dom)
    absent = {d for d in domains if over.get(d, {}).get("zone") == ["-"]}
    live = [d for d in domains if d not in absent]

    # zones: lab.test + every live domain whose parent is no live domain
    apexes = ["lab.test"] + [d for d in live if not any(p != d and in_zone(d, p) for p in live)]
    zones = {a: Zone(a) for a in apexes}

    def zone_of(name: str) -> Zone | None:
        best = None
        for a, z in zones.items():
            if in_zone(name, a) and (best is None or len(a) > len(best.origin)):
                best = z
        return best

    def put(owner: str, rtype: str, rdata: str) -> None:
        z = zone_of(owner)
        if z is None:
            fail(f"no lab zone for {owner} ({rtype} {rdata})")
        z.add(owner, rtype, rdata)

    keys = Keys(run / "dkim")

    def expand(value: str, d: str, ip: str) -> str:
        value = value.replace("{domain}", d).replace("{ip}", ip)
        return re.sub(r"\{key:(\d+)\}", lambda m: keys.public_b64(int(m.group(1))), value)

    # forward records of the address plan (ns/resolver/clients, mx.<scenario> servers...)
    for ip, name in hosts:
        if any(in_zone(name, a) for a in absent):
            continue
        put(name, "A", ip)

    summary: dict[str, object] = {}
    key_rows: list[str] = []
    ptr_override: dict[str, str | None] = {}
    for d in live:
        o = over.get(d, {})
        own = f"mx.{d}" in host_ip
        ip = host_ip.get(f"mx.{d}", host_ip.get(f"mx.{GOOD}", "127.0.10.1"))
        mailhost = f"mail.{d}." if own else f"mail.{GOOD}."

        def pick(
            key: str, default: list[str], o: dict[str, list[str]] = o, d: str = d, ip: str = ip
        ) -> list[str]:
            vals = o.get(key, default)
            return [] if vals == ["-"] else [expand(v, d, ip) for v in vals]

        for v in pick("mx", [f"10 mx.{d}." if own else f"10 mx.{GOOD}."]):
            put(d, "MX", v)
        if own:
            for h in SERVICE_HOSTS:
                if f"{h}.{d}" not in host_ip:
                    put(f"{h}.{d}", "A", ip)
        for v in pick("spf", ["v=spf1 mx -all"]):
            put(d, "TXT", txt_rdata(v))
        dkim_vals = o.get("dkim", ["v=DKIM1; k=rsa; p={key:2048}"])
        for v in pick("dkim", dkim_vals):
            put(f"{SELECTOR}._domainkey.{d}", "TXT", txt_rdata(v))
        for raw in dkim_vals:
            m = re.search(r"\{key:(\d+)\}", raw)
            if m:
                key_rows.append(f"{d}\t{SELECTOR}\t{m.group(1)}\t{keys.path(int(m.group(1)))}")
        for v in pick("dmarc", [f"v=DMARC1; p=reject; rua=mailto:dmarc@{d}"]):
            put(f"_dmarc.{d}", "TXT", txt_rdata(v))
        for v in pick("tlsrpt", [f"v=TLSRPTv1; rua=mailto:tlsrpt@{d}"]):
            put(f"_smtp._tls.{d}", "TXT", txt_rdata(v))
        if o.get("srv", ["+"]) != ["-"]:
            for label, port in SRV:
                put(f"{label}.{d}", "SRV", f"0 1 {port} {mailhost}")
        for v in o.get("rr", []):
            owner, rtype, rdata = expand(v, d, ip).split(None, 2)
            put(d if owner == "@" else f"{owner}.{d}", rtype.upper(), rdata)
        if "ptr" in o:
            if not own:
                fail(f"records.tsv: ptr override for {d}, which has no mx.{d} in hosts.tsv")
            ptr_override[ip] = None if o["ptr"] == ["-"] else fqdn(o["ptr"][0])
        summary[d] = {"ip": ip, "own_server": own, "zone": zone_of(d).origin.rstrip(".")}

    # reverse: PTR for every host of the plan, except where a scenario says otherwise
    rev = Zone("127.in-addr.arpa")
    rev.add(rev_name("127.0.0.1"), "PTR", "localhost.")
    seen: set[str] = set()
    for ip, name in hosts:
        if ip in seen or not ip.startswith("127."):
            continue
        seen.add(ip)
        target = ptr_override.get(ip, fqdn(name))
        if target is not None:
            rev.add(rev_name(ip), "PTR", target)

    # blocklists
    bl: dict[str, Zone] = {}
    for zone, item, codes, *txt in tsv(lab / "dns" / "dnsbl.tsv", 3):
        z = bl.setdefault(zone.lower(), Zone(zone.lower()))
        owner = bl_owner(item, z.origin)
        for c in codes.split(","):
            z.add(owner, "A", c.strip())
        for t in txt[0].split("|") if txt and txt[0] else []:
            z.add(owner, "TXT", txt_rdata(t))

    # test.: delegations of every lab zone under it, with glue for the name server
    test = Zone("test")
    for a in apexes:
        test.add(a, "NS", NS_NAME)
    test.add(NS_NAME, "A", ns_ip)
    # the fake root: delegations to test., 127.in-addr.arpa. and the blocklists
    root = Zone(".")
    for child in ["test", "127.in-addr.arpa", *bl]:
        root.add(child, "NS", NS_NAME)
    root.add(NS_NAME, "A", ns_ip)

    all_zones = [root, test, *zones.values(), rev, *bl.values()]
    hosts_block = []
    for ip, name in hosts:
        if ip in ptr_override:
            # glibc answers reverse lookups from /etc/hosts too: listing an address whose PTR
            # is a planted fault would hide the fault from every program on the machine
            continue
        names = [name]
        dom = name[3:] if name.startswith("mx.") else None
        if dom in summary and summary[dom]["own_server"]:  # type: ignore[index]
            names += [f"{h}.{dom}" for h in SERVICE_HOSTS if f"{h}.{dom}" not in host_ip]
        hosts_block.append(f"{ip}\t{' '.join(names)}")
    (run / "dkim").mkdir(parents=True, exist_ok=True)
    files = {
        "dkim/keys.tsv": "# domain\tselector\tbits\tprivate key (PEM)\n"
        + "".join(r + "\n" for r in key_rows),
        "dns/hosts.block": "".join(x + "\n" for x in hosts_block),
    }
    meta = {
        "ns": ns_ip,
        "resolver": resolver_ip,
        "zones": [z.origin for z in all_zones],
        "domains": summary,
        "absent": sorted(absent),
        "dkim_selector": SELECTOR,
        "dkim_keys": str(run / "dkim" / "keys.tsv"),
    }
    return files, all_zones, meta, resolver_ip


def check_zone(origin: str, text: str, dns: Path) -> None:
    tmp = dns / "zones" / ".check.zone"
    tmp.write_text(text)
    try:
        proc = subprocess.run(
            ["nsd-checkzone", origin, str(tmp)], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return  # NSD not installed yet: nothing to check with
    finally:
        tmp.unlink(missing_ok=True)
    if proc.returncode != 0:
        fail(f"zone {origin} is invalid:\n{proc.stdout}{proc.stderr}")


def write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.rename(path)
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument(
        "--run",
        type=Path,
        default=Path(os.environ.get("MAILDOCTOR_LAB_RUN", "/run/maildoctor-lab")),
    )
    args = ap.parse_args()
    lab, run = args.lab, args.run
    dns, logs = run / "dns", run / "log"
    for d in (dns / "zones", dns / "nsd" / "xfr", logs):
        d.mkdir(parents=True, exist_ok=True)

    files, zones, meta, resolver_ip = build(lab, run)
    changed: set[str] = set()
    for rel, text in files.items():
        write_if_changed(run / rel, text)
    wanted = set()
    for z in zones:
        wanted.add(z.filename)
        path, text = dns / "zones" / z.filename, z.text()
        if path.exists() and path.read_text() == text:
            continue
        # NSD skips a zone it cannot parse and serves the rest: refuse bad data here instead
        check_zone(z.origin, text, dns)
        write_if_changed(path, text)
        changed.add("nsd")
    for old in (dns / "zones").glob("*.zone"):
        if old.name not in wanted:
            old.unlink()
            changed.add("nsd")

    subst = {
        "@NS@": str(meta["ns"]),
        "@RESOLVER@": resolver_ip,
        "@DNS@": str(dns),
        "@LOGS@": str(logs),
    }
    stanzas = "".join(
        f'zone:\n    name: "{z.origin}"\n    zonefile: "{z.filename}"\n\n' for z in zones
    )
    for name in ("nsd", "unbound"):
        text = (lab / "dns" / f"{name}.conf.in").read_text()
        for k, v in {**subst, "@ZONES@": stanzas}.items():
            text = text.replace(k, v)
        if write_if_changed(dns / f"{name}.conf", text):
            changed.add(name)
    write_if_changed(dns / "summary.json", json.dumps(meta, indent=1, sort_keys=True) + "\n")
    if "nsd" in changed:
        changed.add("unbound")  # new data: drop the resolver's cache too
    for c in sorted(changed):
        print(c)


if __name__ == "__main__":
    main()
