"""A received message, bytes in: its headers, the receiver's verdicts, the sending IP.

No I/O. Tolerant of anything: the stdlib email parser (policy compat32, which records defects
instead of raising) reads whatever it is given; an mbox "From " line, CRLF or LF, 8-bit
garbage in headers, MIME nested deeper than the parser's recursion, all end as a parsed
message plus a list of defects, never an exception.

Which verdicts are trusted (the rule `trust_auth_results` implements): every hop *prepends*
its trace headers, so the topmost Authentication-Results was written by the last hop, the
receiver's own mailbox side. RFC 8601 5 has a receiver remove A-R headers carrying its own
authserv-id from incoming mail, but anything further down may come from the sender or a hop on
the way, forged or stale. So: the authserv-id of the topmost Authentication-Results is the
receiver; its A-R headers are trusted from the top down until the first A-R of another
authserv-id (everything below that was there before the receiver). Received-SPF: only the
topmost (RFC 7208 9.1, prepended by the receiver's SPF check). ARC-Authentication-Results
(RFC 8617 4.1.1) of the highest instance stand in only when there is no Authentication-Results
at all. Spam-filter headers are reported with the filter's name whoever wrote them: an
outbound filter of the sender that says "spam" is worth knowing too.
"""

from __future__ import annotations

import email.header
import email.utils
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32

from maildoctor.evidence.message import (
    ARC_AUTH_RESULTS,
    AUTH_RESULTS,
    RECEIVED_SPF,
    AuthVerdict,
    SpamRule,
    SpamVerdict,
)

MAX_BYTES = 10 * 1024 * 1024  # read at most this of a file; the rest is said to be cut
MAX_SHOWN = 200  # characters of any header value put into evidence
MAX_HEADER_PARSE = 64 * 1024  # characters of one header value a verdict parser reads
MAX_VERDICT_HEADERS = 50  # Authentication-Results / spam headers looked at, from the top
MAX_RESINFO = 40  # method=result entries read from one header
MAX_RULES = 60  # spam rules kept from one header
MAX_DEFECTS = 20
MAX_COMMENT_DEPTH = 16


def shown(text: str, limit: int = MAX_SHOWN) -> str:
    """Printable, one line, short: what may go into evidence."""
    flat = re.sub(r"\s+", " ", text[: limit * 4]).strip()
    flat = "".join(ch if ch.isprintable() else f"\\x{ord(ch) & 0xFF:02x}" for ch in flat)
    if len(flat) > limit or len(text) > limit * 4:
        return flat[:limit] + "..."
    return flat


def _clean(value: object) -> str:
    """A raw compat32 header value as text: 8-bit bytes arrive as surrogates, read as UTF-8."""
    text = value if isinstance(value, str) else str(value)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", " ")


def decode_words(value: str) -> str:
    """RFC 2047 encoded-words decoded; undecodable words kept as written."""
    text = unfold(value)[:MAX_HEADER_PARSE]
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except Exception:  # any charset / syntax garbage: keep the raw text
        return text


@dataclass
class Parsed:
    """The parsed message and what parsing had to say about it."""

    message: Message | None
    headers: list[tuple[str, str]]  # (name, raw value with folding), top to bottom
    defects: list[str] = field(default_factory=list)
    error: str = ""  # the file is not a mail message we can read

    def values(self, name: str) -> list[str]:
        want = name.lower()
        return [v for n, v in self.headers if n.lower() == want]

    def first(self, name: str) -> str:
        found = self.values(name)
        return found[0] if found else ""


_KNOWN = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Received",
        "Return-Path",
        "MIME-Version",
        "Content-Type",
        "DKIM-Signature",
        "Authentication-Results",
        "Delivered-To",
        "Reply-To",
        "Sender",
    )
)


def strip_mbox(data: bytes) -> bytes:
    """Without an mbox "From " separator line, which is not part of the message (RFC 4155)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith(b"From "):
        _, _, rest = data.partition(b"\n")
        return rest
    return data


def parse(data: bytes) -> Parsed:
    """Parse a message; never raises. `data` is already bounded to MAX_BYTES by the caller."""
    body = strip_mbox(data)
    if not body.strip():
        return Parsed(None, [], error="the file is empty")
    defects: list[str] = []
    msg: Message
    try:
        msg = BytesParser(policy=compat32).parsebytes(body)
    except RecursionError:
        # The parser recurses once per MIME level; a bomb of nested multiparts ends here.
        defects.append("MIME parts nested too deep to parse: headers read, body not analysed")
        msg = BytesHeaderParser(policy=compat32).parsebytes(body)
    except Exception as exc:  # the stdlib parser is meant not to raise; be sure of it
        return Parsed(None, [], error=f"not parseable as a message: {type(exc).__name__}")
    headers = [(_clean(n), _clean(v)) for n, v in msg.raw_items()]
    parsed = Parsed(msg, headers, defects)
    for d in msg.defects[:MAX_DEFECTS]:
        defects.append(type(d).__name__)
    if not any(n.lower() in _KNOWN for n, _ in headers):
        parsed.error = (
            "no mail header found (From, Received, Subject...): not a message saved with its "
            "headers (save it as .eml / 'Show original' / 'Download message')"
        )
    return parsed


def walk(msg: Message, max_parts: int = 500, max_depth: int = 40) -> Iterator[Message]:
    """Every MIME part, depth first, bounded in number and depth (no recursion)."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while stack and seen < max_parts:
        part, depth = stack.pop()
        seen += 1
        yield part
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list) and depth < max_depth:
            stack.extend((p, depth + 1) for p in reversed(payload) if isinstance(p, Message))


# ---- addresses -------------------------------------------------------------------------


def address_domain(value: str) -> tuple[str, str]:
    """(address, domain lower-cased) of the first address of a From / Return-Path value."""
    text = decode_words(value)
    try:
        pairs = email.utils.getaddresses([text])
    except Exception:
        pairs = []
    for _, addr in pairs:
        if "@" in addr:
            domain = addr.rpartition("@")[2].strip().strip(">").lower().rstrip(".")
            return shown(addr, 120), shown(domain, 120)
    return "", ""


# ---- RFC 8601 Authentication-Results -----------------------------------------------------


def _segments(value: str) -> list[tuple[str, list[str]]]:
    """Split at ";" outside quoted strings and comments: (text without comments, comments)."""
    out: list[tuple[str, list[str]]] = []
    text: list[str] = []
    comments: list[str] = []
    comment: list[str] = []
    depth = 0
    quoted = escaped = False
    for ch in value[:MAX_HEADER_PARSE]:
        if escaped:
            (comment if depth else text).append(ch)
            escaped = False
        elif ch == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            text.append(ch)
            quoted = ch != '"'
        elif ch == "(":
            depth += 1
            if depth > 1:
                comment.append(ch)
        elif ch == ")" and depth:
            depth -= 1
            if depth:
                comment.append(ch)
            else:
                comments.append("".join(comment).strip())
                comment = []
        elif depth:
            if depth <= MAX_COMMENT_DEPTH:
                comment.append(ch)
        elif ch == '"':
            text.append(ch)
            quoted = True
        elif ch == ";":
            out.append(("".join(text), comments))
            text, comments = [], []
        else:
            text.append(ch)
    if comment:
        comments.append("".join(comment).strip())
    out.append(("".join(text), comments))
    return out


_PAIR = re.compile(r'([A-Za-z0-9._/-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s";]*)')
_METHOD_FIRST = re.compile(r"^\s*[A-Za-z0-9_-]+(?:/\d+)?\s*=")


def _resinfo(source: str, authserv: str, text: str, comments: list[str]) -> AuthVerdict | None:
    pairs = [(k, v.strip('"')) for k, v in _PAIR.findall(text)]
    if not pairs:
        return None
    method, result = pairs[0]
    method = method.lower().split("/", 1)[0]  # RFC 8601 2.2: method [ "/" version ]
    reasons = [v for k, v in pairs[1:] if k.lower() == "reason"]
    props = tuple((k.lower(), shown(v, 120)) for k, v in pairs[1:] if k.lower() != "reason")
    reason = "; ".join([*reasons, *(c for c in comments if c)])
    return AuthVerdict(
        source,
        authserv,
        shown(method, 40),
        shown(result.lower(), 40),
        shown(reason, 300),
        props[:20],
        trusted=False,
    )


def parse_auth_results(value: str, source: str = AUTH_RESULTS) -> list[AuthVerdict]:
    """RFC 8601 2.2: authserv-id [version] *( ";" resinfo ) or "; none"."""
    segments = _segments(unfold(value))
    if source == ARC_AUTH_RESULTS and segments and re.match(r"\s*i\s*=\s*\d+\s*$", segments[0][0]):
        segments = segments[1:]  # RFC 8617 4.1.1: "i=N;" before the A-R payload
    if not segments:
        return []
    first = segments[0][0]
    authserv = ""
    if _METHOD_FIRST.match(first):
        rest = segments  # Microsoft 365 writes no authserv-id: the first part is a result
    else:
        words = first.split()
        authserv = shown(words[0].lower(), 120) if words else ""
        rest = segments[1:]
    verdicts: list[AuthVerdict] = []
    for text, comments in rest[:MAX_RESINFO]:
        if text.strip().lower() == "none":
            continue  # RFC 8601 2.2: no authentication was done
        found = _resinfo(source, authserv, text, comments)
        if found is not None:
            verdicts.append(found)
    return verdicts


def arc_instance(value: str) -> int:
    m = re.match(r"\s*i\s*=\s*(\d{1,4})\s*;", value)
    return int(m.group(1)) if m else 0


def parse_received_spf(value: str) -> AuthVerdict | None:
    """RFC 7208 9.1: result [comment] [key=value; ...]."""
    text = unfold(value)[:MAX_HEADER_PARSE]
    m = re.match(r"\s*([A-Za-z]+)\s*", text)
    if not m:
        return None
    rest = text[m.end() :]
    comment = ""
    if rest.startswith("("):
        segs = _segments(rest.replace(";", "\x00"))
        comments = segs[0][1] if segs else []
        comment = comments[0].replace("\x00", ";") if comments else ""
        rest = segs[0][0].replace("\x00", ";") if segs else ""
    props = tuple((k.lower(), shown(v.strip('"'), 120)) for k, v in _PAIR.findall(rest))
    return AuthVerdict(
        RECEIVED_SPF,
        "",
        "spf",
        shown(m.group(1).lower(), 40),
        shown(comment, 300),
        props[:20],
        False,
    )


def trusted_verdicts(parsed: Parsed) -> tuple[str, list[AuthVerdict]]:
    """(receiver authserv-id, every verdict) with the trust rule of the module docstring."""
    verdicts: list[AuthVerdict] = []
    receiver: str | None = None
    trusting = True
    for value in parsed.values(AUTH_RESULTS)[:MAX_VERDICT_HEADERS]:
        found = parse_auth_results(value, AUTH_RESULTS)
        ident = found[0].authserv_id if found else _authserv_only(value)
        if receiver is None:
            receiver = ident
        if ident != receiver:
            trusting = False
        verdicts.extend(_with_trust(v, trusting) for v in found)
    arc = [(arc_instance(v), v) for v in parsed.values(ARC_AUTH_RESULTS)[:MAX_VERDICT_HEADERS]]
    top = max((i for i, _ in arc), default=0)
    for inst, value in arc:
        trust = receiver is None and inst == top
        verdicts.extend(_with_trust(v, trust) for v in parse_auth_results(value, ARC_AUTH_RESULTS))
    for n, value in enumerate(parsed.values(RECEIVED_SPF)[:MAX_VERDICT_HEADERS]):
        spf = parse_received_spf(value)
        if spf is not None:
            verdicts.append(_with_trust(spf, n == 0))
    if receiver is None:
        arc_ids = [v.authserv_id for v in verdicts if v.trusted and v.source == ARC_AUTH_RESULTS]
        receiver = arc_ids[0] if arc_ids else ""
    return receiver, verdicts


def _authserv_only(value: str) -> str:
    segs = _segments(unfold(value))
    words = segs[0][0].split() if segs else []
    return shown(words[0].lower(), 120) if words else ""


def _with_trust(v: AuthVerdict, trusted: bool) -> AuthVerdict:
    return AuthVerdict(v.source, v.authserv_id, v.method, v.result, v.reason, v.properties, trusted)


# ---- spam filter headers -----------------------------------------------------------------

_SA_RULE = re.compile(r"([A-Z][A-Z0-9_]{1,60})(?:=(-?\d+(?:\.\d+)?))?")
_SA_REPORT = re.compile(r"^\s*\*?\s*(-?\d+(?:\.\d+)?)\s+([A-Z][A-Z0-9_]{1,60})\s+(.*)$")
_RSPAMD_RULE = re.compile(r"([A-Z][A-Z0-9_]{1,60})\((-?\d+(?:\.\d+)?)\)")
FOREFRONT_SPAM_SFV = {"SPM": "spam", "SKS": "marked spam by a mail flow rule", "BLK": "blocked"}
FOREFRONT_CAT = {
    "SPM": "spam",
    "HSPM": "high confidence spam",
    "PHSH": "phishing",
    "HPHSH": "high confidence phishing",
    "BULK": "bulk",
    "SPOOF": "spoofing",
    "GIMP": "impersonation (mailbox intelligence)",
    "DIMP": "domain impersonation",
    "UIMP": "user impersonation",
    "MALW": "malware",
    "AMP": "anti-malware",
}
RSPAMD_SPAM_ACTIONS = ("add header", "rewrite subject", "reject", "soft reject")
SA_THRESHOLD = 5.0  # SpamAssassin's default required_score
SCL_JUNK = 5  # Microsoft: SCL 5 and 6 spam, 9 high confidence spam (junk folder)
BCL_BULK = 7  # Microsoft's default bulk threshold


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _sa_report_descriptions(parsed: Parsed) -> dict[str, tuple[str, str]]:
    """rule -> (points, description) from X-Spam-Report lines "*  3.5 BAYES_99 BODY: ..."."""
    out: dict[str, tuple[str, str]] = {}
    for value in parsed.values("X-Spam-Report")[:3]:
        for line in value[:MAX_HEADER_PARSE].splitlines():
            m = _SA_REPORT.match(line)
            if m and len(out) < MAX_RULES:
                out[m.group(2)] = (m.group(1), shown(m.group(3), 120))
    return out


def _spamassassin(parsed: Parsed) -> list[SpamVerdict]:
    found: list[SpamVerdict] = []
    described = _sa_report_descriptions(parsed)
    flag = parsed.first("X-Spam-Flag").strip().upper() == "YES"
    for value in parsed.values("X-Spam-Status")[:MAX_VERDICT_HEADERS]:
        text = unfold(value)[:MAX_HEADER_PARSE]
        score = re.search(r"(?:score|hits)=(-?\d+(?:\.\d+)?)", text)
        tests = re.search(r"tests=(.*?)(?:\s+[a-z_]+=|$)", text, re.DOTALL)
        rules: list[SpamRule] = []
        if tests:
            for name, pts in _SA_RULE.findall(tests.group(1))[:MAX_RULES]:
                points, about = described.get(name, ("", ""))
                rules.append(SpamRule(name, pts or points, about))
        is_spam = text.strip().lower().startswith("yes") or flag
        found.append(
            SpamVerdict(
                "SpamAssassin",
                "X-Spam-Status",
                shown(text),
                is_spam,
                score.group(1) if score else "",
                tuple(rules),
            )
        )
    if not found and flag:
        found.append(SpamVerdict("SpamAssassin", "X-Spam-Flag", "YES", True, "", ()))
    if not found:
        for value in parsed.values("X-Spam-Score")[:1]:
            num = _float(value.strip())
            if num is not None:
                spam = num >= SA_THRESHOLD
                found.append(
                    SpamVerdict("spam filter", "X-Spam-Score", shown(value), spam, str(num), ())
                )
    return found


def _pairs(value: str, sep: str = ";", kv: str = ":") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for item in unfold(value)[:MAX_HEADER_PARSE].split(sep):
        key, _, val = item.partition(kv)
        if key.strip():
            out.append((key.strip().upper(), val.strip()))
    return out


def _microsoft(parsed: Parsed) -> list[SpamVerdict]:
    found: list[SpamVerdict] = []
    for value in parsed.values("X-Forefront-Antispam-Report")[:1]:
        rules: list[SpamRule] = []
        spam = False
        score = ""
        for key, val in _pairs(value):
            v = val.upper()
            if key == "SFV" and v in FOREFRONT_SPAM_SFV:
                spam = True
                rules.append(SpamRule(f"SFV:{v}", "", FOREFRONT_SPAM_SFV[v]))
            elif key == "CAT" and v in FOREFRONT_CAT and v != "NONE":
                spam = True
                rules.append(SpamRule(f"CAT:{v}", "", FOREFRONT_CAT[v]))
            elif key == "SCL":
                score = val
                num = _float(val)
                if num is not None and num >= SCL_JUNK:
                    spam = True
                    rules.append(SpamRule(f"SCL:{val}", val, "spam confidence level 5+ is junk"))
        found.append(
            SpamVerdict(
                "Microsoft 365",
                "X-Forefront-Antispam-Report",
                shown(value),
                spam,
                score,
                tuple(rules),
            )
        )
    for value in parsed.values("X-MS-Exchange-Organization-SCL")[:1]:
        num = _float(value.strip())
        if num is not None:
            spam = num >= SCL_JUNK
            scl = (SpamRule(f"SCL:{value.strip()}", value.strip(), "spam confidence level"),)
            found.append(
                SpamVerdict(
                    "Microsoft 365",
                    "X-MS-Exchange-Organization-SCL",
                    shown(value),
                    spam,
                    value.strip(),
                    scl if spam else (),
                )
            )
    for value in parsed.values("X-Microsoft-Antispam")[:1]:
        for key, val in _pairs(value):
            num = _float(val)
            if key == "BCL" and num is not None and num >= BCL_BULK:
                found.append(
                    SpamVerdict(
                        "Microsoft 365",
                        "X-Microsoft-Antispam",
                        shown(value),
                        True,
                        val,
                        (SpamRule(f"BCL:{val}", val, "bulk complaint level: sender of bulk mail"),),
                    )
                )
    for value in parsed.values("X-Microsoft-Antispam-Mailbox-Delivery")[:1]:
        dest = dict(_pairs(value)).get("DEST", "")
        if dest.upper() == "J":
            found.append(
                SpamVerdict(
                    "Microsoft 365",
                    "X-Microsoft-Antispam-Mailbox-Delivery",
                    shown(value),
                    True,
                    "",
                    (SpamRule("dest:J", "", "delivered to the Junk Email folder"),),
                )
            )
    return found


def _rspamd(parsed: Parsed) -> list[SpamVerdict]:
    action = parsed.first("X-Rspamd-Action").strip().lower()
    result = parsed.first("X-Rspamd-Result") or parsed.first("X-Spamd-Result")
    score = parsed.first("X-Rspamd-Score").strip()
    if not (action or result or score):
        return []
    rules = tuple(
        SpamRule(name, pts, "")
        for name, pts in _RSPAMD_RULE.findall(unfold(result)[:MAX_HEADER_PARSE])
    )[:MAX_RULES]
    positive = tuple(r for r in rules if (_float(r.score) or 0.0) > 0)
    is_spam = action in RSPAMD_SPAM_ACTIONS or bool(re.match(r"\s*default:\s*true", result, re.I))
    if not score:
        m = re.search(r"\[\s*(-?\d+(?:\.\d+)?)\s*/", result)
        score = m.group(1) if m else ""
    header = "X-Rspamd-Result" if parsed.first("X-Rspamd-Result") else "X-Spamd-Result"
    shown_value = shown(f"action={action} {result}".strip() if action else result)
    return [
        SpamVerdict(
            "Rspamd", header if result else "X-Rspamd-Action", shown_value, is_spam, score, positive
        )
    ]


def _gmail(parsed: Parsed) -> list[SpamVerdict]:
    found: list[SpamVerdict] = []
    for name in ("X-Gm-Spam", "X-Gm-Phishy"):
        value = parsed.first(name).strip()
        if value == "1":
            found.append(SpamVerdict("Gmail", name, value, True, "", (SpamRule(name, "1", ""),)))
    return found


def spam_verdicts(parsed: Parsed) -> list[SpamVerdict]:
    return [*_spamassassin(parsed), *_microsoft(parsed), *_rspamd(parsed), *_gmail(parsed)]


# ---- the sending IP -----------------------------------------------------------------------

_RECEIVED_FROM = re.compile(r"^\s*from\s+(\S+)\s*(\([^)]{0,500}\))?", re.IGNORECASE)
_IP_IN = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]{2,45})\]|\(([0-9A-Fa-f:.]{2,45})\)")
_SENDER_IP_TEXT = re.compile(
    r"(?:sender IP is|designates|client-ip=|smtp\.remote-ip=)\s*\[?([0-9A-Fa-f:.]{2,45})"
)


def _ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return ""


def _is_global(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_global
    except ValueError:
        return False


def received_ip(value: str) -> str:
    """The IP of the `from` clause of one Received header (RFC 5321 4.4), "" when none."""
    text = unfold(value)[:4096]
    m = _RECEIVED_FROM.match(text)
    if not m:
        return ""
    clause = (m.group(2) or "") + " " + m.group(1)
    for a, b in _IP_IN.findall(clause):
        ip = _ip(a or b)
        if ip:
            return ip
    return ""


def sending_ip(parsed: Parsed, verdicts: list[AuthVerdict]) -> tuple[str, str]:
    """(ip, where it comes from): the address that handed the message to the receiver.

    In order: the receiver's Received-SPF client-ip= (RFC 7208 9.1), Microsoft's connecting IP
    (X-Forefront-Antispam-Report CIP:), the IP the receiver's SPF verdict names, then the
    topmost Received whose `from` carries a public IP (internal hops of the receiver carry
    private ones), else the topmost with any IP (a lab on loopback).
    """
    for v in verdicts:
        if v.trusted and v.source == RECEIVED_SPF:
            ip = _ip(v.prop("client-ip"))
            if ip:
                return ip, "Received-SPF client-ip"
    for value in parsed.values("X-Forefront-Antispam-Report")[:1]:
        ip = _ip(dict(_pairs(value)).get("CIP", ""))
        if ip:
            return ip, "X-Forefront-Antispam-Report CIP"
    for v in verdicts:
        if v.trusted and v.method in ("spf", "iprev"):
            for text in (v.reason, *(f"{k}={val}" for k, val in v.properties)):
                m = _SENDER_IP_TEXT.search(text)
                if m and _ip(m.group(1)):
                    return _ip(
                        m.group(1)
                    ), f"{v.source} {v.method} of {v.authserv_id or 'receiver'}"
    ips = [ip for ip in (received_ip(v) for v in parsed.values("Received")[:100]) if ip]
    for ip in ips:
        if _is_global(ip):
            return ip, "the topmost Received header with a public IP"
    if ips:
        return ips[0], "the topmost Received header with an IP"
    return "", ""
