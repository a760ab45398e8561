"""Evidence of SPF: the TXT answer, the lookup tree of the record and check_host() per server.

The evaluation types live here (not in records/) so that evidence stays importable from every
layer; records/spf_eval.py builds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from maildoctor.evidence.dns import DnsResult


class SpfResult(StrEnum):
    """RFC 7208 2.6: the results of check_host()."""

    NONE = "none"
    NEUTRAL = "neutral"
    PASS = "pass"  # noqa: S105 - an SPF result, not a password
    FAIL = "fail"
    SOFTFAIL = "softfail"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


@dataclass(frozen=True)
class TermTrace:
    """One term of one record as evaluated: what it asked and what it cost."""

    term: str  # as written in the record ("include:_spf.example.com")
    mechanism: str  # all include a mx ptr ip4 ip6 exists redirect exp
    qualifier: str  # + - ~ ? ("" for modifiers)
    target: str = ""  # the expanded domain it queried, "" when none
    lookups: int = 0  # RFC 7208 4.6.4 DNS-mechanism count this term spent (0 or 1)
    total: int = 0  # running total of that count after this term
    queries: int = 0  # DNS queries actually sent for it (MX host addresses included)
    void: bool = False  # RFC 7208 4.6.4: NXDOMAIN or no answer
    outcome: str = ""  # match / no match / void / temperror: ... / limit ...
    networks: tuple[str, ...] = ()  # what it authorises (ip4/ip6, a/mx addresses as CIDR)
    macro: bool = False  # the target came from macro expansion (cannot be flattened)
    child: RecordTrace | None = None  # the record an include or redirect evaluated


@dataclass(frozen=True)
class RecordTrace:
    domain: str
    record: str  # the v=spf1 record text, "" when none was found
    terms: tuple[TermTrace, ...] = ()
    status: str = ""  # how the record lookup ended when it did not yield a record


@dataclass(frozen=True)
class SpfEvaluation:
    """The outcome of check_host() for one client IP, or of the worst-case walk (ip None)."""

    domain: str
    ip: str | None
    sender: str
    helo: str
    result: SpfResult
    reason: str
    mechanism: str = ""  # the term that decided ("-all", "include:x"), "" for a default
    explanation: str | None = None  # RFC 7208 6.2, expanded exp= text on fail
    lookups: int = 0
    void_lookups: int = 0
    queries: int = 0
    tree: RecordTrace | None = None

    def chain(self) -> tuple[tuple[int, str, TermTrace], ...]:
        """The tree flattened in evaluation order: (depth, record domain, term)."""
        out: list[tuple[int, str, TermTrace]] = []

        def visit(rec: RecordTrace, depth: int) -> None:
            for term in rec.terms:
                out.append((depth, rec.domain, term))
                if term.child is not None:
                    visit(term.child, depth + 1)

        if self.tree is not None:
            visit(self.tree, 0)
        return tuple(out)


@dataclass(frozen=True)
class SpfServerCheck:
    ip: str
    source: str  # "MX mx.example.com" or "--sending-ip"
    evaluation: SpfEvaluation


@dataclass(frozen=True)
class SpfEvidence:
    domain: str
    txt: DnsResult
    records: tuple[str, ...]  # the TXT strings that start with v=spf1
    walk: SpfEvaluation | None  # every include/redirect, no address matching (the worst case)
    servers: tuple[SpfServerCheck, ...] = ()
    servers_skipped: tuple[str, ...] = ()  # "ADDRESS: why it was not evaluated"
