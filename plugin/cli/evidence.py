"""``flask --app plugin evidence …``: evidence from CSV files and from the LRS."""

from __future__ import annotations

from pathlib import Path

import click

from plugin.attainment import emit_assessed, emit_imported, emit_pulled
from plugin.cli.common import EXISTING_FILE, PluginGroup, file_refused, framework_scope, settings
from plugin.rollup.changes import merge_changes
from plugin.rollup.config import rollup_config
from plugin.rollup.imports import EvidenceFileInvalid, import_evidence
from plugin.rollup.pull import pull_evidence

evidence_group = PluginGroup(
    "evidence", help="Evidence from CSV imports and from other providers' statements in the LRS."
)


@evidence_group.command("import")
@click.argument("file", type=EXISTING_FILE)
def evidence_import(file: Path) -> None:
    """Import raw evidence or completion records from FILE; all or nothing, repeatable."""
    config = settings()
    data = file.read_bytes()
    try:
        with framework_scope() as (session, framework):
            report = import_evidence(session, framework, rollup_config(config.rollup), data)
            emit_imported(session, report.new, framework, config)
            changes = merge_changes(report.changes)
            emit_assessed(session, changes, framework, config)
    except EvidenceFileInvalid as exc:
        raise file_refused(file, exc.problems) from None
    click.echo(
        f"{file}: {report.rows} row(s), {len(report.new)} new, "
        f"{report.rows - len(report.new)} unchanged; {len(changes)} level(s) changed; "
        f"read as {report.encoding}"
    )


@evidence_group.command("pull")
@click.option("--target", default=None, help="The [[xapi.lrs]] to read (default: the first).")
def evidence_pull(target: str | None) -> None:
    """Read other providers' statements from the LRS since the saved cursor."""
    config = settings()
    targets = {t.name: t for t in config.xapi.lrs}
    if not targets:
        raise click.ClickException("no LRS configured: add an [[xapi.lrs]] table to the config")
    name = target or config.xapi.lrs[0].name
    if name not in targets:
        raise click.ClickException(f"no [[xapi.lrs]] named {name!r}")
    with framework_scope() as (session, framework):
        report = pull_evidence(
            session, framework, rollup_config(config.rollup), targets[name],
            iri_base=config.framework.iri_base, timeout=config.xapi.timeout_seconds,
        )  # fmt: skip
        emit_pulled(session, report.new, framework, config)
        changes = merge_changes(report.changes)
        emit_assessed(session, changes, framework, config)
    click.echo(
        f"{name}: read {report.read} statement(s), {len(report.new)} new evidence "
        f"statement(s); {len(changes)} level(s) changed; cursor {report.cursor or '-'}"
    )
