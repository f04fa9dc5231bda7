"""A world for the authorization walk, and the readers that look for a person's data in an
answer (HTML, JSON, CSV, XLSX, headers).

The world: one registered test platform with two learners, A and B, a course designer and an
administrator, each with a real launch (OIDC login + signed id_token) and its launch token
``lt``; a second registered platform (another issuer) with its own learner, designer and
administrator. A passed the placed demo module's check; B failed it (two answers of three),
so B has an attempt, evidence, attainment, statements in the outbox and a queued grade.
B's person and learner rows get ids no other number on a page is likely to match, so that a
leaked id is found by its digits.

Both platforms belong to the default organisation. A second organisation, "east"
(tests/support/tenants.py), has a registration of the first platform's issuer under
another client_id (the Canvas cloud case: one issuer, many institutions), with its own
designer, administrator and learner E.
"""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.competencies.modules import get_module
from plugin.lti.models import GradeOutbox, Launch, Person
from plugin.rollup.models import Attainment, Evidence, Identity, Learner
from plugin.xapi.models import Attempt, OutboxStatement
from tests.support.flows import TOOL, Flow
from tests.support.modules import registration_of

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
MODULE = "tw-civil-service-dc.C4-T5"  # a demo module with a three-item check, mastery 0.8
LINK = "walk-link-1"

# B's rows get these ids: five digits no page shows for anything else.
B_PERSON_ID = 52919
B_LEARNER_ID = 48611


@dataclass(frozen=True)
class Persona:
    """Who launches: the id_token claims that differ between people."""

    sub: str
    name: str
    given_name: str
    family_name: str
    email: str
    role: str  # a full LIS role URI
    grade: str = ""


def _persona(sub: str, name: str, email: str, role: str, grade: str = "") -> Persona:
    # Every name here is a family name of one character followed by the given name.
    return Persona(sub, name, name[1:], name[0], email, role, grade)


def learner(sub: str, name: str, email: str, grade: str) -> Persona:
    """A learner of the course, in civil-service grade ``grade``."""
    return _persona(sub, name, email, MEMBERSHIP + "Learner", grade)


def designer(sub: str, name: str, email: str) -> Persona:
    """A course designer (an instructor of the course)."""
    return _persona(sub, name, email, MEMBERSHIP + "Instructor")


def administrator(sub: str, name: str, email: str) -> Persona:
    """An institution administrator."""
    return _persona(sub, name, email, INSTITUTION + "Administrator")


LEARNER_A = learner("walk-learner-a-31f0", "王小明", "ming.a@example.gov.tw", "委任")
LEARNER_B = learner("walk-learner-b-9c42", "柯碧翠", "bitsui.k@example.gov.tw", "簡任")
DESIGNER = designer("walk-designer-77aa", "林雅婷", "yating@example.gov.tw")
ADMIN = administrator("walk-admin-0d3e", "陳志豪", "chihhao@example.gov.tw")
OTHER_DESIGNER = designer("walk-other-designer-5b1d", "吳怡君", "yichun@other.example.org")
OTHER_LEARNER = learner("walk-other-learner-2c6b", "吳大同", "datong@other.example.org", "")
OTHER_ADMIN = administrator("walk-other-admin-e810", "張家豪", "chiahao@other.example.org")


def launch_claims(
    persona: Persona, *, link: str = LINK, ags: bool = True, module: str = MODULE
) -> dict[str, Any]:
    """id_token claim overrides for ``persona`` launching ``link`` (placed on ``module``)."""
    custom = {"module_key": module}
    if persona.grade:
        custom["grade"] = persona.grade
    claims: dict[str, Any] = {
        "sub": persona.sub,
        "name": persona.name,
        "given_name": persona.given_name,
        "family_name": persona.family_name,
        "email": persona.email,
        LTI + "roles": [persona.role],
        LTI + "resource_link": {"id": link, "title": "數位安全"},
        LTI + "custom": custom,
    }
    if ags:
        claims[AGS] = {
            "scope": [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            ],
            "lineitems": "https://lms.example.edu/api/lineitems",
            "lineitem": "https://lms.example.edu/api/lineitems/7",
        }
    return claims


def token_of(response: TestResponse) -> str:
    """The launch token (``lt``) an accepted launch redirects with."""
    assert response.status_code == 303, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.headers["Location"]).query)["lt"][0]


def launch(
    flow: Flow,
    persona: Persona,
    *,
    ags: bool = True,
    link: str = LINK,
    module: str = MODULE,
    **extra: Any,
) -> str:
    """Log in and launch as ``persona``; the launch token."""
    claims = launch_claims(persona, ags=ags, link=link, module=module)
    return token_of(flow.complete(**{**claims, **extra}))


def check_answers(
    app: Flask, token: str, correct_items: int, module_key: str = MODULE
) -> dict[str, Any]:
    """A check form for ``module_key`` with the first ``correct_items`` items right."""
    with app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, module_key)
        data: dict[str, Any] = {"lt": token, "attempt": registration_of(app, token, module_key)}
        for index, item in enumerate(module.check_items):
            right = [c["key"] for c in item.choices if c["correct"]]
            wrong = [c["key"] for c in item.choices if not c["correct"]][:1]
            data[f"item_{item.id}"] = right if index < correct_items else wrong
        return data


def browser_headers() -> dict[str, str]:
    """What a browser sends with a form the tool's own page posted."""
    return {"Origin": TOOL, "Sec-Fetch-Site": "same-origin"}


def take_a_check(flow: Flow, token: str, correct_items: int, module: str = MODULE) -> None:
    """Open the placed module, read it, and submit its check."""
    client, app = flow.client, flow.client.application
    assert client.get("/lti/module", query_string={"lt": token}, base_url=TOOL).status_code == 200
    moved = client.post(
        "/lti/module/progress", data={"lt": token, "percent": "40"}, base_url=TOOL,
        headers=browser_headers(),
    )  # fmt: skip
    assert moved.status_code == 204, moved.get_data(as_text=True)
    result = client.post(
        "/lti/module/check", data=check_answers(app, token, correct_items, module),
        base_url=TOOL, headers=browser_headers(),
    )  # fmt: skip
    assert result.status_code == 200, result.get_data(as_text=True)


def reserve_ids(app: Flask, issuer: str, persona: Persona, person_id: int, learner_id: int) -> None:
    """``persona``'s person and learner rows, made before their first launch, with the walk's
    ids (B's are B_PERSON_ID and B_LEARNER_ID)."""
    with app.extensions["plugin.db"].session_scope() as session:
        session.add(Person(id=person_id, issuer=issuer, sub=persona.sub))
        session.add(Learner(id=learner_id, grade="", grade_source="", link_key=""))
        session.flush()
        session.add(Identity(learner_id=learner_id, issuer=issuer, sub=persona.sub))


@dataclass
class Footprint:
    """What the tool holds about one learner, as strings a leak would show."""

    sub: str
    person_id: int
    learner_id: int
    launch_ids: list[str] = field(default_factory=list)
    registrations: list[str] = field(default_factory=list)
    statement_ids: list[str] = field(default_factory=list)
    evidence_sources: list[str] = field(default_factory=list)
    scores: list[str] = field(default_factory=list)

    def hidden(self) -> dict[str, str]:
        """Values the walk never sends: any of them in an answer is the learner's data."""
        values: dict[str, str] = {}
        for label, items in (
            ("launch id", self.launch_ids),
            ("registration", self.registrations),
            ("statement id", self.statement_ids),
            ("evidence source", self.evidence_sources),
            ("score", self.scores),
        ):
            values.update({f"{label} {value}": value for value in items})
        return values


def learner_id_of(app: Flask, issuer: str, sub: str) -> int:
    """The roll-up learner id of the identity (issuer, sub)."""
    with app.extensions["plugin.db"].session_scope() as session:
        return session.scalars(
            select(Identity.learner_id).where(Identity.issuer == issuer, Identity.sub == sub)
        ).one()


def footprint(app: Flask, issuer: str, persona: Persona) -> Footprint:
    """Everything stored about ``persona``'s learning, read back from the database."""
    with app.extensions["plugin.db"].session_scope() as session:
        person = session.scalars(
            select(Person).where(Person.issuer == issuer, Person.sub == persona.sub)
        ).one()
        learner_id = learner_id_of(app, issuer, persona.sub)
        found = Footprint(persona.sub, person.id, learner_id)
        found.launch_ids = list(
            session.scalars(select(Launch.id).where(Launch.person_id == person.id))
        )
        found.registrations = list(
            session.scalars(select(Attempt.registration).where(Attempt.person_sub == persona.sub))
        )
        for row in session.scalars(select(OutboxStatement)):
            if (row.statement.get("actor", {}).get("account") or {}).get("name") == persona.sub:
                found.statement_ids.append(row.statement_id)
        evidence = list(session.scalars(select(Evidence).where(Evidence.learner_id == learner_id)))
        found.evidence_sources = sorted({row.source_id for row in evidence})
        values = {row.score for row in evidence}
        values |= {
            row.value
            for row in session.scalars(
                select(Attainment).where(Attainment.learner_id == learner_id)
            )
            if row.value is not None
        }
        grades = select(GradeOutbox).where(GradeOutbox.user_sub == persona.sub)
        values |= {float(grade.score["scoreGiven"]) for grade in session.scalars(grades)}
        # Only a score that is not a round number is distinctive enough to look for; its
        # first digits match every way a page, a CSV or JSON writes it (0.6666…, 66.67).
        found.scores = sorted({str(value)[:6] for value in values if value not in (0, 1, 100)})
        return found


OTHER_ISSUER = "https://other-lms.example.org"


@dataclass
class World:
    """The walk's people, their launch tokens, and what is stored about A, B and E."""

    app: Flask
    issuer: str
    tokens: dict[str, str]  # persona sub → launch token
    a: Footprint
    b: Footprint
    other_learner_id: int
    e: Footprint | None = None  # the east organisation's learner
    east_module: str = ""  # the key of the east organisation's own module
    home_module: str = ""  # the default organisation's copy of the demo module
    east_flow: Flow | None = None  # logins and launches on the east registration

    def token(self, persona: Persona) -> str:
        """``persona``'s launch token."""
        return self.tokens[persona.sub]

    def b_values(self) -> dict[str, str]:
        """Everything that identifies B or B's records."""
        return all_values(
            identity_values(LEARNER_B, self.b.person_id, self.b.learner_id),
            {"B's launch token": self.token(LEARNER_B)},
            self.b.hidden(),
        )

    def home_values(self) -> dict[str, str]:
        """Everything of the default organisation another organisation must not see: B's
        all, A's but the small row ids (digits any page may show), its own module's key."""
        a = {f"A's {label}": value for label, value in identity_values(LEARNER_A, 0, 0).items()}
        a = {label: value for label, value in a.items() if value != "0"}
        a.update({f"A's {label}": value for label, value in self.a.hidden().items()})
        return all_values(self.b_values(), a, {"home module key": self.home_module})


def build_world(flow: Flow, other_flow: Flow) -> World:
    """Launch everyone; A passes the module's check, B fails it with two answers of three
    (the east organisation comes with tests.support.tenants.build_east)."""
    app = flow.client.application
    issuer = flow.platform.issuer
    reserve_ids(app, issuer, LEARNER_B, B_PERSON_ID, B_LEARNER_ID)
    tokens = {}
    tokens[LEARNER_A.sub] = launch(flow, LEARNER_A)
    take_a_check(flow, tokens[LEARNER_A.sub], correct_items=3)
    tokens[LEARNER_B.sub] = launch(flow, LEARNER_B)
    take_a_check(flow, tokens[LEARNER_B.sub], correct_items=2)
    tokens[DESIGNER.sub] = launch(flow, DESIGNER)
    tokens[ADMIN.sub] = launch(flow, ADMIN)
    for persona in (OTHER_LEARNER, OTHER_DESIGNER, OTHER_ADMIN):
        tokens[persona.sub] = launch(other_flow, persona, ags=False)
    world = World(
        app,
        issuer,
        tokens,
        footprint(app, issuer, LEARNER_A),
        footprint(app, issuer, LEARNER_B),
        other_learner_id=learner_id_of(app, other_flow.platform.issuer, OTHER_LEARNER.sub),
    )
    assert world.b.person_id == B_PERSON_ID and world.b.learner_id == B_LEARNER_ID
    assert world.b.registrations and world.b.statement_ids and world.b.evidence_sources
    assert world.b.scores, "B's scores must be distinctive"
    return world


# --- reading answers ---------------------------------------------------------------------------

LANGUAGE_LINKS = re.compile(r'<nav class="toolbar__langs".*?</nav>', re.S)


def answer_text(response: TestResponse) -> str:
    """Everything an answer says: headers and body, an XLSX workbook's sheets and strings."""
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            body = "\n".join(
                book.read(name).decode("utf-8", errors="replace")
                for name in book.namelist()
                if name.endswith(".xml")
            )
    else:
        body = data.decode("utf-8", errors="replace")
    return headers + "\n\n" + body


def without_echo(text: str) -> str:
    """``text`` without the language links, which repeat the request's own query string (the
    caller's input, not the tool's data)."""
    return LANGUAGE_LINKS.sub("", text)


def found_in(text: str, values: dict[str, str]) -> list[str]:
    """The labels of the ``values`` that occur in ``text``."""
    hits = []
    for label, value in values.items():
        # As written in HTML, in a URL, and in JSON that escapes non-ASCII text.
        forms = {value, html.escape(value), quote(value, safe=""), json.dumps(value)[1:-1]}
        if any(form and form in text for form in forms):
            hits.append(label)
    return hits


def identity_values(persona: Persona, person_id: int, learner_id: int) -> dict[str, str]:
    """Who the persona is: sub, names, email and row ids."""
    return {
        "sub": persona.sub,
        "name": persona.name,
        "email": persona.email,
        "person id": str(person_id),
        "learner id": str(learner_id),
    }


def all_values(*mappings: Iterable[tuple[str, str]] | dict[str, str]) -> dict[str, str]:
    """Several label → value mappings as one."""
    merged: dict[str, str] = {}
    for mapping in mappings:
        merged.update(dict(mapping))
    return merged
