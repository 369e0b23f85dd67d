from crocevia_common.db import run_migrations_online
from crocevia_witness.adapters.tables import metadata

run_migrations_online(metadata)
