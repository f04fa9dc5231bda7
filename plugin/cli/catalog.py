"""``flask --app plugin catalog …``: coverage of the framework, outside courses."""

from __future__ import annotations

from pathlib import Path

import click

from plugin.cli.common import EXISTING_FILE, PluginGroup, db, file_refused, loaded_framework
from plugin.competencies.coverage import compute_coverage, coverage_csv, format_hours
from plugin.competencies.outside_courses import (
    MAX_BYTES,
    CourseFileInvalid,
    import_outside_courses,
)
from plugin.organisations.audience import Audience
from plugin.organisations.services import get_organisation

catalog_group = PluginGroup(
    "catalog", help="The module catalog: coverage of the framework, outside courses."
)


@catalog_group.command("coverage")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the coverage table to this CSV file (UTF-8 with BOM, for Excel).",
)
@click.option(
    "--organisation",
    "organisation_key",
    default=None,
    help="Count this organisation's modules and the national catalog, as its designers see "
    "it; without it, every organisation's modules.",
)
def catalog_coverage(csv_file: Path | None, organisation_key: str | None) -> None:
    """Print which indicators and attitudes the catalog leaves uncovered, or write the CSV."""
    with db().session_scope() as session:
        audience = (
            Audience.organisation(get_organisation(session, organisation_key).id)
            if organisation_key
            else Audience.operator()
        )
        report = compute_coverage(session, loaded_framework(session), audience)
    if csv_file is not None:
        # newline="" keeps the CSV's own CRLF line ends; utf-8-sig lets Excel read the Chinese.
        with csv_file.open("w", encoding="utf-8-sig", newline="") as handle:
            handle.write(coverage_csv(report))
        click.echo(f"wrote {len(report.rows)} rows to {csv_file}")
        return
    for summary in report.competencies:
        click.echo(
            f"{summary.code} {summary.name_zh}: {summary.covered}/{summary.indicators} "
            f"indicators covered, {format_hours(summary.hours)} h"
            + (f"; uncovered: {', '.join(summary.uncovered)}" if summary.uncovered else "")
        )
    for label, rows in (
        ("uncovered indicators", report.uncovered_indicators),
        ("uncovered attitudes", report.uncovered_attitudes),
    ):
        names = ", ".join(f"{row.code} {row.name_zh}" for row in rows)
        click.echo(f"{label}: {names or 'none'}")


@catalog_group.command("import-outside")
@click.argument("file", type=EXISTING_FILE)
@click.option("--source", default="", help="Where the courses come from, e.g. e等公務園.")
def catalog_import_outside(file: Path, source: str) -> None:
    """Import outside courses from FILE (code,title,hours,audience,tags); all or nothing."""
    with file.open("rb") as handle:
        # One byte over the cap is enough for the import to refuse the file by size.
        data = handle.read(MAX_BYTES + 1)
    try:
        with db().session_scope() as session:
            report = import_outside_courses(session, loaded_framework(session), data, source)
    except CourseFileInvalid as exc:
        raise file_refused(file, exc.problems) from None
    click.echo(
        f"{file}: {len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged; read as {report.encoding}"
    )
