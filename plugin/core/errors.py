"""The one error hierarchy of the tool, raised low and turned into responses by ``web``."""

from __future__ import annotations

from collections.abc import Sequence


def N_(text: str) -> str:
    """Mark ``text`` for the translation catalog; return it unchanged. The domain packages
    write fixed English messages and the web layer shows them in the page's language."""
    return text


class PluginError(Exception):
    """Base of every error the tool raises on purpose.

    ``code`` is stable (logs, pages and API clients may rely on it); ``status`` is the HTTP
    status a web layer answers with; ``field`` names the input at fault, when there is one.
    """

    code = "plugin_error"
    status = 500

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        """The error as a JSON-ready mapping."""
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class ConfigError(PluginError):
    """The configuration is unusable; start-up stops."""

    code = "config_invalid"


class InvalidInput(PluginError):
    """Input from a user, file or peer was refused.

    ``faults`` lists every fault found as (field path, message), so that a form can mark all
    of them at once; a refusal with one fault lists that one.
    """

    code = "invalid_input"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        faults: list[tuple[str, str]] | None = None,
    ):
        super().__init__(message, field=field, code=code)
        self.faults = faults if faults else [(field or "", message)]


class FileInvalid(InvalidInput):
    """A file was refused, nothing of it kept; ``problems`` lists every fault found, and the
    message names the first and how many more there are."""

    def __init__(self, problems: Sequence[object], *, field: str):
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}", field=field)
        self.problems = problems


class NotFound(PluginError):
    """The thing asked for does not exist."""

    code = "not_found"
    status = 404


class Forbidden(PluginError):
    """The caller may not do this."""

    code = "forbidden"
    status = 403
