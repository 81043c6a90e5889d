"""The web pages' routes, each with the permission it needs (catalog.keys), and their static files."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from catalog.api.auth import guarded
from catalog.keys import AUDIT, COMPLIANCE, READ, STEWARD
from catalog.web.compliance import audits_page, compliance_page, impact_picker, start_audit
from catalog.web.datasets import dataset_page, edit_dataset, list_datasets
from catalog.web.home import home, search
from catalog.web.jobs import job_page, list_jobs, run_page
from catalog.web.lineage import lineage_page
from catalog.web.render import same_origin

STATIC = Path(__file__).parent / "static"

ROUTES = [
    Route("/", guarded(READ, home), methods=["GET"]),
    Route("/search", guarded(READ, search), methods=["GET"]),
    Route("/datasets", guarded(READ, list_datasets), methods=["GET"]),
    Route("/dataset", guarded(READ, dataset_page), methods=["GET"]),
    Route("/dataset", guarded(STEWARD, same_origin(edit_dataset)), methods=["POST"]),
    Route("/jobs", guarded(READ, list_jobs), methods=["GET"]),
    Route("/job", guarded(READ, job_page), methods=["GET"]),
    Route("/run", guarded(READ, run_page), methods=["GET"]),
    Route("/lineage", guarded(READ, lineage_page), methods=["GET"]),
    Route("/compliance", guarded(COMPLIANCE, compliance_page), methods=["GET"]),
    Route("/audits", guarded(COMPLIANCE, audits_page), methods=["GET"]),
    Route("/audits", guarded(AUDIT, same_origin(start_audit)), methods=["POST"]),
    Route("/impact/pick", guarded(COMPLIANCE, impact_picker), methods=["GET"]),
    # Library code and the pages' own scripts and styles, no data: served without a key (the login page uses them).
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]
