"""Downloads of the course heat map (CSV, XLSX): designers and administrators; learners 403."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from sandbox.models import SandboxPerson
from tests.support.grades import GradesWorld
from tests.support.sandbox_pages import page, pass_c4_t5, tagged_codes


def test_heat_map_downloads_as_csv_and_xlsx_with_the_learners_levels(
    sandbox_world: GradesWorld,
) -> None:
    pass_c4_t5(sandbox_world)
    tagged = tagged_codes(sandbox_world)
    designer = sandbox_world.launch("designer")
    answer = page(sandbox_world, "/exports/heatmap.csv", designer)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    (learner,) = [row for row in rows if row["sub"] == "sandbox-learner"]
    assert all(int(learner[code]) >= 1 for code in tagged), learner
    book = load_workbook(
        io.BytesIO(page(sandbox_world, "/exports/heatmap.xlsx", designer).get_data())
    )
    sheet = list(book.active.iter_rows(values_only=True))
    assert list(sheet[0]) == list(rows[0].keys()) and len(sheet) == len(rows) + 1
    heat = page(sandbox_world, "/lti/course/heatmap", designer).get_data(as_text=True)
    assert "/exports/heatmap.csv?lt=" in heat and "/exports/heatmap.xlsx?lt=" in heat


def test_learners_may_not_download_the_heat_map(sandbox_world: GradesWorld) -> None:
    learner = sandbox_world.launch("learner")
    for name in ("heatmap.csv", "heatmap.xlsx"):
        assert page(sandbox_world, f"/exports/{name}", learner).status_code == 403


def test_a_name_that_starts_a_formula_is_written_as_text_in_both_files(
    sandbox_world: GradesWorld,
) -> None:
    pass_c4_t5(sandbox_world)
    attack = "=cmd|' /C calc'!A0"
    with sandbox_world.app.extensions["plugin.db"].session_scope() as session:
        person = session.scalars(select(SandboxPerson).where(SandboxPerson.persona == "learner"))
        person.one().name = attack
    designer = sandbox_world.launch("designer")
    answer = page(sandbox_world, "/exports/heatmap.csv", designer)
    rows = list(csv.DictReader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    (learner,) = [row for row in rows if row["sub"] == "sandbox-learner"]
    assert learner["name"] == "'" + attack
    book = load_workbook(
        io.BytesIO(page(sandbox_world, "/exports/heatmap.xlsx", designer).get_data())
    )
    cells = [cell for row in book.active.iter_rows() for cell in row]
    assert "'" + attack in [cell.value for cell in cells]
    assert not any(cell.data_type == "f" for cell in cells)  # no formula cell at all
