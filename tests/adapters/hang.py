"""Works, then never answers its first method call (poolcheck's per-call timeout must fire)."""
import time

import fake


def hang(request, n):
    fake.log("hanging on purpose during %s" % request["method"])
    while True:
        time.sleep(3600)


fake.serve(hang)
