"""``flask --app plugin person …``: people of the roll-up, their identities and grades."""

from __future__ import annotations

from pathlib import Path

import click

from plugin.attainment import emit_assessed
from plugin.cli.common import EXISTING_FILE, PluginGroup, framework_scope, settings
from plugin.core.errors import PluginError
from plugin.rollup.config import rollup_config
from plugin.rollup.learners import learner_for, link_learner, set_grade
from plugin.rollup.personnel import import_people

person_group = PluginGroup("person", help="People of the roll-up: linked identities and grades.")


@person_group.command("link")
@click.option("--issuer", required=True)
@click.option("--sub", required=True)
@click.option("--key", "link_key", required=True, help="E.g. the employee number.")
def person_link(issuer: str, sub: str, link_key: str) -> None:
    """Link an identity to the person holding KEY (merging their evidence)."""
    config = settings()
    with framework_scope() as (session, framework):
        learner, changes = link_learner(
            session, learner_for(session, issuer, sub), link_key, framework,
            rollup_config(config.rollup), linked_by="admin",
        )  # fmt: skip
        emit_assessed(session, changes, framework, config)
        count = len(learner.identities)
        person = learner.id
    click.echo(f"person {person}: {count} identit(ies) under key {link_key}")


@person_group.command("grade")
@click.option("--issuer", required=True)
@click.option("--sub", required=True)
@click.option("--grade", required=True, help="junior, intermediate, senior, supervisor or 委任…")
def person_grade(issuer: str, sub: str, grade: str) -> None:
    """Set a person's grade (an administrator's word outranks launches and CSVs)."""
    with framework_scope() as (session, framework):
        learner = learner_for(session, issuer, sub)
        set_grade(session, learner, framework, grade, "admin")
        key = learner.grade
    click.echo(f"{issuer} {sub}: grade {key}")


@person_group.command("import")
@click.argument("file", type=EXISTING_FILE)
def person_import(file: Path) -> None:
    """Import personnel data (person_issuer,person_sub,link_key,grade); all or nothing."""
    config = settings()
    data = file.read_bytes()
    try:
        with framework_scope() as (session, framework):
            imported = import_people(
                session, framework, rollup_config(config.rollup), data,
                on_changes=lambda changes: emit_assessed(session, changes, framework, config),
            )  # fmt: skip
    except PluginError as exc:
        raise click.ClickException(f"{file}: refused, nothing imported: {exc.message}") from None
    click.echo(f"{file}: {imported.rows} person row(s) imported; read as {imported.encoding}")
