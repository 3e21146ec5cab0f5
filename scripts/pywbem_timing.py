#!/usr/bin/env python3
"""Times pywbem's parser on embedded-instance files: the reference point of benches/codec.rs.

  python3 scripts/pywbem_timing.py [--seconds S] FILE...

For each FILE (one CIM-XML INSTANCE), measures what a pywbem user pays to turn the string
into a CIMInstance with typed values: TupleParser().parse_embeddedObject(text), the function
pywbem itself applies to embedded instances it receives. Timing is done inside Python with
time.perf_counter over many iterations, so interpreter start-up and imports are excluded:
the iteration count is chosen so that one batch takes about S/11 seconds (default S = 2),
eleven batches run, and the fastest batch gives the time per decode (on a shared machine the
fastest batch is the one least disturbed by other processes, as in benches/codec.rs). Prints one JSON object
per file: {"file", "bytes", "iterations", "ns_per_decode", "pywbem_version", "python"}.
Exit status 1 when pywbem cannot be imported.
"""

import json
import os
import platform
import sys
import time
import warnings

try:
    import pywbem
    from pywbem._tupleparse import TupleParser
except ImportError as exc:
    print(f"pywbem not importable: {exc}")
    sys.exit(1)


def time_file(path, seconds):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    parse = TupleParser().parse_embeddedObject
    parse(text)  # warm-up, and a check that it parses at all
    iterations, elapsed = 1, 0.0
    while elapsed < seconds / 25:
        iterations *= 2
        start = time.perf_counter()
        for _ in range(iterations):
            parse(text)
        elapsed = time.perf_counter() - start
    per_batch = max(1, int(iterations * (seconds / 11) / elapsed))
    batches = []
    for _ in range(11):
        start = time.perf_counter()
        for _ in range(per_batch):
            parse(text)
        batches.append((time.perf_counter() - start) / per_batch)
    return {
        "file": os.path.basename(path),
        "bytes": len(text.encode("utf-8")),
        "iterations": per_batch * 11,
        "ns_per_decode": min(batches) * 1e9,
        "pywbem_version": pywbem.__version__,
        "python": platform.python_version(),
    }


def main(argv):
    warnings.simplefilter("ignore")
    args = argv[1:]
    seconds = 2.0
    if len(args) >= 2 and args[0] == "--seconds":
        seconds = float(args[1])
        args = args[2:]
    if not args:
        print(__doc__)
        return 2
    for path in args:
        print(json.dumps(time_file(path, seconds)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
