"""What every command group shares: the group class, the database, settings, option types."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from plugin import app_state
from plugin.competencies.framework import get_framework
from plugin.competencies.models import Framework
from plugin.core.config import Settings
from plugin.core.db import Database
from plugin.core.errors import PluginError
from plugin.core.numbers import is_ascii_int

NO_FRAMEWORK = "no framework loaded (run: flask --app plugin framework load)"


class PluginGroup(AppGroup):
    """A command group whose commands end a refused operation with its message, not a
    traceback: a :class:`PluginError` becomes a :class:`click.ClickException`."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; a PluginError it raises is printed as ``Error: message``."""
        try:
            return super().invoke(ctx)
        except PluginError as exc:
            raise click.ClickException(exc.message) from None


class WholeNumber(click.ParamType[int]):
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

# A file argument that must name an existing file, handed to the command as a Path.
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def db() -> Database:
    """The application's database."""
    return app_state.database()


def settings() -> Settings:
    """The application's settings."""
    return app_state.settings()


def loaded_framework(session: Session) -> Framework:
    """The loaded framework, or a refusal telling the operator to load one."""
    framework = get_framework(session)
    if framework is None:
        raise click.ClickException(NO_FRAMEWORK)
    return framework


@contextmanager
def framework_scope() -> Iterator[tuple[Session, Framework]]:
    """A session and the loaded framework; committed when the block ends without error."""
    with db().session_scope() as session:
        yield session, loaded_framework(session)


def file_refused(file: Path, problems: Sequence[object]) -> click.ClickException:
    """An import that wrote nothing, with every problem of the file, one a line."""
    lines = [f"{file}: refused, nothing imported:"]
    lines.extend(f"  {problem}" for problem in problems)
    return click.ClickException("\n".join(lines))
