#!/usr/bin/env python3
"""The trivial peer of benches/adapter.rs: the physical limit of poolcheck's process boundary.

    python3 echo_peer.py --bare   parse every request line and answer it at once with
                                  {"id": N, "ok": {}} (no hello): a bare JSON-lines round trip
    python3 echo_peer.py          a trivial adapter (spec/adapter-protocol.md): a hello with the
                                  built-in reference-msvm profile, `reset` answered at once,
                                  `snapshot` with the fixture's primordial pools (built once per
                                  reset), and every method with `unsupported` — so that poolcheck
                                  runs its whole suite through it while the peer does no work

Both parse each request with json.loads, as any adapter must; neither does anything else.
Standard library only.
"""

import json
import sys


def primordial_pools(fixture):
    pools = []
    for index, t in enumerate(fixture["resource_types"]):
        own = t.get("host_resources", [])
        pools.append({
            "path": '\\\\%s\\root\\virtualization\\v2:Msvm_ResourcePool.InstanceID="echo-%d"'
                    % (fixture["host_name"], index),
            "pool_id": "", "element_name": "Primordial", "resource_type": t["resource_type"],
            "resource_subtype": t["resource_subtype"], "primordial": True,
            "capacity": t.get("capacity", 0) if t["kind"] == "quantity" else len(own),
            "reserved": 0, "host_resources": own, "allocations": []})
    return pools


def bare(out):
    for line in sys.stdin:
        request = json.loads(line)
        out.write('{"id":%d,"ok":{}}\n' % request["id"])
        out.flush()


def adapter(out):
    out.write(json.dumps({"protocol": "poolcheck-adapter/1", "hello": {
        "name": "echo-peer", "version": "1", "dialect": "Msvm",
        "profile": {"builtin": "reference-msvm"}}}) + "\n")
    out.flush()
    snapshot = '{"pools":[]}'
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "reset":
            snapshot = json.dumps({"pools": primordial_pools(request["fixture"])})
            body = '"ok":{}'
        elif op == "snapshot":
            body = '"ok":' + snapshot
        else:
            body = '"unsupported":"echo peer"'
        out.write('{"id":%d,%s}\n' % (request["id"], body))
        out.flush()


if __name__ == "__main__":
    (bare if sys.argv[1:] == ["--bare"] else adapter)(sys.stdout)
