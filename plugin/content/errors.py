"""Why a package was refused: a stable code, the values it names and an English message.

The web layer turns ``code`` and ``params`` into the page's language; the CLI prints the
English message. Every refusal says what was found, so a designer knows what to fix.
"""

from __future__ import annotations

from plugin.core.errors import InvalidInput


class PackageRefused(InvalidInput):
    """An uploaded package (or its manifest) that the tool does not store."""

    def __init__(self, code: str, message: str, **params: str | int) -> None:
        super().__init__(message, field="package", code=code)
        self.params = params
