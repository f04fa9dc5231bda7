"""``flask --app plugin person …``: people of the roll-up, their identities and grades."""

from __future__ import annotations

from pathlib import Path

import click

from plugin.attainment import emit_assessed
from plugin.cli.common import PluginGroup, db, loaded_framework, settings
from plugin.core.errors import PluginError
from plugin.rollup.config import rollup_config
from plugin.rollup.learners import learner_for, link_learner, set_grade
from plugin.rollup.personnel import import_people


@click.group("person", cls=PluginGroup)
def person_group() -> None:
    """People of the roll-up: linked identities and grades."""


@person_group.command("link")
@click.option("--issuer", required=True)
@click.option("--sub", required=True)
@click.option("--key", "link_key", required=True, help="E.g. the employee number.")
def person_link(issuer: str, sub: str, link_key: str) -> None:
    """Link an identity to the person holding KEY (merging their evidence)."""
    config = settings()
    with db().session_scope() as session:
        framework = loaded_framework(session)
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
    with db().session_scope() as session:
        framework = loaded_framework(session)
        learner = learner_for(session, issuer, sub)
        set_grade(session, learner, framework, grade, "admin")
        key = learner.grade
    click.echo(f"{issuer} {sub}: grade {key}")


@person_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def person_import(file: Path) -> None:
    """Import personnel data (person_issuer,person_sub,link_key,grade); all or nothing."""
    config = settings()
    data = file.read_bytes()
    try:
        with db().session_scope() as session:
            framework = loaded_framework(session)
            imported = import_people(
                session, framework, rollup_config(config.rollup), data,
                on_changes=lambda changes: emit_assessed(session, changes, framework, config),
            )  # fmt: skip
    except PluginError as exc:
        raise click.ClickException(f"{file}: refused, nothing imported: {exc.message}") from None
    click.echo(f"{file}: {imported.rows} person row(s) imported; read as {imported.encoding}")
