from novamesh.common.db import run_alembic_env
from novamesh.placement.db.models import Base

run_alembic_env(Base.metadata)
