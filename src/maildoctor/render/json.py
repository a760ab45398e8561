"""The JSON report: the contract scripts and monitoring are built on (schema in docs/)."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from maildoctor.report import SCHEMA, Finding, Report


def jsonable(value: Any) -> Any:
    """One generic path from evidence dataclasses to JSON values."""
    if isinstance(value, enum.Enum):
        return value.value if not isinstance(value, int) else value.name.lower()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        out.setdefault("type", type(value).__name__)
        return out
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def finding_to_dict(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity.label,
        "subject": f.subject,
        "title": f.title,
        "evidence": f.evidence,
        "cause": f.cause,
        "fix": f.fix,
        "references": list(f.references),
        "symptoms": list(f.symptoms),
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    out = {
        "schema": SCHEMA,
        "target": report.target,
        "started": report.started.isoformat(),
        "duration_s": report.duration_s,
        "verdict": report.worst.label,
        "findings": [finding_to_dict(f) for f in report.findings],
        "not_checked": [{"what": n.what, "reason": n.reason} for n in report.not_checked],
        "timings": dict(report.timings),
        "evidence": jsonable(report.evidence),
    }
    d = report.diagnosis
    if d is not None:
        out["diagnosis"] = {
            "symptom": d.symptom,
            "description": d.description,
            "causes": [f.code for f in report.findings[: d.causes]],
            "ruled_out": list(d.ruled_out),
            "used": dict(d.used),
            "hints": list(d.hints),
            "by_hand": list(d.by_hand),
        }
    return out


def dumps(report: Report) -> str:
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False)
