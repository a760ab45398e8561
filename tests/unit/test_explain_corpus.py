"""`maildoctor explain` on real-world error texts, as servers, bounces and clients print them.

Each case: the text, the entry that must come first, and a phrase its answer must contain.
"""

from __future__ import annotations

import pytest

from maildoctor.explain import explain
from maildoctor.explain.matcher import Match

CASES: list[tuple[str, str, str]] = [
    # --- Gmail --------------------------------------------------------------------------
    (
        "550-5.7.26 This mail has been blocked because the sender is unauthenticated. "
        "Gmail requires all senders to authenticate with either SPF or DKIM.",
        "gmail.unauthenticated",
        "SPF",
    ),
    (
        "550-5.7.26 This mail has been blocked because the sender is\n"
        "550-5.7.26 unauthenticated. Gmail requires all senders to authenticate with\n"
        "550-5.7.26 either SPF or DKIM.\n550-5.7.26\n550-5.7.26  Authentication results:\n"
        "550-5.7.26  DKIM = did not pass\n"
        "550-5.7.26  SPF [mail.example.net] with ip: [203.0.113.40] = did not pass\n"
        "550-5.7.26\n550-5.7.26  For instructions on setting up authentication, go to\n"
        "550 5.7.26  https://support.google.com/mail/answer/81126#authentication "
        "d2e1a72fcca58-72d3f7c9a13si1234567b3a.123 - gsmtp",
        "gmail.unauthenticated",
        "DKIM",
    ),
    (
        "421-4.7.26 This mail has been rate limited because it is unauthenticated. Gmail "
        "requires all senders to authenticate with either SPF or DKIM. 421-4.7.26 "
        "Authentication results: 421-4.7.26 DKIM = did not pass",
        "gmail.unauthenticated_ratelimit",
        "deferred",
    ),
    (
        "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's\n"
        "550-5.7.26 DMARC policy. Please contact the administrator of example.com domain if\n"
        "550-5.7.26 this was a legitimate mail. To learn about the DMARC initiative, go to\n"
        "550 5.7.26  https://support.google.com/mail/?p=DmarcRejection z5si1234 - gsmtp",
        "gmail.dmarc_policy",
        "p=reject",
    ),
    (
        "550-5.7.26 The MAIL FROM domain [bounce.example.org] has an SPF record with a hard "
        "fail policy (-all) but it fails to pass SPF checks with the ip: [198.51.100.77]. To "
        "best protect our users from spam and phishing, the message has been blocked.",
        "gmail.spf_hardfail",
        "-all",
    ),
    (
        "550-5.7.25 [2001:db8:1::25] The IP address sending this message does not have a PTR "
        "record setup, or the corresponding forward DNS entry does not point to the sending IP. "
        "As a policy, Gmail does not accept messages from IPs with missing PTR records.",
        "gmail.ptr",
        "PTR",
    ),
    (
        "421-4.7.23 The sending IP address for this message doesn't have a PTR record, or the "
        "PTR record's forward DNS entry doesn't match the sending IP address.",
        "gmail.ptr",
        "reverse DNS",
    ),
    (
        "550-5.7.1 [2a01:4f8:c17:1::1] Our system has detected that this message does not meet "
        "IPv6 sending guidelines regarding PTR records and authentication. Please review "
        "https://support.google.com/mail/?p=IPv6AuthError for more information.",
        "gmail.ipv6",
        "IPv4",
    ),
    (
        "550-5.7.1 [198.51.100.9      12] Our system has detected that this message is\n"
        "550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\n"
        "550-5.7.1 this message has been blocked. Please visit\n"
        "550 5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError - gsmtp",
        "gmail.spam",
        "spam",
    ),
    (
        "550-5.7.1 Our system has detected that this message is likely suspicious due to the "
        "very low reputation of the sending domain. To best protect our users from spam, the "
        "message has been blocked.",
        "gmail.low_reputation",
        "reputation",
    ),
    (
        "421-4.7.0 [198.51.100.9      15] Our system has detected an unusual rate of\n"
        "421-4.7.0 unsolicited mail originating from your IP address. To protect our\n"
        "421-4.7.0 users from spam, mail sent from your IP address has been temporarily\n"
        "421 4.7.0 rate limited.",
        "gmail.rate",
        "rate",
    ),
    (
        "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from "
        "your DKIM domain [example.com 23]. To protect our users from spam, mail sent from "
        "your domain has been temporarily rate limited.",
        "gmail.rate",
        "volume",
    ),
    (
        "550-5.7.1 [203.0.113.17] The IP you're using to send mail is not authorized to\n"
        "550-5.7.1 send email directly to our servers. Please use the SMTP relay at your\n"
        "550-5.7.1 service provider instead.",
        "gmail.direct_ip",
        "relay",
    ),
    (
        "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
        "550-5.1.1 double-checking the recipient's email address for typos or\n"
        "550-5.1.1 unnecessary spaces. For more information, go to\n"
        "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp",
        "gmail.no_such_user",
        "typo",
    ),
    (
        "550-5.2.1 The email account that you tried to reach is disabled. Learn more at "
        "https://support.google.com/mail/?p=DisabledUser",
        "gmail.disabled",
        "disabled",
    ),
    (
        "552-5.2.2 The email account that you tried to reach is over quota. Please direct\n"
        "552-5.2.2 the recipient to\n552 5.2.2  https://support.google.com/mail/?p=OverQuotaPerm",
        "gmail.over_quota",
        "storage",
    ),
    (
        "452-4.2.2 The recipient's inbox is out of storage space. Please direct the recipient "
        "to https://support.google.com/mail/?p=OverQuotaTemp",
        "gmail.over_quota",
        "storage",
    ),
    (
        "450-4.2.1 The user you are trying to contact is receiving mail at a rate that\n"
        "450-4.2.1 prevents additional messages from being delivered. Please resend your\n"
        "450-4.2.1 message at a later time.",
        "gmail.too_fast",
        "loop",
    ),
    (
        "552-5.3.4 Your message exceeded Google's message size limits. Please visit\n"
        "552-5.3.4 https://support.google.com/mail/?p=MaxSizeError to view our size\n"
        "552 5.3.4 guidelines.",
        "gmail.size",
        "link",
    ),
    (
        "535-5.7.8 Username and Password not accepted. For more information, go to\n"
        "535 5.7.8  https://support.google.com/mail/?p=BadCredentials f4sm123 - gsmtp",
        "gmail.bad_credentials",
        "app password",
    ),
    (
        "(535, b'5.7.8 Username and Password not accepted. For more information, go to\\n5.7.8 "
        "https://support.google.com/mail/?p=BadCredentials')",
        "gmail.bad_credentials",
        "OAuth",
    ),
    (
        "534-5.7.9 Application-specific password required. Learn more at\n"
        "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor",
        "gmail.app_password",
        "app password",
    ),
    (
        "534-5.7.14 <https://accounts.google.com/signin/continue?sarp=1&scc=1&plt=AKgnsbu>\n"
        "534-5.7.14 Please log in via your web browser and then try again.\n"
        "534-5.7.14  Learn more at\n534 5.7.14  https://support.google.com/mail/answer/78754",
        "gmail.web_login",
        "browser",
    ),
    (
        "550 5.4.5 Daily user sending limit exceeded. For more information on Gmail sending "
        "limits go to https://support.google.com/a/answer/166852",
        "gmail.daily_limit",
        "24 hours",
    ),
    (
        "550-5.7.1 [198.51.100.9] Messages missing a valid messageId header are not\n"
        "550 5.7.1 accepted.",
        "gmail.rfc5322",
        "Message-ID",
    ),
    (
        "550-5.7.1 [198.51.100.9] Our system has detected that this message is not RFC\n"
        "550-5.7.1 5322 compliant: 'From' header is missing.",
        "gmail.rfc5322",
        "From",
    ),
    (
        "552-5.7.0 This message was blocked because its content presents a potential\n"
        "552-5.7.0 security issue. Please visit\n"
        "552-5.7.0  https://support.google.com/mail/?p=BlockedMessage to review our\n"
        "552 5.7.0 message content and attachment content guidelines.",
        "gmail.security_content",
        "attachment",
    ),
    (
        "421-4.7.27 Your email has been rate limited because SPF authentication didn't pass "
        "for this message. Gmail requires all bulk email senders to authenticate with SPF.",
        "gmail.bulk_spf",
        "SPF",
    ),
    (
        "550-5.7.30 Your email has been blocked because DKIM authentication didn't pass for "
        "this message. Gmail requires all bulk email senders to authenticate with DKIM.",
        "gmail.bulk_dkim",
        "DKIM",
    ),
    (
        "550-5.7.32 Your email has been blocked because the sender isn't aligned with either "
        "the authenticated SPF or DKIM organizational domain.",
        "gmail.alignment",
        "DMARC",
    ),
    (
        "421-4.7.29 Your email has been rate limited because this message wasn't sent over a "
        "TLS connection. Gmail requires all bulk email senders to use TLS/SSL for SMTP "
        "connections.",
        "gmail.tls_required",
        "smtp_tls_security_level",
    ),
    (
        "550-5.7.0 Mail relay denied [203.0.113.5]. Invalid credentials for relay for one of "
        "the domains in: example.com (as obtained from HELO and MAIL FROM).",
        "gmail.relay_denied",
        "SMTP relay",
    ),
    (
        "550-5.7.1 The user or domain that you are sending to (or from) has a policy that\n"
        "550 5.7.1 prohibited the mail that you sent.",
        "gmail.policy",
        "rule",
    ),
    (
        "454-4.7.0 Too many login attempts, please try again later. Learn more at "
        "https://support.google.com/mail/answer/7126229",
        "gmail.login_rate",
        "old password",
    ),
    # --- Microsoft ----------------------------------------------------------------------
    (
        "550 5.7.606 Access denied, banned sending IP [203.0.113.60]. To request removal from "
        "this list please visit https://sender.office.com/ and follow the directions.",
        "microsoft.banned_ip",
        "delist",
    ),
    (
        "550 5.7.649 Access denied, banned sending IP [198.51.100.61]. To request removal from "
        "this list please visit https://sender.office.com/ and follow the directions. For more "
        "information please go to http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430)",
        "microsoft.banned_ip",
        "block list",
    ),
    (
        "Remote Server returned '550 5.7.1 Unfortunately, messages from [198.51.100.62] "
        "weren't sent. Please contact your Internet service provider since part of their "
        "network is on our block list (S3140). You can also refer your provider to "
        "http://mail.live.com/mail/troubleshooting.aspx#errors. "
        "[DB5EUR03FT057.eop-EUR03.prod.protection.outlook.com]'",
        "microsoft.s3140",
        "network range",
    ),
    (
        "host outlook-com.olc.protection.outlook.com[52.101.68.5] said: 550 5.7.1 "
        "Unfortunately, messages from [198.51.100.63] weren't sent. Please contact your "
        "Internet service provider since part of their network is on our block list (S3150).",
        "microsoft.s3150",
        "block list",
    ),
    (
        "550 5.7.1 Unfortunately, messages from [198.51.100.64] weren't sent. Please contact "
        "your Internet service provider since part of their network is on our block list "
        "(S3114). You can also refer your provider to "
        "http://mail.live.com/mail/troubleshooting.aspx#errors.",
        "microsoft.s3_other",
        "delisting",
    ),
    (
        "550 SC-001 (BAY004-MC1F40) Unfortunately, messages from 198.51.100.65 weren't sent. "
        "Please contact your Internet service provider. You can tell them that Hotmail does not "
        "relay dynamically-assigned IP ranges.",
        "microsoft.sc_dy",
        "dynamic",
    ),
    (
        "550 DY-001 (SNT004-MC1F26) Unfortunately, messages from 198.51.100.66 weren't sent. "
        "Please contact your Internet service provider. You can tell them that Hotmail does not "
        "relay dynamically-assigned IP ranges.",
        "microsoft.sc_dy",
        "static IP",
    ),
    (
        "421 RP-001 (COL004-MC1F13) Unfortunately, some messages from 198.51.100.67 weren't "
        "sent. Please try again. We have limits for how many messages can be sent per hour and "
        "per day.",
        "microsoft.rp",
        "concurrency",
    ),
    (
        "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. "
        "For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653",
        "microsoft.not_accepted_ip",
        "tenant",
    ),
    (
        "550 5.7.750 Service unavailable. Client blocked from sending from unregistered "
        "domains. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653",
        "microsoft.unregistered_domain",
        "verify",
    ),
    (
        "Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient "
        "jo@contoso.example not found by SMTP address lookup'",
        "microsoft.recipient_not_found",
        "autocomplete",
    ),
    (
        "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##",
        "microsoft.recipient_not_found",
        "typo",
    ),
    (
        "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) "
        "[MW2NAM12FT012.eop-nam12.prod.protection.outlook.com]",
        "microsoft.dbeb",
        "directory",
    ),
    (
        "#550 5.7.1 RESOLVER.RST.AuthRequired; authentication required [Stage: CreateMessage] ##",
        "microsoft.group_auth_required",
        "external senders",
    ),
    (
        "550 5.7.1 RESOLVER.RST.NotAuthorized; not authorized ##",
        "microsoft.group_auth_required",
        "allowed senders",
    ),
    (
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
        "Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. "
        "[AM0PR10CA0012.EURPRD10.PROD.OUTLOOK.COM]",
        "microsoft.smtp_auth_disabled",
        "Set-CASMailbox",
    ),
    (
        "535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. "
        "[LO4P123CA0123.GBRP123.PROD.OUTLOOK.COM]",
        "microsoft.auth_unsuccessful",
        "password",
    ),
    (
        "535 5.7.3 Authentication unsuccessful [BN6PR1201CA0010.namprd12.prod.outlook.com]",
        "microsoft.auth_unsuccessful",
        "SMTP AUTH",
    ),
    (
        "530 5.7.57 Client not authenticated to send mail. [SN6PR01CA0018.prod.exchangelabs.com]",
        "microsoft.client_not_authenticated",
        "587",
    ),
    (
        "530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM",
        "microsoft.client_not_authenticated",
        "device",
    ),
    (
        "550 5.7.60 SMTP; Client does not have permissions to send as this sender",
        "microsoft.send_as",
        "Send As",
    ),
    (
        "554 5.2.252 SendAsDenied; scanner@example.com not allowed to send as "
        "office@example.com; STOREDRV.Submission.Exception:SendAsDeniedException",
        "microsoft.send_as",
        "Send As",
    ),
    (
        "550 5.7.501 Access denied, spam abuse detected. The sending account has been banned "
        "due to detected spam activity.",
        "microsoft.spam_abuse",
        "compromised",
    ),
    (
        "550 5.7.511 Access denied, banned sender[203.0.113.70]. To request removal from this "
        "list, forward this message to delist@microsoft.com.",
        "microsoft.banned_sender",
        "delisting",
    ),
    (
        "550 5.7.509 Access denied, sending domain example.org does not pass DMARC "
        "verification and has a DMARC policy of reject.",
        "microsoft.dmarc_reject",
        "DMARC",
    ),
    (
        "550 5.7.510 Access denied, contoso.example does not accept email over IPv6",
        "microsoft.ipv6",
        "IPv4",
    ),
    (
        "550 5.7.512 Access denied, message must be RFC 5322 section 3.6.2 compliant and "
        "include a valid From address",
        "microsoft.rfc5322",
        "From",
    ),
    (
        "550 5.7.515 Access denied, sending domain example.com doesn't meet the required "
        "authentication level. The sender's domain in the 5322.From address doesn't meet the "
        "authentication requirements defined for the sender.",
        "microsoft.auth_level",
        "DMARC",
    ),
    (
        "550 5.7.520 Access denied, Your organization does not allow external forwarding. "
        "Please contact your administrator for further assistance. AS(7555)",
        "microsoft.external_forwarding",
        "forward",
    ),
    (
        "451 4.7.500 Server busy. Please try again later from [198.51.100.71]. (S77719) "
        "[DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com]",
        "microsoft.server_busy",
        "retry",
    ),
    (
        "451 4.7.650 The mail server [198.51.100.72] has been temporarily rate limited due to "
        "IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775)",
        "microsoft.server_busy",
        "reputation",
    ),
    (
        "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException."
        "MapiExceptionShutoffQuotaExceeded; Failed to process message due to a permanent "
        "exception with message Cannot open mailbox",
        "microsoft.mailbox_full",
        "quota",
    ),
    (
        "550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for this recipient",
        "microsoft.size_limit",
        "OneDrive",
    ),
    (
        "#550 5.3.4 ROUTING.SizeLimit; message size exceeds fixed maximum size for route ##",
        "microsoft.size_limit",
        "MaxSendSize",
    ),
    (
        "550 5.1.8 Access denied, bad outbound sender. AS(42004)",
        "microsoft.bad_outbound_sender",
        "Restricted entities",
    ),
    (
        "550 5.7.705 Access denied, tenant has exceeded threshold.",
        "microsoft.tenant_threshold",
        "tenant",
    ),
    (
        "550 5.7.64 TenantAttribution; Relay Access Denied "
        "[SN1NAM02FT012.eop-nam02.prod.protection.outlook.com]",
        "microsoft.relay_denied",
        "connector",
    ),
    (
        "550 5.7.23 The message was rejected because of Sender Policy Framework violation",
        "microsoft.spf_fail",
        "SPF",
    ),
    # --- Yahoo / AOL --------------------------------------------------------------------
    (
        "421 4.7.0 [TSS04] Messages from 198.51.100.80 temporarily deferred due to unexpected "
        "volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
        "yahoo.tss04",
        "complaints",
    ),
    (
        "421 4.7.0 [TSS09] All messages from 198.51.100.81 will be permanently deferred; "
        "Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes",
        "yahoo.tss09",
        "retrying does not help",
    ),
    (
        "421 4.7.0 [TS01] Messages from 198.51.100.82 temporarily deferred due to user "
        "complaints - 4.16.55.1; see https://help.yahoo.com/kb/postmaster/SLN3434.html",
        "yahoo.ts01",
        "complaints",
    ),
    (
        "421 4.7.0 [TSS02] Messages from 198.51.100.83 temporarily deferred due to user "
        "complaints or because the IP/domain is in the unverified category. Please make sure "
        "that your email is RFC-5321 compliant. ec=ax9 [16]",
        "yahoo.ts01",
        "trusted",
    ),
    (
        "421 4.7.0 [TS03] All messages from 198.51.100.84 will be permanently deferred; "
        "Retrying will NOT succeed. See https://help.yahoo.com/kb/postmaster/SLN3434.html",
        "yahoo.ts03",
        "for good",
    ),
    (
        "554 Message not allowed - [PH01] Email not accepted for policy reasons. Please visit "
        "https://postmaster.yahooinc.com/error-codes",
        "yahoo.ph01",
        "links",
    ),
    (
        "553 5.7.1 [BL21] Connections will not be accepted from 198.51.100.85, because the ip "
        "is in Spamhaus's list; see http://postmaster.yahoo.com/550-bl23.html",
        "yahoo.bl",
        "Spamhaus",
    ),
    (
        "421 4.7.0 [GL01] Message from (198.51.100.86) temporarily deferred - 4.16.50. Please "
        "refer to http://postmaster.yahoo.com/errors/postmaster-21.html",
        "yahoo.gl01",
        "gradually",
    ),
    (
        "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo "
        "requires all senders to authenticate with either SPF or DKIM.",
        "yahoo.unauthenticated",
        "DKIM",
    ),
    (
        "554 5.7.9 Message not accepted for policy reasons.  See "
        "https://postmaster.yahooinc.com/error-codes",
        "yahoo.policy",
        "DMARC",
    ),
    (
        "554 delivery error: dd This user doesn't have a yahoo.com account (jo@yahoo.com) [0] "
        "- mta1234.mail.ne1.yahoo.com",
        "yahoo.no_account",
        "does not exist",
    ),
    (
        "554 delivery error: dd This user doesn't have a aol.com account (jo@aol.com) [0] - "
        "mtaproxy.mail.aol.com",
        "yahoo.no_account",
        "typo",
    ),
    (
        "554 delivery error: dd Sorry your message to jo@yahoo.com cannot be delivered. This "
        "mailbox is disabled (554.30). - mta1001.mail.gq1.yahoo.com",
        "yahoo.disabled",
        "disabled",
    ),
    (
        "451 Message temporarily deferred due to unresolvable RFC.5321 from domain; see "
        "https://postmaster.yahooinc.com/error-codes",
        "yahoo.unresolvable",
        "myorigin",
    ),
    # --- Blacklists ---------------------------------------------------------------------
    (
        "554 5.7.1 Service unavailable; Client host [198.51.100.90] blocked using "
        "zen.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.90",
        "dnsbl.spamhaus",
        "lookup page",
    ),
    (
        "550 5.7.1 Service unavailable; client [198.51.100.91] blocked using "
        "pbl.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.91",
        "dnsbl.spamhaus_pbl",
        "dynamic",
    ),
    (
        "554 5.7.1 Service unavailable; Client host [198.51.100.92] blocked using "
        "xbl.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.92",
        "dnsbl.spamhaus_xbl",
        "infected",
    ),
    (
        "554 5.7.1 Service unavailable; Client host [198.51.100.93] blocked using "
        "sbl.spamhaus.org; https://www.spamhaus.org/sbl/query/SBL654321",
        "dnsbl.spamhaus_sbl",
        "spam source",
    ),
    (
        "554 5.7.1 <newsletter@example.com>: Sender address rejected: example.com is listed in "
        "dbl.spamhaus.org",
        "dnsbl.spamhaus_dbl",
        "domain",
    ),
    (
        "554 5.7.1 Service unavailable; Client host [198.51.100.94] blocked using "
        "zen.spamhaus.org; Error: open resolver; https://www.spamhaus.org/returnc/pub/8.8.8.8",
        "dnsbl.spamhaus_open_resolver",
        "public",
    ),
    (
        "554 Service unavailable; Client host [198.51.100.95] blocked using "
        "b.barracudacentral.org; http://www.barracudanetworks.com/reputation/?pr=1&ip=198.51.100.95",
        "dnsbl.barracuda",
        "removal",
    ),
    (
        "550 permanent failure for one or more recipients (jo@example.org:554 Service "
        "unavailable; Client host [198.51.100.96] blocked using Barracuda Reputation; "
        "http://www.barracudanetworks.com/reputation/?r=1&ip=198.51.100.96)",
        "dnsbl.barracuda",
        "Barracuda",
    ),
    (
        "554 5.7.1 Service unavailable; Client host [198.51.100.97] blocked using "
        "bl.spamcop.net; Blocked - see https://www.spamcop.net/bl.shtml?198.51.100.97",
        "dnsbl.spamcop",
        "24 hours",
    ),
    (
        "550 5.7.1 Service unavailable; Client host [198.51.100.98] blocked using "
        "dnsbl-1.uceprotect.net; IP 198.51.100.98 is UCEPROTECT-Level1 listed.",
        "dnsbl.uceprotect",
        "level 1",
    ),
    (
        "554 5.7.1 Service unavailable; Client host [198.51.100.99] blocked using bl.mailspike.net",
        "dnsbl.generic",
        "blacklist",
    ),
    (
        "550 5.7.1 Your IP 198.51.100.100 is blacklisted. Contact postmaster.",
        "dnsbl.generic",
        "removal",
    ),
    (
        "554 Blocked - see https://ipcheck.proofpoint.com/?ip=198.51.100.101",
        "dnsbl.proofpoint",
        "Proofpoint",
    ),
    (
        "554 Email rejected due to security policies - "
        "https://community.mimecast.com/docs/DOC-1369#554 [Xyz123.uk41]",
        "dnsbl.mimecast",
        "Mimecast",
    ),
    (
        "550 Rejected by header based Anti-Spoofing policy: jo@example.org - "
        "https://community.mimecast.com/docs/DOC-1369#550 [AbC.uk69]",
        "dnsbl.mimecast",
        "spoofing",
    ),
    (
        "550 5.7.1 Poor Reputation Sender - see https://csi.cloudmark.com/reset-request/"
        "?ip=198.51.100.102",
        "dnsbl.cloudmark",
        "reset",
    ),
    # --- Clients and servers ------------------------------------------------------------
    (
        "SMTP Error: Could not connect to SMTP host. Failed to connect to server",
        "clients.phpmailer_connect",
        "blocks outgoing SMTP ports",
    ),
    (
        "2024-05-02 10:11:12 SMTP ERROR: Failed to connect to server: Connection timed out "
        "(110)\nSMTP connect() failed. https://github.com/PHPMailer/PHPMailer/wiki/Troubleshooting",
        "clients.phpmailer_connect",
        "SMTPDebug",
    ),
    ("SMTP Error: Could not authenticate.", "clients.phpmailer_auth", "app password"),
    ("SMTP Error: data not accepted.", "clients.phpmailer_data", "DATA"),
    (
        "Sending of the message failed. The message could not be sent because connecting to "
        "SMTP server smtp.example.com failed. The server may be unavailable or is refusing SMTP "
        "connections. Please verify that your SMTP server settings are correct and try again.",
        "clients.thunderbird_connect",
        "STARTTLS",
    ),
    (
        "Unable to connect to the SMTP server smtp.example.com on port 587",
        "clients.could_not_connect",
        "port",
    ),
    (
        "Mail::send(): Failed to connect to server: smtp.example.com:465",
        "clients.could_not_connect",
        "nc -vz",
    ),
    (
        "connect to gmail-smtp-in.l.google.com[142.250.102.27]:25: Connection timed out",
        "clients.port25_blocked",
        "blocks outgoing port 25",
    ),
    (
        "delivery temporarily suspended: connect to mx1.example.org[198.51.100.110]:25: "
        "Network is unreachable",
        "clients.port25_blocked",
        "smarthost",
    ),
    ("[Errno 110] Connection timed out", "clients.timeout", "blocked"),
    (
        "Error: Connection timeout\n    at SMTPConnection._formatError "
        "(node_modules/nodemailer/lib/smtp-connection/index.js:790:19) code: 'ETIMEDOUT'",
        "clients.timeout",
        "firewall",
    ),
    (
        "System.Net.Sockets.SocketException (10060): A connection attempt failed because the "
        "connected party did not properly respond after a period of time, or established "
        "connection failed because connected host has failed to respond.",
        "clients.timeout",
        "port",
    ),
    ("ConnectionRefusedError: [Errno 111] Connection refused", "clients.refused", "listens"),
    (
        "Error: connect ECONNREFUSED 127.0.0.1:465\n    at TCPConnectWrap.afterConnect [as "
        "oncomplete] (node:net:1555:16) { errno: -111, code: 'ESOCKET', syscall: 'connect' }",
        "clients.refused",
        "wrong port",
    ),
    (
        "No connection could be made because the target machine actively refused it "
        "198.51.100.111:587",
        "clients.refused",
        "firewall",
    ),
    ("OSError: [Errno 101] Network is unreachable", "clients.unreachable", "IPv6"),
    ("connect: No route to host", "clients.unreachable", "route"),
    ("socket.gaierror: [Errno -2] Name or service not known", "clients.dns", "DNS"),
    (
        "Error: getaddrinfo ENOTFOUND smtp.exmaple.com\n    at GetAddrInfoReqWrap.onlookup",
        "clients.dns",
        "typo",
    ),
    (
        "stream_socket_client(): php_network_getaddresses: getaddrinfo for mail.example.com "
        "failed: Name or service not known",
        "clients.dns",
        "A record",
    ),
    (
        "Host or domain name not found. Name service error for name=mail.example.net type=A: "
        "Host not found",
        "clients.dns",
        "MX",
    ),
    (
        "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1129)",
        "clients.wrong_version",
        "STARTTLS",
    ),
    (
        "Error: 140736583225344:error:1408F10B:SSL routines:ssl3_get_record:wrong version "
        "number:../deps/openssl/openssl/ssl/record/ssl3_record.c:332:",
        "clients.wrong_version",
        "465",
    ),
    (
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: unable to get local issuer certificate (_ssl.c:1006)",
        "clients.cert_verify",
        "chain",
    ),
    (
        "javax.mail.MessagingException: Could not convert socket to TLS; nested exception is: "
        "javax.net.ssl.SSLHandshakeException: PKIX path building failed: "
        "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid "
        "certification path to requested target",
        "clients.cert_verify",
        "intermediate",
    ),
    (
        "System.Security.Authentication.AuthenticationException: The remote certificate is "
        "invalid according to the validation procedure.",
        "clients.cert_verify",
        "trust",
    ),
    (
        "Error: self-signed certificate in certificate chain\n    at TLSSocket.onConnectSecure "
        "code: 'SELF_SIGNED_CERT_IN_CHAIN'",
        "clients.self_signed",
        "Let's Encrypt",
    ),
    (
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: self signed certificate (_ssl.c:1131)",
        "clients.self_signed",
        "snakeoil",
    ),
    (
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: certificate has expired (_ssl.c:1006)",
        "clients.cert_expired",
        "certbot renew",
    ),
    (
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: Hostname mismatch, certificate is not valid for 'mail.example.com'. "
        "(_ssl.c:1006)",
        "clients.hostname_mismatch",
        "names",
    ),
    (
        "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's "
        "altnames: Host: smtp.example.com. is not in the cert's altnames: "
        "DNS:*.shared-host.example",
        "clients.hostname_mismatch",
        "certificate",
    ),
    (
        "The server you are connected to is using a security certificate that cannot be "
        "verified. The target principal name is incorrect.",
        "clients.hostname_mismatch",
        "shared hosting",
    ),
    (
        "ssl.SSLError: [SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version "
        "(_ssl.c:1129)",
        "clients.tls_protocol",
        "TLS 1.2",
    ),
    (
        "ssl.SSLError: [SSL: UNSUPPORTED_PROTOCOL] unsupported protocol (_ssl.c:1131)",
        "clients.tls_protocol",
        "old",
    ),
    (
        "ssl.SSLError: [SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure "
        "(_ssl.c:1129)",
        "clients.tls_handshake",
        "cipher",
    ),
    (
        "SSL_accept error from unknown[198.51.100.120]: -1 warning: TLS library problem: "
        "error:1417A0C1:SSL routines:tls_post_process_client_hello:no shared cipher",
        "clients.tls_handshake",
        "cipher",
    ),
    ("530 5.7.0 Must issue a STARTTLS command first", "clients.must_starttls", "STARTTLS"),
    (
        "smtplib.SMTPSenderRefused: (530, b'5.7.0 Must issue a STARTTLS command first. "
        "d9443c01a7336-22e0f1c9abcsm1234567b3a.12 - gsmtp', 'me@example.com')",
        "clients.must_starttls",
        "starttls()",
    ),
    (
        "smtplib.SMTPNotSupportedError: STARTTLS extension not supported by server.",
        "clients.starttls_unsupported",
        "certificate",
    ),
    (
        "TLS is required, but was not offered by host mx.example.org[198.51.100.121]",
        "clients.starttls_unsupported",
        "firewall",
    ),
    (
        "smtplib.SMTPNotSupportedError: SMTP AUTH extension not supported by server.",
        "clients.auth_unsupported",
        "587",
    ),
    ("554 5.7.1 <jo@example.org>: Relay access denied", "clients.relay_denied", "authentication"),
    (
        "RCPT TO:<friend@gmail.com> 454 4.7.1 <friend@gmail.com>: Relay access denied",
        "clients.relay_denied",
        "Outgoing Server",
    ),
    (
        "550 5.7.1 Unable to relay for friend@example.org",
        "clients.relay_denied",
        "log in",
    ),
    (
        "Mailbox unavailable. The server response was: 5.7.1 Unable to relay",
        "clients.relay_denied",
        "587",
    ),
    ("550 relay not permitted", "clients.relay_denied", "relay"),
    ("535 Authentication Credentials Invalid", "clients.auth_credentials_invalid", "password"),
    ("535 Incorrect authentication data", "clients.auth_credentials_invalid", "webmail"),
    (
        "535 5.7.8 Error: authentication failed: authentication failure",
        "clients.auth_failed",
        "password",
    ),
    (
        "Error: Invalid login: 535-5.7.8 Username and Password not accepted.",
        "gmail.bad_credentials",
        "app password",
    ),
    (
        "Error: Invalid login: 535 Authentication failed\n    at SMTPConnection._formatError "
        "code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN'",
        "clients.auth_failed",
        "full address",
    ),
    (
        "javax.mail.AuthenticationFailedException: 535 5.7.3 Authentication unsuccessful",
        "microsoft.auth_unsuccessful",
        "SMTP AUTH",
    ),
    (
        "Login to server imap.example.com with username jo@example.com failed.",
        "clients.auth_failed",
        "password",
    ),
    (
        "a1 NO [AUTHENTICATIONFAILED] Authentication failed.",
        "clients.mailbox_auth_failed",
        "doveadm",
    ),
    ("-ERR [AUTH] Authentication failed.", "clients.mailbox_auth_failed", "webmail"),
    (
        "-ERR Plaintext authentication disallowed on non-secure (SSL/TLS) connections.",
        "clients.plaintext_disallowed",
        "993",
    ),
    (
        "* NO [UNAVAILABLE] Temporary authentication failure. [mail1:2024-05-02 10:00:00]",
        "clients.auth_temporary",
        "backend",
    ),
    ("454 4.7.0 Temporary authentication failure", "clients.auth_temporary", "not the password"),
    (
        "* BYE Maximum number of connections from user+IP exceeded "
        "(mail_max_userip_connections=10)",
        "clients.max_connections",
        "mail_max_userip_connections",
    ),
    (
        "552 5.2.2 <jo@example.org>: Recipient address rejected: Mailbox full",
        "clients.mailbox_full",
        "quota",
    ),
    (
        "452 4.2.2 <jo@example.org>: Recipient address rejected: Quota exceeded (mailbox for "
        "user is full)",
        "clients.mailbox_full",
        "delete",
    ),
    (
        "Diagnostic-Code: smtp; 552 5.2.2 jo@example.org: user is over quota",
        "clients.mailbox_full",
        "doveadm quota",
    ),
    ("552 5.3.4 Message size exceeds fixed limit", "clients.size_limit", "message_size_limit"),
    (
        "552 5.3.4 Error: message file too big",
        "clients.size_limit",
        "a third",
    ),
    (
        "552 Message size exceeds maximum permitted",
        "clients.size_limit",
        "link",
    ),
    (
        "550 5.1.1 <jo@example.org>: Recipient address rejected: User unknown in virtual "
        "mailbox table",
        "clients.user_unknown",
        "virtual_mailbox_maps",
    ),
    (
        "550 5.1.1 <jo@example.org>: Recipient address rejected: User unknown in local "
        "recipient table",
        "clients.user_unknown",
        "typo",
    ),
    ("550 5.1.1 Unrouteable address", "clients.user_unknown", "mailbox"),
    (
        "SMTP error from remote mail server after RCPT TO:<jo@example.org>: 550 No Such User Here",
        "clients.user_unknown",
        "recipient",
    ),
    (
        "450 4.1.8 <root@server.localdomain>: Sender address rejected: Domain not found",
        "clients.sender_domain_not_found",
        "myorigin",
    ),
    (
        "553 5.1.8 <app@intranet.local>... Domain of sender address app@intranet.local does not "
        "exist",
        "clients.sender_domain_not_found",
        "internal",
    ),
    (
        "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname",
        "clients.helo_rejected",
        "myhostname",
    ),
    (
        "450 4.7.1 <server1>: Helo command rejected: Host not found",
        "clients.helo_rejected",
        "A record",
    ),
    (
        "450 4.7.1 Client host rejected: cannot find your hostname, [198.51.100.130]",
        "clients.reverse_dns",
        "PTR",
    ),
    (
        "550 5.7.1 Client host rejected: cannot find your reverse hostname, [198.51.100.131]",
        "clients.reverse_dns",
        "reverse DNS",
    ),
    (
        "553 5.7.1 <info@example.com>: Sender address rejected: not owned by user jo@example.com",
        "clients.sender_not_owned",
        "smtpd_sender_login_maps",
    ),
    (
        "450 4.2.0 <jo@example.org>: Recipient address rejected: Greylisted, see "
        "http://postgrey.schweikert.ch/help/example.org.html",
        "clients.greylisted",
        "retries",
    ),
    (
        "451 4.7.1 Please try again later (greylisting)",
        "clients.greylisted",
        "minutes",
    ),
    (
        "421 4.7.0 mail.example.org Error: too many connections from 198.51.100.132",
        "clients.too_many_connections",
        "concurrency",
    ),
    ("452 4.5.3 Error: too many recipients", "clients.too_many_recipients", "Split"),
    (
        "smtplib.SMTPServerDisconnected: Connection unexpectedly closed",
        "clients.disconnected",
        "encryption",
    ),
    (
        "lost connection with mx.example.org[198.51.100.133] while receiving the initial "
        "server greeting",
        "clients.disconnected",
        "log",
    ),
    (
        "Error: read ECONNRESET\n    at TLSWrap.onStreamRead (node:internal/stream_base_commons"
        ":217:20) errno: -104, code: 'ECONNRESET'",
        "clients.disconnected",
        "antivirus",
    ),
    (
        "System.Net.Mail.SmtpException: The SMTP server requires a secure connection or the "
        "client was not authenticated. The server response was: 5.7.0 Authentication Required",
        "clients.dotnet_secure",
        "EnableSsl",
    ),
    ("530 5.7.1 Client was not authenticated", "clients.auth_required", "587"),
    (
        "554 5.7.1 <bulk@example.net>: Sender address rejected: Access denied",
        "clients.sender_access_denied",
        "rule",
    ),
    (
        "status=bounced (mail for example.com loops back to myself)",
        "clients.loop",
        "virtual_mailbox_domains",
    ),
    (
        "550 5.7.1 Rejected: domain of sender jo@example.com does not designate 198.51.100.140 "
        "as permitted sender",
        "clients.spf_fail",
        "SPF",
    ),
    (
        "550 5.7.1 <jo@example.org>: Recipient address rejected: Message rejected due to: SPF "
        "fail - not authorized. Please see http://www.openspf.net/Why?s=mfrom;id=x",
        "clients.spf_fail",
        "ip4:",
    ),
    (
        "550 5.7.1 Email rejected per DMARC policy for example.com",
        "clients.dmarc_fail",
        "aligned",
    ),
    (
        "550 5.7.1 Message rejected due to DMARC policy. Please see https://dmarc.org",
        "clients.dmarc_fail",
        "p=none",
    ),
    (
        "550 5.7.20 Message rejected: DKIM signature verification failed (body hash did not "
        "verify)",
        "clients.dkim_fail",
        "footer",
    ),
    (
        "550 5.7.1 Message rejected as spam by Content Filtering.",
        "clients.spam_content",
        "spam",
    ),
    (
        "554 5.7.1 Blocked by SpamAssassin",
        "clients.spam_content",
        "DKIM",
    ),
    (
        "554 5.7.0 Reject, id=12345-01 - INFECTED: Eicar-Signature",
        "clients.virus",
        "malware",
    ),
    (
        "550 5.7.1 Message contains a virus (Win.Trojan.Agent-123) and was rejected",
        "clients.virus",
        "Scan",
    ),
    (
        "This is the mail system at host mail.example.com.\n\nI'm sorry to have to inform you "
        "that your message could not\nbe delivered to one or more recipients.\n\n<jo@example.org>:"
        " host mx.example.org[198.51.100.150] said: 550 5.1.1\n    <jo@example.org>: Recipient "
        "address rejected: User unknown in virtual mailbox\n    table (in reply to RCPT TO "
        "command)",
        "clients.user_unknown",
        "address",
    ),
    (
        "A message that you sent could not be delivered to one or more of its recipients. This "
        "is a permanent error. The following address(es) failed:\n\n  jo@example.org\n    retry "
        "timeout exceeded",
        "clients.expired",
        "last error",
    ),
    (
        "550-Verification failed for <noreply@example.com>\n550-Called:   198.51.100.25\n"
        "550-Sent:     RCPT TO:<noreply@example.com>\n550-Response: 550 5.1.1 "
        "<noreply@example.com>: Recipient address rejected: User unknown\n"
        "550 Sender verify failed",
        "clients.sender_verify",
        "callout",
    ),
    (
        "450 4.1.7 <app@example.com>: Sender address rejected: unverified address: host "
        "mx.example.com[198.51.100.26] said: 550 5.1.1 <app@example.com>: Recipient address "
        "rejected: User unknown in virtual mailbox table",
        "clients.sender_verify",
        "MAIL FROM:<>",
    ),
    (
        "504 5.5.2 <www-data>: Sender address rejected: need fully-qualified address",
        "clients.unqualified_address",
        "myorigin",
    ),
    (
        "451 4.4.0 DNS query failed. The error was: SMTPSEND.DNS.NonExistentDomain; "
        "nonexistent domain",
        "clients.dns",
        "typo",
    ),
    (
        '451 4.4.0 Primary target IP address responded with: "421 4.4.2 Connection dropped due '
        'to SocketError." Attempted failover to alternate host, but that did not succeed.',
        "clients.disconnected",
        "dropped",
    ),
    (
        '451 4.4.0 Primary target IP address responded with: "451 5.7.3 STARTTLS is required '
        'to send mail." TLS negotiation failed with error SocketError',
        "clients.tls_handshake",
        "TLS",
    ),
    (
        "550 4.4.7 QUEUE.Expired; message expired [Stage: CreateMessage]",
        "clients.expired",
        "queue",
    ),
    (
        "550 5.1.1 <jo@example.org>: Email address could not be found, or was misspelled (G8)",
        "clients.user_unknown",
        "typo",
    ),
    (
        "550 Message was not accepted -- invalid mailbox. Local mailbox jo@example.net is "
        "unavailable: user not found",
        "clients.user_unknown",
        "mailbox",
    ),
    (
        "#550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required; "
        "Delivery restriction check failed because the sender was not authenticated when "
        "sending to this group ##",
        "microsoft.group_auth_required",
        "group",
    ),
    # --- Outlook error numbers ------------------------------------------------------------
    (
        "Sending reported error (0x800CCC0E) : 'Cannot connect to the server. Verify the server "
        "name, port, and security settings.'",
        "outlook.0x800CCC0E",
        "587",
    ),
    (
        "Task 'jo@example.com - Receiving' reported error (0x800CCC0E) : 'Outlook cannot "
        "synchronize subscribed folders for jo@example.com. Error: Cannot connect to the server.'",
        "outlook.0x800CCC0E",
        "antivirus",
    ),
    (
        "Receiving reported error (0x800CCC0F) : 'The connection to the server was interrupted. "
        "If this problem continues, contact your server administrator or Internet service "
        "provider (ISP).'",
        "outlook.0x800CCC0F",
        "timeout",
    ),
    (
        "Task 'mail.example.com - Sending' reported error (0x8004210B) : 'The operation timed "
        "out waiting for a response from the sending (SMTP) server. If you continue to receive "
        "this message, contact your server administrator or Internet service provider (ISP).'",
        "outlook.0x8004210B",
        "587",
    ),
    (
        "Receiving reported error (0x8004210A) : 'The operation timed out waiting for a "
        "response from the receiving (POP) server.'",
        "outlook.0x8004210A",
        "995",
    ),
    (
        "Task 'pop.example.com - Receiving' reported error (0x80042108) : 'Outlook is unable to "
        "connect to your incoming (POP3) e-mail server.'",
        "outlook.0x80042108",
        "995",
    ),
    (
        "Sending reported error (0x80042109) : 'Outlook is unable to connect to your outgoing "
        "(SMTP) e-mail server.'",
        "outlook.0x80042109",
        "587",
    ),
    (
        "Task 'jo@example.com - Sending' reported error (0x800CCC67) : 'Your outgoing (SMTP) "
        "e-mail server has reported an internal error.'",
        "outlook.0x800CCC67",
        "antivirus",
    ),
    (
        "Sending reported error (0x800CCC92) : 'Your e-mail server rejected your login. Verify "
        "your user name and password for this account in Account Settings.'",
        "outlook.0x800CCC92",
        "Credential Manager",
    ),
    (
        "Receiving reported error (0x800CCC90) : 'Your incoming (POP3) e-mail server has "
        "reported an internal error.'",
        "outlook.0x800CCC90",
        "IMAP",
    ),
    (
        "Receiving reported error (0x800CCC91) : 'Your e-mail server rejected your login.'",
        "outlook.0x800CCC91",
        "full email address",
    ),
    (
        "Sending reported error (0x800CCC79) : 'The server rejected one or more recipient "
        "addresses. The server response was: 550 5.7.1 Unable to relay'",
        "outlook.0x800CCC79",
        "requires authentication",
    ),
    (
        "Sending reported error (0x800CCC78) : 'Cannot send the message. Verify the e-mail "
        "address in your account properties. The server responded: 553 sorry, that domain isn't "
        "in my list of allowed rcpthosts'",
        "outlook.0x800CCC78",
        "authentication",
    ),
    (
        "Sending reported error (0x800CCC7D) : 'Your outgoing (SMTP) server does not support "
        "SSL-secured connections.'",
        "outlook.0x800CCC7D",
        "587",
    ),
    (
        "Sending reported error (0x800CCC1A) : 'Your server does not support the connection "
        "encryption type you have specified.'",
        "outlook.0x800CCC1A",
        "465",
    ),
    (
        "Receiving reported error (0x800CCC18) : 'Your e-mail server rejected your login.'",
        "outlook.0x800CCC18",
        "Secure Password Authentication",
    ),
    (
        "Sending reported error (0x800CCC13) : 'Cannot connect to the network. Verify your "
        "network connection or modem.'",
        "outlook.0x800CCC13",
        "sfc /scannow",
    ),
    (
        "Receiving reported error (0x800CCC0B) : 'Unknown Error 0x800CCC0B'",
        "outlook.0x800CCC0B",
        "POP3",
    ),
    (
        "Sending reported error (0x800CCC90) : 'The server responded: -ERR Authentication failed'",
        "outlook.0x800CCC90",
        "password",
    ),
    (
        "Receiving reported error (0x800CCCDD) : 'Your IMAP server closed the connection. This "
        "can occur if you leave the connection idle for too long.'",
        "outlook.0x800CCCDD",
        "Send/Receive",
    ),
    (
        "Task 'Microsoft Exchange' reported error (0x8004011D) : 'The server is not available.'",
        "outlook.0x8004011D",
        "Autodiscover",
    ),
    (
        "Sending reported error (0x800CCC80) : 'None of the authentication methods supported by "
        "this client are supported by your server.'",
        "outlook.0x800CCC80",
        "STARTTLS",
    ),
    (
        "Sending reported error (0x800CCC6F) : 'The server responded: 554 Transaction failed'",
        "outlook.0x800CCC6F",
        "blacklist",
    ),
    # --- Plain reply codes, enhanced codes, and what only the codes say -------------------
    (
        "421 4.3.2 Service shutting down, closing transmission channel",
        "enhanced.X.3.2",
        "shutting down",
    ),
    ("550 5.1.1 <jo@example.org>... User unknown", "clients.user_unknown", "does not exist"),
    ("550 5.1.1 jo@example.org: Recipient rejected", "enhanced.X.1.1", "mailbox does not exist"),
    ("554 5.4.6 Hop count exceeded - possible mail loop", "enhanced.X.4.6", "loop"),
    ("451 4.4.3 Temporary lookup failure", "enhanced.X.4.3", "DNS"),
    ("550 5.7.25 Rejected: reverse DNS check failed", "enhanced.X.7.25", "PTR"),
    ("550 5.7.27 Sender address has null MX", "enhanced.X.7.27", "null MX"),
    ("556 5.1.10 Recipient address has null MX", "enhanced.X.1.10", "null MX"),
    ("Status: 4.4.7\nAction: delayed", "enhanced.X.4.7", "retrying"),
    (
        "Status: 5.4.4\nDiagnostic-Code: X-Postfix; Host or domain name not found",
        "clients.dns",
        "DNS",
    ),
    ("421 Service not available, closing transmission channel", "smtp_basic.421", "retry"),
    ("503 5.5.1 Error: authentication not enabled", "enhanced.X.5.1", "out of order"),
    ("503 Bad sequence of commands", "smtp_basic.503", "authentication"),
    ("502 5.5.2 Error: command not recognized", "enhanced.X.5.2", "port"),
    ("501 Syntax: HELO hostname", "smtp_basic.501", "EHLO"),
    ("504 5.7.4 Unrecognized authentication type", "enhanced.X.7.4", "security features"),
    ("534 5.7.9 Authentication mechanism is too weak", "enhanced.X.7.9", "OAuth"),
    (
        "538 5.7.11 Encryption required for requested authentication mechanism",
        "enhanced.X.7.11",
        "STARTTLS",
    ),
    ("550 5.7.1 Command rejected", "enhanced.X.7.1", "policy"),
    ("554 5.7.1 Rejected by local policy", "enhanced.X.7.1", "blacklist"),
    ("550 Administrative prohibition", "smtp_basic.550", "policy"),
    ("554 Transaction failed", "smtp_basic.554", "blacklist"),
    (
        "552 Requested mail action aborted: exceeded storage allocation",
        "smtp_basic.552",
        "too large",
    ),
    ("451 4.3.0 Error: queue file write error", "enhanced.X.3.0", "log"),
    ("452 4.3.1 Insufficient system storage", "enhanced.X.3.1", "disk"),
    ("550 5.7.13 User account disabled", "enhanced.X.7.13", "disabled"),
    ("554 5.7.26 Multiple authentication checks failed", "enhanced.X.7.26", "DKIM"),
    ("550 5.7.23 SPF validation failed", "enhanced.X.7.23", "SPF record"),
    ("550 5.7.24 SPF validation error", "enhanced.X.7.24", "10"),
    ("550 5.7.20 No passing DKIM signature found", "enhanced.X.7.20", "DKIM"),
    ("559 5.9.9 something we never heard of", "smtp_basic.5XX", "permanent"),
    ("550 5.7.250 Rejected by rule 42", "enhanced.X.7", "policy"),
]


def test_the_corpus_is_large_and_distinct() -> None:
    texts = [t for t, _, _ in CASES]
    assert len(set(texts)) == len(texts), "duplicate texts in the corpus"
    assert len(texts) >= 150


def _answer_text(m: Match) -> str:
    e = m.entry
    return " ".join([e.title, e.meaning, *e.causes, *(m.fill(s) for s in e.fix)])


@pytest.mark.parametrize(
    ("text", "top", "phrase"), CASES, ids=[f"{i:03}-{c[1]}" for i, c in enumerate(CASES)]
)
def test_real_world_text_is_explained(text: str, top: str, phrase: str) -> None:
    exp = explain(text)
    assert exp.matches, "nothing matched"
    first = exp.matches[0]
    assert first.entry.id == top, [m.entry.id for m in exp.matches]
    assert phrase.lower() in _answer_text(first).lower()
