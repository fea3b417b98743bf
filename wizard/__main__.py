"""``python -m wizard`` is the same as the ``amocrm-wizard`` command."""

import sys

from wizard.cli import main

sys.exit(main())
