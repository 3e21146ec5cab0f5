#!/usr/bin/env python3
"""The trivial peer of benches/adapter.rs: the physical limit of poolcheck's process boundary.

    python3 echo_peer.py --bare   parse every request line and answer it at once with
                                  {"id": N, "ok": {}} (no hello): a bare JSON-lines round trip
    python3 echo_peer.py          a trivial adapter (spec/adapter-protocol.md): a hello with the
                                  built-in reference-msvm profile, `reset` answered at once,
                                  `snapshot` with the fixture's primordial pools, and every method
                                  with `unsupported` — so that poolcheck runs its whole suite
                                  through it while the peer does no work

Both parse each request with json.loads, as any adapter must; neither does anything else. The
snapshot answer is a pure function of the fixture: it is built once per distinct fixture (the
suite resets to the same host before every sequence) and kept, keyed by the fixture's text in
the request line — the same answer, without rebuilding it at every reset. The peer does not
offer the optional `changes` request: the suite takes no snapshot after a step that was not
applicable, so `changes` would replace no snapshot here, only add a call per sequence.
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
    snapshots = {}
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "invoke":
            out.write('{"id":%d,"unsupported":"echo peer"}\n' % request["id"])
        elif op == "reset":
            # The fixture is the rest of the line after "fixture" (serialised by poolcheck);
            # equal text, equal fixture, equal primordial pools.
            key = line[line.find('"fixture"'):]
            snapshot = snapshots.get(key)
            if snapshot is None:
                snapshot = json.dumps({"pools": primordial_pools(request["fixture"])})
                snapshots[key] = snapshot
            out.write('{"id":%d,"ok":{}}\n' % request["id"])
        elif op == "snapshot":
            out.write('{"id":%d,"ok":%s}\n' % (request["id"], snapshot))
        else:
            out.write('{"id":%d,"unsupported":"echo peer"}\n' % request["id"])
        out.flush()


if __name__ == "__main__":
    (bare if sys.argv[1:] == ["--bare"] else adapter)(sys.stdout)
