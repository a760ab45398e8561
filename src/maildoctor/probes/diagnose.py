"""The probes `diagnose` adds to the registered ones, from what the person gave it.

Nothing here is registered with @probe: `check` must never log in, send mail, read local
logs, queues or files, or fetch a page it was not pointed at. `diagnose_probes(inputs)` returns
the extra specs: the account tests (on the host `--host` names, else on the client-facing host
the submission probe found), the log analysis, the webmail page, the sample message, and the
local queue followed by the machine's load, memory and disks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from maildoctor.evidence import ProbeFailure
from maildoctor.evidence.account import OK, AccountEvidence, SendEvidence
from maildoctor.evidence.smtp import SmtpEvidence
from maildoctor.probes import ProbeContext, ProbeSpec
from maildoctor.probes.account import AuthRequest, SendRequest, probe_auth, probe_send


@dataclass(frozen=True)
class DiagnoseInputs:
    auth: AuthRequest | None = None  # host "" = the client host found from DNS
    send: SendRequest | None = None  # likewise; sent only once the password worked
    logs: tuple[str, ...] = ()
    log_since: float | None = None
    log_until: float | None = None
    message: Path | None = None  # a saved .eml (spam-folder)
    webmail: bool = False  # test the webmail login page (webmail-login)
    webmail_url: str | None = None  # None: https://webmail.DOMAIN/ when that name resolves
    queue: bool = False  # read the local mail queue (overloaded)
    postfix_config: str | None = None  # postqueue -c DIR


def _host(req_host: str, sub: object) -> str:
    if req_host:
        return req_host
    return sub.host if isinstance(sub, SmtpEvidence) else ""


def _no_host(ctx: ProbeContext) -> str:
    return (
        f"no submission or IMAP host found for {ctx.target} (no SRV record, no mail./smtp. "
        "name, no MX with an address): give --host"
    )


async def _auth(ctx: ProbeContext, sub: SmtpEvidence, *, req: AuthRequest) -> AccountEvidence:
    host = _host(req.host, sub)
    if not host:
        return AccountEvidence(ctx.target, req.user, insecure=req.insecure, note=_no_host(ctx))
    return await probe_auth(ctx, replace(req, host=host))


async def _send(
    ctx: ProbeContext, sub: SmtpEvidence, auth: AccountEvidence | None = None, *, req: SendRequest
) -> SendEvidence | ProbeFailure:
    host = _host(req.host, sub)
    if not host:
        return ProbeFailure("account.send", "skipped", _no_host(ctx))
    if auth is not None and not any(t.outcome == OK for t in auth.tries):
        # Every rejected password counts towards fail2ban's ban: do not add more.
        return ProbeFailure(
            "account.send", "skipped", "no port accepted the password in the login test"
        )
    return await probe_send(ctx, replace(req, host=host))


async def _webmail(ctx: ProbeContext, *, url: str | None) -> object:
    from maildoctor.probes.webmail import addresses, probe_webmail

    if url is None:
        host = f"webmail.{ctx.target}"
        found, why = await addresses(ctx, host)
        if not found:
            return ProbeFailure("webmail.page", "skipped", f"no --webmail URL given and {why}")
        url = f"https://{host}/"
    return await probe_webmail(ctx, url)


async def _logs(ctx: ProbeContext, *, inputs: DiagnoseInputs) -> object:
    from maildoctor.logs.analyze import Options, analyze

    options = Options(since=inputs.log_since, until=inputs.log_until)
    return await asyncio.to_thread(analyze, inputs.logs, options)


def diagnose_probes(inputs: DiagnoseInputs) -> dict[str, ProbeSpec]:
    specs: dict[str, ProbeSpec] = {}
    if inputs.auth is not None:
        specs["account.auth"] = ProbeSpec(
            "account.auth", ("smtp.submission",), partial(_auth, req=inputs.auth)
        )
    if inputs.send is not None:
        after = ("smtp.submission", "account.auth") if inputs.auth else ("smtp.submission",)
        specs["account.send"] = ProbeSpec("account.send", after, partial(_send, req=inputs.send))
    if inputs.logs:
        specs["log.summary"] = ProbeSpec("log.summary", (), partial(_logs, inputs=inputs))
    if inputs.webmail:
        specs["webmail.page"] = ProbeSpec(
            "webmail.page", (), partial(_webmail, url=inputs.webmail_url)
        )
    if inputs.queue:
        from maildoctor.probes.host import host_probes
        from maildoctor.probes.queue import QueueRequest, queue_probes

        specs.update(queue_probes(QueueRequest(config_dir=inputs.postfix_config)))
        specs.update(host_probes(inputs.postfix_config))
    if inputs.message is not None:
        from maildoctor.probes.message import message_probes

        specs.update(message_probes(inputs.message))
    return specs
