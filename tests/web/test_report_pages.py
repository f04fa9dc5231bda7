"""Reports are reachable and readable: the staff bar leads to every report and keeps actions
apart from navigation; the heat map opens competency by competency and says what its count
row means; people read as people; each page links the downloads that belong to it."""

from __future__ import annotations

import re

from sqlalchemy import select

from plugin.lti.models import Person
from tests.support.grades import GradesWorld
from tests.support.sandbox_pages import learner_id_of, page, pass_c4_t5, set_grade_at_launch

# The fixture, re-exported so that pytest finds it here.

STAFF_PAGES = ("/lti/course", "/lti/course/heatmap", "/catalog/coverage")
ADMIN_PAGES = ("/lti/organisation", "/xapi/status", "/lti/audit")
ADMIN_LINKS = ("/xapi/status?", "/lti/organisation?", "/lti/audit?")


def bar_of(html: str) -> tuple[str, str]:
    """The staff bar's navigation and, when there is one, its group of actions."""
    bar = html.split('<div class="designer-bar">', 1)[1]
    nav = bar.split("<nav", 1)[1].split("</nav>", 1)[0]
    actions = ""
    if 'class="designer-bar__actions"' in bar:
        actions = bar.split('class="designer-bar__actions"', 1)[1].split("</div>", 1)[0]
    return nav, actions


def column_codes(html: str) -> list[str]:
    """The item codes of the heat map's columns, in order."""
    return re.findall(r'<th scope="col" class="heatmap__code[^"]*" id="col-([\w-]+)"', html)


def test_every_report_page_of_an_administrator_links_every_report_in_the_bar(
    sandbox_world: GradesWorld,
) -> None:
    admin = sandbox_world.launch("admin")
    for path in STAFF_PAGES + ADMIN_PAGES:
        response = page(sandbox_world, path, admin)
        assert response.status_code == 200, path
        nav, _actions = bar_of(response.get_data(as_text=True))
        for link in ("/designer/modules?", "/lti/course?", "/catalog/coverage?", *ADMIN_LINKS):
            assert f'href="{link}lt=' in nav, (path, link)
        # The page shown is marked as the current one, and only it.
        assert nav.count('aria-current="page"') <= 1, path


def test_a_designers_bar_has_no_administrator_reports(sandbox_world: GradesWorld) -> None:
    designer = sandbox_world.launch("designer")
    for path in STAFF_PAGES:
        nav, _actions = bar_of(page(sandbox_world, path, designer).get_data(as_text=True))
        assert "/lti/course?lt=" in nav, path
        assert not any(link in nav for link in ADMIN_LINKS), path


def test_the_bar_keeps_actions_on_the_module_out_of_the_navigation(
    sandbox_world: GradesWorld,
) -> None:
    html = page(sandbox_world, "/lti/module", sandbox_world.launch("designer")).get_data(
        as_text=True
    )
    nav, actions = bar_of(html)
    # Navigation holds links to pages only; the copy (a form) and "place another module here"
    # are actions on the module shown, in a group of their own.
    assert "<form" not in nav and "<button" not in nav and "/lti/unbound" not in nav
    assert 'role="group"' in html.split('class="designer-bar__actions"', 1)[1][:40]
    assert "/copy" in actions and "<button" in actions and "/lti/unbound?lt=" in actions


def test_the_heat_map_shows_competencies_first_and_opens_one_at_a_time(
    sandbox_world: GradesWorld,
) -> None:
    designer = sandbox_world.launch("designer")
    closed = page(sandbox_world, "/lti/course/heatmap", designer, lang="en").get_data(as_text=True)
    codes = column_codes(closed)
    assert codes[:5] == ["DC1", "DC2", "DC3", "DC4", "DC5"]
    assert not [code for code in codes if "-" in code]  # no indicator until a group is opened
    assert re.search(r'href="/lti/course/heatmap\?open=DC4&amp;lt=[^"]+">6 indicators', closed)
    opened = column_codes(
        page(sandbox_world, "/lti/course/heatmap", designer, lang="en", open="DC4").get_data(
            as_text=True
        )
    )
    assert [code for code in opened if "-" in code] == [
        "DC4-K1", "DC4-K2", "DC4-K3", "DC4-S1", "DC4-S2", "DC4-S3",
    ]  # fmt: skip
    everything = column_codes(
        page(sandbox_world, "/lti/course/heatmap", designer, open="all").get_data(as_text=True)
    )
    assert len([code for code in everything if "-" in code]) == 31


def test_unknown_or_hostile_groups_to_open_are_ignored(sandbox_world: GradesWorld) -> None:
    designer = sandbox_world.launch("designer")
    for asked in ("DC9", "<script>x</script>", "DC1-K1", ",,,", "x" * 500):
        response = page(sandbox_world, "/lti/course/heatmap", designer, open=asked)
        assert response.status_code == 200, asked
        html = response.get_data(as_text=True)
        assert not [code for code in column_codes(html) if "-" in code], asked
        assert "<script>x" not in html


def test_the_heat_maps_count_row_is_explained_in_words(sandbox_world: GradesWorld) -> None:
    pass_c4_t5(sandbox_world)
    designer = sandbox_world.launch("designer")
    html = page(sandbox_world, "/lti/course/heatmap", designer, lang="en", open="all").get_data(
        as_text=True
    )
    assert "“Foundation 2” means two learners reached Foundation or a higher level" in html
    counts = html.split('class="heatmap__counts"', 1)[1].split("</tr>", 1)[0]
    assert "Learners at each level or higher" in counts
    assert '<span class="heat-count">Foundation 1</span>' in counts  # the learner passed C4-T5
    chinese = page(sandbox_world, "/lti/course/heatmap", designer, open="all", lang="zh_TW")
    chinese_html = chinese.get_data(as_text=True)
    assert '<span class="heat-count">基礎 1</span>' in chinese_html


def test_people_read_as_name_platform_and_learner_number(sandbox_world: GradesWorld) -> None:
    set_grade_at_launch(sandbox_world, "senior")
    pass_c4_t5(sandbox_world)
    person = learner_id_of(sandbox_world, "sandbox-learner")
    html = page(sandbox_world, "/lti/course/heatmap", sandbox_world.launch("designer")).get_data(
        as_text=True
    )
    assert f"王小明（Sandbox LMS 學員 #{person}）" in html
    html = page(
        sandbox_world, "/lti/organisation", sandbox_world.launch("admin"), lang="en"
    ).get_data(as_text=True)
    below = html.split('id="below-target"', 1)[1].split("</table>", 1)[0]
    assert f"王小明 (Sandbox LMS learner #{person})</a>" in below
    assert "localhost · sandbox-learn" not in html  # no more bare identities


def test_a_name_a_platform_sent_is_shown_as_text_never_as_markup(
    sandbox_world: GradesWorld,
) -> None:
    set_grade_at_launch(sandbox_world, "senior")
    pass_c4_t5(sandbox_world)
    with sandbox_world.app.extensions["plugin.db"].session_scope() as session:
        for person in session.scalars(select(Person).where(Person.sub == "sandbox-learner")):
            person.name = '<img src=x onerror="alert(1)">'
    html = page(
        sandbox_world, "/lti/organisation", sandbox_world.launch("admin"), lang="en"
    ).get_data(as_text=True)
    below = html.split('id="below-target"', 1)[1].split("</table>", 1)[0]
    assert "<img" not in below and "&lt;img src=x" in below


def test_the_coverage_page_links_both_of_its_downloads(sandbox_world: GradesWorld) -> None:
    html = page(sandbox_world, "/catalog/coverage", sandbox_world.launch("designer")).get_data(
        as_text=True
    )
    assert re.search(r'href="/catalog/coverage.csv\?lt=[^"]+" download', html)
    assert re.search(r'href="/exports/coverage.xlsx\?lt=[^"]+" download', html)


def test_the_access_audit_names_who_read_whose_records_beside_their_ids(
    sandbox_world: GradesWorld,
) -> None:
    pass_c4_t5(sandbox_world)
    person = learner_id_of(sandbox_world, "sandbox-learner")
    admin = sandbox_world.launch("admin")
    assert page(sandbox_world, "/lti/map", admin, person=str(person)).status_code == 200
    html = page(sandbox_world, "/lti/audit", admin, lang="en").get_data(as_text=True)
    table = html.split('id="audit"', 1)[1].split("</table>", 1)[0]
    assert f"王小明 (Sandbox LMS learner #{person})" in table
    assert re.search(r"陳志豪 \(Sandbox LMS\) <span class=\"code\">person \d+</span>", table), table
