"""Alembic environment: gsetup always hands alembic an open connection."""

from __future__ import annotations

from alembic import context

from gsetup.configdb.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - gsetup always passes one
    raise RuntimeError("gsetup migrations run through gsetup.configdb.database.migrate")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
