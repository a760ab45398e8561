"""Analysis of a sample message (.eml) as a recipient received it, with no I/O.

Why a package of its own and not records/: records/ holds parsers of policy a domain
*publishes* (SPF, DMARC, DKIM keys); a received message is the other side, what a receiver
*wrote* about one delivery (Authentication-Results, spam filter headers, Received) and what the
sender put in it. DESIGN.md's layout names `message/` for .eml analysis.

- parse.py: bytes in (bounded, any garbage) -> a parsed email message and its header verdicts
  (RFC 8601 Authentication-Results, RFC 7208 9.1 Received-SPF, spam filter headers, the
  sending IP from Received);
- content.py: the decoded subject and text parts -> content signals (trigger words from
  words.toml, ALL-CAPS, "!!!", HTML-only, image-only, shorteners, disguised links).

Bytes come from the probe (probes/message.py), which also does the DNS and the DKIM
verification; checks/message.py turns the evidence into findings.
"""
