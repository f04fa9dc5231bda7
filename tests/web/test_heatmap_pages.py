"""The course heat map (roster × indicators) and the organisation view (by grade, gaps)."""

from __future__ import annotations

import re

from plugin.lti.claims import CLAIM_NRPS
from plugin.lti.models import Launch
from tests.support.grades import GradesWorld
from tests.support.sandbox_pages import (
    learner_id_of,
    page,
    pass_c4_t5,
    set_grade_at_launch,
    tagged_codes,
)


def row_of(html: str, name: str) -> str:
    """The heat map row whose header names ``name``."""
    body = html.split('id="heatmap"', 1)[1].split("</table>", 1)[0]
    rows = [row for row in body.split("<tr") if name in row.split("</th>", 1)[0]]
    assert len(rows) == 1, name
    return rows[0]


def cells(row: str) -> dict[str, int]:
    """Item code → level shown in the row's cells."""
    return {
        code: int(level)
        for code, level in re.findall(r'<td class="heat heat--\d[^"]*" aria-label="([\w-]+) [^"]*"'
                                      r'[^>]*>(\d)</td>', row)
    }  # fmt: skip


def external_links(html: str) -> list[str]:
    """Every href, src or action that leaves the tool (a CDN, a tracker, another host)."""
    return re.findall(r'(?:href|src|action)="((?:https?:)?//[^"]*)"', html)


def test_designer_heat_map_shows_the_learners_levels_and_counts(sandbox_world: GradesWorld) -> None:
    pass_c4_t5(sandbox_world)
    tagged = tagged_codes(sandbox_world)
    assert tagged
    response = page(
        sandbox_world,
        "/lti/course/heatmap",
        sandbox_world.launch("designer"),
        lang="en",
        open="all",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert "<caption" in html and '<th scope="col" class="heatmap__code"' in html
    learner = row_of(html, "王小明")
    levels = cells(learner)
    assert len(levels) >= 20  # every indicator and attitude has a cell
    assert all(levels[code] >= 1 for code in tagged), levels
    assert all(level == 0 for code, level in levels.items() if code not in tagged)
    code = sorted(tagged)[0]
    # The cell names its level in words, from the report's scale (framework.toml).
    level_name = {1: "Foundation", 2: "Intermediate", 3: "Advanced"}[levels[code]]
    assert f'aria-label="{code} {level_name}"' in learner, learner
    # Only the learner is a row: the designer and the administrator are not learners.
    assert "林雅婷" not in html.split('id="heatmap"', 1)[1] and "陳志豪" not in html
    # The count row: one learner reached the first level of each tagged column.
    counts = html.split('class="heatmap__counts"', 1)[1].split("</tr>", 1)[0]
    assert re.search(rf'aria-label="{code}: reached [^:]+: 1,', counts), counts
    # The name links to the person's map, carrying the launch token.
    person = learner_id_of(sandbox_world, "sandbox-learner")
    assert re.search(rf'href="/lti/map\?person={person}&amp;lt=[^"]+"', learner), learner
    assert not external_links(html)


def test_heat_map_is_zh_tw_by_default(sandbox_world: GradesWorld) -> None:
    html = page(sandbox_world, "/lti/course/heatmap", sandbox_world.launch("designer")).get_data(
        as_text=True
    )
    assert 'lang="zh-Hant-TW"' in html and "熱度圖" in html


def test_without_nrps_the_map_falls_back_to_learners_with_attainment(
    sandbox_world: GradesWorld,
) -> None:
    pass_c4_t5(sandbox_world)
    launch_id = sandbox_world.launch("designer")
    with sandbox_world.app.extensions["plugin.db"].session_scope() as session:
        launch = session.get(Launch, launch_id)
        assert launch is not None
        launch.claims = {k: v for k, v in launch.claims.items() if k != CLAIM_NRPS}
    html = page(sandbox_world, "/lti/course/heatmap", launch_id, lang="en", open="all").get_data(
        as_text=True
    )
    assert "offers no member list" in html
    row = row_of(html, "王小明")
    assert all(cells(row)[code] >= 1 for code in tagged_codes(sandbox_world))


def test_the_course_page_links_to_the_heat_map(sandbox_world: GradesWorld) -> None:
    html = page(sandbox_world, "/lti/course", sandbox_world.launch("designer"), lang="en").get_data(
        as_text=True
    )
    assert 'href="/lti/course/heatmap?lt=' in html


def test_learners_are_refused_both_pages(sandbox_world: GradesWorld) -> None:
    launch_id = sandbox_world.launch("learner")
    assert page(sandbox_world, "/lti/course/heatmap", launch_id).status_code == 403
    assert page(sandbox_world, "/lti/organisation", launch_id).status_code == 403


def test_designers_are_refused_the_organisation_view(sandbox_world: GradesWorld) -> None:
    assert (
        page(sandbox_world, "/lti/organisation", sandbox_world.launch("designer")).status_code
        == 403
    )


def test_organisation_view_shows_distribution_gaps_and_coverage(sandbox_world: GradesWorld) -> None:
    set_grade_at_launch(sandbox_world, "senior")
    pass_c4_t5(sandbox_world)
    response = page(sandbox_world, "/lti/organisation", sandbox_world.launch("admin"), lang="en")
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    # DC4's table: the one senior learner is counted in exactly one level cell of that row.
    table = html.split('id="distribution-DC4"', 1)[1].split("</table>", 1)[0]
    senior = [row for row in table.split("<tr>") if "Senior" in row.split("</th>", 1)[0]]
    assert len(senior) == 1
    numbers = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', senior[0])[:4]]
    assert sum(numbers) == 1, numbers
    # The learner is below the senior target somewhere, shown as a person: name, platform, id.
    person = learner_id_of(sandbox_world, "sandbox-learner")
    below = html.split('id="below-target"', 1)[1].split("</table>", 1)[0]
    assert re.search(rf"王小明 \([^()]+ learner #{person}\)", below), below
    coverage = html.split('id="coverage-summary"', 1)[1].split("</table>", 1)[0]
    dc2 = [row for row in coverage.split("<tr>") if ">DC2</th>" in row]
    assert len(dc2) == 1 and "DC2-K3" in dc2[0]
    assert "DC2-K3" in html.split('id="uncovered-items"', 1)[1].split("</ul>", 1)[0]
    assert not external_links(html)


def test_organisation_view_is_zh_tw_by_default(sandbox_world: GradesWorld) -> None:
    html = page(sandbox_world, "/lti/organisation", sandbox_world.launch("admin")).get_data(
        as_text=True
    )
    assert "組織總覽" in html and "官等不明" in html
