"""A transaction per block over a session maker, as the workers' own session scope runs one."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial

from sqlalchemy.orm import Session

from plugin.core.db import transaction


def scope_of(sessions: Callable[[], Session]) -> Callable[[], AbstractContextManager[Session]]:
    """A session scope over ``sessions``: commit on success, roll back on error, then close."""
    return partial(transaction, sessions)
