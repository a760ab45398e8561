"""`maildoctor auth` / `send-test` plumbing: where the password comes from, usage errors."""

from __future__ import annotations

import io

import pytest

from maildoctor.account import command
from maildoctor.account.command import Usage, parse_size, read_password


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_password_from_environment() -> None:
    secret = read_password(
        env="MD_PW", use_stdin=False, prompt="", what="password", environ={"MD_PW": "s3cret"}
    )
    assert secret.reveal() == "s3cret"


def test_password_from_stdin_first_line_only() -> None:
    secret = read_password(
        env=None, use_stdin=True, prompt="", what="password", stdin=io.StringIO("pw-1\r\nnext\n")
    )
    assert secret.reveal() == "pw-1"


def test_password_prompt_only_on_a_terminal() -> None:
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return "typed"

    secret = read_password(
        env=None, use_stdin=False, prompt="Password: ", what="password", stdin=_Tty(), ask=ask
    )
    assert secret.reveal() == "typed" and asked == ["Password: "]
    with pytest.raises(Usage, match="no terminal"):
        read_password(env=None, use_stdin=False, prompt="", what="password", stdin=io.StringIO())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env": "NOPE_NOT_SET", "use_stdin": False}, "is not set"),
        ({"env": "1bad", "use_stdin": False}, "not an environment variable"),
        ({"env": "X", "use_stdin": True}, "either"),
    ],
)
def test_password_source_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(Usage, match=message):
        read_password(prompt="", what="password", environ={}, **kwargs)  # type: ignore[arg-type]


def test_empty_password_is_refused() -> None:
    with pytest.raises(Usage, match="empty"):
        read_password(env=None, use_stdin=True, prompt="", what="password", stdin=io.StringIO("\n"))


def test_auth_without_a_password_source_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = command.auth_command("mail.example.com", user="u@example.com", stdin=io.StringIO())
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("maildoctor: error:") and "--password-env" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, (0, False)),
        ("find", (0, True)),
        ("2000000", (2000000, False)),
        ("5M", (5 << 20, False)),
        ("64k", (65536, False)),
    ],
)
def test_parse_size(text: str | None, expected: tuple[int, bool]) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["0", "-1", "lots", "999999999999"])
def test_parse_size_rejects(bad: str) -> None:
    with pytest.raises(Usage):
        parse_size(bad)


def test_send_test_checks_addresses_before_asking(capsys: pytest.CaptureFixture[str]) -> None:
    code = command.send_test_command(
        "mail.example.com", user="u", mail_from="not-an-address", rcpt_to="b@example.com"
    )
    assert code == 2
    assert "--from" in capsys.readouterr().err


def test_loopback_without_allow_private_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MD_PW_X", "whatever-1")
    code = command.auth_command("127.0.0.1", user="u", password_env="MD_PW_X")
    assert code == 2
    assert "--allow-private" in capsys.readouterr().err


def test_check_never_plans_a_login() -> None:
    """`maildoctor check` plans the registered probes its checks need: none of them logs in."""
    from maildoctor.checks import all_checks
    from maildoctor.engine import check_areas
    from maildoctor.probes import all_probes, closure

    assert "account" not in check_areas() and "send" not in check_areas()
    plan = closure([n for c in all_checks() for n in c.needs], all_probes())
    assert not [p for p in plan if p.startswith("account.")]
    assert {"account.auth", "account.send"} <= {n for c in all_checks() for n in c.needs}


def _report(text: str) -> object:
    from datetime import UTC, datetime

    from maildoctor.report import NotChecked, Report

    return Report("h", datetime.now(UTC), 0.0, (), (NotChecked("x", text),))


def test_guard_stops_a_report_that_holds_a_password() -> None:
    import base64

    from maildoctor.protocols.sasl import Secret

    user, pw = "alice@x.test", "Leaky-Password-1"
    for leaked in (pw, base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()):
        with pytest.raises(command.SecretLeak):
            command.guard(_report(f"S: {leaked}"), [(user, Secret(pw))])  # type: ignore[arg-type]
    command.guard(_report("nothing here"), [(user, Secret(pw))])  # type: ignore[arg-type]


def test_guard_does_not_fire_on_a_password_that_is_a_public_word() -> None:
    from maildoctor.protocols.sasl import Secret

    # A weak password equal to part of the host name is not a leak of maildoctor's making.
    command.guard(
        _report("mail.goodpassword.test"),  # type: ignore[arg-type]
        [("u@goodpassword.test", Secret("goodpassword"))],
        "u@goodpassword.test mail.goodpassword.test",
    )
