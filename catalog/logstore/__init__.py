"""Where the catalog keeps what must not be lost: the event log, the governance log and the API keys,
plus what replicas must agree on (the projector lease, the audit lock and progress, rate limits).

One interface (:mod:`catalog.logstore.base`), one module per backend:

* :mod:`catalog.logstore.sqlite_backend`: SQLite files in the data directory, one process (the default);
* :mod:`catalog.logstore.postgres_backend`: one PostgreSQL database shared by any number of replicas.

``catalog.logstore.logs.open_logs`` picks the backend from ``--database`` / ``CATALOG_DATABASE_URL``.
"""
