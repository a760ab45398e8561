"""Sample-message analysis (diagnose --symptom spam-folder --eml FILE): the receiver's verdicts,
our DKIM verification with dkimpy on a key fetched through the (fake) DnsClient, alignment,
spam-filter headers, content signals, the sending IP, and hostile files."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from maildoctor import engine
from maildoctor.checks import all_checks
from maildoctor.evidence.dns import DnsStatus
from maildoctor.evidence.message import (
    ARC_AUTH_RESULTS,
    AUTH_RESULTS,
    DKIM_BODY_MODIFIED,
    DKIM_PASS,
    MessageEvidence,
)
from maildoctor.message.content import analyse as analyse_content
from maildoctor.message.content import fold
from maildoctor.message.parse import (
    MAX_BYTES,
    decode_words,
    parse,
    parse_auth_results,
    parse_received_spf,
    received_ip,
    trusted_verdicts,
)
from maildoctor.probes import all_probes
from maildoctor.probes.message import message_probes, sending_ip_of
from maildoctor.render.json import jsonable
from maildoctor.report import Severity
from maildoctor.settings import Settings, parse_resolver

from .fake_dns import fake_dns
from .message_samples import (
    DATA,
    by_code,
    codes,
    evidence_of,
    judge,
    key_record,
    rsa_key,
    sign,
)

KEY_NAME = "mail._domainkey.example.com"
RECEIVED_OK = (
    b"Authentication-Results: mx.receiver.example;\n"
    b" dkim=pass header.d=example.com header.s=mail;\n"
    b" spf=pass smtp.mailfrom=alice@example.com;\n"
    b" dmarc=pass (p=REJECT) header.from=example.com\n"
    b"Received-SPF: pass (mx.receiver.example: domain of alice@example.com designates "
    b"93.184.215.14 as permitted sender) client-ip=93.184.215.14; "
    b"envelope-from=alice@example.com;\n"
    b"Return-Path: <alice@example.com>\n"
    b"Received: from mail.example.com (mail.example.com [93.184.215.14])\n"
    b"\tby mx.receiver.example (Postfix) with ESMTPS id 4Zabc\n"
    b"\tfor <bob@receiver.example>; Thu, 26 Nov 2026 10:00:01 +0000 (UTC)\n"
)
PLAIN = (DATA / "plain.eml").read_bytes()


def write(tmp_path: Path, data: bytes, name: str = "sample.eml") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def signed_sample(tmp_path: Path, body_change: bytes = b"", domain: str = "example.com") -> Path:
    message = sign(PLAIN, domain)
    return write(tmp_path, RECEIVED_OK + message + body_change)


# ---- RFC 8601 parsing and the trust rule ----------------------------------------------------


def test_auth_results_methods_properties_reasons_and_comments() -> None:
    value = (
        "mx.google.com 1;\r\n       dkim=pass header.i=@example.com header.s=mail "
        'header.b="Ab/Cd";\r\n       spf=fail (google.com: domain of x@example.com does not '
        "designate 192.0.2.1 as permitted sender (nested)) smtp.mailfrom=x@example.com;\r\n"
        '       dmarc=fail reason="policy; p=reject" (p=REJECT sp=REJECT dis=REJECT) '
        "header.from=example.com;\r\n       auth/1=none"
    )
    found = parse_auth_results(value)
    assert [(v.method, v.result) for v in found] == [
        ("dkim", "pass"),
        ("spf", "fail"),
        ("dmarc", "fail"),
        ("auth", "none"),
    ]
    assert {v.authserv_id for v in found} == {"mx.google.com"}
    assert found[0].prop("header.s") == "mail" and found[0].prop("header.b") == "Ab/Cd"
    assert "does not designate 192.0.2.1" in found[1].reason and "(nested)" in found[1].reason
    assert found[2].reason.startswith("policy; p=reject") and "p=REJECT" in found[2].reason
    assert found[2].prop("header.from") == "example.com"


def test_auth_results_microsoft_without_authserv_id_and_none() -> None:
    ms = (
        "spf=pass (sender IP is 203.0.113.7) smtp.mailfrom=b.example; dkim=none (message "
        "not signed) header.d=none;dmarc=fail action=quarantine header.from=a.example;"
        "compauth=fail reason=000"
    )
    found = parse_auth_results(ms)
    assert [v.method for v in found] == ["spf", "dkim", "dmarc", "compauth"]
    assert all(v.authserv_id == "" for v in found)
    assert found[2].prop("action") == "quarantine" and found[3].reason == "000"
    assert parse_auth_results("mx.example.net; none") == []
    assert parse_auth_results(";;;((((") == []  # garbage: nothing, no exception


def test_received_spf_and_received_ip() -> None:
    spf = parse_received_spf(
        "Softfail (mailfrom; identity=x) client-ip=2001:db8::25; envelope-from=a@b.example; "
        'helo="mail.b.example";'
    )
    assert spf is not None and spf.result == "softfail" and spf.method == "spf"
    assert spf.prop("client-ip") == "2001:db8::25" and spf.prop("helo") == "mail.b.example"
    assert received_ip("from mx (mx.example [IPv6:2001:db8::7]) by x") == "2001:db8::7"
    assert received_ip("from out7.esp (203.0.113.7) by BN2PEPF.outlook.com") == "203.0.113.7"
    assert received_ip("by 2002:a05:7300:5b8c with SMTP id u12") == ""


def test_only_the_receivers_topmost_results_are_trusted() -> None:
    receiver, verdicts = trusted_verdicts(parse((DATA / "gmail_spam.eml").read_bytes()))
    assert receiver == "mx.google.com"
    trusted = {(v.source, v.authserv_id, v.method, v.result) for v in verdicts if v.trusted}
    assert trusted == {
        (AUTH_RESULTS, "mx.google.com", "spf", "softfail"),
        (AUTH_RESULTS, "mx.google.com", "dmarc", "fail"),
        ("Received-SPF", "", "spf", "softfail"),
    }
    # the sender's own "dkim=pass" further down, and ARC (A-R present), are not trusted
    lower = [v for v in verdicts if v.authserv_id == "mail.shop-vn.example"]
    assert lower and not any(v.trusted for v in lower)
    assert not any(v.trusted for v in verdicts if v.source == ARC_AUTH_RESULTS)


def test_arc_results_of_the_highest_instance_stand_in_without_auth_results() -> None:
    data = (
        b"ARC-Authentication-Results: i=2; mx.list.example; dkim=fail header.d=a.example\n"
        b"ARC-Authentication-Results: i=1; mx.a.example; dkim=pass header.d=a.example\n"
        b"From: x@a.example\nSubject: s\n\nbody\n"
    )
    receiver, verdicts = trusted_verdicts(parse(data))
    assert receiver == "mx.list.example"
    assert [(v.authserv_id, v.result) for v in verdicts if v.trusted] == [
        ("mx.list.example", "fail")
    ]


# ---- the three receivers' samples ---------------------------------------------------------


async def test_gmail_sample_softfail_dmarc_fail_unsigned_vietnamese_content() -> None:
    ev = await evidence_of(DATA / "gmail_spam.eml")
    assert codes(ev) == [
        "message.dkim_unsigned",
        "message.dmarc_failed",
        "message.sent_from",
        "message.spam_content",
        "message.spf_failed",
    ]
    spf = by_code(ev, "message.spf_failed")
    assert spf.severity is Severity.WARNING  # softfail
    assert "mx.google.com" in spf.title and "softfail" in spf.title
    assert "does not designate 198.51.100.23" in spf.evidence  # the receiver's own words
    assert "ip4:198.51.100.23" in spf.fix and "shop-vn.example" in spf.fix
    dmarc = by_code(ev, "message.dmarc_failed")
    assert dmarc.severity is Severity.ERROR and "shop-vn.example" in dmarc.title
    content = by_code(ev, "message.spam_content").evidence
    for seen in (
        "subject: miễn phí (free)",
        "subject: khuyến mãi (promotion)",
        'text/html: giảm giá (discount) written "giam gia"',
        'trúng thưởng (you won a prize) written "trung thuong"',
        "click vào đây",
        "bit.ly (a link shortener)",
        'link text "https://www.vietcombank.com.vn" leads to http://track.clicks-evil.example',
        "no text/plain",
    ):
        assert seen in content
    sent = by_code(ev, "message.sent_from")
    assert sent.subject == "198.51.100.23" and ev.sending_ips == ("198.51.100.23",)
    assert "Received-SPF client-ip" in sent.evidence
    assert "message.spam_verdict" not in codes(ev)


async def test_microsoft_365_junk_sample() -> None:
    # the key does not answer in time: our verification cannot decide, the receiver's does
    zone = {"esp1._domainkey.esp-mail.example": DnsStatus.TIMEOUT}
    ev = await evidence_of(DATA / "m365_junk.eml", zone)
    assert codes(ev) == [
        "message.dkim_not_aligned",
        "message.dmarc_failed",
        "message.sent_from",
        "message.spam_content",
        "message.spam_verdict",
        "message.spf_not_aligned",
    ]
    _, skipped = judge(ev)
    assert [n.what for n in skipped] == ["DKIM signature d=esp-mail.example s=esp1"]
    assert "TIMEOUT" in skipped[0].reason
    verdict = by_code(ev, "message.spam_verdict")
    assert verdict.severity is Severity.ERROR and "Microsoft 365" in verdict.title
    for rule in ("SFV:SPM", "CAT:SPM", "SCL:5", "BCL:8", "dest:J"):
        assert rule in verdict.evidence
    assert "Junk Email folder" in verdict.evidence
    dmarc = by_code(ev, "message.dmarc_failed")
    assert "action=quarantine" in dmarc.evidence and dmarc.title.endswith("shop.example")
    aligned = by_code(ev, "message.dkim_not_aligned")
    assert "esp-mail.example" in aligned.title and "shop.example" in aligned.title
    rp = by_code(ev, "message.spf_not_aligned")
    assert rp.severity is Severity.WARNING  # no aligned DKIM to make up for it
    assert "bounces.esp-mail.example" in rp.title
    assert by_code(ev, "message.sent_from").subject == "203.0.113.7"
    assert "100% free" in by_code(ev, "message.spam_content").evidence
    assert "message.spf_failed" not in codes(ev) and "message.dkim_failed" not in codes(ev)


async def test_microsoft_sample_whose_key_is_gone() -> None:
    ev = await evidence_of(DATA / "m365_junk.eml", {})  # NXDOMAIN for the key
    assert "message.dkim_key_missing" in codes(ev)
    missing = by_code(ev, "message.dkim_key_missing")
    assert missing.subject == "esp1._domainkey.esp-mail.example"
    assert "esp1._domainkey.esp-mail.example.  3600  IN  TXT" in missing.fix
    assert "message.dkim_not_aligned" not in codes(ev)  # our verdict overrides theirs


async def test_spamassassin_sample_mbox_crlf_rules_named() -> None:
    ev = await evidence_of(DATA / "spamassassin.eml")
    assert ev.from_domain == "promo.example" and ev.receiver == "mail.isp.example"
    assert codes(ev) == [
        "message.dkim_unsigned",
        "message.dmarc_failed",
        "message.sent_from",
        "message.spam_content",
        "message.spam_verdict",
        "message.spf_failed",
    ]
    verdict = by_code(ev, "message.spam_verdict")
    assert verdict.title == "Spam filter verdict in the headers (SpamAssassin)"
    assert "score 8.4" in verdict.evidence
    assert "BAYES_99, BAYES_999, HTML_IMAGE_ONLY_12" in verdict.cause
    assert "RCVD_IN_SBL_CSS (3.3): RBL: Received via a relay in Spamhaus SBL-CSS" in (
        verdict.evidence
    )
    assert "blocklist" in verdict.evidence and "reverse DNS" in verdict.evidence
    spf = by_code(ev, "message.spf_failed")
    assert spf.severity is Severity.ERROR  # fail, DMARC failed, nothing aligned passes
    content = by_code(ev, "message.spam_content").evidence
    assert "winner" in content and "image(s)" in content and "!!!" in content


def spam_sample(headers: bytes) -> bytes:
    return headers + b"From: a@shop.example\nSubject: Order 1234\n\nYour order has shipped.\n"


async def test_rspamd_verdict_names_the_positive_rules(tmp_path: Path) -> None:
    headers = (
        b"X-Rspamd-Action: add header\n"
        b"X-Rspamd-Score: 9.20\n"
        b"X-Spamd-Result: default: False [9.20 / 15.00];\n"
        b"\tR_SPF_FAIL(1.00)[-all];\n"
        b"\tDMARC_POLICY_QUARANTINE(1.50)[shop.example : No valid SPF, No valid DKIM,quarantine];\n"
        b"\tR_DKIM_NA(0.00)[];\n"
        b"\tMIME_GOOD(-0.10)[text/plain];\n"
        b"\tABUSE_SURBL(5.50)[bad.example:url]\n"
    )
    ev = await evidence_of(write(tmp_path, spam_sample(headers)))
    verdict = by_code(ev, "message.spam_verdict")
    assert verdict.title == "Spam filter verdict in the headers (Rspamd)"
    assert verdict.severity is Severity.ERROR and "score 9.20" in verdict.evidence
    assert "R_SPF_FAIL, DMARC_POLICY_QUARANTINE, ABUSE_SURBL" in verdict.cause
    assert "MIME_GOOD" not in verdict.evidence
    assert "ABUSE_SURBL (5.50): a link's domain is on a URI blocklist" in verdict.evidence


async def test_spamassassin_no_verdict_counts_only_with_a_positive_score(tmp_path: Path) -> None:
    low = b"X-Spam-Status: No, score=-0.1 required=5.0 tests=DKIM_SIGNED,DKIM_VALID\n"
    ev = await evidence_of(write(tmp_path, spam_sample(low), "low.eml"))
    assert "message.spam_verdict" not in codes(ev)
    border = b"X-Spam-Status: No, score=4.2 required=5.0 tests=RDNS_NONE=1.3,HTML_MESSAGE=0.001\n"
    ev = await evidence_of(write(tmp_path, spam_sample(border), "border.eml"))
    verdict = by_code(ev, "message.spam_verdict")
    assert verdict.severity is Severity.WARNING
    assert "RDNS_NONE (1.3): the sending IP's reverse DNS" in verdict.evidence
    gmail = b"X-Gm-Spam: 1\nX-Gm-Phishy: 0\n"
    ev = await evidence_of(write(tmp_path, spam_sample(gmail), "gm.eml"))
    assert by_code(ev, "message.spam_verdict").title.endswith("(Gmail)")


# ---- DKIM verification --------------------------------------------------------------------


async def test_signed_message_verifies_and_is_ok(tmp_path: Path) -> None:
    path = signed_sample(tmp_path)
    ev = await evidence_of(path, {KEY_NAME: [key_record()]})
    assert [c.status for c in ev.dkim] == [DKIM_PASS]
    assert codes(ev) == ["message.ok", "message.sent_from"]
    assert by_code(ev, "message.sent_from").subject == "93.184.215.14"
    assert by_code(ev, "message.ok").severity is Severity.OK


async def test_footer_after_signing_is_body_modified(tmp_path: Path) -> None:
    footer = b"\n-- \nScanned by AntiVirus 2000. This message is clean.\n"
    path = signed_sample(tmp_path, body_change=footer)
    ev = await evidence_of(path, {KEY_NAME: [key_record()]})
    assert [c.status for c in ev.dkim] == [DKIM_BODY_MODIFIED]
    found = by_code(ev, "message.dkim_body_modified")
    assert found.severity is Severity.ERROR and found.subject == KEY_NAME
    assert "bh= does not match" in found.evidence and "Sign last" in found.fix


async def test_header_changed_after_signing_is_bad_signature(tmp_path: Path) -> None:
    data = RECEIVED_OK + sign(PLAIN, "example.com").replace(
        b"Subject: Minutes", b"Subject: [EXTERNAL] Minutes"
    )
    ev = await evidence_of(write(tmp_path, data), {KEY_NAME: [key_record()]})
    assert codes(ev) == ["message.dkim_bad_signature", "message.sent_from"]
    assert "a signed header" in by_code(ev, "message.dkim_bad_signature").evidence


async def test_signed_with_another_key_is_bad_signature(tmp_path: Path) -> None:
    other = rsa_key.__wrapped__(1024)[1]  # a fresh key pair, not the signer's
    ev = await evidence_of(signed_sample(tmp_path), {KEY_NAME: [key_record(other)]})
    assert "message.dkim_bad_signature" in codes(ev)


@pytest.mark.parametrize(
    ("answer", "code", "words"),
    [
        (DnsStatus.NXDOMAIN, "message.dkim_key_missing", "NXDOMAIN"),
        (DnsStatus.NODATA, "message.dkim_key_missing", "NODATA"),
        (["v=spf1 -all"], "message.dkim_key_missing", "no DKIM key"),
        (["v=DKIM1; k=rsa; p="], "message.dkim_key_revoked", "revoked"),
        (["v=DKIM1; k=rsa; p=bm90LWEta2V5"], "message.dkim_key_invalid", "RSA"),
    ],
)
async def test_key_problems_told_apart(
    tmp_path: Path, answer: list[str] | DnsStatus, code: str, words: str
) -> None:
    ev = await evidence_of(signed_sample(tmp_path), {KEY_NAME: answer})
    assert codes(ev) == sorted([code, "message.sent_from"])
    assert words in by_code(ev, code).evidence


# The public half of a 512-bit RSA key (cryptography refuses to generate one; openssl did).
WEAK_512 = (
    "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAOp7/yt+VpaPXaFtTO0wo0ICa+vw9WKRFi69yFlc+0TV4bH4+ss5LCF4cQ"
    "IlyuZ8rRzcWhz2dQmD6g5xkpZBqKcCAwEAAQ=="
)


async def test_weak_key_is_invalid(tmp_path: Path) -> None:
    ev = await evidence_of(signed_sample(tmp_path), {KEY_NAME: [key_record(WEAK_512)]})
    found = by_code(ev, "message.dkim_key_invalid")
    assert "512 bits" in found.evidence and "RFC 8301 3.2" in found.evidence


async def test_dns_failure_is_not_checked_never_missing(tmp_path: Path) -> None:
    ev = await evidence_of(signed_sample(tmp_path), {KEY_NAME: DnsStatus.SERVFAIL})
    findings, skipped = judge(ev)
    assert not [f for f in findings if f.code.startswith("message.dkim")]
    assert skipped and "SERVFAIL" in skipped[0].reason


async def test_valid_signature_of_another_domain_is_not_aligned(tmp_path: Path) -> None:
    data = sign(PLAIN, "mailer.example.net")
    ev = await evidence_of(
        write(tmp_path, data), {"mail._domainkey.mailer.example.net": [key_record()]}
    )
    assert [c.status for c in ev.dkim] == [DKIM_PASS]
    found = by_code(ev, "message.dkim_not_aligned")
    assert "mailer.example.net" in found.title and "example.com" in found.title


async def test_signature_of_a_subdomain_is_aligned(tmp_path: Path) -> None:
    data = sign(PLAIN, "news.example.com")  # relaxed alignment (RFC 7489 3.1.1)
    ev = await evidence_of(
        write(tmp_path, data), {"mail._domainkey.news.example.com": [key_record()]}
    )
    assert codes(ev) == ["message.ok"]


async def test_malformed_signature(tmp_path: Path) -> None:
    data = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=mail; h=from; b=AAAA\n" + PLAIN
    ev = await evidence_of(write(tmp_path, data), {KEY_NAME: [key_record()]})
    found = by_code(ev, "message.dkim_malformed")
    assert "bh=" in found.evidence and found.subject == KEY_NAME


async def test_a_failing_second_signature_is_a_warning_beside_an_aligned_pass(
    tmp_path: Path,
) -> None:
    once = sign(PLAIN, "example.com")
    twice = sign(once, "esp.example", selector="s2")
    zone = {KEY_NAME: [key_record()], "s2._domainkey.esp.example": DnsStatus.NXDOMAIN}
    ev = await evidence_of(write(tmp_path, twice), zone)
    found = by_code(ev, "message.dkim_key_missing")
    assert found.severity is Severity.WARNING
    assert "message.dkim_not_aligned" not in codes(ev)


async def test_receiver_dkim_fail_is_reported_with_its_reason(tmp_path: Path) -> None:
    received = (
        b'Authentication-Results: mx.receiver.example; dkim=fail reason="signature verification '
        b'failed" header.d=example.com; spf=pass smtp.mailfrom=example.com; dmarc=pass '
        b"header.from=example.com\n"
    )
    data = received + sign(PLAIN, "example.com") + b"footer\n"
    ev = await evidence_of(write(tmp_path, data), {KEY_NAME: [key_record()]})
    found = by_code(ev, "message.dkim_failed")
    assert found.severity is Severity.WARNING  # DMARC passed anyway
    assert "signature verification failed" in found.evidence
    assert "message.dkim_body_modified" in codes(ev)


# ---- content ----------------------------------------------------------------------------


def content_of(data: bytes) -> list[str]:
    parsed = parse(data)
    result = analyse_content(parsed.message, decode_words(parsed.first("Subject")))
    return [f"{h.kind}|{h.where}|{h.text}" for h in result.hits]


def test_vietnamese_with_and_without_diacritics_and_encoded_words() -> None:
    assert fold("Miễn Phí Đặc Biệt") == "mien phi dac biet"
    data = (
        b"Subject: =?UTF-8?B?S2h1eeG6v24gbcOjaSBjdeG7kWkgbsSDbQ==?=\n"
        b"From: a@b.example\nContent-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: quoted-printable\n\n"
        b"Giao hang mien phi, GIAM GIA 30%. Tr=C3=BAng th=C6=B0=E1=BB=9Fng!\n"
    )
    hits = content_of(data)
    assert "word|subject|khuyến mãi (promotion)" in hits
    assert 'word|text/plain|miễn phí (free) written "mien phi"' in hits
    assert 'word|text/plain|giảm giá (discount) written "giam gia"' in hits
    assert "word|text/plain|trúng thưởng (you won a prize)" in hits


def test_english_caps_exclamations_and_words_not_inside_other_words() -> None:
    data = b"Subject: URGENT ACT NOW FOR YOUR PRIZE!!!\nFrom: a@b.example\n\nFreedom is free.\n"
    hits = content_of(data)
    assert "caps_subject|subject|URGENT ACT NOW FOR YOUR PRIZE!!!" in hits
    assert "exclamations|subject|URGENT ACT NOW FOR YOUR PRIZE!!!" in hits
    assert "word|subject|urgent" in hits and "word|subject|act now" in hits
    assert "word|text/plain|free" in hits  # "Freedom" alone would not match
    assert content_of(b"Subject: Freedom\nFrom: a@b.example\n\nfreely\n") == []


def test_a_plain_business_message_has_no_signal() -> None:
    assert content_of(PLAIN) == []


def test_wrong_and_unknown_charsets_and_broken_base64() -> None:
    data = (
        b"From: a@b.example\nSubject: =?x-unknown?Q?caf=E9?=\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain; charset=x-klingon\n\nclick here \xff\xfe\n"
        b"--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        b"bWllbiBwaGk=!!!@@@not base64 at all====\n"
        b"--b\nContent-Type: text/plain; charset=us-ascii\n\nFREE \xe9\xe8 text\n--b--\n"
    )
    parsed = parse(data)
    result = analyse_content(parsed.message, "")
    kinds = [(h.where, h.text) for h in result.hits]
    assert ("text/plain", "click here") in kinds and ("text/plain", "free") in kinds
    assert any("x-klingon" in d for d in result.defects)


def test_image_only_html_only_and_link_checks() -> None:
    data = (
        b"From: a@b.example\nSubject: Offer\nContent-Type: text/html\n\n"
        b'<img src="https://cdn.b.example/offer.png">'
        b'<a href="https://tinyurl.com/abc">here</a>'
        b'<a href="https://www.b.example/x">b.example</a>'
        b'<a href="https://login.evil.example/">https://paypal.com/login</a>'
    )
    hits = content_of(data)
    assert "shortener|links|tinyurl.com (a link shortener)" in hits
    assert any(h.startswith("image_only|structure|1 image(s)") for h in hits)
    assert any(h.startswith("html_only|") for h in hits)
    mismatches = [h for h in hits if h.startswith("link_mismatch")]
    assert mismatches == [
        'link_mismatch|text/html|link text "https://paypal.com/login" leads to '
        "https://login.evil.example/"
    ]


# ---- hostile files ----------------------------------------------------------------------


def hostile(tmp_path: Path) -> dict[str, Path]:
    files = {
        "empty": write(tmp_path, b"", "empty.eml"),
        "binary": write(tmp_path, bytes(range(256)) * 400, "binary.eml"),
        "many_headers": write(
            tmp_path,
            b"".join(b"X-Junk-%d: %d\n" % (i, i) for i in range(10_000))
            + b"From: a@b.example\nSubject: s\n\nbody\n",
            "many.eml",
        ),
        "huge_header": write(
            tmp_path,
            b"From: a@b.example\nSubject: " + b"FREE " * 200_000 + b"\n\nbody\n",
            "huge-header.eml",
        ),
        "huge_auth_results": write(
            tmp_path,
            b"Authentication-Results: mx.example; "
            + b"spf=fail (" * 50_000
            + b"\nFrom: a@b.example\n\nbody\n",
            "huge-ar.eml",
        ),
    }
    nested = b"From: a@b.example\nSubject: nest\nMIME-Version: 1.0\n"
    for i in range(1000):
        nested += b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i)
    nested += b"Content-Type: text/plain\n\nclick here\n"
    for i in reversed(range(1000)):
        nested += b"--b%d--\n" % i
    files["nested"] = write(tmp_path, nested, "nested.eml")
    return files


async def test_hostile_files_give_findings_or_not_checked(tmp_path: Path) -> None:
    files = hostile(tmp_path)
    results: dict[str, MessageEvidence] = {}
    for name, path in files.items():
        start = time.perf_counter()
        results[name] = await evidence_of(path)
        assert time.perf_counter() - start < 10, name
        judge(results[name])  # never raises
    assert judge(results["empty"])[1][0].reason == "the file is empty"
    binary = judge(results["binary"])
    assert not binary[0] and "no mail header found" in binary[1][0].reason
    assert results["many_headers"].header_count == 10_002
    assert results["many_headers"].from_domain == "b.example"
    assert len(results["huge_header"].subject) < 210
    assert "message.spam_content" in codes(results["huge_header"])
    assert "MIME parts nested too deep" in results["nested"].defects[0]
    assert "message.dkim_unsigned" in codes(results["nested"])


async def test_directory_missing_file_and_twenty_megabytes(tmp_path: Path) -> None:
    dir_ev = await evidence_of(tmp_path)
    assert "is a directory" in judge(dir_ev)[1][0].reason
    gone = await evidence_of(tmp_path / "nope.eml")
    assert "cannot read" in judge(gone)[1][0].reason
    big = sign(PLAIN, "example.com") + b"x" * (20 * 1024 * 1024)
    start = time.perf_counter()
    ev = await evidence_of(write(tmp_path, big, "big.eml"), {KEY_NAME: [key_record()]})
    assert time.perf_counter() - start < 20
    assert ev.truncated and ev.read_bytes == MAX_BYTES and ev.size == len(big)
    findings, skipped = judge(ev)
    reasons = " | ".join(n.reason for n in skipped)
    assert "only the first 10485760 were analysed" in reasons
    assert "body hash cannot be checked" in reasons
    assert not [f for f in findings if f.code.startswith("message.dkim")]


async def test_mbox_line_and_crlf_do_not_change_the_verdict(tmp_path: Path) -> None:
    crlf = (RECEIVED_OK + sign(PLAIN, "example.com")).replace(b"\n", b"\r\n")
    mbox = b"From alice@example.com Thu Nov 26 10:00:00 2026\r\n" + crlf
    ev = await evidence_of(write(tmp_path, mbox), {KEY_NAME: [key_record()]})
    assert [c.status for c in ev.dkim] == [DKIM_PASS]
    assert codes(ev) == ["message.ok", "message.sent_from"]


# ---- the request-probe pattern --------------------------------------------------------------


def test_sending_ip_of_for_planning(tmp_path: Path) -> None:
    assert sending_ip_of(DATA / "m365_junk.eml") == "203.0.113.7"
    assert sending_ip_of(DATA / "spamassassin.eml") == "192.0.2.99"
    assert sending_ip_of(DATA / "plain.eml") == ""
    assert sending_ip_of(tmp_path) == ""  # a directory


def test_check_never_plans_the_message_probe() -> None:
    assert "message.sample" not in all_probes()
    assert not [c for c in engine.runnable_checks() if c.area == "message"]


async def test_run_checks_with_merged_specs_and_a_real_dns_client(tmp_path: Path) -> None:
    path = signed_sample(tmp_path, body_change=b"\nSent from my phone\n")
    record = key_record()
    quoted = " ".join(f'"{record[i : i + 255]}"' for i in range(0, len(record), 255))
    zone = {(KEY_NAME, "TXT"): [quoted]}
    checks = [c for c in all_checks() if c.area == "message"]
    with fake_dns(zone) as port:
        settings = Settings(resolvers=(parse_resolver(f"127.0.0.1:{port}"),), step_timeout=2)
        report = await engine.run_checks(
            "example.com", settings, checks, specs={**all_probes(), **message_probes(path)}
        )
    assert sorted(f.code for f in report.findings) == [
        "message.dkim_body_modified",
        "message.sent_from",
    ]
    assert report.evidence["message.sample"].sending_ips == ("93.184.215.14",)
    assert "message.sample" in report.timings
    as_json = json.loads(json.dumps(jsonable(report.evidence["message.sample"])))
    assert as_json["sending_ip"] == "93.184.215.14"
    assert as_json["dkim"][0]["status"] == "body_modified"
