"""``flask --app plugin …`` commands, one module per command group; :func:`init_app`
registers them all."""

from __future__ import annotations

from flask import Flask

from plugin.cli.catalog import catalog_group
from plugin.cli.content import content_group
from plugin.cli.db import db_group
from plugin.cli.evidence import evidence_group
from plugin.cli.framework import framework_group
from plugin.cli.grades import grades_group
from plugin.cli.keys import keys_group
from plugin.cli.organisation import organisation_group
from plugin.cli.person import person_group
from plugin.cli.platform import deployment_group, platform_group
from plugin.cli.privacy import audit_group, person_erase, person_export, purge_command
from plugin.cli.rollup import rollup_group
from plugin.cli.token import token_group
from plugin.cli.xapi import xapi_group


def init_app(app: Flask) -> None:
    """Register the command groups."""
    for group in (
        db_group,
        framework_group,
        catalog_group,
        content_group,
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
