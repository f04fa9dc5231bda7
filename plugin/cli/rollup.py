"""``flask --app plugin rollup …``: attainment per person from evidence."""

from __future__ import annotations

import json
from typing import Any

import click

from plugin.attainment import emit_assessed
from plugin.cli.common import PluginGroup, framework_scope, settings
from plugin.rollup.changes import merge_changes
from plugin.rollup.config import rollup_config
from plugin.rollup.learners import get_learner
from plugin.rollup.recompute import recompute_all
from plugin.rollup.reports import attainment_report

rollup_group = PluginGroup(
    "rollup", help="Competency roll-up: attainment per person from evidence."
)


@rollup_group.command("recompute")
def rollup_recompute() -> None:
    """Recompute every person's attainment from all evidence; changed levels are stated."""
    config = settings()
    changed = 0
    with framework_scope() as (session, framework):

        def emit(found: list[Any]) -> None:
            # Chunk by chunk (a person's changes all come in one), so memory stays bounded.
            nonlocal changed
            emit_assessed(session, merge_changes(found), framework, config)
            changed += len(found)

        count = recompute_all(session, framework, rollup_config(config.rollup), on_chunk=emit)
    click.echo(f"recomputed {count} person(s); {changed} level(s) changed")


@rollup_group.command("show")
@click.option("--issuer", required=True, help="The person's platform issuer.")
@click.option("--sub", required=True, help="The person's LTI sub.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def rollup_show(issuer: str, sub: str, as_json: bool) -> None:
    """Print a person's attainment per item and competency, with the gaps to their target."""
    config = settings()
    with framework_scope() as (session, framework):
        learner = get_learner(session, issuer, sub)
        report = attainment_report(session, learner, framework, rollup_config(config.rollup))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    person = report["person"]
    click.echo(f"person {person['id']} grade {person['grade'] or '-'}")
    for item in report["items"]:
        if item["value"] is not None or item["level"]:
            value = "-" if item["value"] is None else f"{item['value']:.3f}"
            click.echo(f"  {item['id']}: value {value} level {item['level']} "
                       f"({len(item['evidence'])} evidence)")  # fmt: skip
    for row in report["competencies"]:
        target = "-" if row["target"] is None else row["target"]
        gap = "-" if row["gap"] is None else row["gap"]
        click.echo(f"  {row['id']}: level {row['level']} target {target} gap {gap}")
