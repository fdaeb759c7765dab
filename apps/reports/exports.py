"""Excel export of any report: one sheet per section, numbers as numbers, formulas neutralised."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font

from apps.studio.resources import neutralise

from .results import ReportResult

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"money": "#,##0.00", "number": "#,##0.00", "percent": "0.00", "hours": "0.00"}
_SHEET_BAD = re.compile(r"[\[\]\*\?/\\:]")


def _cell(value, kind: str):
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    if value is None:
        return None
    # Text from the database (names, labels): never a formula in the reader's spreadsheet.
    return neutralise(str(value))


def workbook_bytes(result: ReportResult) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    used = set()
    for n, section in enumerate(result.sections or [], 1):
        title = _SHEET_BAD.sub(" ", str(section.title))[:28] or f"Sheet {n}"
        while title in used:
            title = f"{title[:25]} {n}"
        used.add(title)
        ws = wb.create_sheet(title)
        ws.append([neutralise(str(c.label)) for c in section.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in section.rows:
            ws.append([_cell(row.get(c.key), c.kind) for c in section.columns])
        if section.totals:
            ws.append([_cell(section.totals.get(c.key), c.kind) for c in section.columns])
            for cell in ws[ws.max_row]:
                cell.font = Font(bold=True)
        for idx, column in enumerate(section.columns, 1):
            fmt = FORMATS.get(column.kind)
            letter = ws.cell(row=1, column=idx).column_letter
            ws.column_dimensions[letter].width = max(12, min(40, len(str(column.label)) * 2 + 2))
            if fmt:
                for (cell,) in ws.iter_rows(min_row=2, min_col=idx, max_col=idx):
                    if isinstance(cell.value, int | float | Decimal):
                        cell.number_format = fmt
        for note in section.notes:
            ws.append([])
            ws.append([neutralise(str(note))])
    if not wb.sheetnames:
        wb.create_sheet("Report")
    for note in result.notes:
        wb[wb.sheetnames[0]].append([neutralise(str(note))])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def xlsx_response(result: ReportResult, name: str) -> HttpResponse:
    response = HttpResponse(workbook_bytes(result), content_type=XLSX)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "report"
    response["Content-Disposition"] = f'attachment; filename="{safe}-{stamp}.xlsx"'
    return response
