"""Lead exports: the page listing them and one view per file. Each download is audited.

Only a lead of the organisation (``Perm.EXPORT_DATA``) gets anything; everyone
else gets 404, so the organisation's existence is not confirmed.
"""

from __future__ import annotations

from itertools import chain
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from outcomes.evaluation.disclosure.suppression import threshold_for
from outcomes.evaluation.report import DESIGN, DESIGN_NOTE
from outcomes.evaluation.summary import (
    ATTRITION_COLUMNS,
    CHANGE_COLUMNS,
    COMPARISON_COLUMNS,
    FLOW_COLUMNS,
    META_COLUMNS,
    OUTCOME_COLUMNS,
    SUMMARY_COLUMNS,
    meta_analysis_rows,
    summary_rows,
    summary_tables,
)
from outcomes.exports.dictionary import DICTIONARY_COLUMNS, dictionary_rows, hidden_labels
from outcomes.exports.items import ITEM_COLUMNS, item_rows, submitted_responses
from outcomes.exports.writers import csv_stream, csv_text, xlsx_bytes
from peersupport.audit import record
from peersupport.models import AuditEvent, Organisation
from peersupport.permissions import Perm, organisation_for

CSV_TYPE = "text/csv; charset=utf-8"
# Every CSV starts with a UTF-8 byte-order mark: Excel on Windows reads a CSV without one in the machine's
# legacy code page and garbles "–", "é" and the like. Other readers skip it (Python: encoding="utf-8-sig").
BOM = "\ufeff"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _export_org(request: HttpRequest, slug: str) -> Organisation:
    return organisation_for(request, slug, Perm.EXPORT_DATA)


def _audit(request: HttpRequest, organisation: Organisation, kind: str, **detail) -> None:
    record(
        AuditEvent.Action.EXPORT, actor=request.user, organisation=organisation, request=request, kind=kind, **detail
    )


def _download(response: HttpResponse, organisation: Organisation, name: str, extension: str) -> HttpResponse:
    today = timezone.now().astimezone(ZoneInfo(organisation.time_zone)).date().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{organisation.slug}-{name}-{today}.{extension}"'
    response["Cache-Control"] = "no-store, private"
    return response


def _tables_csv(request: HttpRequest, slug: str, *, kind: str, name: str, columns, rows_of) -> HttpResponse:
    """A CSV of rows built from the organisation's protected summary tables, each row saying the design; audited."""
    organisation = _export_org(request, slug)
    tables = summary_tables(organisation)
    rows = [{**row, "design": DESIGN} for row in rows_of(tables)]
    _audit(request, organisation, kind, rows=len(rows), k=tables.k)
    response = HttpResponse(BOM + csv_text((*columns, "design"), rows), content_type=CSV_TYPE)
    return _download(response, organisation, name, "csv")


@login_required
@require_GET
def exports(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = _export_org(request, slug)
    return render(
        request,
        "outcomes/exports/index.html",
        {
            "organisation": organisation,
            "k": threshold_for(organisation),
            "responses": submitted_responses(organisation).count(),
        },
    )


@login_required
@require_GET
def summary_csv(request: HttpRequest, slug: str) -> HttpResponse:
    return _tables_csv(request, slug, kind="summary_csv", name="summary", columns=SUMMARY_COLUMNS, rows_of=summary_rows)


@login_required
@require_GET
def summary_xlsx(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = _export_org(request, slug)
    tables = summary_tables(organisation)
    about = [
        {"item": "organisation", "value": organisation.name},
        {"item": "exported_at_utc", "value": timezone.now().replace(microsecond=0).isoformat()},
        {"item": "design", "value": DESIGN},
        {"item": "design_note", "value": DESIGN_NOTE},
        *hidden_labels(tables.k),
    ]
    content = xlsx_bytes(
        [
            ("Outcomes", OUTCOME_COLUMNS, tables.outcomes),
            ("Change", CHANGE_COLUMNS, tables.changes),
            ("Flow", FLOW_COLUMNS, tables.flows),
            ("Comparisons", COMPARISON_COLUMNS, tables.comparisons),
            ("Attrition", ATTRITION_COLUMNS, tables.attrition),
            ("About", ("item", "value"), about),
        ]
    )
    _audit(
        request,
        organisation,
        "summary_xlsx",
        rows=len(tables.outcomes) + len(tables.changes) + len(tables.flows) + len(tables.comparisons),
        k=tables.k,
    )
    return _download(HttpResponse(content, content_type=XLSX_TYPE), organisation, "summary", "xlsx")


@login_required
@require_GET
def meta_analysis_csv(request: HttpRequest, slug: str) -> HttpResponse:
    return _tables_csv(
        request, slug, kind="meta_analysis_csv", name="meta-analysis", columns=META_COLUMNS, rows_of=meta_analysis_rows
    )


@login_required
@require_GET
def items_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    organisation = _export_org(request, slug)
    # Recorded before the first byte, so a download cut short is on the trail too. The number of
    # item rows is only known once the stream ends; the number of responses it covers is known now.
    k = threshold_for(organisation)
    rows = item_rows(organisation, k=k)  # the cells and the key fetched now: an error is still an error page
    _audit(request, organisation, "items_csv", rows=None, responses=submitted_responses(organisation).count(), k=k)
    response = StreamingHttpResponse(chain([BOM], csv_stream(ITEM_COLUMNS, rows)), content_type=CSV_TYPE)
    response["X-Accel-Buffering"] = "no"  # let a proxy pass chunks on instead of buffering the whole file
    return _download(response, organisation, "items", "csv")


@login_required
@require_GET
def dictionary_csv(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = _export_org(request, slug)
    rows = dictionary_rows()
    _audit(request, organisation, "dictionary_csv", rows=len(rows))
    response = HttpResponse(BOM + csv_text(DICTIONARY_COLUMNS, rows), content_type=CSV_TYPE)
    return _download(response, organisation, "data-dictionary", "csv")
