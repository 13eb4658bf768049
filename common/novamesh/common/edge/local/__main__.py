import sys

from novamesh.common.edge.local.cli import main

try:
    sys.exit(main())
except BrokenPipeError:  # `make status | head`
    sys.exit(0)
