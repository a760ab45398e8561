"""Evidence from one sample message (.eml) a recipient received: the receiver's own verdicts,
our DKIM verification of each signature, and what the content shows.

Filled by probes/message.py from the pure analysis in maildoctor/message/; read by
checks/message.py. Every text here is shortened and made printable by the analysis, so a hostile
file cannot put megabytes into a report.
"""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.evidence.dns import DnsResult

# The receiver's trusted verdicts, by source header.
AUTH_RESULTS = "Authentication-Results"
ARC_AUTH_RESULTS = "ARC-Authentication-Results"
RECEIVED_SPF = "Received-SPF"

# Outcomes of our own DKIM verification of one DKIM-Signature.
DKIM_PASS = "pass"  # noqa: S105 (a verdict, not a password)
DKIM_BODY_MODIFIED = "body_modified"  # bh= differs: the body changed after signing
DKIM_BAD_SIGNATURE = "bad_signature"  # b= does not verify: a signed header changed, or wrong key
DKIM_KEY_MISSING = "key_missing"  # no TXT at <s>._domainkey.<d> (NXDOMAIN / NODATA)
DKIM_KEY_REVOKED = "key_revoked"  # p= empty (RFC 6376 3.6.1)
DKIM_KEY_INVALID = "key_invalid"  # the key does not load, is too small, or is not for email
DKIM_MALFORMED = "malformed"  # the DKIM-Signature itself is broken (tags, base64, algorithm)
DKIM_UNVERIFIED = "unverified"  # could not decide: DNS failure, file cut, time bound


@dataclass(frozen=True)
class AuthVerdict:
    """One method=result of a receiver's header (RFC 8601 2.2, RFC 7208 9.1, RFC 8617 4.1.1)."""

    source: str  # AUTH_RESULTS, ARC_AUTH_RESULTS or RECEIVED_SPF
    authserv_id: str  # the receiver that wrote it ("" when it gave none, as Microsoft does)
    method: str  # spf, dkim, dmarc, arc, compauth, iprev, auth...
    result: str  # pass, fail, softfail, none, neutral, temperror, permerror, policy...
    reason: str  # reason= and the (comments) the receiver wrote, joined
    properties: tuple[tuple[str, str], ...]  # (smtp.mailfrom, x@y), (header.d, y)...
    trusted: bool  # written by the receiving side (see message.parse.trust rule)

    def prop(self, name: str) -> str:
        for key, value in self.properties:
            if key == name:
                return value
        return ""

    def describe(self) -> str:
        props = " ".join(f"{k}={v}" for k, v in self.properties)
        reason = f" ({self.reason})" if self.reason else ""
        by = f"{self.authserv_id}: " if self.authserv_id else ""
        return f"{self.source}: {by}{self.method}={self.result}{reason} {props}".rstrip()


@dataclass(frozen=True)
class SpamRule:
    name: str  # BAYES_99, URIBL_BLACK, R_SPF_FAIL, SFV:SPM...
    score: str  # as the filter wrote it ("" when it gave none)
    description: str  # from X-Spam-Report when present


@dataclass(frozen=True)
class SpamVerdict:
    """What one spam filter on the way wrote about the message."""

    filter: str  # SpamAssassin, Microsoft 365, Rspamd, Gmail
    header: str  # the header name
    value: str  # the header value, shortened
    is_spam: bool
    score: str
    rules: tuple[SpamRule, ...]


@dataclass(frozen=True)
class DkimCheck:
    """Our verification of one DKIM-Signature, with the key we fetched for it."""

    index: int  # 0 = topmost DKIM-Signature
    domain: str  # d=
    selector: str  # s=
    algorithm: str  # a=
    status: str  # DKIM_PASS, DKIM_BODY_MODIFIED...
    detail: str
    key_query: DnsResult | None  # None when the signature named no usable d= / s=


@dataclass(frozen=True)
class ContentHit:
    """One content signal: a trigger word, ALL-CAPS, a shortener, a disguised link..."""

    kind: str  # word, caps_subject, exclamations, html_only, image_only, shortener, link_mismatch
    where: str  # subject, text/plain, text/html
    text: str  # what was seen, shortened


@dataclass(frozen=True)
class MessageEvidence:
    path: str
    size: int  # bytes on disk
    read_bytes: int  # bytes analysed (at most MAX_BYTES)
    truncated: bool  # bigger than MAX_BYTES: only the head was read
    error: str  # why the file is not a message we can read ("" when it is)
    defects: tuple[str, ...]  # what the email parser had to repair, shortened
    header_count: int
    from_address: str
    from_domain: str
    return_path: str
    return_path_domain: str
    subject: str  # decoded
    message_id: str
    receiver: str  # the authserv-id whose Authentication-Results are trusted
    auth: tuple[AuthVerdict, ...]
    spam: tuple[SpamVerdict, ...]
    dkim_signatures: int  # DKIM-Signature headers present
    dkim: tuple[DkimCheck, ...]  # our verification of (at most MAX_SIGNATURES of) them
    content: tuple[ContentHit, ...]
    sending_ip: str  # the address that handed the message to the receiver ("" unknown)
    sending_ip_source: str  # the header it comes from
    text_chars: int = 0  # visible text in the text parts (after decoding)
    parts: int = 0

    @property
    def sending_ips(self) -> tuple[str, ...]:
        """What diagnose feeds to the SPF and DNSBL checks as a sending IP."""
        return (self.sending_ip,) if self.sending_ip else ()

    def trusted(self, method: str) -> tuple[AuthVerdict, ...]:
        return tuple(v for v in self.auth if v.trusted and v.method == method)
