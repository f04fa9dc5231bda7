"""Reports read from the stored roll-up: a learner's attainment against their grade's targets,
a course's heat map (roster × indicators) and an organisation's attainment by grade.

The heat maps read ``rollup_attainment`` in one query and group it in Python; neither
recomputes anything nor calls the per-person report. Whose levels they show is the one rule of
plugin.rollup.scope (docs/ARCHITECTURE.md §9).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from plugin.competencies.models import Framework, Grade, GradeTarget, Item
from plugin.lti.claims import LEARNER, classify_roles
from plugin.lti.nrps import Roster
from plugin.organisations.audience import Audience
from plugin.rollup.engine import RollupConfig, gap
from plugin.rollup.items import FrameworkItems
from plugin.rollup.learners import identities_of
from plugin.rollup.models import Attainment, Identity, Learner
from plugin.rollup.scope import identities_in_reach, identity_in_reach, learner_in_reach

# The item kinds a course heat map has columns for (competencies are the organisation view's).
HEAT_KINDS = ("knowledge", "skill", "attitude")
# The report's scale (基礎 / 中級 / 高級) has three levels; level 0 is "not yet".
DEFAULT_TOP_LEVEL = 3
SHORT = 14


def attainment_report(
    session: Session, learner: Learner, framework: Framework, config: RollupConfig
) -> dict[str, Any]:
    """The learner's attainment as ``rollup show --json`` prints it (framework item order)."""
    catalog = FrameworkItems(session, framework)
    stored = {
        row.item_id: row
        for row in session.scalars(select(Attainment).where(Attainment.learner_id == learner.id))
    }
    targets: dict[str, int] = {}
    if learner.grade:
        for grade_target in session.scalars(
            select(GradeTarget)
            .join(Grade, GradeTarget.grade_id == Grade.id)
            .where(Grade.framework_id == framework.id, Grade.key == learner.grade)
        ):
            targets[grade_target.item.code] = grade_target.level
    items = []
    competencies = []
    for item in catalog.items:
        row = stored.get(item.code)
        level = row.level if row is not None else 0
        items.append(
            {
                "id": item.code,
                "kind": item.kind,
                "value": row.value if row is not None else None,
                "level": level,
                "evidence": list(row.evidence_ids) if row is not None else [],
            }
        )
        if item.kind == "competency":
            target = targets.get(item.code)
            competencies.append(
                {
                    "id": item.code,
                    "level": level,
                    "target": target,
                    "gap": gap(target, level) if target is not None else None,
                }
            )
    return {
        "person": {
            "id": learner.id,
            "identities": [
                {"issuer": identity.issuer, "sub": identity.sub}
                for identity in identities_of(learner)
            ],
            "grade": learner.grade or None,
        },
        "items": items,
        "competencies": competencies,
    }


def top_level(framework: Framework) -> int:
    """The highest level of the framework's report scale (three when it names none above 0)."""
    numbers = {
        level.number
        for scale in framework.scales
        if scale.key == "report"
        for level in scale.levels
    }
    return max(numbers | {0}) if numbers - {0} else DEFAULT_TOP_LEVEL


@dataclass
class HeatRow:
    """One person of the course: name (if the platform shared one) and level per item."""

    name: str
    sub: str
    learner_id: int | None
    levels: dict[str, int] = field(default_factory=dict)


def heat_rows(
    session: Session,
    issuer: str,
    audience: Audience,
    roster: Roster | None,
    *,
    designer_roles: Iterable[str],
    admin_roles: Iterable[str],
) -> list[HeatRow]:
    """Roster learners (or, without a roster, the learners with attainment ``audience``
    reaches) with their levels, from one query on identities joined to attainment.

    Levels and learner ids come only for people the audience reaches (plugin.rollup.scope):
    a designer's own registration, an administrator's organisation. A roster is the
    platform's word, and a platform may list anyone, even another registration's learners of
    the same issuer; those stay names without levels.
    """
    in_reach = identity_in_reach(audience)
    query = select(Identity.sub, Identity.learner_id, Attainment.item_id, Attainment.level)
    rows: dict[str, HeatRow] = {}
    if roster is not None:
        designer_roles, admin_roles = tuple(designer_roles), tuple(admin_roles)
        for member in roster.members:
            if classify_roles(member.roles, designer_roles, admin_roles) != LEARNER:
                continue
            name = member.name or " ".join(
                part for part in (member.given_name, member.family_name) if part
            )
            rows.setdefault(member.user_id, HeatRow(name, member.user_id, None))
        if not rows:
            return []
        query = query.select_from(Identity).outerjoin(
            Attainment, Attainment.learner_id == Identity.learner_id
        )
        query = query.where(Identity.issuer == issuer, Identity.sub.in_(list(rows)), in_reach)
    else:
        query = query.select_from(Identity).join(
            Attainment, Attainment.learner_id == Identity.learner_id
        )
        query = query.where(in_reach).order_by(Identity.learner_id)
    for sub, learner_id, item_id, level in session.execute(query):
        row = rows.setdefault(sub, HeatRow("", sub, learner_id))
        row.learner_id = learner_id
        if item_id is not None:
            row.levels[item_id] = level
    return list(rows.values())


def heat_counts(rows: Sequence[HeatRow], columns: Sequence[Item], top: int) -> dict[str, list[int]]:
    """Per column, how many rows reach each level 1..``top`` (at or above it)."""
    return {
        item.code: [
            sum(1 for row in rows if row.levels.get(item.code, 0) >= number)
            for number in range(1, top + 1)
        ]
        for item in columns
    }


def column_groups(columns: Sequence[Item]) -> list[tuple[Item | None, int]]:
    """Consecutive columns under the same competency, as (competency, span); attitudes
    stand under none."""
    groups: list[tuple[Item | None, int]] = []
    for item in columns:
        parent = item.parent if item.kind != "attitude" else None
        if groups and groups[-1][0] is parent:
            groups[-1] = (parent, groups[-1][1] + 1)
        else:
            groups.append((parent, 1))
    return groups


@dataclass(frozen=True)
class BelowTarget:
    """One person short of their grade's target for one competency."""

    learner_id: int
    identities: list[tuple[str, str, str]]  # (short issuer, short sub, full "issuer sub")
    grade: str
    competency: str
    level: int
    target: int
    gap: int


@dataclass
class OrganisationData:
    """The organisation view's numbers: distribution by grade and the people below target."""

    framework: Framework
    competencies: list[Item]
    grades: list[Grade]
    columns: list[str]
    distribution: dict[str, dict[str, list[int]]]
    targets: dict[tuple[str, str], int]
    shortfalls: list[BelowTarget]
    top: int
    people: int


def _shorten(text: str, size: int = SHORT) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _short_issuer(issuer: str) -> str:
    return urlsplit(issuer).netloc or _shorten(issuer)


def organisation_data(
    session: Session, framework: Framework, audience: Audience
) -> OrganisationData:
    """Attainment per competency by grade and the people below target (one attainment query),
    of the people ``audience`` reaches (an administrator: the organisation's)."""
    competencies = [item for item in framework.items if item.kind == "competency"]
    codes = [item.code for item in competencies]
    grades: list[Grade] = list(framework.grades)
    grade_keys = [grade.key for grade in grades]
    top = top_level(framework)
    targets: dict[tuple[str, str], int] = {
        (key, code): level
        for key, code, level in session.execute(
            select(Grade.key, Item.code, GradeTarget.level)
            .join(Grade, GradeTarget.grade_id == Grade.id)
            .join(Item, GradeTarget.item_id == Item.id)
            .where(Grade.framework_id == framework.id, Item.kind == "competency")
        )
    }
    # One query: every learner with their competency levels (none stored → level 0).
    people: dict[int, tuple[str, dict[str, int]]] = {}
    for learner_id, grade, item_id, level in session.execute(
        select(Learner.id, Learner.grade, Attainment.item_id, Attainment.level)
        .outerjoin(
            Attainment,
            and_(Attainment.learner_id == Learner.id, Attainment.item_id.in_(codes)),
        )
        .where(learner_in_reach(audience))
        .order_by(Learner.id)
    ):
        entry = people.setdefault(learner_id, (grade if grade in grade_keys else "", {}))
        if item_id is not None:
            entry[1][item_id] = level
    columns = [*grade_keys, ""]
    distribution: dict[str, dict[str, list[int]]] = {
        code: {key: [0] * (top + 1) for key in columns} for code in codes
    }
    below: list[tuple[int, str, str, int, int]] = []
    for learner_id, (grade, reached) in people.items():
        for code in codes:
            level = min(max(reached.get(code, 0), 0), top)
            distribution[code][grade][level] += 1
            target = targets.get((grade, code)) if grade else None
            if target is not None and level < target:
                below.append((learner_id, grade, code, level, target))
    identities: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    # Only identities in reach: a learner linked across organisations keeps the others'.
    in_reach = identities_in_reach(session, audience, {row[0] for row in below})
    for learner_id, rows in in_reach.items():
        identities[learner_id] = [
            (_short_issuer(row.issuer), _shorten(row.sub), f"{row.issuer} {row.sub}")
            for row in rows
        ]
    shortfalls = [
        BelowTarget(learner_id, identities[learner_id], grade, code, level, target,
                    gap(target, level))
        for learner_id, grade, code, level, target in below
    ]  # fmt: skip
    shortfalls.sort(key=lambda row: (-row.gap, row.competency, row.learner_id))
    return OrganisationData(
        framework=framework,
        competencies=competencies,
        grades=grades,
        columns=columns,
        distribution=distribution,
        targets=targets,
        shortfalls=shortfalls,
        top=top,
        people=len(people),
    )
