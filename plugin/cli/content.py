"""``flask --app plugin content …``: SCORM packages as modules."""

from __future__ import annotations

from pathlib import Path

import click

from plugin.cli.common import EXISTING_FILE, PluginGroup, db, loaded_framework, settings
from plugin.competencies.modules import get_module
from plugin.content.services import (
    import_as_new_module,
    import_package,
    limits_for,
    storage_for,
)
from plugin.organisations.services import default_organisation, get_organisation

content_group = PluginGroup(
    "content", help="SCORM packages: import a package as a module or as a new version of one."
)


@content_group.command("import")
@click.argument("package", type=EXISTING_FILE)
@click.option("--module", "module_key", default=None, help="Add a version to this module.")
@click.option(
    "--organisation",
    "organisation_key",
    default=None,
    help="Without --module: the organisation of the new module (default: the default one).",
)
def content_import(package: Path, module_key: str | None, organisation_key: str | None) -> None:
    """Import the SCORM zip PACKAGE; without --module, a new module titled from its manifest."""
    content = settings().content
    storage, limits = storage_for(content), limits_for(content)
    with db().session_scope() as session:
        if module_key is not None:
            if organisation_key is not None:
                raise click.UsageError("--organisation applies only without --module")
            module = get_module(session, module_key)
            version = import_package(session, storage, limits, module, package, package.name)
        else:
            organisation = (
                get_organisation(session, organisation_key)
                if organisation_key
                else default_organisation(session)
            )
            version = import_as_new_module(
                session,
                storage,
                limits,
                package,
                package.name,
                framework=loaded_framework(session),
                iri_base=settings().framework.iri_base,
                organisation_id=organisation.id,
            )
            module = version.module
        scos = len(version.scos)
        line = (
            f"{module.key}\tversion {version.number}\tSCORM {version.scorm_version}\t"
            f"{scos} SCO(s)\t{version.title}"
        )
    click.echo(line)
