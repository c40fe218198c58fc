"""``python -m jaxdl.bench``: see ``jaxdl.bench._main``."""

import sys

from jaxdl.bench._main import main

if __name__ == "__main__":
    main(sys.argv[1:])
