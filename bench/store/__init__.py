"""Results store: every run record in a database (SQLite locally, PostgreSQL when shared).

* :mod:`bench.store.schema` -- the tables (SQLAlchemy Core);
* :mod:`bench.store.migrations` -- Alembic migrations, run programmatically on open;
* :mod:`bench.store.store` -- :class:`ResultStore`, the only code that talks SQL;
* :mod:`bench.store.sync` -- local-first publishing and the outbox for ``isobench sync``.
"""

from __future__ import annotations

from bench.store.store import (
    AddResult,
    ResultStore,
    RunConflict,
    RunData,
    StoreConflict,
    StoreError,
    StoreNotFound,
    StoreUnavailable,
    data_dir,
    default_url,
    local_url,
    mask_url,
)

__all__ = [
    "AddResult",
    "ResultStore",
    "RunConflict",
    "RunData",
    "StoreConflict",
    "StoreError",
    "StoreNotFound",
    "StoreUnavailable",
    "data_dir",
    "default_url",
    "local_url",
    "mask_url",
]
