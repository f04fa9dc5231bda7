"""``flask --app plugin …`` commands for personal-data rights (docs/ARCHITECTURE.md §10):
``person export``, ``person erase``, ``purge`` and ``audit list``."""

from __future__ import annotations

import csv
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from plugin.cli.common import PluginGroup, db, settings
from plugin.core.db import utcnow
from plugin.organisations.audience import Audience
from plugin.organisations.services import get_organisation
from plugin.privacy.audit import Accessor, list_entries, record_access
from plugin.privacy.erase import erase_person
from plugin.privacy.export import export_person
from plugin.privacy.retention import purge_expired

log = logging.getLogger("plugin.privacy")
EXPORT_ACTION = "person.export"
AUDIT_COLUMNS = ("at", "organisation_id", "actor_role", "actor_id", "action", "subject")


@click.command("export")
@with_appcontext
@click.option("--issuer", required=True, help="The platform issuer of the person's account.")
@click.option("--sub", required=True, help="The person's LTI sub at that platform.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the JSON here instead of to standard output.",
)
def person_export(issuer: str, sub: str, output: Path | None) -> None:
    """Write everything the tool holds about one person as one JSON document."""
    with db().session_scope() as session:
        document = export_person(session, issuer, sub)
        record_access(session, Accessor.operator(), EXPORT_ACTION, _audit_subject(document))
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    # The log says that an export happened, never whose (the audit subject is opaque).
    log.info("personal-data export: %d account(s)", len(document["accounts"]))
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{output}: personal data of {len(document['accounts'])} account(s)", err=True)
    if document["nothing_held"]:
        click.echo("nothing held about this person", err=True)


def _audit_subject(document: dict[str, Any]) -> str:
    learner = document["learner"]
    return f"learner {learner['id']}" if learner else "person not held"


@click.command("erase")
@with_appcontext
@click.option("--issuer", required=True, help="The platform issuer of the person's account.")
@click.option("--sub", required=True, help="The person's LTI sub at that platform.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def person_erase(issuer: str, sub: str, yes: bool) -> None:
    """Erase one person (and their linked accounts); void what the LRSs hold about them."""
    if not yes:
        click.confirm("Erase everything held about this person? This cannot be undone", abort=True)
    config = settings()
    with db().session_scope() as session:
        report = erase_person(
            session, issuer, sub, base_url=config.lti.base_url, accessor=Accessor.operator()
        )
    if report.nothing_held:
        click.echo("nothing held about this person: nothing erased")
        log.info("personal-data erasure: nothing held")
        return
    summary = (
        f"erased {report.accounts} account(s): {report.people} person row(s), "
        f"{report.launches} launch(es), {report.attempts} attempt(s), {report.evidence} "
        f"evidence row(s), {report.attainment} attainment row(s), {report.grades} grade(s); "
        f"{report.statements_dropped} undelivered statement row(s) dropped, "
        f"{report.statements_voided} statement(s) voided ({report.voiding_rows} voiding "
        "row(s) queued for the xapi worker)"
    )
    log.info("personal-data erasure: %s", summary)
    click.echo(summary)


@click.command("purge")
@with_appcontext
def purge_command() -> None:
    """Delete login states, launches, delivered statements and audit entries past their
    [retention] age (run it daily from cron)."""
    config = settings()
    with db().session_scope() as session:
        report = purge_expired(session, config.retention, utcnow())
    summary = (
        f"purged {report.login_states} login state(s), {report.launches} launch(es), "
        f"{report.delivered_statements} delivered statement row(s), "
        f"{report.audit_entries} audit entr(y/ies)"
    )
    log.info("retention purge: %s", summary)
    click.echo(summary)


audit_group = PluginGroup("audit", help="The access audit: who opened or exported whose records.")


@audit_group.command("list")
@click.option("--limit", type=click.IntRange(1, 100000), default=1000, show_default=True)
@click.option("--organisation", "organisation_key", default=None, help="Only this one's.")
def audit_list(limit: int, organisation_key: str | None) -> None:
    """Print the newest audit entries (of every organisation, or of one) as CSV."""
    with db().session_scope() as session:
        audience = Audience.operator()
        if organisation_key is not None:
            organisation = get_organisation(session, organisation_key)
            audience = Audience.organisation(organisation.id)
        entries = list_entries(session, audience, limit=limit)
        writer = csv.writer(sys.stdout)
        writer.writerow(AUDIT_COLUMNS)
        for entry in entries:
            writer.writerow(
                [
                    entry.at.isoformat(),
                    "" if entry.organisation_id is None else entry.organisation_id,
                    entry.actor_role,
                    entry.actor_id,
                    entry.action,
                    entry.subject,
                ]
            )
