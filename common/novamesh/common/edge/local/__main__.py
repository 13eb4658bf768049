import sys

from novamesh.common.edge.local.cli import main

sys.exit(main())
