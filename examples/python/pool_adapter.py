#!/usr/bin/env python3
"""An Msvm_ResourcePoolConfigurationService written in Python, behind poolcheck's adapter protocol.

Run it under poolcheck:

    poolcheck run --target exec:'python3 examples/python/pool_adapter.py'

It speaks poolcheck-adapter/1 (spec/adapter-protocol.md): one JSON object per line on stdin and
stdout, logs on stderr. It is a small but complete in-memory implementation of the four Msvm pool
methods (CreatePool, ModifyPoolResources, ModifyPoolSettings, DeletePool), written from the
specification in spec/ and independent of poolcheck's Rust code:

  * its own parsers for embedded instances, CIM-XML (on top of xml.etree, with DTDs refused before
    parsing) and MOF (a small hand-written tokenizer and parser), with CIM type checks;
  * its own store: pools keyed by object path, each child holding a list of grants (what it draws
    from each parent); Capacity and Reserved are computed from the grants when asked;
  * its own jobs: CreatePool, ModifyPoolResources and DeletePool answer 4096 after checking their
    parameters, and do (or refuse) the work on the second poll of their Msvm_ConcreteJob;
  * malformed calls (a missing, repeated, unknown or mistyped parameter) are refused the way a
    WBEM stack refuses them: with CIM status 4, CIM_ERR_INVALID_PARAMETER;
  * change tracking: it offers the optional `changes` request in its hello line and answers it
    with the pools whose view changed since the last reset, snapshot or changes (a pool it
    created, modified or renamed, and every parent whose Reserved moved with it) and the paths
    it removed, so that poolcheck checks each step without a full snapshot. --no-changes turns
    the offer off (poolcheck then asks for a full snapshot after every step).

Its claims are in pool_adapter.toml beside it, which it sends in its hello line.

--bug NAME injects one realistic defect, so that the suite visibly fails with the right rule:
  off-by-one     an allocation of exactly the parent's free capacity is refused (CAP-005)
  leak-on-delete deleting a pool does not give its reservation back to its parents (CAP-002)
  no-qualifiers  CIM-XML with qualifiers (WMI's GetText(2) shape) is refused: a parser written
                 against GetText(1) output only (EMB-004)

Standard library only; Python 3.8 or later.
"""

import argparse
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

PROTOCOL = "poolcheck-adapter/1"
NAME = "python-example-pool-service"
VERSION = "1.0.0"

# Msvm_ResourcePoolConfigurationService return values.
COMPLETED = 0
JOB_STARTED = 4096
NOT_SUPPORTED = 32770
INVALID_PARAMETER = 32773
IN_USE = 32774
INVALID_STATE = 32775
INCORRECT_RESOURCE_TYPE = 32776
INSUFFICIENT_RESOURCES = 32780
OBJECT_NOT_FOUND = 32781
OBJECT_EXISTS = 32788

# The --bug defects injected (see the module docstring).
BUGS = set()

# CIM status codes (DSP0200) for calls refused before the method runs.
CIM_ERR_INVALID_PARAMETER = 4

# CIM_ConcreteJob.JobState and Msvm_ConcreteJob.JobType.
JOB_RUNNING = 4
JOB_COMPLETED = 7
JOB_EXCEPTION = 10
JOB_TYPES = {"CreatePool": 150, "ModifyPoolResources": 151, "ModifyPoolSettings": 152, "DeletePool": 153}

# What this service supports per resource subtype (the same claims as pool_adapter.toml).
SHARED_CAPACITY = {"Microsoft:Hyper-V:Memory"}
MAX_PARENT_POOLS = {"Microsoft:Hyper-V:FibreChannel Connection": 1}
# Methods that do their work in a job.
JOB_METHODS = {"CreatePool", "ModifyPoolResources", "DeletePool"}

SIGNATURES = {
    "CreatePool": [("PoolSettings", "string"), ("ParentPools", "reference_array"),
                   ("AllocationSettings", "string_array")],
    "ModifyPoolResources": [("ChildPool", "reference"), ("ParentPools", "reference_array"),
                            ("AllocationSettings", "string_array")],
    "ModifyPoolSettings": [("ChildPool", "reference"), ("PoolSettings", "string")],
    "DeletePool": [("Pool", "reference")],
}

POOL_SETTING_CLASSES = {"msvm_resourcepoolsettingdata", "cim_resourcepoolsettingdata"}
MAX_INSTANCE_BYTES = 64 * 1024


def log(*parts):
    print("pool_adapter:", *parts, file=sys.stderr, flush=True)


class Refused(Exception):
    """A refusal with a return code. `state` marks refusals that depend on the pools (a job
    method reports those through its job); the others are parameter errors, refused at once."""

    def __init__(self, code, message, state=False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.state = state


class BadCall(Exception):
    """A call whose parameters do not fit the method's signature."""


# --------------------------------------------------------------------------------------------
# Embedded instances
# --------------------------------------------------------------------------------------------

INTEGER_RANGES = {
    "uint8": (0, 2**8 - 1), "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1), "sint8": (-2**7, 2**7 - 1), "sint16": (-2**15, 2**15 - 1),
    "sint32": (-2**31, 2**31 - 1), "sint64": (-2**63, 2**63 - 1),
}

# The properties this service reads, with their CIM types.
SCHEMA = {
    "poolid": "string", "resourcesubtype": "string", "elementname": "string",
    "resourcetype": "uint16", "reservation": "uint64", "limit": "uint64",
    "hostresource": "string[]",
}


class Instance:
    def __init__(self, class_name):
        self.class_name = class_name
        self.values = {}  # lower-case property name -> None | str | int | bool | list

    def set(self, name, value):
        key = name.lower()
        if key in self.values:
            raise Refused(INVALID_PARAMETER, "property %s appears twice" % name)
        self.values[key] = value

    def get(self, name):
        return self.values.get(name.lower())


def parse_integer(text, cim_type, name):
    text = text.strip()
    try:
        value = int(text, 16) if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", text) else int(text, 10)
    except ValueError:
        raise Refused(INVALID_PARAMETER, "%s: %r is not a %s" % (name, text, cim_type))
    low, high = INTEGER_RANGES[cim_type]
    if not low <= value <= high:
        raise Refused(INVALID_PARAMETER, "%s: %s is out of range for %s" % (name, text, cim_type))
    return value


def typed(text, cim_type, name):
    """A CIM-XML value text as a Python value of its declared type."""
    if cim_type in INTEGER_RANGES:
        return parse_integer(text, cim_type, name)
    if cim_type == "boolean":
        word = text.strip().lower()
        if word not in ("true", "false"):
            raise Refused(INVALID_PARAMETER, "%s: %r is not a boolean" % (name, text))
        return word == "true"
    if cim_type in ("real32", "real64"):
        try:
            return float(text)
        except ValueError:
            raise Refused(INVALID_PARAMETER, "%s: %r is not a real" % (name, text))
    if cim_type in ("string", "datetime", "char16"):
        return text
    raise Refused(INVALID_PARAMETER, "%s: unknown CIM type %r" % (name, cim_type))


def parse_cimxml(text):
    if re.search(r"<!\s*(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise Refused(INVALID_PARAMETER, "embedded instance: DTDs are not accepted")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise Refused(INVALID_PARAMETER, "embedded instance is not well-formed XML: %s" % e)
    if root.tag != "INSTANCE":
        raise Refused(INVALID_PARAMETER, "embedded instance: root element is <%s>, not <INSTANCE>" % root.tag)
    if "no-qualifiers" in BUGS and next(root.iter("QUALIFIER"), None) is not None:
        raise Refused(INVALID_PARAMETER, "embedded instance: unexpected <QUALIFIER>")
    class_name = root.get("CLASSNAME")
    if not class_name:
        raise Refused(INVALID_PARAMETER, "embedded instance: <INSTANCE> has no CLASSNAME")
    instance = Instance(class_name)
    for element in root:
        name = element.get("NAME")
        if element.tag == "QUALIFIER":
            continue
        if element.tag not in ("PROPERTY", "PROPERTY.ARRAY", "PROPERTY.REFERENCE") or not name:
            raise Refused(INVALID_PARAMETER, "embedded instance: unexpected <%s>" % element.tag)
        values = [child for child in element if child.tag != "QUALIFIER"]
        if element.tag == "PROPERTY.REFERENCE":
            instance.set(name, None if not values else "".join(values[0].itertext()))
            continue
        cim_type = element.get("TYPE", "string").lower()
        if element.tag == "PROPERTY":
            if not values:
                instance.set(name, None)
            elif len(values) == 1 and values[0].tag == "VALUE" and len(values[0]) == 0:
                instance.set(name, typed(values[0].text or "", cim_type, name))
            else:
                raise Refused(INVALID_PARAMETER, "embedded instance: bad value of %s" % name)
            continue
        if not values:
            instance.set(name, None)
            continue
        if len(values) != 1 or values[0].tag != "VALUE.ARRAY":
            raise Refused(INVALID_PARAMETER, "embedded instance: bad array value of %s" % name)
        items = []
        for item in values[0]:
            if item.tag == "VALUE.NULL":
                items.append(None)
            elif item.tag == "VALUE" and len(item) == 0:
                items.append(typed(item.text or "", cim_type, name))
            else:
                raise Refused(INVALID_PARAMETER, "embedded instance: bad element in %s" % name)
        instance.set(name, items)
    return instance


MOF_TOKEN = re.compile(r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<char>'(?:[^'\\\n]|\\.)*')
  | (?P<number>[+-]?(?:0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}=;,])
""", re.VERBOSE | re.DOTALL)

MOF_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def unescape_mof(body):
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        code = body[i + 1]
        if code in "xX":
            digits = re.match(r"[0-9a-fA-F]{1,4}", body[i + 2:])
            if not digits:
                raise Refused(INVALID_PARAMETER, "MOF: \\x needs hexadecimal digits")
            out.append(chr(int(digits.group(0), 16)))
            i += 2 + len(digits.group(0))
        elif code in MOF_ESCAPES:
            out.append(MOF_ESCAPES[code])
            i += 2
        else:
            raise Refused(INVALID_PARAMETER, "MOF: unknown escape \\%s" % code)
    return "".join(out)


def mof_tokens(text):
    position = 0
    while position < len(text):
        match = MOF_TOKEN.match(text, position)
        if not match:
            raise Refused(INVALID_PARAMETER, "MOF: unexpected %r at offset %d" % (text[position:position + 12], position))
        position = match.end()
        kind = match.lastgroup
        if kind != "space":
            yield kind, match.group(kind)
    yield "end", ""


class MofParser:
    def __init__(self, text):
        self.tokens = list(mof_tokens(text))
        self.at = 0

    def peek(self):
        return self.tokens[self.at]

    def next(self):
        token = self.tokens[self.at]
        if token[0] != "end":
            self.at += 1
        return token

    def take(self, kind=None, value=None):
        token = self.tokens[self.at]
        if (kind and token[0] != kind) or (value and token[1].lower() != value.lower()):
            raise Refused(INVALID_PARAMETER, "MOF: expected %s, found %r" % (value or kind, token[1] or "the end"))
        self.at += 1
        return token[1]

    def instance(self):
        self.take("name", "instance")
        self.take("name", "of")
        instance = Instance(self.take("name"))
        self.take("punct", "{")
        while self.peek() != ("punct", "}"):
            name = self.take("name")
            self.take("punct", "=")
            instance.set(name, self.value())
            self.take("punct", ";")
        self.take("punct", "}")
        self.take("punct", ";")
        self.take("end")
        return instance

    def value(self):
        kind, text = self.peek()
        if kind == "punct" and text == "{":
            self.next()
            items = []
            while self.peek() != ("punct", "}"):
                if items:
                    self.take("punct", ",")
                items.append(self.scalar())
            self.next()
            return items
        return self.scalar()

    def scalar(self):
        kind, text = self.next()
        if kind == "string":
            parts = [unescape_mof(text[1:-1])]
            while self.peek()[0] == "string":
                parts.append(unescape_mof(self.next()[1][1:-1]))
            return "".join(parts)
        if kind == "char":
            return unescape_mof(text[1:-1])
        if kind == "number":
            if re.fullmatch(r"[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)", text):
                return int(text, 16) if "x" in text.lower() else int(text)
            return float(text)
        if kind == "name" and text.upper() in ("TRUE", "FALSE"):
            return text.upper() == "TRUE"
        if kind == "name" and text.upper() == "NULL":
            return None
        raise Refused(INVALID_PARAMETER, "MOF: %r is not a value" % text)


def check_schema(instance):
    """Values of the properties this service reads must have their CIM types (MOF carries no
    types, CIM-XML declares them; both are checked against what the class defines)."""
    for key, cim_type in SCHEMA.items():
        value = instance.values.get(key)
        if value is None:
            continue
        if cim_type == "string[]":
            if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
                raise Refused(INVALID_PARAMETER, "%s must be a string array" % key)
        elif cim_type == "string":
            if not isinstance(value, str):
                raise Refused(INVALID_PARAMETER, "%s must be a string" % key)
        elif isinstance(value, bool) or not isinstance(value, int):
            raise Refused(INVALID_PARAMETER, "%s must be a %s" % (key, cim_type))
        else:
            low, high = INTEGER_RANGES[cim_type]
            if not low <= value <= high:
                raise Refused(INVALID_PARAMETER, "%s = %d is out of range for %s" % (key, value, cim_type))


def parse_instance(text, what):
    if len(text.encode("utf-8")) > MAX_INSTANCE_BYTES:
        raise Refused(INVALID_PARAMETER, "%s is too large" % what)
    body = text.lstrip("\ufeff").strip()
    if not body:
        raise Refused(INVALID_PARAMETER, "%s is empty" % what)
    try:
        instance = parse_cimxml(body) if body.startswith("<") else MofParser(body).instance()
    except Refused as refusal:
        raise Refused(INVALID_PARAMETER, "%s: %s" % (what, refusal.message))
    check_schema(instance)
    return instance


def pool_settings(text):
    instance = parse_instance(text, "PoolSettings")
    if instance.class_name.lower() not in POOL_SETTING_CLASSES:
        raise Refused(INVALID_PARAMETER, "PoolSettings is a %s" % instance.class_name)
    if instance.get("ResourceType") is None or instance.get("ResourceSubType") is None:
        raise Refused(INVALID_PARAMETER, "PoolSettings needs ResourceType and ResourceSubType")
    if instance.get("PoolID") is None:
        raise Refused(INVALID_PARAMETER, "PoolSettings needs a PoolID")
    return instance


def allocation_setting(text, index):
    what = "AllocationSettings[%d]" % index
    instance = parse_instance(text, what)
    name = instance.class_name.lower()
    if not (name.startswith(("msvm_", "cim_")) and name.endswith("allocationsettingdata")):
        raise Refused(INVALID_PARAMETER, "%s is a %s" % (what, instance.class_name))
    return instance


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------

class Grant:
    """What a child pool draws from one parent."""

    def __init__(self, parent, quantity=0, resources=()):
        self.parent = parent
        self.quantity = quantity
        self.resources = list(resources)


class Pool:
    def __init__(self, path, kind_of, rtype, pool_id, name, primordial=False, own=(), capacity=0):
        self.path = path
        self.kind = kind_of
        self.rtype = rtype  # (ResourceType, ResourceSubType)
        self.pool_id = pool_id
        self.name = name
        self.primordial = primordial
        self.own = list(own)  # host resources of a primordial pool
        self.base_capacity = capacity  # capacity of a primordial quantity pool
        self.grants = []  # children only
        self.leaked = 0  # --bug leak-on-delete


class Changes:
    """What changed since the last reset, snapshot or changes request: the paths of pools whose
    view may differ, and the paths removed that the last report (or snapshot) still showed."""

    def __init__(self):
        self.dirty = set()
        self.born = set()  # created since the last report: a removal needs no report
        self.removed = set()

    def created(self, path):
        self.born.add(path)
        self.dirty.add(path)

    def deleted(self, path):
        self.dirty.discard(path)
        if path in self.born:
            self.born.discard(path)
        else:
            self.removed.add(path)


def covers(kind, own, held):
    if kind == "path":
        return held == own or (held.startswith(own) and held[len(own):].startswith("\\"))
    return held == own


class Host:
    def __init__(self, fixture, bugs):
        self.bugs = bugs
        self.host = fixture["host_name"]
        self.pools = {}  # path -> Pool, in creation order
        self.kinds = {}  # (type, subtype) -> kind
        self.counter = 0
        self.changes = Changes()
        for t in fixture["resource_types"]:
            rtype = (t["resource_type"], t["resource_subtype"])
            self.kinds[rtype] = t["kind"]
            path = self.new_path("Primordial")
            self.pools[path] = Pool(path, t["kind"], rtype, "", "Primordial %s pool" % t["resource_subtype"].split(":")[-1],
                                    primordial=True, own=t.get("host_resources", []), capacity=t.get("capacity", 0))

    # Every change of the store goes through these four, which record what a view depends on:
    # a pool's own view on its fields and grants, a parent's Reserved on its children's grants.

    def add_pool(self, pool):
        self.pools[pool.path] = pool
        self.changes.created(pool.path)
        self.holdings_changed(pool, [])

    def set_grants(self, pool, grants):
        before, pool.grants = pool.grants, grants
        self.changes.dirty.add(pool.path)
        self.holdings_changed(pool, before)

    def settings_changed(self, pool):
        self.changes.dirty.add(pool.path)

    def remove_pool(self, pool):
        del self.pools[pool.path]
        self.changes.deleted(pool.path)
        self.holdings_changed(pool, [])

    def holdings_changed(self, pool, grants_before):
        """The pool's holdings moved from grants_before to pool.grants: Reserved of every
        parent it held from, or holds from now, may differ."""
        for grant in grants_before + pool.grants:
            self.changes.dirty.add(grant.parent)

    def report_changes(self):
        """The change report (spec/adapter-protocol.md, `changes`), and a new baseline."""
        done, self.changes = self.changes, Changes()
        return {"changed": [self.view(self.pools[path]) for path in sorted(done.dirty) if path in self.pools],
                "removed": sorted(done.removed)}

    def new_path(self, tag):
        self.counter += 1
        return '\\\\%s\\root\\virtualization\\v2:Msvm_ResourcePool.InstanceID="Python:%s-%d"' % (self.host, tag, self.counter)

    def children(self, pool):
        return [p for p in self.pools.values() if any(g.parent == pool.path for g in p.grants)]

    def resources(self, pool):
        if pool.primordial:
            return list(pool.own)
        seen = []
        for grant in pool.grants:
            for r in grant.resources:
                if r not in seen:
                    seen.append(r)
        return seen

    def capacity(self, pool):
        if pool.kind != "quantity":
            return len(self.resources(pool))
        if pool.primordial:
            return pool.base_capacity
        return sum(g.quantity for g in pool.grants)

    def reserved(self, pool):
        grants = [g for child in self.children(pool) for g in child.grants if g.parent == pool.path]
        if pool.kind == "quantity":
            return sum(g.quantity for g in grants) + pool.leaked
        held = [r for g in grants for r in g.resources]
        return sum(1 for own in self.resources(pool) if any(covers(pool.kind, own, h) for h in held))

    def free(self, pool, child=None):
        """Capacity minus Reserved; what `child` already draws from the pool counts as free."""
        again = sum(g.quantity for g in child.grants if g.parent == pool.path) if child else 0
        return max(self.capacity(pool) - self.reserved(pool), 0) + again

    def descendants_and_self(self, pool):
        found, todo = set(), [pool]
        while todo:
            p = todo.pop()
            if p.path not in found:
                found.add(p.path)
                todo.extend(self.children(p))
        return found

    def view(self, pool):
        return {
            "path": pool.path,
            "pool_id": pool.pool_id,
            "element_name": pool.name,
            "resource_type": pool.rtype[0],
            "resource_subtype": pool.rtype[1],
            "primordial": pool.primordial,
            "capacity": self.capacity(pool),
            "reserved": self.reserved(pool),
            "host_resources": self.resources(pool),
            "allocations": [{"parent": g.parent, "quantity": g.quantity, "host_resources": g.resources}
                            for g in pool.grants],
        }

    # ----------------------------------------------------------------------------------------
    # Validation shared by CreatePool and ModifyPoolResources
    # ----------------------------------------------------------------------------------------

    def check_shape(self, rtype, parent_paths, allocations):
        """The checks that need no pool: every allocation carries what it must, there is a
        parent, no parent twice, and one allocation, or one per parent."""
        kind = self.kinds.get(rtype)
        for a in allocations:
            if a.get("ResourceType") is None or a.get("ResourceSubType") is None:
                raise Refused(INVALID_PARAMETER, "an allocation needs ResourceType and ResourceSubType")
            if kind == "quantity" and a.get("Reservation") is None:
                raise Refused(INVALID_PARAMETER, "a %s allocation needs a Reservation" % rtype[1])
        if not parent_paths:
            raise Refused(INVALID_PARAMETER, "at least one parent pool is needed")
        if len(set(parent_paths)) != len(parent_paths):
            raise Refused(INVALID_PARAMETER, "a parent pool is named twice")
        if len(allocations) not in (1, len(parent_paths)):
            raise Refused(INVALID_PARAMETER, "%d allocation settings for %d parent pools"
                          % (len(allocations), len(parent_paths)))

    def plan_grants(self, rtype, parent_paths, allocations, child=None):
        """Check a parent set with its allocations for a pool of type `rtype` (or for the
        existing `child`) against the pools, and return the grants it would hold."""
        self.check_shape(rtype, parent_paths, allocations)
        kind = self.kinds.get(rtype)
        parents = []
        for path in parent_paths:
            if path not in self.pools:
                raise Refused(OBJECT_NOT_FOUND, "no pool %s" % path, state=True)
            parents.append(self.pools[path])
        if kind is None:
            raise Refused(INCORRECT_RESOURCE_TYPE, "this host has no %s pools" % (rtype,))
        for p in parents:
            if p.rtype != rtype:
                raise Refused(INCORRECT_RESOURCE_TYPE, "parent %s is of type %s" % (p.path, p.rtype), state=True)
        for a in allocations:
            if (a.get("ResourceType"), a.get("ResourceSubType")) != rtype:
                raise Refused(INCORRECT_RESOURCE_TYPE, "an allocation is of another resource type")
        limit = MAX_PARENT_POOLS.get(rtype[1], 0)
        if limit and len(parents) > limit:
            raise Refused(INVALID_PARAMETER, "%s pools have at most %d parent(s)" % (rtype[1], limit))
        shared = len(allocations) == 1 and len(parents) > 1
        if shared and rtype[1] not in SHARED_CAPACITY:
            raise Refused(NOT_SUPPORTED, "shared-capacity allocations of %s are not supported" % rtype[1])
        for a in allocations:
            if a.get("Limit") is not None and a.get("Reservation") is not None and a.get("Limit") < a.get("Reservation"):
                raise Refused(INVALID_PARAMETER, "Limit is below Reservation")
        if child is not None:
            below = self.descendants_and_self(child)
            if any(p.path in below for p in parents):
                raise Refused(INVALID_PARAMETER, "a pool cannot draw from itself or its descendants", state=True)
        if shared:
            grants = self.plan_shared(kind, parents, allocations[0], child)
        else:
            grants = [self.plan_one(kind, p, a, child) for p, a in zip(parents, allocations)]
        if child is not None:
            self.check_shrink(child, kind, grants)
        return grants

    def plan_one(self, kind, parent, allocation, child):
        if kind == "quantity":
            want = allocation.get("Reservation")
            free = self.free(parent, child)
            too_much = want >= free if "off-by-one" in self.bugs else want > free
            if too_much:
                raise Refused(INSUFFICIENT_RESOURCES, "%d requested, %d free in %s" % (want, free, parent.path), state=True)
            return Grant(parent.path, quantity=want)
        wanted = [r for r in (allocation.get("HostResource") or []) if r is not None]
        own = self.resources(parent)
        for r in wanted:
            if not any(covers(kind, o, r) for o in own):
                raise Refused(INVALID_PARAMETER, "%s does not have %s" % (parent.path, r), state=True)
        return Grant(parent.path, resources=dedupe(wanted))

    def plan_shared(self, kind, parents, allocation, child):
        if kind == "quantity":
            remaining = allocation.get("Reservation")
            available = [(p, self.free(p, child)) for p in parents]
            if remaining > sum(free for _, free in available):
                raise Refused(INSUFFICIENT_RESOURCES, "the parents together have %d free" % sum(f for _, f in available), state=True)
            grants = []
            # Take from the parent with the most room first.
            for p, free in sorted(available, key=lambda pf: -pf[1]):
                take = min(free, remaining)
                remaining -= take
                grants.append(Grant(p.path, quantity=take))
            return sorted(grants, key=lambda g: [p.path for p in parents].index(g.parent))
        wanted = dedupe(r for r in (allocation.get("HostResource") or []) if r is not None)
        grants = {p.path: Grant(p.path) for p in parents}
        for r in wanted:
            holder = next((p for p in parents if any(covers(kind, o, r) for o in self.resources(p))), None)
            if holder is None:
                raise Refused(INVALID_PARAMETER, "no parent has %s" % r, state=True)
            grants[holder.path].resources.append(r)
        return [grants[p.path] for p in parents]

    def check_shrink(self, child, kind, grants):
        """A pool may not lose what its own children draw from it."""
        if self.reserved(child) == 0:
            return
        if kind == "quantity":
            if sum(g.quantity for g in grants) < self.reserved(child):
                raise Refused(IN_USE, "the pool's children hold more than its new capacity", state=True)
            return
        kept = [r for g in grants for r in g.resources]
        for grand in self.children(child):
            for g in grand.grants:
                if g.parent == child.path:
                    for r in g.resources:
                        if not any(covers(kind, k, r) for k in kept):
                            raise Refused(IN_USE, "a child pool still holds %s" % r, state=True)

    def target(self, path):
        pool = self.pools.get(path)
        if pool is None:
            raise Refused(OBJECT_NOT_FOUND, "no pool %s" % path, state=True)
        if pool.primordial:
            raise Refused(INVALID_STATE, "primordial pools cannot be changed", state=True)
        return pool


def dedupe(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


# --------------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------------

class Job:
    def __init__(self, path, job_type, work):
        self.path = path
        self.job_type = job_type
        self.work = work
        self.polls = 0
        self.state = JOB_RUNNING
        self.error_code = 0
        self.description = ""
        self.affected = []

    def poll(self):
        self.polls += 1
        if self.state == JOB_RUNNING and self.polls >= 2:
            try:
                self.affected = self.work()
                self.state = JOB_COMPLETED
            except Refused as refusal:
                self.state = JOB_EXCEPTION
                self.error_code = refusal.code
                self.description = refusal.message
        return {
            "job_state": self.state,
            "error_code": self.error_code,
            "error_description": self.description,
            "job_type": self.job_type,
            "affected_elements": self.affected,
        }


def read_params(method, params):
    """The call's parameters by name; BadCall unless each is given once with its kind."""
    signature = SIGNATURES[method]
    expected = {name.lower(): (name, kind) for name, kind in signature}
    values = {}
    for param in params:
        key = param["name"].lower()
        if key not in expected:
            raise BadCall("%s has no parameter %s" % (method, param["name"]))
        if key in values:
            raise BadCall("parameter %s is given twice" % param["name"])
        value = param["value"]
        if value["kind"] not in ("null", expected[key][1]):
            raise BadCall("parameter %s must be a %s, not a %s" % (param["name"], expected[key][1], value["kind"]))
        values[key] = value.get("value")
    for key, (name, _) in expected.items():
        if key not in values:
            raise BadCall("parameter %s is missing" % name)
    return values


class Service:
    def __init__(self, bugs):
        self.bugs = bugs
        self.host = None
        self.jobs = {}
        self.job_counter = 0

    def reset(self, fixture):
        self.host = Host(fixture, self.bugs)
        self.jobs = {}
        self.job_counter = 0
        return {}

    def snapshot(self):
        self.host.changes = Changes()
        return {"pools": [self.host.view(p) for p in self.host.pools.values()]}

    def changes(self):
        return self.host.report_changes()

    def poll_job(self, path):
        job = self.jobs.get(path)
        if job is None:
            raise LookupError("no job %s" % path)
        return job.poll()

    def invoke(self, method, params):
        if method not in SIGNATURES:
            return None
        try:
            values = read_params(method, params)
        except BadCall as e:
            return {"cim_error": {"status": CIM_ERR_INVALID_PARAMETER, "description": str(e)}}
        try:
            work = getattr(self, "prepare_" + method)(values)
        except Refused as refusal:
            if refusal.state and method in JOB_METHODS:
                return self.start_job(method, lambda failed=refusal: raise_(failed))
            return {"return": {"return_value": refusal.code, "out_params": []}}
        if method in JOB_METHODS:
            return self.start_job(method, work)
        affected = work()
        out = [{"name": "Pool", "value": {"kind": "reference", "value": affected[0]}}] if method == "CreatePool" else []
        return {"return": {"return_value": COMPLETED, "out_params": out}}

    def start_job(self, method, work):
        self.job_counter += 1
        path = '\\\\%s\\root\\virtualization\\v2:Msvm_ConcreteJob.InstanceID="Python:job-%d"' % (self.host.host, self.job_counter)
        self.jobs[path] = Job(path, JOB_TYPES[method], work)
        return {"return": {"return_value": JOB_STARTED, "out_params": [
            {"name": "Job", "value": {"kind": "reference", "value": path}},
            {"name": "Pool", "value": {"kind": "null"}},
        ]}}

    # Each prepare_ method checks the call and returns the work that carries it out; the work
    # checks the pools again when it runs (in a job, that is at a later poll).

    def prepare_CreatePool(self, values):
        settings = pool_settings(values["poolsettings"] or "")
        allocations = [allocation_setting(a or "", i) for i, a in enumerate(values["allocationsettings"] or [])]
        parents = values["parentpools"] or []
        rtype = (settings.get("ResourceType"), settings.get("ResourceSubType"))
        host = self.host

        def work():
            grants = host.plan_grants(rtype, parents, allocations)
            pool_id = settings.get("PoolID")
            if any(p.rtype == rtype and p.pool_id == pool_id for p in host.pools.values()):
                raise Refused(OBJECT_EXISTS, "a %s pool with PoolID %r exists" % (rtype[1], pool_id), state=True)
            path = host.new_path("Pool")
            name = settings.get("ElementName") or "Resource pool %s" % pool_id
            pool = Pool(path, host.kinds[rtype], rtype, pool_id, name)
            pool.grants = grants
            host.add_pool(pool)
            log("created", pool_id, "in", len(grants), "parent(s)")
            return [path]

        host.check_shape(rtype, parents, allocations)
        return work

    def prepare_ModifyPoolResources(self, values):
        allocations = [allocation_setting(a or "", i) for i, a in enumerate(values["allocationsettings"] or [])]
        parents = values["parentpools"] or []
        host = self.host
        child = host.target(values["childpool"])

        def work():
            pool = host.target(child.path)
            host.set_grants(pool, host.plan_grants(pool.rtype, parents, allocations, child=pool))
            log("moved", pool.pool_id, "to", len(parents), "parent(s)")
            return [pool.path]

        host.check_shape(child.rtype, parents, allocations)
        return work

    def prepare_ModifyPoolSettings(self, values):
        settings = pool_settings(values["poolsettings"] or "")
        host = self.host
        pool = host.target(values["childpool"])
        if (settings.get("ResourceType"), settings.get("ResourceSubType")) != pool.rtype:
            raise Refused(INCORRECT_RESOURCE_TYPE, "the settings are for another resource type", state=True)
        pool_id = settings.get("PoolID")
        if any(p is not pool and p.rtype == pool.rtype and p.pool_id == pool_id for p in host.pools.values()):
            raise Refused(OBJECT_EXISTS, "a %s pool with PoolID %r exists" % (pool.rtype[1], pool_id), state=True)

        def work():
            pool.pool_id = pool_id
            if settings.get("ElementName") is not None:
                pool.name = settings.get("ElementName")
            host.settings_changed(pool)
            return [pool.path]

        return work

    def prepare_DeletePool(self, values):
        host = self.host
        pool = host.target(values["pool"])

        def work():
            target = host.target(pool.path)
            if host.children(target):
                raise Refused(IN_USE, "the pool still has child pools", state=True)
            if "leak-on-delete" in self.bugs:
                for g in target.grants:
                    host.pools[g.parent].leaked += g.quantity
            host.remove_pool(target)
            return [target.path]

        return work


def raise_(refusal):
    raise refusal


# --------------------------------------------------------------------------------------------
# The protocol loop
# --------------------------------------------------------------------------------------------

def profile_text():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "pool_adapter.toml"), encoding="utf-8") as f:
        return f.read()


def answer(service, request):
    op = request.get("op")
    if op == "reset":
        return {"ok": service.reset(request["fixture"])}
    if service.host is None:
        return {"error": "%s before the first reset" % op}
    if op == "snapshot":
        return {"ok": service.snapshot()}
    if op == "changes":  # sent only when the hello line offers it
        return {"ok": service.changes()}
    if op == "poll_job":
        try:
            return {"ok": service.poll_job(request["job"])}
        except LookupError as e:
            return {"error": str(e)}
    if op == "invoke":
        reply = service.invoke(request["method"], request["params"])
        if reply is None:
            return {"unsupported": "%s is not a method of this service" % request["method"]}
        return {"ok": reply}
    return {"unsupported": "operation %r" % op}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bug", action="append", default=[], choices=["off-by-one", "leak-on-delete", "no-qualifiers"],
                        help="inject a realistic defect (see the module docstring)")
    parser.add_argument("--no-changes", action="store_true",
                        help="do not offer the optional changes request (full snapshots after every step)")
    args = parser.parse_args()
    BUGS.update(args.bug)
    out = sys.stdout
    hello = {"name": NAME, "version": VERSION + ("+bug:" + ",".join(args.bug) if args.bug else ""),
             "dialect": "Msvm", "profile": {"toml": profile_text()}}
    if not args.no_changes:
        hello["features"] = ["changes"]
    out.write(json.dumps({"protocol": PROTOCOL, "hello": hello}) + "\n")
    out.flush()
    log("ready", "(bugs: %s)" % ", ".join(args.bug) if args.bug else "")
    service = Service(set(args.bug))
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        response = {"id": request["id"]}
        response.update(answer(service, request))
        out.write(json.dumps(response, separators=(",", ":")) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
