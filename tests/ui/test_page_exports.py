"""The pages' exports as HR opens them in Excel: BOM, headers, typed cells, file names."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from openpyxl import load_workbook

from tests.api.conftest import auth
from tests.ui.conftest import MON, WED, sign_in

PERIOD = f"from={MON}&to={WED}"


def filename(answer) -> str:
    """The plain file name a response's Content-Disposition gives."""
    return str(answer.headers["content-disposition"].split('filename="')[1].split('"')[0])


def test_the_csv_opens_in_excel_with_chinese_headers_and_names(client, keys, office):
    sign_in(client, keys.viewer)
    client.get("/ui/today?lang=zh")
    answer = client.get(f"/ui/lateness/export?format=csv&{PERIOD}&department=OPS")
    assert answer.status_code == 200
    assert answer.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads it so
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["员工 ID", "工号", "姓名", "部门"] and "迟到率" in rows[0]
    assert {r[1] for r in rows[1:]} == {"1003", "1004"}  # OPS only
    assert filename(answer) == f"lateness-by-employee_{MON}_{WED}_OPS.csv"
    english = client.get(f"/ui/lateness/export?format=csv&{PERIOD}&lang=en")
    assert english.content.decode("utf-8-sig").startswith("Employee id,Code,Name,Department")
    assert filename(english) == f"lateness-by-employee_{MON}_{WED}.csv"


def test_the_xlsx_has_typed_cells_a_bold_frozen_header_and_widths(client, keys, office):
    sign_in(client, keys.viewer)
    answer = client.get(f"/ui/lateness/export?format=xlsx&{PERIOD}&department=OPS")
    assert filename(answer) == f"lateness-by-employee_{MON}_{WED}_OPS.xlsx"
    sheet = load_workbook(io.BytesIO(answer.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert all(c.font.bold for c in sheet[1]) and sheet.freeze_panes == "A2"
    rate = header.index("Lateness rate") + 1
    cells = [sheet.cell(row=r, column=rate) for r in range(2, sheet.max_row + 1)]
    assert cells and all(c.data_type == "n" and c.number_format == "0.0%" for c in cells)
    letters = "ABCDEFGHIJK"
    widths = {h: sheet.column_dimensions[letters[i]].width for i, h in enumerate(header)}
    assert all(w >= len(h) for h, w in widths.items()) and widths["Name"] >= 20


def test_api_xlsx_types_durations_and_dates(client, keys, office):
    admin = auth(keys.admin)
    summary = client.get(f"/reports/attendance?{PERIOD}&format=xlsx", headers=admin)
    sheet = load_workbook(io.BytesIO(summary.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    worked = sheet.cell(row=2, column=header.index("worked_hours") + 1)
    assert worked.number_format == "[h]:mm" and isinstance(worked.value, timedelta)
    rows = client.get(f"/reports/attendance?{PERIOD}", headers=admin).json()["rows"]
    hours = worked.value.total_seconds() / 3600
    assert abs(hours - rows[0]["worked_hours"]) < 0.01
    weeks = client.get(f"/reports/departments?{PERIOD}&format=xlsx", headers=admin)
    sheet = load_workbook(io.BytesIO(weeks.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    start = sheet.cell(row=2, column=header.index("week_start") + 1)
    assert start.is_date and start.value.date() == date(2026, 11, 23)
    assert filename(weeks) == f"department-stats_{MON}_{WED}.xlsx"
