"""``python -m cnncourse.instructor``: see :mod:`cnncourse.instructor.cli`."""
import sys

from cnncourse.instructor.cli import main

if __name__ == "__main__":
    sys.exit(main())
