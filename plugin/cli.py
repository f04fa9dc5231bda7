"""``flask --app plugin …`` commands: database, framework, catalog, LTI, grades, xAPI."""

from __future__ import annotations

import csv
import io
import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from plugin.cli_privacy import audit_group, person_erase, person_export, purge_command
from plugin.competencies.case import case_json, export_case, import_case, read_case
from plugin.competencies.coverage import compute_coverage, coverage_csv, format_hours
from plugin.competencies.models import Framework
from plugin.competencies.outside_courses import (
    MAX_BYTES,
    CourseFileInvalid,
    import_outside_courses,
)
from plugin.competencies.services import (
    count_items,
    get_framework,
    load_framework,
    read_framework_file,
)
from plugin.core.config import LRS_CREDENTIALS_FILE, development_lrs_target
from plugin.core.db import Database, utcnow
from plugin.core.errors import PluginError
from plugin.core.migrate import current_revision, make_revision, upgrade_database
from plugin.lti.grade_delivery import (
    DeliveryPolicy,
    deliver_due_scores,
    queue_counts,
    retry_failed,
    run_worker,
)
from plugin.lti.keys import list_keys, rotate_keys
from plugin.lti.registrations import (
    PlatformDetails,
    activate_deployment,
    assign_registrations,
    disable_platform,
    framing_origins,
    list_registrations,
    register_platform,
)
from plugin.lti.service_tokens import ensure_service_tokens
from plugin.organisations.audience import Audience
from plugin.organisations.services import (
    create_organisation,
    get_organisation,
    list_organisations,
)
from plugin.rollup.changes import merge_changes
from plugin.rollup.config import rollup_config
from plugin.rollup.imports import EvidenceFileInvalid, cell_problem, import_evidence
from plugin.rollup.learners import get_learner, learner_for, link_learner, set_grade
from plugin.rollup.pull import pull_evidence
from plugin.rollup.recompute import recompute_all
from plugin.rollup.reports import attainment_report
from plugin.web import SCHEMA_UPGRADES
from plugin.web.api.auth import SCOPES, create_token, list_tokens, revoke_token
from plugin.web.attainment import emit_assessed, emit_imported, emit_pulled
from plugin.web.inputs import is_ascii_int
from plugin.xapi import delivery as xapi_delivery
from plugin.xapi.lrs_client import LrsClient


class WholeNumber(click.ParamType):
    """An integer option in ASCII digits (click's own INT reads full-width "１" as 1)."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """``value`` as an int, or a usage error naming the option."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if not isinstance(value, str) or not is_ascii_int(value, signed=True):
            self.fail(f"{value!r} is not a whole number written with the digits 0-9", param, ctx)
        return int(value)


WHOLE_NUMBER = WholeNumber()


def _db() -> Database:
    return current_app.extensions["plugin.db"]


@click.group("db", cls=AppGroup)
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    upgrade_database(_db().engine, revision)
    for upgrade in current_app.extensions.get(SCHEMA_UPGRADES, ()):
        upgrade(_db().engine)  # an enabled extension's own tables (the sandbox's)
    click.echo(f"database at revision {current_revision(_db().engine)}")


@db_group.command("current")
def db_current() -> None:
    """Print the database's revision."""
    click.echo(current_revision(_db().engine) or "(not migrated)")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (review it before committing)."""
    make_revision(_db().engine, message)


@click.group("framework", cls=AppGroup)
def framework_group() -> None:
    """The competency framework."""


@framework_group.command("load")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def framework_load(file: Path | None) -> None:
    """Load FILE (default: the bundled seed framework); running it twice changes nothing."""
    settings = current_app.extensions["plugin.settings"]
    path = file or (Path(settings.framework.file) if settings.framework.file else None)
    try:
        data = read_framework_file(path)
        with _db().session_scope() as session:
            report = load_framework(session, data, settings.framework.iri_base)
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
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
    with _db().session_scope() as session:
        framework = get_framework(session)
        if framework is None:
            raise click.ClickException(
                "no framework loaded (run: flask --app plugin framework load)"
            )
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
    settings = current_app.extensions["plugin.settings"]
    with _db().session_scope() as session:
        framework = get_framework(session)
        if framework is None:
            raise click.ClickException(
                "no framework loaded (run: flask --app plugin framework load)"
            )
        text = case_json(export_case(framework, settings.framework.iri_base, settings.lti.title))
    if file is None:
        click.echo(text, nl=False)
        return
    file.write_text(text, encoding="utf-8")
    click.echo(f"wrote {file}")


@framework_group.command("import-case")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def framework_import_case(file: Path) -> None:
    """Create or update a framework from a CASE 1.1 package FILE (JSON); all or nothing."""
    try:
        package = read_case(file.read_bytes())
        with _db().session_scope() as session:
            report = import_case(session, package)
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"framework {report.framework}: {report.created} items created, "
        f"{report.updated} updated, {len(report.skipped)} skipped (no humanCodingScheme)"
    )


@click.group("catalog", cls=AppGroup)
def catalog_group() -> None:
    """The module catalog: coverage of the framework, outside courses."""


def _loaded_framework(session: Session) -> Framework:
    framework = get_framework(session)
    if framework is None:
        raise click.ClickException("no framework loaded (run: flask --app plugin framework load)")
    return framework


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
    try:
        with _db().session_scope() as session:
            audience = (
                Audience.organisation(get_organisation(session, organisation_key).id)
                if organisation_key
                else Audience.operator()
            )
            report = compute_coverage(session, _loaded_framework(session), audience)
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
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
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default="", help="Where the courses come from, e.g. e等公務園.")
def catalog_import_outside(file: Path, source: str) -> None:
    """Import outside courses from FILE (code,title,hours,audience,tags); all or nothing."""
    with file.open("rb") as handle:
        # One byte over the cap is enough for the import to refuse the file by size.
        data = handle.read(MAX_BYTES + 1)
    try:
        with _db().session_scope() as session:
            report = import_outside_courses(session, _loaded_framework(session), data, source)
    except CourseFileInvalid as exc:
        lines = [f"{file}: refused, nothing imported:"]
        lines.extend(f"  {problem}" for problem in exc.problems)
        raise click.ClickException("\n".join(lines)) from None
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"{file}: {len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged"
    )


@click.group("platform", cls=AppGroup)
def platform_group() -> None:
    """LTI platform registrations."""


@platform_group.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", required=True, help="The client_id the platform gave the tool.")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization URL.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth2 token URL.")
@click.option("--key-set-url", required=True, help="The platform's public JWKS URL.")
@click.option("--deployment-id", "deployment_ids", multiple=True, help="Active deployment(s).")
@click.option("--name", default="", help="A name administrators recognise.")
@click.option("--auth-audience", default="", help="Token audience, when not the token URL.")
@click.option(
    "--frame-origin",
    "frame_origins",
    multiple=True,
    help="An origin where the platform shows the tool, besides its issuer's and login URL's "
    "(Canvas: https://school.instructure.com). Replaces the earlier list when given.",
)
@click.option(
    "--organisation",
    "organisation_key",
    default=None,
    help="The organisation (agency) the platform belongs to; a new platform without it joins "
    "the default organisation, an existing one keeps its own.",
)
def platform_add(**options: object) -> None:
    """Register (or update) a platform and activate its deployments."""
    deployment_ids = tuple(options.pop("deployment_ids"))  # type: ignore[arg-type]
    organisation_key = options.pop("organisation_key")
    options["frame_origins"] = tuple(options["frame_origins"])  # type: ignore[arg-type]
    details = PlatformDetails(**options)  # type: ignore[arg-type]
    try:
        with _db().session_scope() as session:
            organisation = (
                get_organisation(session, str(organisation_key)) if organisation_key else None
            )
            registration = register_platform(
                session, details, deployment_ids, organisation=organisation
            )
            click.echo(
                f"registered {registration.issuer} client_id={registration.client_id} "
                f"deployments={','.join(deployment_ids) or '-'} "
                f"organisation={registration.organisation.key}"
            )
    except PluginError as exc:
        raise click.ClickException(exc.message) from None


@platform_group.command("list")
def platform_list() -> None:
    """Print every registration with its deployments."""
    with _db().session_scope() as session:
        rows = list_registrations(session)
        if not rows:
            click.echo("no platforms registered")
        for row in rows:
            state = "enabled" if row.enabled else "disabled"
            click.echo(
                f"{row.issuer}  client_id={row.client_id}  {state}  ({row.name})  "
                f"organisation={row.organisation.key}"
            )
            click.echo(f"    frames the tool from: {' '.join(sorted(framing_origins(row)))}")
            for deployment in row.deployments:
                status = "active" if deployment.active else "awaiting approval"
                click.echo(f"    deployment {deployment.deployment_id}: {status}")


@platform_group.command("disable")
@click.option("--issuer", required=True)
@click.option("--client-id", default=None, help="Only this client_id of the issuer.")
def platform_disable(issuer: str, client_id: str | None) -> None:
    """Refuse further launches from a platform."""
    try:
        with _db().session_scope() as session:
            count = disable_platform(session, issuer, client_id)
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"disabled {count} registration(s) of {issuer}")


@click.group("organisation", cls=AppGroup)
def organisation_group() -> None:
    """Organisations (agencies): each sees only its own people, modules and reports."""


@organisation_group.command("add")
@click.argument("key")
@click.option("--name", required=True, help="The agency's name, as its people know it.")
def organisation_add(key: str, name: str) -> None:
    """Create the organisation KEY (lower-case letters, digits, '.', '_', '-')."""
    try:
        with _db().session_scope() as session:
            create_organisation(session, key, name)
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"organisation {key} created")


@organisation_group.command("list")
def organisation_list() -> None:
    """Print every organisation with its registrations."""
    with _db().session_scope() as session:
        registrations = list_registrations(session)
        for organisation in list_organisations(session):
            click.echo(f"{organisation.key}\t{organisation.name}")
            for row in registrations:
                if row.organisation_id == organisation.id:
                    click.echo(f"    {row.issuer}  client_id={row.client_id}")


@organisation_group.command("assign")
@click.argument("key")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", default=None, help="Only this client_id of the issuer.")
def organisation_assign(key: str, issuer: str, client_id: str | None) -> None:
    """Move a platform's registrations (or one client_id) into the organisation KEY."""
    try:
        with _db().session_scope() as session:
            moved = assign_registrations(session, get_organisation(session, key), issuer, client_id)
            count = len(moved)
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"moved {count} registration(s) of {issuer} into {key}")


@click.group("deployment", cls=AppGroup)
def deployment_group() -> None:
    """LTI deployments."""


@deployment_group.command("activate")
@click.option("--issuer", required=True)
@click.option("--deployment-id", required=True)
@click.option("--client-id", default=None, help="Needed when several client_ids have it.")
def deployment_activate(issuer: str, deployment_id: str, client_id: str | None) -> None:
    """Approve a deployment that launched and waits for approval."""
    try:
        with _db().session_scope() as session:
            activate_deployment(session, issuer, deployment_id, client_id)
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"deployment {deployment_id} of {issuer} is active")


@click.group("keys", cls=AppGroup)
def keys_group() -> None:
    """The tool's signing keys."""


@keys_group.command("rotate")
@click.option(
    "--grace-days", type=WHOLE_NUMBER, default=None, help="Keep the old key published this long."
)
def keys_rotate(grace_days: int | None) -> None:
    """Add a new signing key; the old one stays in the JWKS for the grace period."""
    settings = current_app.extensions["plugin.settings"]
    days = settings.lti.key_grace_days if grace_days is None else grace_days
    with _db().session_scope() as session:
        key, retired = rotate_keys(session, settings.secret_key, timedelta(days=days))
    click.echo(
        f"new signing key {key.kid}; retiring after {days} day(s): {', '.join(retired) or '-'}"
    )


@keys_group.command("list")
def keys_list() -> None:
    """Print the keys and their status."""
    with _db().session_scope() as session:
        for key in list_keys(session):
            until = f" until {key.retire_after:%Y-%m-%d %H:%M}Z" if key.retire_after else ""
            click.echo(f"{key.kid}  {key.status}{until}  created {key.created_at:%Y-%m-%d}")


@click.group("grades", cls=AppGroup)
def grades_group() -> None:
    """Grade passback (LTI AGS): the queue of scores for platform gradebooks."""


@grades_group.command("worker")
@click.option("--once", is_flag=True, help="Deliver one batch, then stop.")
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=None,
    help="Rows per batch [lti.grade_batch_size].",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds to wait when nothing is due [lti.grade_worker_interval_seconds].",
)
def grades_worker(once: bool, batch: int | None, interval: float | None) -> None:
    """Send queued scores to the platforms until stopped (SIGTERM or Ctrl-C)."""
    settings = current_app.extensions["plugin.settings"]
    lti = settings.lti
    policy = DeliveryPolicy(
        batch_size=batch or lti.grade_batch_size,
        timeout=lti.http_timeout_seconds,
        retry_base_seconds=lti.grade_retry_base_seconds,
        retry_max_seconds=lti.grade_retry_max_seconds,
    )
    tokens = ensure_service_tokens(current_app.extensions, lti.http_timeout_seconds)
    database = _db()
    stop = threading.Event()

    def deliver() -> Any:
        return deliver_due_scores(database.session_scope, tokens, settings.secret_key, policy)

    with _stopped_by_signals(stop, enabled=not once):
        if not once:  # announced once the handlers are in place: a SIGTERM from now on is clean
            click.echo(f"grade worker: batches of {policy.batch_size}; stop with SIGTERM or Ctrl-C")
        claimed = run_worker(
            deliver,
            batch_size=policy.batch_size,
            interval=lti.grade_worker_interval_seconds if interval is None else interval,
            once=once,
            stop=stop,
            report=lambda report: click.echo(f"grades: {report}"),
        )
    if once and not claimed:
        click.echo("grades: nothing due")
    if not once:
        click.echo("grade worker stopped")


@contextmanager
def _stopped_by_signals(stop: threading.Event, enabled: bool = True) -> Iterator[None]:
    """SIGTERM and SIGINT end the worker after its current row; old handlers come back."""
    previous = {}
    if enabled and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda _signum, _frame: stop.set())
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@grades_group.command("status")
def grades_status() -> None:
    """Print how many scores wait, were delivered or failed, and the latest error."""
    with _db().session_scope() as session:
        counts = queue_counts(session)
    age = counts.oldest_pending_age(utcnow())
    waited = f" (oldest waiting {_duration(age.total_seconds())})" if age is not None else ""
    click.echo(f"pending: {counts.pending}{waited}")
    click.echo(f"delivered: {counts.delivered} (superseded: {counts.superseded})")
    click.echo(f"failed: {counts.failed}")
    if counts.latest_error:
        click.echo(f"latest error (row {counts.latest_error_row}): {counts.latest_error}")


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = [f"{n} {unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0 s"


@grades_group.command("retry")
@click.option("--id", "ids", type=WHOLE_NUMBER, multiple=True, help="Only this row (repeatable).")
def grades_retry(ids: tuple[int, ...]) -> None:
    """Queue failed scores again (after the cause, e.g. a registration, is fixed)."""
    with _db().session_scope() as session:
        count = retry_failed(session, ids)
    click.echo(f"{count} failed score(s) queued again")


@click.group("xapi", cls=AppGroup)
def xapi_group() -> None:
    """xAPI statements: the outbox and its delivery to the learning record stores."""


@xapi_group.command("worker")
@click.option("--once", is_flag=True, help="Deliver one batch per LRS, then stop.")
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=None,
    help="Statements per batch [xapi.batch_size].",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds to wait when nothing is due [xapi.worker_interval_seconds].",
)
def xapi_worker(once: bool, batch: int | None, interval: float | None) -> None:
    """Send queued statements to the LRS targets until stopped (SIGTERM or Ctrl-C)."""
    settings = current_app.extensions["plugin.settings"]
    xapi = settings.xapi
    if not xapi.lrs:
        raise click.ClickException("no LRS configured: add an [[xapi.lrs]] table to the config")
    policy = xapi_delivery.DeliveryPolicy(
        batch_size=batch or xapi.batch_size,
        timeout=xapi.timeout_seconds,
        retry_base_seconds=xapi.retry_base_seconds,
        retry_max_seconds=xapi.retry_max_seconds,
    )
    clients = {target.name: LrsClient(target, xapi.timeout_seconds) for target in xapi.lrs}
    database = _db()
    stop = threading.Event()

    def deliver() -> xapi_delivery.BatchReport:
        return xapi_delivery.deliver_due_statements(database.session_scope, clients, policy)

    try:
        with _stopped_by_signals(stop, enabled=not once):
            if not once:  # announced once the handlers are in place (see the grade worker)
                names = ", ".join(f"{t.name} ({t.endpoint})" for t in xapi.lrs)
                click.echo(
                    f"xapi worker: batches of {policy.batch_size} to {names}; stop with SIGTERM"
                )
            claimed = xapi_delivery.run_worker(
                deliver,
                interval=xapi.worker_interval_seconds if interval is None else interval,
                once=once,
                stop=stop,
                report=lambda report: click.echo(f"xapi: {report}"),
            )
    finally:
        for client in clients.values():
            client.close()
    if once and not claimed:
        click.echo("xapi: nothing due")
    if not once:
        click.echo("xapi worker stopped")


@xapi_group.command("status")
def xapi_status() -> None:
    """Print per LRS how many statements wait, were delivered or quarantined, and the last
    error."""
    targets = current_app.extensions["plugin.settings"].xapi.lrs
    configured = {target.name: target for target in targets}
    with _db().session_scope() as session:
        queues = xapi_delivery.queue_counts(session, list(configured), audience=Audience.operator())
    now = utcnow()
    for counts in queues:
        target = configured.get(counts.target)
        where = target.endpoint if target else "not configured: its statements wait"
        click.echo(f"{counts.target} ({where})")
        age = counts.oldest_pending_age(now)
        waited = f" (oldest waiting {_duration(age.total_seconds())})" if age is not None else ""
        click.echo(f"  pending: {counts.pending}{waited}")
        click.echo(f"  delivered: {counts.delivered}")
        click.echo(f"  quarantined: {counts.quarantined}")
        if counts.last_error:
            click.echo(f"  last error (row {counts.last_error_row}): {counts.last_error}")
    if not queues:
        click.echo("no LRS configured and no statements queued")


@xapi_group.command("retry")
@click.option("--id", "ids", type=WHOLE_NUMBER, multiple=True, help="Only this row (repeatable).")
@click.option("--target", default=None, help="Only the rows of this LRS.")
def xapi_retry(ids: tuple[int, ...], target: str | None) -> None:
    """Queue quarantined statements again (after the cause, e.g. the LRS, is fixed)."""
    with _db().session_scope() as session:
        count = xapi_delivery.retry_quarantined(session, ids, target)
    click.echo(f"{count} quarantined statement(s) queued again")


@xapi_group.command("local-lrs", hidden=True)
def xapi_local_lrs() -> None:
    """Print the credentials file of the development LRS when it is the one configured
    (used by `make run` to start Ralph); print nothing otherwise."""
    settings = current_app.extensions["plugin.settings"]
    if not settings.is_development:
        return
    instance_dir = Path(settings.instance_dir)
    credentials_file = instance_dir / LRS_CREDENTIALS_FILE
    # The default applied only if the file exists (settings wrote it) and the one target is
    # exactly the default: a configured [[xapi.lrs]] is never shadowed by a local Ralph.
    if credentials_file.exists() and settings.xapi.lrs == (development_lrs_target(instance_dir),):
        click.echo(str(credentials_file))


@click.group("token", cls=AppGroup)
def token_group() -> None:
    """Bearer tokens of the JSON API (/api/v1)."""


@token_group.command("create")
@click.option("--name", required=True, help="Who or what the token is for.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="A scope the token grants; repeat for several.",
)
@click.option(
    "--organisation",
    "organisation_key",
    default=None,
    help="The organisation whose data the token reads; without it, the operator's token "
    "reads every organisation's.",
)
def token_create(name: str, scopes: tuple[str, ...], organisation_key: str | None) -> None:
    """Create a token and print it once (only its hash is stored)."""
    try:
        with _db().session_scope() as session:
            organisation = get_organisation(session, organisation_key) if organisation_key else None
            row, token = create_token(session, name, scopes, organisation=organisation)
            token_id, granted = row.id, " ".join(row.scopes)
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"token {token_id} ({name}): {granted}", err=True)
    click.echo("store it now: it is not shown again", err=True)
    click.echo(token)


@token_group.command("list")
def token_list() -> None:
    """List tokens: id, prefix, name, scopes, whose data, created, last used, revoked."""
    with _db().session_scope() as session:
        rows = list_tokens(session)
        keys = {organisation.id: organisation.key for organisation in list_organisations(session)}
        if not rows:
            click.echo("no API tokens (create one: flask --app plugin token create)")
        for row in rows:
            used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
            state = (
                f"revoked {row.revoked_at.isoformat(timespec='seconds')}"
                if row.revoked_at
                else "active"
            )
            reads = (
                f"organisation={keys[row.organisation_id]}"
                if row.organisation_id is not None
                else "operator (every organisation)"
            )
            click.echo(
                f"{row.id}\tdct.{row.prefix}\t{row.name}\t{' '.join(row.scopes)}\t{reads}\t"
                f"created {row.created_at.isoformat(timespec='seconds')}\tused {used}\t{state}"
            )


@token_group.command("revoke")
@click.argument("token_id", type=WHOLE_NUMBER)
def token_revoke(token_id: int) -> None:
    """Revoke the token with id TOKEN_ID (it stops working at once)."""
    try:
        with _db().session_scope() as session:
            row = revoke_token(session, token_id)
            revoked = row.revoked_at
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"token {token_id} revoked at {revoked.isoformat(timespec='seconds')}")


def _settings() -> Any:
    return current_app.extensions["plugin.settings"]


@click.group("rollup", cls=AppGroup)
def rollup_group() -> None:
    """Competency roll-up: attainment per person from evidence."""


@rollup_group.command("recompute")
def rollup_recompute() -> None:
    """Recompute every person's attainment from all evidence; changed levels are stated."""
    settings = _settings()
    changed = 0
    with _db().session_scope() as session:
        framework = _loaded_framework(session)

        def emit(found: list[Any]) -> None:
            # Chunk by chunk (a person's changes all come in one), so memory stays bounded.
            nonlocal changed
            emit_assessed(session, merge_changes(found), framework, settings)
            changed += len(found)

        count = recompute_all(session, framework, rollup_config(settings.rollup), on_chunk=emit)
    click.echo(f"recomputed {count} person(s); {changed} level(s) changed")


@rollup_group.command("show")
@click.option("--issuer", required=True, help="The person's platform issuer.")
@click.option("--sub", required=True, help="The person's LTI sub.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def rollup_show(issuer: str, sub: str, as_json: bool) -> None:
    """Print a person's attainment per item and competency, with the gaps to their target."""
    settings = _settings()
    try:
        with _db().session_scope() as session:
            framework = _loaded_framework(session)
            learner = get_learner(session, issuer, sub)
            report = attainment_report(session, learner, framework, rollup_config(settings.rollup))
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
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


@click.group("evidence", cls=AppGroup)
def evidence_group() -> None:
    """Evidence from CSV imports and from other providers' statements in the LRS."""


@evidence_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def evidence_import(file: Path) -> None:
    """Import raw evidence or completion records from FILE; all or nothing, repeatable."""
    settings = _settings()
    data = file.read_bytes()
    try:
        with _db().session_scope() as session:
            framework = _loaded_framework(session)
            report = import_evidence(session, framework, rollup_config(settings.rollup), data)
            emit_imported(session, report.new, framework, settings)
            changes = merge_changes(report.changes)
            emit_assessed(session, changes, framework, settings)
    except EvidenceFileInvalid as exc:
        lines = [f"{file}: refused, nothing imported:"]
        lines.extend(f"  {problem}" for problem in exc.problems)
        raise click.ClickException("\n".join(lines)) from None
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"{file}: {report.rows} row(s), {len(report.new)} new, "
        f"{report.rows - len(report.new)} unchanged; {len(changes)} level(s) changed"
    )


@evidence_group.command("pull")
@click.option("--target", default=None, help="The [[xapi.lrs]] to read (default: the first).")
def evidence_pull(target: str | None) -> None:
    """Read other providers' statements from the LRS since the saved cursor."""
    settings = _settings()
    targets = {t.name: t for t in settings.xapi.lrs}
    if not targets:
        raise click.ClickException("no LRS configured: add an [[xapi.lrs]] table to the config")
    name = target or settings.xapi.lrs[0].name
    if name not in targets:
        raise click.ClickException(f"no [[xapi.lrs]] named {name!r}")
    try:
        with _db().session_scope() as session:
            framework = _loaded_framework(session)
            report = pull_evidence(
                session, framework, rollup_config(settings.rollup), targets[name],
                iri_base=settings.framework.iri_base, timeout=settings.xapi.timeout_seconds,
            )  # fmt: skip
            emit_pulled(session, report.new, framework, settings)
            changes = merge_changes(report.changes)
            emit_assessed(session, changes, framework, settings)
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"{name}: read {report.read} statement(s), {len(report.new)} new evidence "
        f"statement(s); {len(changes)} level(s) changed; cursor {report.cursor or '-'}"
    )


@click.group("person", cls=AppGroup)
def person_group() -> None:
    """People of the roll-up: linked identities and grades."""


@person_group.command("link")
@click.option("--issuer", required=True)
@click.option("--sub", required=True)
@click.option("--key", "link_key", required=True, help="E.g. the employee number.")
def person_link(issuer: str, sub: str, link_key: str) -> None:
    """Link an identity to the person holding KEY (merging their evidence)."""
    settings = _settings()
    try:
        with _db().session_scope() as session:
            framework = _loaded_framework(session)
            learner, changes = link_learner(
                session, learner_for(session, issuer, sub), link_key, framework,
                rollup_config(settings.rollup), linked_by="admin",
            )  # fmt: skip
            emit_assessed(session, changes, framework, settings)
            count = len(learner.identities)
            person = learner.id
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"person {person}: {count} identit(ies) under key {link_key}")


@person_group.command("grade")
@click.option("--issuer", required=True)
@click.option("--sub", required=True)
@click.option("--grade", required=True, help="junior, intermediate, senior, supervisor or 委任…")
def person_grade(issuer: str, sub: str, grade: str) -> None:
    """Set a person's grade (an administrator's word outranks launches and CSVs)."""
    try:
        with _db().session_scope() as session:
            framework = _loaded_framework(session)
            learner = learner_for(session, issuer, sub)
            set_grade(session, learner, framework, grade, "admin")
            key = learner.grade
    except PluginError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{issuer} {sub}: grade {key}")


PERSON_HEADER = ("person_issuer", "person_sub", "link_key", "grade")


@person_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def person_import(file: Path) -> None:
    """Import personnel data (person_issuer,person_sub,link_key,grade); all or nothing."""
    settings = _settings()
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
        with _db().session_scope() as session:
            framework = _loaded_framework(session)
            config = rollup_config(settings.rollup)
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
                            session, learner, link_key, framework, config, linked_by="csv"
                        )
                        emit_assessed(session, changes, framework, settings)
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


def init_app(app: Flask) -> None:
    """Register the command groups."""
    for group in (
        db_group,
        framework_group,
        catalog_group,
        platform_group,
        organisation_group,
        deployment_group,
        keys_group,
        grades_group,
        xapi_group,
        token_group,
        rollup_group,
        evidence_group,
        person_group,
        audit_group,
        purge_command,
    ):
        app.cli.add_command(group)
    person_group.add_command(person_export)
    person_group.add_command(person_erase)
