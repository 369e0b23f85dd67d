from crocevia_audit.adapters.tables import metadata
from crocevia_common.db import run_migrations_online

run_migrations_online(metadata)
