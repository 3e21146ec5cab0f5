"""The Python example adapter (examples/python/pool_adapter.py) with a change report that breaks
the `changes` contract: it offers `changes`, but its reports leave out the parents whose Reserved
moved when a child took, changed or gave back its holdings — the mistake of tracking only the
pool a call names. Its full snapshots stay right. Arguments are the example's (`--bug NAME`).

tests/adapter.rs checks that poolcheck notices (the run report names a `changes_breach`) and
still finds the example's injected bug with full snapshots.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "python"))

import pool_adapter  # noqa: E402


def forget_the_parents(host, pool, grants_before):
    """Reserved of the parents moved, but the report will not say so."""


pool_adapter.Host.holdings_changed = forget_the_parents

if __name__ == "__main__":
    pool_adapter.main()
