"""Who is looking: the reach of one launch or API token over people, modules and queues.

One value, built once per request from the launch (or the API token) and handed to every
service that reads people or modules, so that each page, export and endpoint applies the same
rule:

- the operator (the CLI, an API token of no organisation) reaches everything;
- an organisation's administrator, and an organisation's API token, reach the people who
  launched through any of the organisation's registrations, and its modules;
- a course designer reaches the people of their own registration only (one issuer may stand
  for many institutions: Canvas cloud), and the organisation's modules;
- every organisation reads and places the national catalog (modules of no organisation);
  none edits it from a launch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Audience:
    """The reach of one viewer; build it with :meth:`operator`, :meth:`organisation` or
    :meth:`registration`, never with defaults (a forgotten scope must not mean "all")."""

    organisation_id: int | None
    registration_id: int | None

    @classmethod
    def operator(cls) -> Audience:
        """The operator: every organisation's people, modules and queues."""
        return cls(organisation_id=None, registration_id=None)

    @classmethod
    def organisation(cls, organisation_id: int) -> Audience:
        """An organisation's administrator or API token: its people and modules."""
        return cls(organisation_id=organisation_id, registration_id=None)

    @classmethod
    def registration(cls, organisation_id: int, registration_id: int) -> Audience:
        """A course designer: the people of one registration, the organisation's modules."""
        return cls(organisation_id=organisation_id, registration_id=registration_id)

    @property
    def is_operator(self) -> bool:
        """True when nothing is out of reach."""
        return self.organisation_id is None

    def owns(self, organisation_id: int | None) -> bool:
        """True when something of ``organisation_id`` is this audience's own to change.

        The national catalog (None) is nobody's: only the operator changes it.
        """
        return self.is_operator or (
            organisation_id is not None and organisation_id == self.organisation_id
        )

    def reads(self, organisation_id: int | None) -> bool:
        """True when a module of ``organisation_id`` is visible: own or national."""
        return organisation_id is None or self.owns(organisation_id)
