"""DKIM key records: the tag-list syntax (RFC 6376 3.2) and the key record (RFC 6376 3.6.1).

No I/O: text in, a typed record out, with every syntax problem named precisely. The public
key in p= is loaded with `cryptography`: RSA as DER (SubjectPublicKeyInfo, or the bare
RSAPublicKey some signers publish), Ed25519 as the 32 raw bytes of RFC 8463 4.2.
The tag-list parser is shared with DMARC (RFC 7489 6.4 uses the same tag=value format).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field, replace

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

# RFC 6376 3.2: tag-name = ALPHA *ALNUMPUNC; ALNUMPUNC = ALPHA / DIGIT / "_"
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# RFC 6376 3.2: VALCHAR = %x21-3A / %x3C-7E (printable ASCII but ";"), tvals separated by WSP/FWS
_BAD_VALUE_CHAR = re.compile(r"[^\x21-\x3a\x3c-\x7e \t\r\n]")
# RFC 6376 2.8: FWS is whitespace with optional CRLF; in DNS text it is spaces, tabs, CR, LF
_FWS = " \t\r\n"
MAX_SHOWN = 160  # characters of a record shown in a message


def _visible(ch: str) -> str:
    code = ord(ch)
    if 0x20 <= code < 0x7F or (code > 0x9F and ch.isprintable()):
        return ch
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str, limit: int = MAX_SHOWN) -> str:
    """A record (or part of one) made printable and short enough for a message."""
    out = "".join(_visible(ch) for ch in text[:limit])
    if len(text) > limit:
        return f"{out}... ({len(text)} characters in all)"
    return out


@dataclass(frozen=True)
class Problem:
    """One syntax or content problem; `fatal` when receivers discard the record or the tag."""

    message: str
    fatal: bool = True


@dataclass(frozen=True)
class Tag:
    name: str
    value: str  # surrounding whitespace removed; inner whitespace kept as published


@dataclass(frozen=True)
class TagList:
    tags: tuple[Tag, ...]
    problems: tuple[Problem, ...]
    fold_case: bool = False  # DMARC tag names are case-insensitive, DKIM's are not

    def key(self, name: str) -> str:
        return name.lower() if self.fold_case else name

    def get(self, name: str) -> str | None:
        """The value of the first tag called `name`, None when absent."""
        want = self.key(name)
        for tag in self.tags:
            if self.key(tag.name) == want:
                return tag.value
        return None

    def names(self) -> tuple[str, ...]:
        return tuple(self.key(t.name) for t in self.tags)

    @property
    def duplicates(self) -> tuple[str, ...]:
        seen: set[str] = set()
        dup: list[str] = []
        for name in self.names():
            if name in seen and name not in dup:
                dup.append(name)
            seen.add(name)
        return tuple(dup)


def parse_tag_list(text: str, *, fold_case: bool = False) -> TagList:
    """Parse `tag=value; tag=value` (RFC 6376 3.2), naming every deviation from the grammar."""
    tags: list[Tag] = []
    problems: list[Problem] = []
    specs = text.split(";")
    for index, spec in enumerate(specs):
        body = spec.strip(_FWS)
        if not body:
            if index == len(specs) - 1:
                continue  # RFC 6376 3.2: a trailing ";" is allowed
            # Not in the grammar, but every common verifier skips an empty tag-spec.
            where = "at the start" if index == 0 else f"after tag {index}"
            problems.append(Problem(f"empty tag ';;' {where}", fatal=False))
            continue
        name, eq, value = body.partition("=")
        name, value = name.strip(_FWS), value.strip(_FWS)
        if not eq:
            problems.append(Problem(f"'{shown(body, 40)}' is not tag=value (no '=')"))
            continue
        if not _TAG_NAME.fullmatch(name):
            problems.append(Problem(f"'{shown(name, 40)}' is not a valid tag name"))
            continue
        bad = _BAD_VALUE_CHAR.search(value)
        if bad:
            problems.append(
                Problem(
                    f"tag {name}= holds a character not allowed in a tag value "
                    f"({shown(bad.group())}, RFC 6376 3.2 VALCHAR)"
                )
            )
        tags.append(Tag(name, value))
    result = TagList(tuple(tags), tuple(problems), fold_case)
    # RFC 6376 3.2: a tag name occurring twice makes the entire tag-list invalid.
    extra = tuple(Problem(f"tag {n}= appears more than once") for n in result.duplicates)
    return TagList(result.tags, result.problems + extra, fold_case)


# --- DKIM key records (RFC 6376 3.6.1, RFC 8463 4.2) -------------------------------------------

KNOWN_KEY_TYPES = ("rsa", "ed25519")  # RFC 6376 3.6.1, RFC 8463 4.2 (IANA "DKIM Key Type")
KNOWN_HASHES = ("sha1", "sha256")  # RFC 6376 3.6.1 h=, RFC 8301 3.1 forbids sha1
_B64_CHARS = re.compile(r"[A-Za-z0-9+/]*={0,2}")


@dataclass(frozen=True)
class KeyInfo:
    """A public key that loaded: its algorithm and size in bits (Ed25519 is 256)."""

    algorithm: str
    bits: int


@dataclass(frozen=True)
class DkimKeyRecord:
    text: str
    tags: TagList
    version: str | None  # v= as published (None when absent: allowed)
    key_type: str  # k=, "rsa" by default
    flags: tuple[str, ...]  # t=
    hashes: tuple[str, ...] | None  # h=, None when absent (every hash allowed)
    services: tuple[str, ...] | None  # s=, None when absent ("*")
    public_key: str | None  # p= without whitespace; None when absent, "" when revoked
    problems: tuple[Problem, ...] = field(default=())  # syntax (tag list, v=, missing p=)
    key: KeyInfo | None = None
    key_error: str = ""  # why p= did not load, when it did not

    @property
    def is_dkim(self) -> bool:
        """False when the record is something else (v=DMARC1, v=spf1...) and receivers skip it."""
        return self.version is None or self.version == "DKIM1"

    @property
    def revoked(self) -> bool:
        return self.public_key == ""  # RFC 6376 3.6.1: an empty p= means revoked

    @property
    def testing(self) -> bool:
        return "y" in self.flags  # RFC 6376 3.6.1 t=y

    @property
    def sha1_only(self) -> bool:
        return self.hashes is not None and set(self.hashes) <= {"sha1"}


def _colon_list(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(p.strip(_FWS) for p in value.split(":") if p.strip(_FWS))


def parse_key_record(text: str) -> DkimKeyRecord:
    """Parse one TXT record published at <selector>._domainkey.<domain>."""
    tags = parse_tag_list(text)
    problems = list(tags.problems)
    version = tags.get("v")
    if version is not None:
        if tags.tags[0].name != "v":
            # RFC 6376 3.6.1: v= MUST be the first tag when present.
            problems.append(Problem("v=DKIM1 must be the first tag of the record"))
        if version != "DKIM1":
            problems.append(
                Problem(
                    f"v={shown(version, 40)}: this is not a DKIM key record "
                    "(a key record starts with v=DKIM1 or has no v= at all)"
                )
            )
    for name in tags.names():
        if name != name.lower() and name.lower() in ("v", "k", "p", "t", "h", "s", "n"):
            problems.append(
                Problem(f"tag {name}= is not {name.lower()}= (DKIM tag names are case-sensitive)")
            )
    # RFC 6376 3.6.1: the k=, h= and s= values are ABNF literals, so case-insensitive.
    key_type = (tags.get("k") or "rsa").strip(_FWS).lower()
    flags = _colon_list(tags.get("t")) or ()  # unknown flags are ignored (RFC 6376 3.6.1)
    h_raw, s_raw = tags.get("h"), tags.get("s")
    hashes = _colon_list(h_raw.lower() if h_raw is not None else None)
    services = _colon_list(s_raw.lower() if s_raw is not None else None)
    if hashes is not None and not set(hashes) & set(KNOWN_HASHES):
        problems.append(
            Problem(f"h={shown(':'.join(hashes), 40)} names no hash verifiers know (sha256)")
        )
    if services is not None and not {"*", "email"} & set(services):
        # RFC 6376 3.6.1 s=: a key for other services is not used for email
        problems.append(
            Problem(f"s={shown(':'.join(services), 40)}: the key is not for email (use s=email)")
        )
    raw_p = tags.get("p")
    public_key = None if raw_p is None else re.sub(f"[{_FWS}]", "", raw_p)
    if public_key is None:
        problems.append(Problem("no p= tag: the public key is REQUIRED (RFC 6376 3.6.1)"))
    record = DkimKeyRecord(
        text=text,
        tags=tags,
        version=version,
        key_type=key_type,
        flags=flags,
        hashes=hashes,
        services=services,
        public_key=public_key,
        problems=tuple(problems),
    )
    if public_key and key_type in KNOWN_KEY_TYPES:
        loaded = load_key(key_type, public_key)
        if isinstance(loaded, KeyInfo):
            return _replace_key(record, loaded, "")
        return _replace_key(record, None, loaded)
    return record


def _replace_key(record: DkimKeyRecord, key: KeyInfo | None, error: str) -> DkimKeyRecord:
    return replace(record, key=key, key_error=error)


def load_key(key_type: str, p: str) -> KeyInfo | str:
    """Load the base64 key of type `key_type`; the key's size, or why it does not load."""
    if not _B64_CHARS.fullmatch(p) or len(p) % 4:
        bad = re.search(r"[^A-Za-z0-9+/=]", p)
        if bad:
            return f"p= is not base64: it holds {shown(bad.group())!r}"
        return f"p= is not valid base64 ({len(p)} characters, not padded to a multiple of 4)"
    try:
        data = base64.b64decode(p, validate=True)
    except (binascii.Error, ValueError) as exc:
        return f"p= is not valid base64 ({exc})"
    if key_type == "ed25519":
        # RFC 8463 4.2: p= is the base64 of the 32-byte public key itself, not DER.
        if len(data) != 32:
            hint = (
                " (this looks like a DER SubjectPublicKeyInfo; publish only its last 32 bytes)"
                if len(data) == 44
                else " (this looks like an RSA key; set k=rsa)"
                if len(data) > 100
                else ""
            )
            return f"k=ed25519 needs 32 raw key bytes, p= holds {len(data)} bytes{hint}"
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(data)
        except (ValueError, UnsupportedAlgorithm) as exc:
            return f"p= is not an Ed25519 public key ({exc})"
        return KeyInfo("ed25519", 256)
    # RFC 6376 3.6.1 k=rsa: DER; SubjectPublicKeyInfo as openssl writes it, or RSAPublicKey.
    if len(data) == 32:
        return "p= holds 32 bytes: an Ed25519 key published with k=rsa (set k=ed25519)"
    try:
        key = serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        return f"p= decodes to {len(data)} bytes that are not a DER-encoded RSA public key"
    if not isinstance(key, rsa.RSAPublicKey):
        return f"p= holds a {type(key).__name__.removeprefix('_')} key, not RSA (k=rsa)"
    return KeyInfo("rsa", key.key_size)


def key_record_line(selector: str, domain: str, key_type: str = "rsa", p: str = "<base64>") -> str:
    """A key record ready to paste into a zone, split in 255-octet strings (RFC 1035 3.3.14)."""
    text = f"v=DKIM1; k={key_type}; p={p}"
    chunks = [text[i : i + 255] for i in range(0, len(text), 255)]
    quoted = " ".join(f'"{c}"' for c in chunks)
    return f"{selector}._domainkey.{domain}.  3600  IN  TXT  {quoted}"
