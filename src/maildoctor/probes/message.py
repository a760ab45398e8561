"""The sample-message probe (evidence "message.sample"): read a saved .eml, analyse it, and
verify each DKIM-Signature against the key published now.

A REQUEST probe (like probes/account.py): it needs a file, so it is not registered with
@probe and `maildoctor check` never plans it; `diagnose --symptom spam-folder --eml FILE`
merges `message_probes(path)` into its plan and checks/message.py reads the evidence.

I/O here: the file (at most MAX_BYTES read, in a thread) and the DKIM key records, fetched
through the run's async DnsClient (cached, bounded, never raising). The DKIM verification is
dkimpy's, run in a thread under a time bound with a `dnsfunc` that hands it the TXT we fetched,
so dkimpy does no DNS of its own. Before dkimpy runs, the key record is judged with
records/dkim.py, so "no key", "revoked" and "key does not load" are told apart from a bad
signature (dkimpy reports those as a bare False).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import dkim  # type: ignore[import-untyped]

from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.evidence.message import (
    DKIM_BAD_SIGNATURE,
    DKIM_BODY_MODIFIED,
    DKIM_KEY_INVALID,
    DKIM_KEY_MISSING,
    DKIM_KEY_REVOKED,
    DKIM_MALFORMED,
    DKIM_PASS,
    DKIM_UNVERIFIED,
    DkimCheck,
    MessageEvidence,
)
from maildoctor.message.analyse import Signature, analyse, empty, with_dkim
from maildoctor.message.parse import (
    MAX_BYTES,
    parse,
    sending_ip,
    shown,
    strip_mbox,
    trusted_verdicts,
)
from maildoctor.probes import ProbeContext, ProbeSpec
from maildoctor.records.dkim import parse_key_record

KEY = "message.sample"
MIN_CPU_S = 10.0  # parsing or verifying 10 MiB may take a few seconds on a slow machine
MIN_RSA_BITS = 1024  # RFC 8301 3.2: verifiers MUST NOT accept smaller keys

_quiet = logging.getLogger("maildoctor.dkimpy")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False  # dkimpy logs errors we report as evidence; keep stderr clean


def message_probes(path: Path) -> dict[str, ProbeSpec]:
    """The plan fragment diagnose merges: {"message.sample": the probe for this file}."""

    async def sample(ctx: ProbeContext) -> MessageEvidence:
        return await probe_message(ctx, path)

    return {KEY: ProbeSpec(KEY, (), sample)}


def sending_ip_of(path: Path) -> str:
    """The IP that handed the sample to the receiver ("" when unknown or unreadable), for a
    caller that wants it before planning (diagnose adds it to settings.sending_ips so the SPF
    and DNSBL checks judge it). Reads the file's head and parses only; no DNS."""
    data, _, _, error = read_head(path)
    if error or not data:
        return ""
    parsed = parse(data)
    if parsed.message is None:
        return ""
    return sending_ip(parsed, trusted_verdicts(parsed)[1])[0]


def read_head(path: Path) -> tuple[bytes, int, bool, str]:
    """(bytes read, size on disk, cut, error) for at most MAX_BYTES of the file."""
    try:
        if path.is_dir():
            return b"", 0, False, f"{path} is a directory, not a saved message"
        size = path.stat().st_size
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        return b"", 0, False, f"cannot read {path}: {exc.strerror or type(exc).__name__}"
    truncated = len(data) > MAX_BYTES
    return data[:MAX_BYTES], max(size, len(data)), truncated, ""


async def probe_message(ctx: ProbeContext, path: Path) -> MessageEvidence:
    bound = max(ctx.settings.step_timeout, MIN_CPU_S)
    data, size, truncated, error = await asyncio.to_thread(read_head, path)
    if error:
        return empty(str(path), size, 0, False, error)
    try:
        async with asyncio.timeout(bound):
            ev, sigs = await asyncio.to_thread(
                analyse, data, path=str(path), size=size, truncated=truncated
            )
    except TimeoutError:
        return empty(str(path), size, len(data), truncated, f"analysis took over {bound:g} s")
    if not sigs:
        return ev
    keys = await asyncio.gather(*(ctx.dns.query(s.key_name, "TXT") for s in sigs))
    checks = [
        await _verify_one(data, sig, key, truncated, bound)
        for sig, key in zip(sigs, keys, strict=True)
    ]
    return with_dkim(ev, tuple(checks))


def _key_text(result: DnsResult) -> tuple[str, str]:
    """(the key record to use, a note) from the TXT answer at <s>._domainkey.<d>."""
    candidates = [r for r in result.records if "p=" in r or r.strip().startswith("v=DKIM1")]
    if not candidates:
        return "", ""
    note = (
        f" ({len(candidates)} key records published; the first was used)"
        if len(candidates) > 1
        else ""
    )
    return candidates[0], note


async def _verify_one(
    data: bytes, sig: Signature, key: DnsResult, truncated: bool, bound: float
) -> DkimCheck:
    def made(status: str, detail: str) -> DkimCheck:
        return DkimCheck(sig.index, sig.domain, sig.selector, sig.algorithm, status, detail, key)

    if key.status in (DnsStatus.NXDOMAIN, DnsStatus.NODATA):
        return made(DKIM_KEY_MISSING, f"{sig.key_name} TXT: {key.status.value}")
    if key.status is not DnsStatus.NOERROR:
        return made(DKIM_UNVERIFIED, f"the key could not be fetched: {key.describe()}")
    text, note = _key_text(key)
    if not text:
        return made(
            DKIM_KEY_MISSING,
            f"{sig.key_name} has TXT records but no DKIM key: {shown(key.describe())}",
        )
    record = parse_key_record(text)
    if record.revoked:
        return made(DKIM_KEY_REVOKED, f"{sig.key_name}: p= is empty (revoked){note}")
    if record.key is None or record.problems:
        why = (
            record.key_error
            or "; ".join(p.message for p in record.problems)
            or "the key does not load"
        )
        return made(DKIM_KEY_INVALID, f"{why}{note}")
    if record.key.algorithm == "rsa" and record.key.bits < MIN_RSA_BITS:
        return made(
            DKIM_KEY_INVALID,
            f"RSA key of {record.key.bits} bits: verifiers refuse keys under 1024 bits "
            f"(RFC 8301 3.2){note}",
        )
    if truncated:
        return made(
            DKIM_UNVERIFIED,
            f"the file is bigger than {MAX_BYTES // 2**20} MiB: only its head was read, "
            "the body hash cannot be checked",
        )
    try:
        async with asyncio.timeout(bound):
            status, detail = await asyncio.to_thread(
                verify, data, sig.index, text.encode("utf-8", "replace")
            )
    except TimeoutError:
        return made(DKIM_UNVERIFIED, f"verification took over {bound:g} s")
    return made(status, detail + (note if status != DKIM_PASS else ""))


def verify(data: bytes, index: int, key_txt: bytes) -> tuple[str, str]:
    """dkimpy's verdict on DKIM-Signature number `index`, with the key record given (no DNS)."""

    def dnsfunc(name: Any, timeout: int = 5) -> bytes:
        return key_txt

    body = strip_mbox(data)
    try:
        verifier = dkim.DKIM(body, logger=_quiet, minkey=MIN_RSA_BITS)
        ok = verifier.verify(idx=index, dnsfunc=dnsfunc)
    except dkim.ValidationError as exc:
        text = str(exc)
        if text.startswith("body hash mismatch"):
            # RFC 6376 3.7: the body hash (bh=) no longer matches the body
            return DKIM_BODY_MODIFIED, "bh= does not match the body received: " + shown(text, 160)
        return DKIM_MALFORMED, shown(text, 200)
    except dkim.NaClNotFoundError:
        # RFC 8463: Ed25519 verification needs PyNaCl, an optional dkimpy dependency
        return DKIM_UNVERIFIED, "an ed25519-sha256 signature: verifying it needs PyNaCl (pynacl)"
    except dkim.KeyFormatError as exc:
        return DKIM_KEY_INVALID, shown(str(exc), 200)
    except dkim.DKIMException as exc:
        return DKIM_MALFORMED, f"{type(exc).__name__}: {shown(str(exc), 200)}"
    except Exception as exc:  # dkimpy on hostile input: a verdict we cannot give, not a crash
        return DKIM_UNVERIFIED, f"the verifier failed: {type(exc).__name__}: {shown(str(exc), 160)}"
    if ok:
        return DKIM_PASS, ""
    # RFC 6376 3.7: the body hash matched, so b= failed over the signed headers
    return (
        DKIM_BAD_SIGNATURE,
        "the body hash matches but the signature (b=) does not verify over the signed headers: "
        "a signed header (Subject, From...) was changed after signing, or the message was "
        "signed with a private key that does not match the published one",
    )
