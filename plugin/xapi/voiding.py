"""Voiding statements (xAPI 1.0.3 §2.4.8; Data §2.2 voided): how an erasure takes back what
the tool told an LRS about a person.

The actor is the tool itself (the account it names as authority elsewhere), never the
learner: a voiding statement must not identify the person beyond the opaque statement id it
points at (docs/ARCHITECTURE.md §10).
"""

from __future__ import annotations

import uuid
from typing import Any

from plugin.xapi.assessment import authority
from plugin.xapi.statements import format_timestamp, timestamp_now
from plugin.xapi.vocabulary import VOIDED

# The account name the tool acts under when it voids (beside evidence-import/evidence-pull).
ERASURE_AUTHORITY = "personal-data-erasure"


def voiding_statement(statement_id: str, base_url: str) -> dict[str, Any]:
    """A statement voiding ``statement_id``, made by the tool at ``base_url``."""
    return {
        "id": str(uuid.uuid4()),
        "actor": authority(base_url, ERASURE_AUTHORITY),
        "verb": {"id": VOIDED, "display": {"en-US": "voided", "zh-TW": "撤銷"}},
        "object": {"objectType": "StatementRef", "id": statement_id},
        "timestamp": format_timestamp(timestamp_now()),
    }
