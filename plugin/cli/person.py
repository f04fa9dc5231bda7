"""``flask --app plugin person …``: people of the roll-up, their identities and grades."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from plugin.cli.common import PluginGroup, db, loaded_framework, settings
from plugin.core.errors import PluginError
from plugin.rollup.config import rollup_config
from plugin.rollup.imports import cell_problem
from plugin.rollup.learners import learner_for, link_learner, set_grade
from plugin.web.attainment import emit_assessed


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


PERSON_HEADER = ("person_issuer", "person_sub", "link_key", "grade")


@person_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def person_import(file: Path) -> None:
    """Import personnel data (person_issuer,person_sub,link_key,grade); all or nothing."""
    config = settings()
    data = file.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise click.ClickException(
            f"{file}: refused, nothing imported: line {line}: not UTF-8 text (save it as CSV UTF-8)"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = tuple(cell.strip() for cell in next(reader, []))
    except csv.Error as exc:  # e.g. a field past the csv module's size limit
        raise click.ClickException(f"{file}: refused, nothing imported: line 1: {exc}") from None
    if header != PERSON_HEADER:
        raise click.ClickException(f"{file}: line 1: header must be {','.join(PERSON_HEADER)}")
    count = 0
    try:
        with db().session_scope() as session:
            framework = loaded_framework(session)
            rules = rollup_config(config.rollup)
            for cells in _person_rows(reader):
                line = reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(PERSON_HEADER):
                    raise PluginError(f"line {line}: {len(cells)} fields, expected 4")
                issuer, sub, link_key, grade = (cell.strip() for cell in cells)
                for name, value in zip(PERSON_HEADER[:3], (issuer, sub, link_key), strict=True):
                    if problem := cell_problem(name, value):
                        raise PluginError(f"line {line}, field {name}: {problem}")
                try:
                    learner = learner_for(session, issuer, sub)
                    if link_key:
                        learner, changes = link_learner(
                            session, learner, link_key, framework, rules, linked_by="csv"
                        )
                        emit_assessed(session, changes, framework, config)
                    if grade:
                        set_grade(session, learner, framework, grade, "csv")
                except PluginError as exc:
                    raise PluginError(f"line {line}, field {exc.field}: {exc.message}") from None
                count += 1
    except PluginError as exc:
        raise click.ClickException(f"{file}: refused, nothing imported: {exc.message}") from None
    click.echo(f"{file}: {count} person row(s) imported")


def _person_rows(reader: Any) -> Iterator[list[str]]:
    """The reader's rows; a CSV fault becomes a refusal naming its line."""
    try:
        yield from reader
    except csv.Error as exc:
        raise PluginError(f"line {reader.line_num}: {exc}") from None
