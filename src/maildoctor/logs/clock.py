"""Log timestamps -> POSIX seconds, cheaply, for every format mail logs are written in.

- classic syslog (RFC 3164 4.1.2) "Nov 28 05:44:45", local time and no year: the year is
  inferred from a reference time (the file's mtime, which is the time of its last lines, or now
  for stdin) and advanced when the month jumps back (a log that crosses New Year);
- RFC 3339 (RFC 5424 6.2.3, rsyslog's high-precision format) "2026-11-28T05:44:45.123456+01:00",
  and `journalctl -o short-iso` "2026-11-28T05:44:45+0100" (no colon in the offset);
- Exim's "2026-11-28 05:44:45" with optional ".fff" and " +0100".

Conversions are cached by minute, so a line costs a dictionary look-up and a small addition.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def _local_epoch(year: int, month: int, day: int, hour: int, minute: int) -> float:
    # mktime with isdst=-1: the system's local zone, DST decided by the date itself.
    return time.mktime((year, month, day, hour, minute, 0, 0, 0, -1))


def _offset_seconds(tz: str) -> int | None:
    """ "Z", "+01:00", "+0100", "-05" -> seconds east of UTC; "" -> None (local time)."""
    if not tz:
        return None
    if tz in ("Z", "z"):
        return 0
    m = re.fullmatch(r"([+-])(\d\d):?(\d\d)?", tz)
    if not m:
        raise ValueError(tz)
    secs = int(m.group(2)) * 3600 + int(m.group(3) or 0) * 60
    return -secs if m.group(1) == "-" else secs


class Clock:
    """Converts one stream's timestamps; holds the year inference state of that stream."""

    def __init__(self, reference: float | None = None) -> None:
        self.reference = time.time() if reference is None else reference
        self._year: int | None = None
        self._month = 0
        self._minutes: dict[str, float] = {}

    # -- classic syslog ---------------------------------------------------------------------

    def syslog(self, ts: str) -> float | None:
        """ "Nov 28 05:44:45" (or "Nov  1 05:44:45") -> epoch seconds; None when malformed."""
        key = ts[:12]
        base = self._minutes.get(key)
        if base is None:
            base = self._syslog_minute(ts)
            if base is None:
                return None
        sec = ts[13:15]
        if not sec.isdecimal():
            return None
        return base + int(sec)

    def minute(self, key: str) -> float | None:
        """ "Nov 28 05:44" -> epoch of that minute (year inferred); None when malformed."""
        base = self._minutes.get(key)
        if base is None:
            base = self._syslog_minute(key)
        return base

    def _syslog_minute(self, ts: str) -> float | None:
        month = MONTHS.get(ts[:3])
        day_text, hh, mm = ts[4:6].strip(), ts[7:9], ts[10:12]
        if month is None or not (day_text.isdecimal() and hh.isdecimal() and mm.isdecimal()):
            return None
        year_before = self._year
        if self._year is None:
            ref = time.localtime(self.reference)
            # The reference is the time of the stream's last lines: a first line in a later
            # month than that belongs to the year before.
            self._year = ref.tm_year if month <= ref.tm_mon else ref.tm_year - 1
        elif month < self._month - 6:
            self._year += 1  # Dec -> Jan: the log crossed New Year
        elif month > self._month + 6:
            self._year -= 1  # a line of December after January's (merged, out of order)
        self._month = month
        day, hour, minute = int(day_text), int(hh), int(mm)
        if not (1 <= day <= 31 and hour < 24 and minute < 60):
            return None
        try:
            base = _local_epoch(self._year, month, day, hour, minute)
        except (OverflowError, ValueError):
            return None
        if len(self._minutes) > 4096 or year_before != self._year:
            self._minutes.clear()  # keyed without the year: a new year starts a new cache
        self._minutes[ts[:12]] = base
        return base

    @property
    def year(self) -> int | None:
        return self._year

    # -- ISO 8601 forms ---------------------------------------------------------------------

    def iso(self, ts: str) -> float | None:
        """RFC 3339 / short-iso / Exim: "YYYY-MM-DD[T ]HH:MM:SS[.fff][tz]" -> epoch seconds."""
        if len(ts) < 19 or ts[4] != "-" or ts[7] != "-" or ts[13] != ":" or ts[16] != ":":
            return None
        rest = ts[19:]
        frac = 0.0
        if rest[:1] in (".", ","):
            i = 1
            while i < len(rest) and rest[i].isdecimal():
                i += 1
            try:
                frac = float("0." + rest[1:i]) if i > 1 else 0.0
            except ValueError:
                return None
            rest = rest[i:]
        tz = rest.strip()
        key = ts[:16] + tz
        base = self._minutes.get(key)
        if base is None:
            try:
                offset = _offset_seconds(tz)
                y, mo, d = int(ts[0:4]), int(ts[5:7]), int(ts[8:10])
                h, mi = int(ts[11:13]), int(ts[14:16])
                if offset is None:
                    base = _local_epoch(y, mo, d, h, mi)
                else:
                    base = datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp() - offset
            except (ValueError, OverflowError):
                return None
            if len(self._minutes) > 4096:
                self._minutes.clear()
            self._minutes[key] = base
        sec = ts[17:19]
        if not sec.isdecimal():
            return None
        return base + int(sec) + frac


def iso_utc(epoch: float | None) -> str | None:
    """Epoch seconds -> "2026-11-28T05:44:45Z" (JSON and reports use UTC)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_AGO = re.compile(r"(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hour|d|day|w|week)s?(\s+ago)?", re.I)
_UNIT = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_UNIT |= {"w": 604800, "week": 604800}


def parse_time_arg(text: str, now: float | None = None) -> float:
    """--since / --until: ISO date or date-time (local unless it has an offset), "today",
    "yesterday", or an age such as "2h", "30 min ago", "7d". Raises ValueError."""
    now = time.time() if now is None else now
    t = text.strip()
    low = t.lower()
    if low in ("now",):
        return now
    if low in ("today", "yesterday"):
        lt = time.localtime(now)
        midnight = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))
        return midnight - (86400 if low == "yesterday" else 0)
    m = _AGO.fullmatch(t)
    if m:
        return now - float(m.group(1)) * _UNIT[m.group(2).lower()]
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time (use e.g. 2026-11-28, '2026-11-28 06:00', "
            "2026-11-28T06:00:00+01:00, today, yesterday, 2h, 30min, 7d)"
        ) from None
    if dt.tzinfo is None:
        return time.mktime(dt.timetuple()) + dt.microsecond / 1e6
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(seconds=1)
