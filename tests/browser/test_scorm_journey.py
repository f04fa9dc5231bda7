"""A SCORM module's whole journey in Chromium through the sandbox, third-party cookies blocked,
once on SQLite and once on PostgreSQL.

The designer makes a module from a SCORM 1.2 package built here, tags it with a competency
indicator and places it with deep linking. The learner launches it, answers the first
question, and closes the tab before the second; two tabs then resume the same attempt at
once and commit with interleaved sequence numbers (the newest data must stay); a last
relaunch resumes at the bookmark with that data, and the learner answers and passes. Then a
real Ralph LRS holds the attempt's statements with the tag's IRI, ``rollup show`` lists them
as the tag's evidence, and the sandbox gradebook shows the score.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, FrameLocator, Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from plugin.content.runtime_models import RuntimeAttempt, ScoState
from plugin.core.db import create_db_engine
from plugin.xapi.models import OutboxStatement
from tests.browser.accessibility import assert_no_axe_violations, tool_frame
from tests.browser.navigation import follow_link, place_picked_modules
from tests.content.packages import scorm12_quiz
from tests.support.browser import LEARNER_NAME, STEP_MS, link_ids, screenshot
from tests.support.browser import tool_frame_url as frame_url
from tests.support.live_tool import LiveTool, flask_command, server_env, serving_tool
from tests.support.lrs import RalphServer

pytestmark = pytest.mark.browser

TAG = "DC2-K3"  # an indicator the demo catalog leaves uncovered: only this module is evidence
QUIZ_TITLE = "測驗 Quiz"
LEARNER_SUB = "sandbox-learner"

# One tab's commit straight to the player's commit URL, with that tab's runtime token and a
# sequence number counted from the one the player was given; kept on ``window`` unawaited so
# two tabs' commits can be in flight at once. Reading ``window.sent`` waits for the answer.
_SEND = """([ahead, data]) => {
  const settings = JSON.parse(document.getElementById("scorm-player").dataset.settings);
  window.sent = fetch(settings.commitUrl, {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-Runtime-Token": settings.token},
    body: JSON.stringify({sco: settings.sco, seq: settings.seq + ahead, final: false,
                          cmi: {"cmi.core.lesson_location": "q2", "cmi.suspend_data": data}}),
  }).then((answer) => answer.json()).then((body) => body.stored);
  return settings.seq;
}"""


@dataclass(frozen=True)
class JourneyTool:
    """The served tool and the database it uses."""

    live: LiveTool
    database_url: str

    def engine(self) -> Engine:
        """An engine on the tool's database (dispose of it after use)."""
        return create_db_engine(self.database_url)

    def cli(self, *args: str) -> str:
        """``flask --app plugin <args>`` against the tool's config; its output."""
        result = subprocess.run(
            flask_command(*args), env=server_env(self.live.instance_dir / "config.toml"),
            cwd=self.live.instance_dir, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def journey_tool(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    running_ralph: RalphServer,
) -> Iterator[JourneyTool]:
    """The tool and its sandbox sending statements to Ralph, on a fresh database of its own
    (a new SQLite file, or a new PostgreSQL schema)."""
    instance_dir = tmp_path_factory.mktemp(f"live-tool-journey-{request.param}")
    target = running_ralph.target("journey-ralph")
    extra = ["[[xapi.lrs]]", *(f"{k} = {json.dumps(v)}" for k, v in target.items())]
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        extra += ["[database]", f"url = {json.dumps(url)}"]
    else:
        url = f"sqlite:///{instance_dir / 'plugin.sqlite3'}"
    with serving_tool(instance_dir, "\n".join(extra) + "\n") as live:
        yield JourneyTool(live, url)


def designer_places_a_tagged_package(
    page: Page, live: LiveTool, package: Path, artifacts_dir: Path
) -> str:
    """As the designer: create a module from ``package``, tag it, place it with deep linking;
    the new link's id."""
    page.goto(live.sandbox("designer"))
    before = link_ids(page)
    page.locator("#add-activity").click()
    tool = page.frame_locator("#tool-frame")
    catalog = tool.locator("p.actions a", has_text="單元目錄")
    expect(catalog).to_be_visible(timeout=STEP_MS)
    follow_link(page, catalog)
    from_package = tool.locator("nav.subnav a", has_text="以 SCORM 套件建立單元")
    expect(from_package).to_be_visible(timeout=STEP_MS)
    follow_link(page, from_package)
    tool.locator("input#package").set_input_files(str(package))
    create = tool.locator("form.package-form button[type=submit]")
    create.focus()
    create.press("Enter")
    expect(tool.locator("p.notice")).to_contain_text("已由套件建立單元", timeout=STEP_MS)
    key = urlsplit(frame_url(page)).path.split("/modules/")[1].split("/")[0]
    expect(tool.locator("h1")).to_contain_text(QUIZ_TITLE)
    expect(tool.locator(".package-version")).to_contain_text("SCORM 1.2")
    screenshot(page, artifacts_dir, "80-journey-designer-package")
    assert_no_axe_violations(page, live.tool_url, "journey-designer-package")

    follow_link(page, tool.locator("p.actions a", has_text="職能標記"))
    search = tool.locator("input#q")
    expect(search).to_be_visible(timeout=STEP_MS)
    search.fill(TAG)
    search.press("Enter")
    tool_frame(page).wait_for_url(lambda url: "q=" in url, timeout=STEP_MS)
    add_form = tool.locator(f'form.add-tag:has(input[name=add_item][value="{TAG}"])')
    expect(add_form).to_have_count(1, timeout=STEP_MS)
    add_form.locator("select[name=add_level]").select_option("2")
    add_form.locator("button[type=submit]").click()
    expect(tool.locator(f'input[name$="-item"][value="{TAG}"]')).to_have_count(1, timeout=STEP_MS)

    follow_link(page, tool.locator("nav.subnav a", has_text="回到選擇頁"))
    box = tool.locator(f'input[name=module][value="{key}"]')
    expect(box).to_be_visible(timeout=STEP_MS)
    box.check()
    place_picked_modules(page, tool)
    expect(page.locator("a.launch-link")).to_have_count(len(before) + 1, timeout=STEP_MS)
    (link_id,) = [link_id for link_id in link_ids(page) if link_id not in before]
    expect(page.locator(f'a.launch-link[data-link-id="{link_id}"]')).to_contain_text(QUIZ_TITLE)
    return link_id


def open_quiz(tab: Page, live: LiveTool, link_id: str) -> FrameLocator:
    """As the learner, launch the quiz's link; the SCO's frame once it has read the API."""
    tab.goto(live.sandbox("learner"))
    tab.locator(f'a.launch-link[data-link-id="{link_id}"]').click()
    tool = tab.frame_locator("#tool-frame")
    expect(tool.locator("#scorm-frame")).to_have_count(1, timeout=STEP_MS)
    sco = tool.frame_locator("#scorm-frame")
    expect(sco.locator("#entry")).not_to_be_empty(timeout=STEP_MS)
    return sco


def sco_state(journey: JourneyTool) -> tuple[int, str, str, bool]:
    """The one SCO's stored (seq, location, suspend data) and whether its attempt finished."""
    engine = journey.engine()
    try:
        with Session(engine) as session:
            state = session.scalars(select(ScoState)).one()
            attempt = session.get_one(RuntimeAttempt, state.attempt_id)
            return state.seq, state.location, state.suspend_data, attempt.finished_at is not None
    finally:
        engine.dispose()


def wait_for_state(
    journey: JourneyTool, done: Callable[[tuple[int, str, str, bool]], bool]
) -> None:
    """Wait until the stored SCO state is ``done`` (commits sent as a page goes away, or as the
    SCO finishes, arrive after the browser has moved on)."""
    deadline = time.monotonic() + STEP_MS / 1000
    while not done(sco_state(journey)):
        assert time.monotonic() < deadline, f"the SCO's state stayed {sco_state(journey)}"
        time.sleep(0.2)


def two_tabs_race(context: BrowserContext, live: LiveTool, link_id: str) -> tuple[int, str]:
    """Two tabs resume the attempt and commit with interleaved sequence numbers, the last two
    at once; the newest sequence number sent and its suspend data."""
    first, second = context.new_page(), context.new_page()
    for tab in (first, second):
        sco = open_quiz(tab, live, link_id)
        expect(sco.locator("#entry")).to_have_text("resume")
    one, two = tool_frame(first), tool_frame(second)
    base = one.evaluate(_SEND, [1, "q1=b;race=one-1"])
    assert one.evaluate("window.sent") is True
    assert two.evaluate(_SEND, [3, "q1=b;race=two-3"]) == base
    assert two.evaluate("window.sent") is True
    one.evaluate(_SEND, [2, "q1=b;race=one-2"])
    assert one.evaluate("window.sent") is False  # late: older than the stored one
    two.evaluate(_SEND, [4, "q1=b;race=two-4"])
    one.evaluate(_SEND, [5, "q1=b;race=one-5"])
    # Both in flight at once: the newer is stored whichever arrives first; the older only if
    # it came first (the SCO's row is locked while a commit compares sequence numbers).
    assert one.evaluate("window.sent") is True
    assert two.evaluate("window.sent") in (True, False)
    for tab in (first, second):
        tab.close(run_before_unload=True)  # their page-hide commits are older still
    return base + 5, "q1=b;race=one-5"


def test_a_tagged_scorm_module_from_upload_to_gradebook_with_a_resume_and_a_two_tab_race(
    page: Page,
    browser_context: BrowserContext,
    journey_tool: JourneyTool,
    running_ralph: RalphServer,
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    live = journey_tool.live
    link_id = designer_places_a_tagged_package(
        page, live, scorm12_quiz(tmp_path / "quiz.zip"), artifacts_dir
    )

    # The learner answers the first question and closes the tab on the second.
    first = browser_context.new_page()
    sco = open_quiz(first, live, link_id)
    expect(sco.locator("#entry")).to_have_text("ab-initio")
    expect(sco.locator("#mastery")).to_have_text("80")  # the manifest's masteryscore
    sco.locator("input[name=q1][value=b]").check()
    sco.locator("#next").click()
    expect(sco.locator("#saved")).to_have_text("true", timeout=STEP_MS)
    sco.locator("input[name=q2][value=b]").check()
    screenshot(first, artifacts_dir, "81-journey-learner-mid-way")
    first.close(run_before_unload=True)
    # The player's page-hide commit follows the SCO's own (seq 1): the race starts after it.
    wait_for_state(journey_tool, lambda state: state[0] == 2)

    newest_seq, newest_data = two_tabs_race(browser_context, live, link_id)
    seq, location, data, finished = sco_state(journey_tool)
    assert (seq, location, data, finished) == (newest_seq, "q2", newest_data, False)

    sco = open_quiz(page, live, link_id)
    expect(sco.locator("#entry")).to_have_text("resume")
    expect(sco.locator("#location")).to_have_text("q2")
    expect(sco.locator("#suspend")).to_have_text(newest_data)
    expect(sco.locator("#q2")).to_be_visible()
    screenshot(page, artifacts_dir, "82-journey-learner-resumed")
    sco.locator("input[name=q2][value=a]").check()
    sco.locator("#finish").click()
    expect(sco.locator("#finished")).to_have_text("true", timeout=STEP_MS)
    wait_for_state(journey_tool, lambda state: state[3])

    journey_tool.cli("xapi", "worker", "--once")
    journey_tool.cli("grades", "worker", "--once")
    statements = statements_of_this_run(journey_tool, running_ralph)
    verbs = [statement["verb"]["id"].rsplit("/", 1)[1] for statement in statements]
    assert {"answered", "passed", "completed", "terminated"} <= set(verbs), verbs
    passed = next(s for s in statements if s["verb"]["id"].endswith("/passed"))
    assert passed["result"]["score"]["scaled"] == 1.0
    for statement in statements:
        assert statement["actor"]["account"]["name"] == LEARNER_SUB
        assert "name" not in statement["actor"]
        if "registration" in statement.get("context", {}):
            other = statement["context"]["contextActivities"]["other"]
            assert {activity["id"].rsplit("/", 1)[1] for activity in other} == {TAG}

    report = json.loads(
        journey_tool.cli(
            "rollup", "show", "--issuer", f"{live.platform_url}/sandbox", "--sub", LEARNER_SUB,
            "--json",
        )
    )  # fmt: skip
    items = {item["id"]: item for item in report["items"]}
    assert passed["id"] in items[TAG]["evidence"], items[TAG]
    assert items[TAG]["level"] >= 1

    page.goto(f"{live.platform_url}/sandbox/gradebook?as=learner")
    headers = page.locator("table.sandbox-gradebook thead th").all_inner_texts()
    column = next(i for i, text in enumerate(headers) if QUIZ_TITLE in text)
    row = page.locator("table.sandbox-gradebook tbody tr", has_text=LEARNER_NAME)
    expect(row.locator("th, td").nth(column)).to_contain_text("100 / 100")
    screenshot(page, artifacts_dir, "83-journey-gradebook")


def statements_of_this_run(journey: JourneyTool, ralph: RalphServer) -> list[dict[str, Any]]:
    """The statements Ralph holds that this run's tool sent (by the ids in its outbox)."""
    engine = journey.engine()
    try:
        with Session(engine) as session:
            ids = set(session.scalars(select(OutboxStatement.statement_id)))
    finally:
        engine.dispose()
    return [statement for statement in ralph.stored_statements() if statement["id"] in ids]
