"""From the sandbox, a learner passes a tagged module; its statements reach a real Ralph LRS.

The tool runs with one [[xapi.lrs]] target: a Ralph started for this module on a free
loopback port. After the walk-through one pass of the statement worker empties the outbox,
and Ralph holds the attempt's statements in cmi5 order, each carrying the module's tagged
competency IRIs in context.contextActivities.other.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from plugin.xapi.models import PENDING, OutboxStatement
from tests.support.browser import (
    SEEDED_MODULE,
    check_of,
    database,
    launch_and_wait_for_tool,
    pass_the_check,
    screenshot,
    token_in_frame,
)
from tests.support.live_tool import LiveTool, flask_command, server_env, serving_tool
from tests.support.lrs import RalphServer, start_ralph

pytestmark = pytest.mark.browser

CMI5_ORDER = ["launched", "initialized", "progressed", "answered", "answered", "answered",
              "completed", "passed", "terminated"]  # fmt: skip


@pytest.fixture(scope="module")
def ralph_for_tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RalphServer]:
    """A Ralph LRS of this module's own."""
    data_dir = tmp_path_factory.mktemp("ralph-browser") / "data"
    data_dir.mkdir()
    server = start_ralph(data_dir)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tool_with_lrs(
    tmp_path_factory: pytest.TempPathFactory, ralph_for_tool: RalphServer
) -> Iterator[LiveTool]:
    """The tool (and its sandbox) sending statements to ``ralph_for_tool``."""
    target = ralph_for_tool.target("browser-ralph")
    lrs = "\n".join(["[[xapi.lrs]]", *(f"{k} = {json.dumps(v)}" for k, v in target.items())])
    with serving_tool(tmp_path_factory.mktemp("live-tool-lrs"), lrs + "\n") as live:
        yield live


def test_learner_passes_a_module_and_ralph_holds_the_statements_in_cmi5_order(
    page: Page, tool_with_lrs: LiveTool, ralph_for_tool: RalphServer, artifacts_dir: Path
) -> None:
    check = check_of(tool_with_lrs, SEEDED_MODULE)
    tagged = check.tagged

    page.goto(tool_with_lrs.sandbox("learner"))
    launch_and_wait_for_tool(page, "a.launch-link >> nth=0", tool_with_lrs)
    launch_token = token_in_frame(page)
    pass_the_check(page, page.frame_locator("#tool-frame"), check.right)
    screenshot(page, artifacts_dir, "31-learner-passed")

    env = server_env(tool_with_lrs.instance_dir / "config.toml")
    result = subprocess.run(
        flask_command("xapi", "worker", "--once"), env=env, cwd=tool_with_lrs.instance_dir,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr

    with database(tool_with_lrs) as session:
        waiting = session.scalars(
            select(OutboxStatement).where(OutboxStatement.status == PENDING)
        ).all()
        assert waiting == [], [row.last_error for row in waiting]
    session.bind.dispose()  # type: ignore[union-attr]

    mine = [
        s for s in ralph_for_tool.stored_statements()
        if s["actor"].get("account", {}).get("name") == "sandbox-learner"
    ]  # fmt: skip
    # The attempt's statements carry its registration; attainment (assessed) ones do not.
    mine = [s for s in mine if "registration" in s.get("context", {})]
    registrations = {s["context"]["registration"] for s in mine}
    assert len(registrations) == 1, registrations
    ordered = sorted(mine, key=lambda s: (s["timestamp"], CMI5_ORDER.index(_verb(s))))
    verbs = [_verb(s) for s in ordered]
    # The page reports reading progress as the learner scrolls: 0 to 4 progressed statements.
    assert [v for v in verbs if v != "progressed"] == [v for v in CMI5_ORDER if v != "progressed"]
    assert verbs[:2] == ["launched", "initialized"] and verbs[-1] == "terminated"
    for statement in ordered:
        other = statement["context"]["contextActivities"]["other"]
        assert {activity["id"].rsplit("/", 1)[1] for activity in other} == tagged
        assert "name" not in statement["actor"]

    # The roll-up: the passed statement is the evidence of every tagged item, and the
    # attainment (assessed) statements that cite it reached Ralph too.
    passed_id = next(s["id"] for s in ordered if _verb(s) == "passed")
    show = subprocess.run(
        flask_command("rollup", "show", "--issuer", f"{tool_with_lrs.platform_url}/sandbox",
               "--sub", "sandbox-learner", "--json"),
        env=env, cwd=tool_with_lrs.instance_dir, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert show.returncode == 0, show.stdout + show.stderr
    report = json.loads(show.stdout)
    items = {item["id"]: item for item in report["items"]}
    for code in tagged:
        assert passed_id in items[code]["evidence"], items[code]
        assert items[code]["level"] >= 1
    # The JSON API tells the learner (by their launch token) the same levels and evidence.
    answer = page.request.get(
        f"{tool_with_lrs.tool_url}/api/v1/me/attainment", params={"lt": launch_token}
    )
    assert answer.status == 200, answer.text()
    api_items = {item["id"]: item for item in answer.json()["items"]}
    for code in tagged:
        assert api_items[code]["level"] == items[code]["level"]
        assert passed_id in api_items[code]["evidence"]
    assessed = [
        s for s in ralph_for_tool.stored_statements() if _verb(s) == "assessed"
        and s["actor"].get("account", {}).get("name") == "sandbox-learner"
    ]  # fmt: skip
    assert {s["object"]["id"].rsplit("/", 1)[1] for s in assessed} >= tagged
    evidence_key = "https://w3id.org/xapi/tla/extensions/evidence"
    assert all(passed_id in s["context"]["extensions"][evidence_key] for s in assessed
               if s["object"]["id"].rsplit("/", 1)[1] in tagged)  # fmt: skip


def _verb(statement: dict) -> str:
    return statement["verb"]["id"].rsplit("/", 1)[1]
