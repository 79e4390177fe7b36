"""netwatch's one SQLite database: alert state, incident history, the outbox, webhook log.

Each area keeps its tables in its own module here and registers their DDL with
`register_schema`; `open_store` creates whatever is missing.
"""

from netwatch.store.db import Store, StoreOpenError, claim_store, open_store, register_schema

__all__ = ["Store", "StoreOpenError", "claim_store", "open_store", "register_schema"]
