"""The sandbox world's learner passing C4-T5, and the tool's course and organisation pages
opened with a launch's token: what the heat map, report and export tests share."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.competencies.modules import get_module
from plugin.lti.tokens import issue_launch_token
from plugin.rollup.models import Identity
from sandbox.models import SandboxResourceLink
from tests.support.app import TEST_SECRET
from tests.support.flows import TOOL
from tests.support.grades import GradesWorld
from tests.support.modules import C4_T5, correct_answers
from tests.support.sandbox import PLATFORM

HEAT_KINDS = ("knowledge", "skill", "attitude")


def page(sandbox_world: GradesWorld, path: str, launch_id: str, **query: str) -> TestResponse:
    """GET ``path`` on the tool with the launch's token (and ``query``)."""
    token = issue_launch_token(TEST_SECRET, launch_id)
    return sandbox_world.browser.get(TOOL + path + "?" + urlencode({"lt": token, **query}))


def set_grade_at_launch(sandbox_world: GradesWorld, grade: str) -> None:
    """Make the sandbox links send the custom LTI parameter ``grade``."""
    sandbox_world.browser.get(PLATFORM + "/sandbox?as=designer")  # the sandbox seeds its course
    with sandbox_world.app.extensions["plugin.db"].session_scope() as session:
        for link in session.scalars(select(SandboxResourceLink)):
            link.custom = {**link.custom, "grade": grade}


def pass_c4_t5(sandbox_world: GradesWorld) -> str:
    """The sandbox learner launches C4-T5 and passes its check; the launch id."""
    launch_id = sandbox_world.launch("learner")
    token = issue_launch_token(TEST_SECRET, launch_id)
    client = sandbox_world.browser.client
    moved = client.post("/lti/module/progress", data={"lt": token, "percent": "100"},
                        base_url=TOOL)  # fmt: skip
    assert moved.status_code == 204
    result = client.post("/lti/module/check", data=correct_answers(sandbox_world.app, token),
                         base_url=TOOL)  # fmt: skip
    assert result.status_code == 200
    return launch_id


def tagged_codes(sandbox_world: GradesWorld) -> set[str]:
    """The indicator and attitude codes C4-T5 is tagged with."""
    with sandbox_world.app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, C4_T5)
        return {tag.item.code for tag in module.active_tags if tag.item.kind in HEAT_KINDS}


def learner_id_of(sandbox_world: GradesWorld, sub: str) -> int:
    """The roll-up learner id of the sandbox identity ``sub``."""
    with sandbox_world.app.extensions["plugin.db"].session_scope() as session:
        learner_id: int = session.scalars(
            select(Identity.learner_id).where(Identity.sub == sub)
        ).one()
        return learner_id
