from novamesh.cells.db.models import Base
from novamesh.common.db import run_alembic_env

run_alembic_env(Base.metadata)
