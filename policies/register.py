"""The register of processing activities (GDPR Art. 30(1)), generated from the graph.

One activity per job that reads or writes personal data: its purposes, lawful bases, the
categories of personal data and of data subjects, recipients, transfers outside the EEA,
retention, the anonymizing steps it applies (Art. 30(1)(g) technical measures), and what is
missing for the record to be complete. Everything comes from lineage, classifications and the
governance attributes stewards set on datasets; nothing is typed into the register itself.
"""

from __future__ import annotations

import time
from collections import defaultdict

from catalog.stewardship import governance
from catalog.store import reads
from catalog.store.base import GraphStore
from policies.audit import EEA


def processing_register(store: GraphStore) -> dict:
    personal = defaultdict(lambda: {"categories": set(), "special": set()})
    for r in store.query("MATCH (c:Classification) WHERE c.state <> 'rejected' "
                         "RETURN DISTINCT c.dataset AS dataset, c.category AS category, c.special AS special",
                         read_only=True):
        personal[r["dataset"]]["special" if r["special"] else "categories"].add(r["category"])
    keys = sorted(personal)
    touching = defaultdict(lambda: {"CONSUMES": set(), "PRODUCES": set()})
    for job, rel, dataset in reads.job_edges(store, keys):
        touching[job][rel].add(dataset)
    jobs = sorted(touching)
    datasets = reads.nodes(store, "Dataset", keys)
    job_props = reads.nodes(store, "Job", jobs)
    owners = reads.owners_of(store, "Dataset", keys)
    job_owners = reads.owners_of(store, "Job", jobs)
    safeguards = defaultdict(set)
    for r in store.query("MATCH (:Field)-[e:DERIVES_FROM]->(:Field) WHERE e.job IN $jobs AND e.masking = true "
                         "RETURN DISTINCT e.job AS job, e.subtype AS subtype", {"jobs": jobs}, read_only=True):
        safeguards[r["job"]].add(r["subtype"] or "MASKED")
    activities = []
    for job in jobs:
        inputs, outputs = sorted(touching[job]["CONSUMES"]), sorted(touching[job]["PRODUCES"])
        involved = inputs + outputs
        attrs = {key: governance(datasets.get(key, {})) for key in involved}

        def collect(name: str, among=involved) -> list:
            values = set()
            for key in among:
                value = attrs[key][name]
                values.update(value if isinstance(value, list) else [value] if value is not None else [])
            return sorted(values)

        props = job_props.get(job, {})
        purposes = collect("purpose", outputs or involved)
        transfers = sorted({f"{key} ({attrs[key]['storageCountry']})" for key in involved
                            if attrs[key]["storageCountry"] and attrs[key]["storageCountry"] not in EEA})
        recipients = sorted(set(collect("recipients", outputs)) | {o["name"] for key in outputs for o in owners[key]})
        activity = {
            "activity": job, "namespace": props.get("namespace"), "name": props.get("name"),
            "description": props.get("description"),
            "controllerContacts": [o["name"] for o in job_owners.get(job, [])],
            "purposes": purposes, "legalBases": collect("legalBasis"),
            "specialCategoryConditions": collect("specialCategoryCondition"),
            "dataCategories": sorted({c for key in involved for c in personal[key]["categories"]}),
            "specialCategories": sorted({c for key in involved for c in personal[key]["special"]}),
            "dataSubjects": collect("dataSubjectCategories"), "recipients": recipients,
            "transfersOutsideEEA": transfers, "retentionDays": collect("retentionDays"),
            "safeguards": sorted(safeguards[job]), "inputs": inputs, "outputs": outputs,
        }
        activity["gaps"] = [gap for gap, missing in (
            ("purpose", not purposes), ("legal basis", not activity["legalBases"]),
            ("data subject categories", not activity["dataSubjects"]),
            ("retention", not activity["retentionDays"]),
            ("Art. 9 condition", activity["specialCategories"] and not activity["specialCategoryConditions"]),
        ) if missing]
        activities.append(activity)
    return {"generatedAt": int(time.time() * 1000), "activities": activities,
            "personalDatasets": len(keys), "complete": sum(1 for a in activities if not a["gaps"])}
