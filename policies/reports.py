"""Reports for compliance officers: audit runs, the Art. 30 register and erasure impact, as JSON,
CSV or one self-contained HTML page (inline styles and SVG, no scripts, no requests: it reads
the same offline, attached to an email or printed to PDF)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape

from policies.audit import RULES, severity_rank
from policies.audit_runs import FINDING_FIELDS

FORMATS = ("html", "json", "csv")
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "json": "application/json", "csv": "text/csv; charset=utf-8"}
HTML_DETAIL_LIMIT = 500  # datasets drawn in detail in the HTML report; JSON and CSV carry every finding
SEVERITY_COLORS = {"critical": "#991b1b", "high": "#dc2626", "medium": "#d97706", "low": "#2563eb", "info": "#6b7280"}

_templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                         autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


class ReportError(ValueError):
    pass


def when_text(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if ms else ""


def short_id(node_id: str | None) -> str:
    """``dataset:ns:name`` -> ``ns/name`` (and fields -> their column), for people."""
    if not node_id:
        return ""
    kind, _, rest = node_id.partition(":")
    return rest.replace(":", "/", 1) if kind in ("dataset", "job") else rest.rsplit(":", 1)[-1]


_templates.filters.update(when=when_text, short=short_id)


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ReportError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def _csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _json(document: dict) -> str:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()


# ---------------------------------------------------------------------------- audit runs
def audit_document(run: dict, findings: list[dict]) -> dict:
    return {"run": {k: run[k] for k in ("id", "startedAt", "finishedAt", "actor", "policies", "datasets",
                                        "previous")},
            "summary": run["summary"], "rules": {r.id: {"article": r.article, "title": r.title,
                                                        "severity": r.severity} for r in RULES.values()},
            "findings": [{k: f[k] for k in ("status",) + FINDING_FIELDS} for f in findings]}


def _path_text(finding: dict) -> str:
    steps = finding["evidence"].get("lineagePath") or []
    return " -> ".join(short_id(s["dataset"]) + "." + short_id(s["field"]) for s in steps)


def audit_report(run: dict, findings: list[dict], fmt: str) -> str:
    check_format(fmt)
    if fmt == "json":
        return _json(audit_document(run, findings))
    if fmt == "csv":
        return _csv(["status", "severity", "rule", "article", "namespace", "dataset", "field", "message",
                     "lineage_path", "remediation", "fingerprint"],
                    [[f["status"], f["severity"], f["rule"], f["article"], f["namespace"], f["dataset"],
                      f["field"] or "", f["message"], _path_text(f), f["remediation"], f["fingerprint"]]
                     for f in findings])
    by_dataset: defaultdict[str, list[dict]] = defaultdict(list)
    for f in findings:
        if f["status"] != "resolved":
            by_dataset[f["dataset"]].append(f)
    datasets = sorted(by_dataset.items(), key=lambda item: (-max(severity_rank(f["severity"]) for f in item[1]),
                                                            item[0]))
    summary = run["summary"]
    return _templates.get_template("audit.html").render(
        run=run, summary=summary, datasets=datasets[:HTML_DETAIL_LIMIT], more=max(0, len(datasets) - HTML_DETAIL_LIMIT),
        resolved=[f for f in findings if f["status"] == "resolved"], rules=RULES, colors=SEVERITY_COLORS,
        charts=[("Open findings by severity", summary["bySeverity"], True),
                ("By article", summary["byArticle"], False),
                ("By namespace", summary["byNamespace"], False)])


# ---------------------------------------------------------------------------- register
_REGISTER_COLUMNS = ("activity", "purposes", "legalBases", "specialCategoryConditions", "dataCategories",
                     "specialCategories", "dataSubjects", "recipients", "transfersOutsideEEA", "retentionDays",
                     "safeguards", "inputs", "outputs", "controllerContacts", "gaps")


def register_report(register: dict, fmt: str) -> str:
    check_format(fmt)
    if fmt == "json":
        return _json(register)
    if fmt == "csv":
        return _csv(list(_REGISTER_COLUMNS), [
            ["; ".join(map(str, a[c])) if isinstance(a[c], list) else a[c] for c in _REGISTER_COLUMNS]
            for a in register["activities"]])
    return _templates.get_template("register.html").render(register=register)


# ---------------------------------------------------------------------------- impact
def impact_report(impact: dict, fmt: str) -> str:
    check_format(fmt)
    if fmt == "json":
        return _json(impact)
    if fmt == "csv":
        return _csv(["dataset", "column", "depth", "holds_value", "via_job", "subtype", "path"], [
            [f["dataset"], f["name"], f["depth"], f["holdsValue"], f["job"] or "", f["subtype"] or "",
             " -> ".join(f["path"])] for f in impact["fields"]])
    return _templates.get_template("impact.html").render(impact=impact, layout=_layers(impact))


def _layers(impact: dict) -> dict:
    """Positions for drawing the impact as columns of fields by depth."""
    width, height, gap_x, gap_y = 240, 44, 70, 12
    rows: defaultdict[int, int] = defaultdict(int)
    boxes = {}
    for f in [impact["source"]] + impact["fields"]:
        depth = f["depth"]
        boxes[f["field"]] = {"x": 20 + depth * (width + gap_x), "y": 20 + rows[depth] * (height + gap_y), **f}
        rows[depth] += 1
    edges = [(boxes[f["path"][-2]], boxes[f["field"]]) for f in impact["fields"]]
    return {"boxes": list(boxes.values()), "edges": edges, "w": width, "h": height,
            "width": 40 + (max(rows) + 1) * (width + gap_x), "height": 40 + max(rows.values()) * (height + gap_y)}
