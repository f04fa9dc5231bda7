"""``flask --app plugin framework …``: load, show, and exchange the competency framework."""

from __future__ import annotations

from pathlib import Path

import click

from plugin.cli.common import (
    EXISTING_FILE,
    PluginGroup,
    db,
    framework_scope,
    loaded_framework,
    settings,
)
from plugin.competencies.case import case_json, export_case, import_case, read_case
from plugin.competencies.framework import count_items, load_framework, read_framework_file

framework_group = PluginGroup("framework", help="The competency framework.")


@framework_group.command("load")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def framework_load(file: Path | None) -> None:
    """Load FILE (default: the bundled seed framework); running it twice changes nothing."""
    config = settings()
    path = file or (Path(config.framework.file) if config.framework.file else None)
    data = read_framework_file(path)
    with db().session_scope() as session:
        report = load_framework(session, data, config.framework.iri_base)
    if not report.changed:
        click.echo(f"framework {report.framework}: unchanged")
        return
    for label, counts in (("created", report.created), ("updated", report.updated)):
        if counts:
            parts = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
            click.echo(f"framework {report.framework}: {label} {parts}")


@framework_group.command("show")
def framework_show() -> None:
    """Print the loaded framework's counts."""
    with framework_scope() as (session, framework):
        counts = count_items(session, framework)
        click.echo(
            f"{framework.key} {framework.version}: "
            + ", ".join(f"{n} {kind}" for kind, n in counts.items())
            + f", {len(framework.classes)} classes"
        )


@framework_group.command("export-case")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def framework_export_case(file: Path | None) -> None:
    """Write the framework as a CASE 1.1 package (JSON) to FILE, or print it."""
    config = settings()
    with db().session_scope() as session:
        framework = loaded_framework(session)
        text = case_json(export_case(framework, config.framework.iri_base, config.lti.title))
    if file is None:
        click.echo(text, nl=False)
        return
    file.write_text(text, encoding="utf-8")
    click.echo(f"wrote {file}")


@framework_group.command("import-case")
@click.argument("file", type=EXISTING_FILE)
def framework_import_case(file: Path) -> None:
    """Create or update a framework from a CASE 1.1 package FILE (JSON); all or nothing."""
    package = read_case(file.read_bytes())
    with db().session_scope() as session:
        report = import_case(session, package)
    click.echo(
        f"framework {report.framework}: {report.created} items created, "
        f"{report.updated} updated, {len(report.skipped)} skipped (no humanCodingScheme)"
    )
