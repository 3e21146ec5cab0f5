"""Works, then exits with status 3 in the middle of the second method call it receives."""
import sys

import fake


def crash(request, n):
    if n == 2:
        fake.log("crashing on purpose during %s" % request["method"])
        sys.exit(3)


fake.serve(crash)
