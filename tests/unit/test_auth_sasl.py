"""SASL encodings (RFC 4616, RFC 2195, LOGIN) and the password holder that never prints."""

from __future__ import annotations

import base64

import pytest

from maildoctor.protocols import sasl
from maildoctor.protocols.sasl import Secret


def test_plain_is_authzid_nul_user_nul_password() -> None:
    # RFC 4616 4 example: "\0tim\0tanstaaftanstaaf".
    blob = sasl.plain("tim", Secret("tanstaaftanstaaf"))
    assert base64.b64decode(blob) == b"\0tim\0tanstaaftanstaaf"


def test_login_answers_are_base64() -> None:
    assert sasl.login_user("alice@example.com") == base64.b64encode(b"alice@example.com")
    assert sasl.login_password(Secret("p@ss")) == base64.b64encode(b"p@ss")


def test_cram_md5_rfc2195_example() -> None:
    # RFC 2195 2: the worked example.
    challenge = sasl.decode_challenge("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+")
    assert challenge == b"<1896.697170952@postoffice.reston.mci.net>"
    answer = sasl.cram_md5("tim", Secret("tanstaaftanstaaf"), challenge)
    assert answer == b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"


def test_a_bad_challenge_is_none() -> None:
    assert sasl.decode_challenge("not base64 !!") is None


def test_usable_keeps_preference_order() -> None:
    assert sasl.usable(("LOGIN", "CRAM-MD5", "PLAIN", "GSSAPI")) == ("PLAIN", "LOGIN", "CRAM-MD5")
    assert sasl.usable(("XOAUTH2", "NTLM")) == ()


def test_secret_never_prints_itself() -> None:
    secret = Secret("Hunter2-Very-Secret")
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret])):
        assert "Hunter2" not in text
    assert secret.reveal() == "Hunter2-Very-Secret"


def test_secret_forms_cover_the_wire_encodings() -> None:
    forms = sasl.secret_forms("bob@x.test", "Pw-Distinct-99")
    assert "Pw-Distinct-99" in forms
    assert base64.b64encode(b"\0bob@x.test\0Pw-Distinct-99").decode() in forms
    assert base64.b64encode(b"Pw-Distinct-99").decode() in forms


@pytest.mark.parametrize(
    ("text", "quoted"),
    [("alice", b'"alice"'), ('a"b\\c', b'"a\\"b\\\\c"'), ("caf\u00e9", None), ("a\r\nb", None)],
)
def test_imap_quoted(text: str, quoted: bytes | None) -> None:
    assert sasl.imap_quoted(text) == quoted
