"""Every command group of ``flask --app plugin`` ends a refused operation with its message."""

from __future__ import annotations

import click
from flask import Flask

from plugin.cli.common import PluginGroup
from plugin.core.errors import NotFound


def test_every_registered_command_group_is_a_plugin_group(app: Flask) -> None:
    groups = [command for command in app.cli.commands.values() if isinstance(command, click.Group)]
    assert len(groups) == 15
    assert [group.name for group in groups if not isinstance(group, PluginGroup)] == []


def test_a_plugin_error_in_a_command_is_printed_as_its_message_not_a_traceback(
    app: Flask,
) -> None:
    @click.group("probe", cls=PluginGroup)
    def probe() -> None:
        """A group for this test."""

    @probe.command("fail")
    def fail() -> None:
        raise NotFound("no organisation with the key 'x'")

    app.cli.add_command(probe)
    result = app.test_cli_runner().invoke(args=["probe", "fail"])
    assert result.exit_code == 1
    assert result.output == "Error: no organisation with the key 'x'\n"
    assert "Traceback" not in result.output
