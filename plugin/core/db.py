"""Database base class, engine and sessions (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, MetaData, create_engine, event, text
from sqlalchemy.engine import CursorResult, Engine, Result, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, MappedColumn, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

# Named constraints so Alembic can alter and drop them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model; tables are plural and package-prefixed."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def affected_rows(result: Result[Any]) -> int:
    """How many rows the UPDATE or DELETE that answered ``result`` touched."""
    # Session.execute is typed as returning a Result; for DML it is a CursorResult.
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return result.rowcount


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Refuse naive datetimes and store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Return aware UTC datetimes whatever the backend kept."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def foreign_key(table: str, *, ondelete: str) -> MappedColumn[Any]:
    """An indexed column holding the id of a row of ``table``; ``ondelete`` is what the
    database does to this row when that one is deleted (CASCADE, SET NULL or RESTRICT)."""
    return mapped_column(ForeignKey(f"{table}.id", ondelete=ondelete), index=True)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_db_engine(url: str, *, echo: bool = False, pool_size: int = 5) -> Engine:
    """An engine for ``url`` with the per-backend settings the tool relies on."""
    url = normalise_url(url)
    options: dict[str, Any] = {"echo": echo, "future": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    else:
        options["pool_size"] = pool_size
        options["pool_pre_ping"] = True
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Enforce foreign keys and let readers work beside one writer (WAL)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def transaction(sessions: Callable[[], Session]) -> Iterator[Session]:
    """A session from ``sessions`` that commits on success, rolls back on error, then closes."""
    session = sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class Database:
    """The engine and session factory of one app, kept in ``app.extensions``."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 5):
        self.engine = create_db_engine(url, echo=echo, pool_size=pool_size)
        self.sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    def session_scope(self) -> AbstractContextManager[Session]:
        """A session that commits on success and rolls back on error (CLI, workers)."""
        return transaction(self.sessions)

    def is_reachable(self) -> bool:
        """True when a trivial query succeeds."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
