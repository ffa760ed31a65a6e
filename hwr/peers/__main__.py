"""``python -m hwr.peers``: run the comparison (:mod:`hwr.peers.compare`)."""

import sys

from hwr.peers.compare import main

sys.exit(main())
