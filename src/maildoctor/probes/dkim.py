"""The DKIM probe: TXT at <selector>._domainkey.<domain> for every selector, asked at once.

DKIM keys cannot be listed: a verifier learns the selector from the signature (RFC 6376 3.1),
so without a message we can only try names. The given selectors (--dkim-selector) come first,
then the defaults of the software and providers that sign most small-business mail.
"""

from __future__ import annotations

import asyncio

from maildoctor.evidence.dkim import DkimEvidence, DkimSelector
from maildoctor.probes import ProbeContext, probe

# Each is the default selector of a signer a small business is likely to use (one per provider
# is enough to find its key; the costs are one concurrent TXT query each):
COMMON_SELECTORS: tuple[str, ...] = (
    "default",  # cPanel, DirectAdmin, Plesk, many opendkim how-tos
    "mail",  # Mail-in-a-Box, Yandex 360, opendkim how-tos
    "dkim",  # rspamd's dkim_signing default, mailcow
    "selector1",  # Microsoft 365 (CNAME to the tenant's key)
    "selector2",  # Microsoft 365, the second key of its rotation
    "google",  # Google Workspace
    "k1",  # Mailchimp, Mailgun
    "k2",  # Mailchimp (second key)
    "s1",  # SendGrid
    "s2",  # SendGrid (second key)
    "smtp",  # Mailgun
    "mx",  # Mailgun (older accounts)
    "email",  # generic, several hosting panels
    "key1",  # generic, several ESPs (e.g. MailerLite)
    "mandrill",  # Mandrill (Mailchimp transactional)
    "everlytic",  # Everlytic
    "zoho",  # Zoho Mail
    "zmail",  # Zoho Mail (newer default)
    "protonmail",  # Proton Mail
    "fm1",  # Fastmail
    "sig1",  # iCloud+ custom domains
    "mailjet",  # Mailjet
    "hs1",  # HubSpot
    "x",  # MXroute
)
MAX_GIVEN = 50  # bound on --dkim-selector names asked in one run
# A name no signer publishes: a TXT answer here is a wildcard, not a key.
WILDCARD_PROBE = "_maildoctor-wildcard-probe"


def selectors_to_try(given: tuple[str, ...]) -> list[tuple[str, bool]]:
    """(selector, given) pairs: given ones first, then the common ones, each name once."""
    out: list[tuple[str, bool]] = []
    seen: set[str] = set()
    for sel, is_given in [(s, True) for s in given[:MAX_GIVEN]] + [
        (s, False) for s in COMMON_SELECTORS
    ]:
        name = sel.lower().strip(".")
        if name and name not in seen:
            seen.add(name)
            out.append((name, is_given))
    return out


@probe("dns.dkim")
async def probe_dkim(ctx: ProbeContext) -> DkimEvidence:
    domain = ctx.target
    tried = selectors_to_try(ctx.settings.dkim_selectors)
    answers = await asyncio.gather(
        *(ctx.dns.query(f"{sel}._domainkey.{domain}", "TXT") for sel, _ in tried),
        ctx.dns.query(f"{WILDCARD_PROBE}._domainkey.{domain}", "TXT"),
        ctx.dns.query(domain, "MX"),  # the MX probe's query: the run's DNS cache shares it
    )
    selectors = tuple(
        DkimSelector(sel, given, txt) for (sel, given), txt in zip(tried, answers[:-2], strict=True)
    )
    return DkimEvidence(domain, answers[-1], selectors, wildcard=answers[-2])
