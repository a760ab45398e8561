"""check_host() of RFC 7208 4-7 over an injected lookup function: no I/O of its own.

`check_host(lookup, ip, domain, sender, helo)` evaluates a record for one client address the
way a receiver does: DNS-querying terms limited to 10 and void lookups to 2, counted through
every include and redirect (RFC 7208 4.6.4), at most 10 MX and 10 PTR names per mechanism,
macros expanded (RFC 7208 7), include and redirect loops detected. `walk_spf()` evaluates the
same record for an address that matches nothing, without stopping at the limits: the worst
case a receiver may have to go through, term by term, with what each term cost.

`lookup(name, rdtype)` returns a DnsResult and never raises (net/dns.py: DnsClient.query).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.evidence.spf import RecordTrace, SpfEvaluation, SpfResult, TermTrace
from maildoctor.records.spf import (
    MacroError,
    MacroString,
    Mechanism,
    Modifier,
    SpfRecord,
    expand,
    parse_macro_string,
    parse_record,
    select_records,
)

Lookup = Callable[[str, str], Awaitable[DnsResult]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_DNS_TERMS = 10  # RFC 7208 4.6.4
MAX_VOID_LOOKUPS = 2  # RFC 7208 4.6.4
MAX_MX_NAMES = 10  # RFC 7208 4.6.4
MAX_PTR_NAMES = 10  # RFC 7208 4.6.4
WALK_TERM_CAP = 40  # the walk counts past 10 to report the real cost, up to this bound
MAX_QUERIES = 400  # our own bound on one evaluation, whatever the record does
WALK_MACRO_IP = ipaddress.IPv4Address("192.0.2.1")  # %{i} in the walk: an unlisted address

_ERRORS = (DnsStatus.TIMEOUT, DnsStatus.SERVFAIL, DnsStatus.ERROR)
_VOID = (DnsStatus.NXDOMAIN, DnsStatus.NODATA)
_QUALIFIER_RESULT = {
    "+": SpfResult.PASS,
    "-": SpfResult.FAIL,
    "~": SpfResult.SOFTFAIL,
    "?": SpfResult.NEUTRAL,
}


class _PermError(Exception):
    pass


class _TempError(Exception):
    pass


@dataclass
class _TermNode:
    term: str
    mechanism: str
    qualifier: str
    target: str = ""
    lookups: int = 0
    total: int = 0
    queries: int = 0
    void: bool = False
    outcome: str = ""
    networks: list[str] = field(default_factory=list)
    macro: bool = False
    child: _RecordNode | None = None


@dataclass
class _RecordNode:
    domain: str
    record: str = ""
    status: str = ""
    terms: list[_TermNode] = field(default_factory=list)

    def freeze(self) -> RecordTrace:
        return RecordTrace(
            self.domain,
            self.record,
            tuple(
                TermTrace(
                    term=t.term,
                    mechanism=t.mechanism,
                    qualifier=t.qualifier,
                    target=t.target,
                    lookups=t.lookups,
                    total=t.total,
                    queries=t.queries,
                    void=t.void,
                    outcome=t.outcome,
                    networks=tuple(t.networks),
                    macro=t.macro,
                    child=t.child.freeze() if t.child is not None else None,
                )
                for t in self.terms
            ),
            self.status,
        )


@dataclass(frozen=True)
class _Outcome:
    result: SpfResult
    mechanism: str  # the deciding term, "" for the default
    domain: str  # the record that decided (for exp=, RFC 7208 6.2)
    record: SpfRecord | None
    reason: str


def valid_name(name: str) -> bool:
    """RFC 1035 2.3.4: a name a query can be made for (labels 1-63, at most 253 in all)."""
    name = name[:-1] if name.endswith(".") else name
    if not name or len(name) > 253:
        return False
    return all(0 < len(label) <= 63 for label in name.split("."))


def _truncate(name: str) -> str:
    """RFC 7208 7.3: drop labels on the left until the name fits in 253 characters."""
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    return name


def _nibbles(ip: IPAddress) -> str:
    """RFC 7208 7.3: %{i} of an IPv6 address is its nibbles, dot-separated."""
    if ip.version == 4:
        return str(ip)
    return ".".join(ip.exploded.replace(":", ""))


def _in(ip: IPAddress, address: str, cidr4: int | None, cidr6: int | None) -> bool:
    try:
        addr = ipaddress.ip_address(address)
    except ValueError:
        return False
    if addr.version != ip.version:
        return False
    cidr = cidr4 if addr.version == 4 else cidr6
    bits = addr.max_prefixlen if cidr is None else cidr
    return ip in ipaddress.ip_network(f"{addr}/{bits}", strict=False)


def _as_network(address: str, cidr4: int | None, cidr6: int | None) -> str | None:
    try:
        addr = ipaddress.ip_address(address)
    except ValueError:
        return None
    cidr = cidr4 if addr.version == 4 else cidr6
    if cidr is None or cidr == addr.max_prefixlen:
        return str(addr)
    return str(ipaddress.ip_network(f"{addr}/{cidr}", strict=False))


def _parse_mx(text: str) -> str | None:
    pref, _, target = text.strip().partition(" ")
    if not pref.isdigit():
        return None
    return target.strip().rstrip(".")


class _Evaluator:
    def __init__(
        self,
        lookup: Lookup,
        ip: IPAddress | None,
        sender: str,
        helo: str,
        receiver: str,
        now: float,
    ) -> None:
        self.lookup = lookup
        self.ip = ip
        self.walk = ip is None
        self.macro_ip: IPAddress = ip if ip is not None else WALK_MACRO_IP
        local, at, sdomain = sender.rpartition("@")
        if not at:
            local, sdomain = "", sender
        self.sender_local = local or "postmaster"  # RFC 7208 4.3
        self.sender_domain = sdomain
        self.helo = helo
        self.receiver = receiver
        self.now = now
        self.lookups = 0
        self.voids = 0
        self.queries = 0
        self._validated: list[str] | None = None

    # -- DNS, limits -------------------------------------------------------------------------

    async def query(self, name: str, rdtype: str, node: _TermNode | None = None) -> DnsResult:
        self.queries += 1
        if node is not None:
            node.queries += 1
        if self.queries > MAX_QUERIES:
            raise _PermError(f"evaluation stopped after {MAX_QUERIES} DNS queries")
        try:
            return await self.lookup(name, rdtype)
        except Exception as exc:  # the contract says never raises; a bug must not escape
            return DnsResult(name, rdtype, DnsStatus.ERROR, detail=f"{type(exc).__name__}")

    def count(self, node: _TermNode) -> None:
        """RFC 7208 4.6.4: at most 10 terms that cause DNS queries, in the whole evaluation."""
        self.lookups += 1
        node.lookups = 1
        node.total = self.lookups
        limit = WALK_TERM_CAP if self.walk else MAX_DNS_TERMS
        if self.lookups > limit:
            node.outcome = f"limit: DNS-querying term number {self.lookups}"
            if self.walk:
                raise _PermError(f"the walk stopped at {WALK_TERM_CAP} DNS-querying terms")
            raise _PermError(
                f"more than {MAX_DNS_TERMS} DNS-querying terms (RFC 7208 4.6.4): "
                f'"{node.term}" is number {self.lookups}'
            )

    def void(self, node: _TermNode) -> None:
        """RFC 7208 4.6.4: more than 2 lookups with no answer end the evaluation."""
        self.voids += 1
        node.void = True
        if not self.walk and self.voids > MAX_VOID_LOOKUPS:
            node.outcome = f"void lookup number {self.voids}"
            raise _PermError(
                f"more than {MAX_VOID_LOOKUPS} void lookups (RFC 7208 4.6.4): "
                f'"{node.term}" ({node.target}) is number {self.voids}'
            )

    @staticmethod
    def failed(res: DnsResult) -> None:
        if res.status in _ERRORS:
            raise _TempError(res.describe())

    # -- macros ------------------------------------------------------------------------------

    async def values(self, spec: MacroString, domain: str) -> dict[str, str]:
        ip = self.macro_ip
        vals = {
            "s": f"{self.sender_local}@{self.sender_domain}",
            "l": self.sender_local,
            "o": self.sender_domain,
            "d": domain,
            "i": _nibbles(ip),
            "v": "in-addr" if ip.version == 4 else "ip6",
            "h": self.helo,
            "c": str(ip),
            "r": self.receiver,
            "t": str(int(self.now)),
        }
        if "p" in spec.letters():
            vals["p"] = await self.validated_for_macro(domain)
        return vals

    async def target(self, spec: MacroString, domain: str) -> str | None:
        """Expand a domain-spec; None when the result is no valid domain name."""
        name = expand(spec, await self.values(spec, domain))
        name = _truncate(name[:-1] if name.endswith(".") else name)
        return name if valid_name(name) else None

    # -- PTR validation (RFC 7208 5.5) -------------------------------------------------------

    async def validated_names(self) -> list[str]:
        """The client's PTR names whose address records include the client (first 10)."""
        if self._validated is not None:
            return self._validated
        self._validated = []
        if self.ip is None:
            return self._validated
        ptr = await self.query(self.ip.reverse_pointer, "PTR")
        if ptr.status is not DnsStatus.NOERROR:
            return self._validated  # RFC 7208 5.5: a DNS error: no match, no temperror
        rdtype = "A" if self.ip.version == 4 else "AAAA"
        for name in [r.rstrip(".") for r in ptr.records][:MAX_PTR_NAMES]:  # RFC 7208 4.6.4
            if not valid_name(name):
                continue
            res = await self.query(name, rdtype)
            if res.status is not DnsStatus.NOERROR:
                continue  # RFC 7208 5.5: a DNS error on the A lookup skips that name
            if any(_in(self.ip, r, None, None) for r in res.records):
                self._validated.append(name)
        return self._validated

    async def validated_for_macro(self, domain: str) -> str:
        """RFC 7208 7.3 %{p}: the domain itself, else a subdomain of it, else any; "unknown"."""
        names = await self.validated_names()
        d = domain.lower()
        for test in (
            lambda n: n == d,
            lambda n: n.endswith("." + d),
            lambda n: True,
        ):
            for name in names:
                if test(name.lower()):
                    return name
        return "unknown"

    # -- evaluation --------------------------------------------------------------------------

    async def evaluate(
        self,
        domain: str,
        chain: tuple[str, ...],
        node: _RecordNode,
        via: _TermNode | None = None,
    ) -> _Outcome:
        """RFC 7208 4.4-4.7: fetch the record of `domain` (for the term `via`) and evaluate it."""
        txt = await self.query(domain, "TXT", via)
        if txt.status in _ERRORS:
            node.status = txt.status.value
            raise _TempError(txt.describe())  # RFC 7208 4.4
        if txt.status in _VOID:
            node.status = txt.status.value
            return _Outcome(SpfResult.NONE, "", domain, None, f"{domain}: {txt.status.value}")
        records = select_records(txt.records)
        if not records:
            node.status = "no v=spf1 record"
            return _Outcome(SpfResult.NONE, "", domain, None, f"{domain}: no v=spf1 record")
        if len(records) > 1:  # RFC 7208 4.5
            node.status = f"{len(records)} v=spf1 records"
            raise _PermError(f"{domain} publishes {len(records)} SPF records (one is allowed)")
        node.record = records[0]
        record = parse_record(records[0])
        if record.errors:  # RFC 7208 4.6: any syntax error anywhere is a permerror
            raise _PermError(
                f"syntax error in the record of {domain}: {record.errors[0].describe()}"
            )
        has_all = False
        for term in record.terms:
            if not isinstance(term, Mechanism):
                continue
            has_all = has_all or term.name == "all"
            tnode = _TermNode(term.text, term.name, term.qualifier)
            node.terms.append(tnode)
            try:
                matched = await self.mechanism(term, domain, chain, tnode)
            except _PermError as exc:
                tnode.outcome = tnode.outcome or f"permerror: {exc}"
                raise
            except _TempError as exc:
                tnode.outcome = tnode.outcome or f"temperror: {exc}"
                raise
            if matched:
                tnode.outcome = "match"
                result = _QUALIFIER_RESULT[term.qualifier]
                return _Outcome(
                    result, term.text, domain, record, f'"{term.text}" in the record of {domain}'
                )
            tnode.outcome = tnode.outcome or ("void" if tnode.void else "no match")
        redirect = record.redirect
        if redirect is not None and not has_all:  # RFC 7208 6.1, 5.1: all makes it ignored
            return await self.redirect(redirect, domain, chain, node)
        # RFC 7208 4.7: no match and no redirect: neutral.
        return _Outcome(
            SpfResult.NEUTRAL, "", domain, record, f"no term matched in the record of {domain}"
        )

    async def redirect(
        self, mod: Modifier, domain: str, chain: tuple[str, ...], node: _RecordNode
    ) -> _Outcome:
        tnode = _TermNode(mod.text, "redirect", "")
        node.terms.append(tnode)
        try:
            self.count(tnode)
            assert mod.domain is not None
            tnode.macro = mod.domain.has_macros
            target = await self.target(mod.domain, domain)
            if target is None:
                raise _PermError(f'"{mod.text}" does not expand to a valid domain (RFC 7208 6.1)')
            tnode.target = target
            self.loop(target, chain, "redirect")
            child = _RecordNode(target)
            tnode.child = child
            out = await self.evaluate(target, (*chain, target.lower()), child, tnode)
            if out.result is SpfResult.NONE:
                raise _PermError(f"redirect={target}: there is no SPF record there (RFC 7208 6.1)")
        except _PermError as exc:
            tnode.outcome = tnode.outcome or f"permerror: {exc}"
            raise
        except _TempError as exc:
            tnode.outcome = tnode.outcome or f"temperror: {exc}"
            raise
        tnode.outcome = f"gave {out.result.value}"
        return out

    @staticmethod
    def loop(target: str, chain: tuple[str, ...], how: str) -> None:
        if target.lower() in chain:
            path = " -> ".join((*chain, target.lower()))
            raise _PermError(f"{how} loop: {path}")

    async def mechanism(
        self, mech: Mechanism, domain: str, chain: tuple[str, ...], node: _TermNode
    ) -> bool:
        """RFC 7208 5: whether one mechanism matches."""
        name = mech.name
        if name == "all":
            return True
        if name in ("ip4", "ip6"):
            assert mech.network is not None
            node.networks.append(mech.network)
            if self.ip is None:
                return False
            return self.ip in ipaddress.ip_network(mech.network)
        self.count(node)
        target = domain
        if mech.domain is not None:
            node.macro = mech.domain.has_macros
            found = await self.target(mech.domain, domain)
            if found is None:
                # RFC 7208 4.8: a name no query can be made for matches nothing.
                node.outcome = "no match: the name is not a valid domain"
                return False
            target = found
        node.target = target
        if name == "include":
            return await self.include(mech, target, chain, node)
        if name == "exists":
            res = await self.query(target, "A", node)  # RFC 7208 5.7: A even for IPv6
            self.failed(res)
            if res.status in _VOID:
                self.void(node)
                return False
            return not self.walk and bool(res.records)
        if name == "a":
            return await self.addresses(target, mech, node, primary=True)
        if name == "mx":
            return await self.mx(target, mech, node)
        return await self.ptr(target, node)

    async def include(
        self, mech: Mechanism, target: str, chain: tuple[str, ...], node: _TermNode
    ) -> bool:
        """RFC 7208 5.2: the included record's result decides whether include matches."""
        self.loop(target, chain, "include")
        child = _RecordNode(target)
        node.child = child
        out = await self.evaluate(target, (*chain, target.lower()), child, node)
        if out.result is SpfResult.NONE:
            raise _PermError(f"include:{target}: there is no SPF record there (RFC 7208 5.2)")
        node.outcome = f"{'match' if out.result is SpfResult.PASS else 'no match'}: {out.result}"
        return out.result is SpfResult.PASS

    async def addresses(
        self, target: str, mech: Mechanism, node: _TermNode, *, primary: bool
    ) -> bool:
        """Address records of `target`: whether one covers the client (RFC 7208 5.3)."""
        rdtypes: tuple[str, ...]
        if self.ip is None:
            rdtypes = ("A", "AAAA")  # the walk lists what the term authorises
        else:
            rdtypes = ("A",) if self.ip.version == 4 else ("AAAA",)
        void = True
        matched = False
        for rdtype in rdtypes:
            res = await self.query(target, rdtype, node)
            self.failed(res)
            if res.status is not DnsStatus.NOERROR:
                continue
            void = False
            for rec in res.records:
                net = _as_network(rec, mech.cidr4, mech.cidr6)
                if net is not None and net not in node.networks:
                    node.networks.append(net)
                if self.ip is not None and _in(self.ip, rec, mech.cidr4, mech.cidr6):
                    matched = True
        if void and primary:
            self.void(node)
        return matched

    async def mx(self, target: str, mech: Mechanism, node: _TermNode) -> bool:
        """RFC 7208 5.4: the addresses of the MX hosts of `target`, at most 10 of them."""
        res = await self.query(target, "MX", node)
        self.failed(res)
        if res.status in _VOID:
            self.void(node)
            return False
        hosts = [h for h in (_parse_mx(r) for r in res.records) if h is not None]
        if len(hosts) > MAX_MX_NAMES:  # RFC 7208 4.6.4: more than 10 MX names is a permerror
            raise _PermError(
                f"mx:{target} has {len(hosts)} MX records; at most {MAX_MX_NAMES} are allowed "
                "(RFC 7208 4.6.4)"
            )
        matched = False
        for host in hosts:
            if not host or not valid_name(host):  # null MX "0 ." (RFC 7505) has no host
                continue
            if await self.addresses(host, mech, node, primary=False):
                matched = True
        return matched

    async def ptr(self, target: str, node: _TermNode) -> bool:
        """RFC 7208 5.5 (SHOULD NOT be used): a validated PTR name in `target`."""
        if self.ip is None:
            node.outcome = "no match (depends on the client's PTR)"
            return False
        before = self.queries
        names = await self.validated_names()
        node.queries += self.queries - before
        t = target.lower()
        return any(n.lower() == t or n.lower().endswith("." + t) for n in names)

    # -- explanation (RFC 7208 6.2) ----------------------------------------------------------

    async def explanation(self, out: _Outcome) -> str | None:
        """The expanded exp= text of the record that failed; None when there is none.

        Any problem (DNS, not exactly one TXT record, bad macros, non-ASCII) means no
        explanation; it never changes the result."""
        exp = out.record.exp if out.record is not None else None
        if exp is None or exp.domain is None:
            return None
        try:
            target = await self.target(exp.domain, out.domain)
            if target is None:
                return None
            res = await self.query(target, "TXT")
        except (_PermError, _TempError):
            return None
        if res.status is not DnsStatus.NOERROR or len(res.records) != 1:
            return None
        text = res.records[0]
        if not text.isascii():
            return None
        try:
            spec = parse_macro_string(text, explanation=True)
            return expand(spec, await self.values(spec, out.domain))
        except (MacroError, _PermError, _TempError):
            return None


def _domain_ok(domain: str) -> bool:
    """RFC 7208 4.3: a well-formed, multi-label domain (not an address literal)."""
    d = domain[:-1] if domain.endswith(".") else domain
    return valid_name(d) and "." in d and not d.startswith("[")


def parse_client_ip(text: str) -> IPAddress | None:
    """The client address; an IPv4-mapped IPv6 address is IPv4 (RFC 7208 5, 5.6)."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


async def _run(
    lookup: Lookup,
    ip: IPAddress | None,
    domain: str,
    sender: str,
    helo: str,
    receiver: str,
    now: float | None,
) -> SpfEvaluation:
    domain = domain.rstrip(".") if domain not in ("", ".") else domain
    if not sender:
        sender = f"postmaster@{helo}"  # RFC 7208 2.4: the HELO identity
    ev = _Evaluator(lookup, ip, sender, helo, receiver, time.time() if now is None else now)
    shown_ip = str(ip) if ip is not None else None
    if not _domain_ok(domain):
        return SpfEvaluation(
            domain,
            shown_ip,
            sender,
            helo,
            result=SpfResult.NONE,
            reason=f"{domain!r} is not a valid fully qualified domain (RFC 7208 4.3)",
        )
    root = _RecordNode(domain)
    explanation: str | None = None
    mechanism = ""
    try:
        out = await ev.evaluate(domain, (domain.lower(),), root)
        result, reason, mechanism = out.result, out.reason, out.mechanism
        if result is SpfResult.FAIL and not ev.walk:
            explanation = await ev.explanation(out)
    except _PermError as exc:
        result, reason = SpfResult.PERMERROR, str(exc)
    except _TempError as exc:
        result, reason = SpfResult.TEMPERROR, f"DNS lookup failed: {exc}"
    return SpfEvaluation(
        domain,
        shown_ip,
        sender,
        helo,
        result=result,
        reason=reason,
        mechanism=mechanism,
        explanation=explanation,
        lookups=ev.lookups,
        void_lookups=ev.voids,
        queries=ev.queries,
        tree=root.freeze(),
    )


async def check_host(
    lookup: Lookup,
    ip: str,
    domain: str,
    sender: str = "",
    helo: str = "",
    *,
    receiver: str = "unknown",
    now: float | None = None,
) -> SpfEvaluation:
    """RFC 7208 4: the SPF result for client `ip` sending as `sender` from `domain`."""
    client = parse_client_ip(ip)
    if client is None:
        return SpfEvaluation(
            domain, ip, sender, helo, SpfResult.PERMERROR, f"{ip!r} is not an IP address"
        )
    return await _run(lookup, client, domain, sender, helo, receiver, now)


async def walk_spf(lookup: Lookup, domain: str, sender: str = "") -> SpfEvaluation:
    """The whole lookup tree for an address no term lists: what every receiver may have to do.

    Limits are counted but not enforced (up to WALK_TERM_CAP terms), so the result shows the
    real cost; ptr and exists never match, macros are expanded for 192.0.2.1."""
    return await _run(lookup, None, domain, sender or f"postmaster@{domain}", domain, "unknown", 0)


# -- the fix for too many lookups --------------------------------------------------------------


def _inlinable(rec: RecordTrace | None) -> bool:
    """An included record whose effect is the list of its + terms (then a non-pass all)."""
    if rec is None or not rec.record or rec.status:
        return False
    for t in rec.terms:
        if t.outcome.startswith(("permerror", "temperror", "limit")):
            return False
        if t.mechanism == "redirect":
            return False
        if t.mechanism == "all":
            return t.qualifier != "+"
        if t.qualifier != "+":
            return False
    return True


def _subtree_cost(t: TermTrace) -> int:
    cost = t.lookups
    if t.child is not None:
        cost += sum(_subtree_cost(c) for c in t.child.terms)
    return cost


def _flat_terms(rec: RecordTrace, qualifier: str, top: bool) -> tuple[list[str], int]:
    """Terms equivalent to `rec` for every address, and their DNS cost."""
    out: list[str] = []
    cost = 0
    for t in rec.terms:
        qual = t.qualifier if top else qualifier
        q = "" if qual in ("+", "") else qual
        resolved = t.mechanism in ("a", "mx") and not t.macro and t.outcome in ("no match", "void")
        if t.mechanism in ("ip4", "ip6") or resolved:
            out.extend(f"{q}ip{'6' if ':' in n else '4'}:{n}" for n in t.networks)
        elif t.mechanism == "include" and not t.macro and _inlinable(t.child):
            assert t.child is not None
            inner, inner_cost = _flat_terms(t.child, t.qualifier, top=False)
            out.extend(inner)
            cost += inner_cost
        elif t.mechanism == "all":
            if top:
                out.append(t.term)
            break
        else:
            out.append(t.term)
            cost += _subtree_cost(t)
    return out, cost


def flattened(walk: SpfEvaluation) -> tuple[str, int] | None:
    """A record with the walk's effect that costs fewer DNS lookups, and its cost.

    a and mx become the ip4/ip6 they resolved to, includes whose record only lists + terms are
    inlined; exists, ptr, macros and other includes stay. None when nothing can be saved."""
    tree = walk.tree
    if tree is None or not tree.record:
        return None
    terms, cost = _flat_terms(tree, "+", top=True)
    unique = list(dict.fromkeys(terms))
    if cost >= walk.lookups:
        return None
    record = parse_record(tree.record)
    modifiers = [m.text for m in record.terms if isinstance(m, Modifier) and m.name != "redirect"]
    return " ".join(["v=spf1", *unique, *modifiers]), cost
