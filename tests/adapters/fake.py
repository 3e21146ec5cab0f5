"""The skeleton of poolcheck's misbehaving test adapters (tests/adapter.rs).

It speaks poolcheck-adapter/1 just well enough to get a run going: a hello line declaring the
built-in reference-msvm profile, `reset` and `snapshot` answered like a host that has only its
primordial pools, and every method answered `unsupported` (the harness skips such steps). Each
script beside it breaks exactly one thing through the `on_invoke` hook or by not calling
`serve` at all. Every script logs its pid to stderr first, so that the tests can check, from
the stderr tail in poolcheck's message, that the process was reaped.
"""

import json
import os
import sys


def log(message):
    print(message, file=sys.stderr, flush=True)


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def hello(protocol="poolcheck-adapter/1", features=()):
    log("pid=%d" % os.getpid())
    greeting = {"name": os.path.basename(sys.argv[0]), "version": "0", "dialect": "Msvm",
                "profile": {"builtin": "reference-msvm"}}
    if features:
        greeting["features"] = list(features)
    send({"protocol": protocol, "hello": greeting})


def primordial_pools(fixture):
    pools = []
    for index, t in enumerate(fixture["resource_types"]):
        own = t.get("host_resources", [])
        pools.append({
            "path": '\\\\%s\\root\\virtualization\\v2:Msvm_ResourcePool.InstanceID="fake-%d"'
                    % (fixture["host_name"], index),
            "pool_id": "", "element_name": "Primordial", "resource_type": t["resource_type"],
            "resource_subtype": t["resource_subtype"], "primordial": True,
            "capacity": t.get("capacity", 0) if t["kind"] == "quantity" else len(own),
            "reserved": 0, "host_resources": own, "allocations": []})
    return pools


def serve(on_invoke=None, on_other=None, features=()):
    """Answer requests until stdin closes. `on_invoke(request, n)` (n counts the invokes of
    this process from 1) may misbehave, or return the response body to send (an "id" in it
    replaces the request's), or None for the default answer. `on_other(request)` does the
    same for requests other than reset, snapshot and invoke; `features` go into the hello."""
    hello(features=features)
    pools = []
    invokes = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        body = {"unsupported": "this test adapter implements no method"}
        if request["op"] == "reset":
            pools = primordial_pools(request["fixture"])
            body = {"ok": {}}
        elif request["op"] == "snapshot":
            body = {"ok": {"pools": pools}}
        elif request["op"] == "invoke":
            invokes += 1
            if on_invoke is not None:
                body = on_invoke(request, invokes) or body
        elif on_other is not None:
            body = on_other(request) or body
        response = {"id": request["id"]}
        response.update(body)
        send(response)
