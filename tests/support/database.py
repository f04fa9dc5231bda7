"""A transaction per block over a session maker, as the workers' own session scope runs one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy.orm import Session


def scope_of(sessions: Callable[[], Session]) -> Callable[[], AbstractContextManager[Session]]:
    """A session scope over ``sessions``: commit on success, roll back on error, then close."""

    @contextmanager
    def scope() -> Iterator[Session]:
        session = sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    return scope
