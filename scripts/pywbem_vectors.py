#!/usr/bin/env python3
"""Interop with pywbem, a widely used Python WBEM client: test vectors and a parser oracle.

poolcheck's embedded-instance codec (src/codec/) is checked against pywbem in both
directions. This script is the pywbem side; tests/codec_interop.rs is the Rust side.

  python3 scripts/pywbem_vectors.py generate [DIR]
      Builds CIM instances with pywbem (the classes resource-pool methods take, every CIM
      type and its range edges, NULLs, arrays with NULL elements, references in every path
      form, escapes, a large instance) and writes, per instance NAME, what pywbem serializes:
        DIR/NAME.xml         CIMInstance.tocimxmlstr()           (compact CIM-XML)
        DIR/NAME.pretty.xml  CIMInstance.tocimxmlstr(indent=2)   (indented CIM-XML)
        DIR/NAME.mof         CIMInstance.tomof()                 (MOF instance text)
      and DIR/expected.json: per instance, its class and, per property, the declared type,
      whether it is an array, and the value in the text form poolcheck keeps (see canon());
      `mof_value` is what the MOF text holds where that differs (a reference becomes the
      WBEM URI string pywbem writes). Default DIR: tests/data/pywbem. The vectors are
      checked in; re-run this only to regenerate them.

  python3 scripts/pywbem_vectors.py parse < requests.json > results.json
      pywbem as a parser of poolcheck's output. Reads a JSON list of
      {"id", "encoding": "xml" | "mof", "text", "declared": [{"name", "type", "is_array"}]}
      and writes a JSON list of {"id", "ok", "class", "properties" | "error"}: CIM-XML is
      parsed with pywbem's own CIM-XML parser (TupleParser.parse_embeddedObject, what pywbem
      uses for embedded instances it receives), MOF with pywbem's MOF compiler after a class
      declaration built from "declared" (the MOF compiler needs the class to type the
      literals; references are declared as strings, as poolcheck's MOF writes them).

  python3 scripts/pywbem_vectors.py version
      Prints pywbem's version (exit status 1 when pywbem cannot be imported).

Known pywbem behaviours this script works around, each checked at the place it applies:
  * pywbem's MOF compiler (1.9.1) keeps a char16 literal's quotes and escapes in the value
    ('x' becomes the three-character string "'x'"); canon_mof_char16() undoes that.
  * pywbem writes a raw CR in CIM-XML values, which XML line-end normalisation turns into
    LF; the vectors therefore hold no CR.
  * pywbem's CIM-XML parser (1.9.1) fails on VALUE.NULL in an array of any type but string,
    although its writer produces it; expected.json records, per vector, whether pywbem reads
    its own CIM-XML back ("pywbem_reads_back"), and the Rust side sends pywbem no such array.
  * pywbem's MOF compiler (1.9.1) does not accept -INF (nor the -inf its own tomof()
    writes), nor INF or NaN in an array, nor an instance without properties (DSP0004's
    grammar wants at least one); the Rust side sends pywbem no such MOF.
"""

import json
import math
import os
import sys
import warnings

try:
    import pywbem
    from pywbem import (CIMClassName, CIMDateTime, CIMInstance, CIMInstanceName,
                        CIMProperty, CIMQualifier, Char16, Real32, Real64, Sint8, Sint16,
                        Sint32, Sint64, Uint8, Uint16, Uint32, Uint64)
    from pywbem._tupleparse import TupleParser
except ImportError as exc:  # reported by `version`, and by the Rust side as SKIPPED
    pywbem = None
    IMPORT_ERROR = str(exc)


# ---------------------------------------------------------------------------------------
# The text form poolcheck keeps for a value (src/codec/mod.rs, "References" and "Decoding")

def canon_key(value):
    """A key value in poolcheck's object-path text: strings quoted with \\ and " escaped,
    booleans TRUE/FALSE, numbers bare, nested paths as a quoted string of their text."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, CIMInstanceName):
        value = canon_path(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def canon_path(path):
    """An object path in poolcheck's canonical text (untyped WBEM URI, DSP0207)."""
    out = ""
    if path.host:
        out += "//" + path.host
    if path.namespace:
        out += "/" + path.namespace.strip("/") + ":"
    out += path.classname
    if isinstance(path, CIMClassName):
        return out
    keys = list(path.keybindings.items())
    if not keys:
        return out + "=@"
    if len(keys) == 1 and keys[0][0] is None:
        return out + "=" + canon_key(keys[0][1])
    return out + "." + ",".join(f"{name}={canon_key(value)}" for name, value in keys)


def canon_scalar(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (Real32, Real64)):
        v = float(value)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "INF" if v > 0 else "-INF"
        return repr(v)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        return canon_path(value)
    return str(value)


def canon(value):
    if isinstance(value, list):
        return [canon_scalar(v) for v in value]
    return canon_scalar(value)


def describe(instance, mof_texts=None):
    props = []
    for prop in instance.properties.values():
        entry = {
            "name": prop.name,
            "type": prop.type,
            "is_array": bool(prop.is_array),
            "value": canon(prop.value),
        }
        if mof_texts and prop.name in mof_texts:
            entry["mof_value"] = mof_texts[prop.name]
        props.append(entry)
    return {"class": instance.classname, "properties": props}


# ---------------------------------------------------------------------------------------
# The instances

SWITCH = CIMInstanceName(
    "Msvm_VirtualEthernetSwitch",
    keybindings=[("CreationClassName", "Msvm_VirtualEthernetSwitch"),
                 ("Name", "C08CB7B8-9B3C-408E-8E30-5E16A3AEB444")],
    namespace="root/virtualization/v2", host="HV-HOST-01")

SWITCH_TEXT = ('\\\\HV-HOST-01\\root\\virtualization\\v2:Msvm_VirtualEthernetSwitch.'
               'CreationClassName="Msvm_VirtualEthernetSwitch",'
               'Name="C08CB7B8-9B3C-408E-8E30-5E16A3AEB444"')


def wmi_property(name, value, origin, type=None, is_array=None, qualifiers=None):
    """A property as WMI's GetText(2) decorates it: CLASSORIGIN, PROPAGATED, CIMTYPE."""
    cimtype = type or pywbem.cimtype(value)
    quals = {"CIMTYPE": CIMQualifier("CIMTYPE", cimtype, propagated=True, toinstance=True)}
    quals.update(qualifiers or {})
    return CIMProperty(name, value, type=type, is_array=is_array, class_origin=origin,
                       propagated=True, qualifiers=quals)


def instances():
    out = {}

    # The minimal CreatePool PoolSettings (spec digest, section 6).
    out["rpsd_minimal"] = CIMInstance("Msvm_ResourcePoolSettingData", properties=[
        CIMProperty("PoolID", "P1"),
        CIMProperty("ResourceType", Uint16(33)),
        CIMProperty("ResourceSubType", "Microsoft:Hyper-V:Ethernet Connection"),
        CIMProperty("ElementName", "P1"),
    ])

    # PoolSettings as GetText(2) shapes it: instance and property qualifiers, CLASSORIGIN and
    # PROPAGATED, NULL properties of several types, escapes in a string.
    abstract = "Msvm_AbstractResourcePoolSettingData"
    out["rpsd_wmi"] = CIMInstance(
        "Msvm_ResourcePoolSettingData",
        qualifiers={
            "dynamic": CIMQualifier("dynamic", True, propagated=True, tosubclass=False,
                                    toinstance=True),
            "Provider": CIMQualifier("Provider", "VmmsWmiInstanceAndMethodProvider",
                                     propagated=True, tosubclass=False, toinstance=True),
        },
        properties=[
            wmi_property("Caption", "Resource Pool Setting Data", "CIM_ManagedElement",
                         qualifiers={"MaxLen": CIMQualifier("MaxLen", Uint32(64),
                                                            propagated=True)}),
            wmi_property("Description", None, "CIM_ManagedElement", type="string"),
            wmi_property("ElementName", "Pool-A", "CIM_ManagedElement"),
            wmi_property("InstanceID", "Microsoft:70BB60D2-A9D3-46AA-B654-3DE53004B4F8",
                         "CIM_SettingData",
                         qualifiers={"key": CIMQualifier("key", True, propagated=True)}),
            wmi_property("LoadBalancingBehavior", Uint16(3), abstract),
            wmi_property("MappingBehavior", None, abstract, type="uint16"),
            wmi_property("MappingOrder", None, abstract, type="string", is_array=True),
            wmi_property("Notes", "tenant <blue> & 'co' \"quoted\" ]]> end", abstract),
            wmi_property("OtherResourceType", None, abstract, type="string"),
            wmi_property("PoolID", "Pool-A", abstract),
            wmi_property("ResourceSubType", "Microsoft:Hyper-V:Ethernet Connection", abstract),
            wmi_property("ResourceType", Uint16(33), abstract),
        ])

    out["cim_rpsd"] = CIMInstance("CIM_ResourcePoolSettingData", properties=[
        CIMProperty("InstanceID", "Pools\\Gold"),
        CIMProperty("PoolID", "Gold"),
        CIMProperty("ElementName", "Gold pool"),
        CIMProperty("ResourceType", Uint16(31)),
        CIMProperty("ResourceSubType", "Microsoft:Hyper-V:Virtual Hard Disk"),
        CIMProperty("OtherResourceType", None, type="string"),
    ])

    # AllocationSettings for a child Ethernet pool (parent primordial).
    rasd = "CIM_ResourceAllocationSettingData"
    out["rasd_ethernet"] = CIMInstance(
        "Msvm_EthernetPortAllocationSettingData",
        properties=[
            wmi_property("Address", None, rasd, type="string"),
            wmi_property("AllocationUnits", "count", rasd),
            wmi_property("AutomaticAllocation", True, rasd),
            wmi_property("Caption", "Ethernet Connection", "CIM_ManagedElement"),
            wmi_property("Connection", [], rasd, type="string"),
            wmi_property("ConsumerVisibility", Uint16(3), rasd),
            wmi_property("ElementName", "Pool-A", "CIM_ManagedElement"),
            wmi_property("HostResource", [SWITCH_TEXT], rasd),
            wmi_property("InstanceID",
                         "Microsoft:Definition\\0D4E9A7C-1D45-4D0B-8F3A-2B8A8E3C1F00\\Default",
                         "CIM_SettingData"),
            wmi_property("Limit", Uint64(18446744073709551615), rasd),
            wmi_property("Parent", None, rasd, type="string"),
            wmi_property("PoolID", "", rasd),
            wmi_property("Reservation", Uint64(0), rasd),
            wmi_property("ResourceSubType", "Microsoft:Hyper-V:Ethernet Connection", rasd),
            wmi_property("ResourceType", Uint16(33), rasd),
            wmi_property("VirtualQuantity", Uint64(1), rasd),
            wmi_property("Weight", Uint32(100), rasd),
        ])

    out["rasd_memory"] = CIMInstance("Msvm_MemorySettingData", properties=[
        CIMProperty("ResourceType", Uint16(4)),
        CIMProperty("ResourceSubType", "Microsoft:Hyper-V:Memory"),
        CIMProperty("PoolID", "Gold"),
        CIMProperty("AllocationUnits", "byte*2^20"),
        CIMProperty("Reservation", Uint64(8192)),
        CIMProperty("Limit", Uint64(16384)),
        CIMProperty("VirtualQuantity", Uint64(8192)),
        CIMProperty("Weight", Uint32(5000)),
        CIMProperty("DynamicMemoryEnabled", False),
    ])

    out["sasd_storage"] = CIMInstance("Msvm_StorageAllocationSettingData", properties=[
        CIMProperty("ElementName", "VHD pool \u00dcn\u00efc\u00f8d\u00e9 \u2603"),
        CIMProperty("HostResource", ["C:\\VHDs\\Gold", "D:\\VHDs\\Silver \U0001F4BE"]),
        CIMProperty("PoolID", "Gold"),
        CIMProperty("ResourceSubType", "Microsoft:Hyper-V:Virtual Hard Disk"),
        CIMProperty("ResourceType", Uint16(31)),
    ])

    out["cim_rasd"] = CIMInstance("CIM_ResourceAllocationSettingData", properties=[
        CIMProperty("ResourceType", Uint16(64764)),
        CIMProperty("ResourceSubType", "Microsoft:Hyper-V:FibreChannel Connection"),
        CIMProperty("PoolID", "SAN-1"),
        CIMProperty("HostResource", ["a", None, "b"], type="string"),
        CIMProperty("OtherResourceType", "tab\there\nnewline"),
        CIMProperty("Reservation", None, type="uint64"),
    ])

    # Every CIM type, with the edges of its range, in scalars and arrays.
    out["all_types"] = CIMInstance("PoolCheck_AllTypes", properties=[
        CIMProperty("U8", Uint8(255)),
        CIMProperty("S8", Sint8(-128)),
        CIMProperty("U16", Uint16(65535)),
        CIMProperty("S16", Sint16(-32768)),
        CIMProperty("U32", Uint32(4294967295)),
        CIMProperty("S32", Sint32(-2147483648)),
        CIMProperty("U64", Uint64(18446744073709551615)),
        CIMProperty("S64", Sint64(-9223372036854775808)),
        CIMProperty("S64Max", Sint64(9223372036854775807)),
        CIMProperty("R32", Real32(3.4028234663852886e38)),
        CIMProperty("R32Small", Real32(1.5e-45)),
        CIMProperty("R64", Real64(-1.7976931348623157e308)),
        CIMProperty("R64Tiny", Real64(5e-324)),
        CIMProperty("R64Inf", Real64(float("inf"))),
        CIMProperty("R64NaN", Real64(float("nan"))),
        CIMProperty("R64Whole", Real64(5.0)),
        CIMProperty("C16", Char16("\u00e4")),
        CIMProperty("C16Quote", Char16("'")),
        CIMProperty("Flag", True),
        CIMProperty("Off", False),
        CIMProperty("When", CIMDateTime("20240102030405.123456+060")),
        CIMProperty("West", CIMDateTime("19991231235959.999999-480")),
        CIMProperty("Interval", CIMDateTime("00000001020304.000005:000")),
        CIMProperty("Text", "plain"),
        CIMProperty("Empty", ""),
        CIMProperty("Spaces", "  padded  "),
        CIMProperty("NullU32", None, type="uint32"),
        CIMProperty("NullBool", None, type="boolean"),
        CIMProperty("NullDate", None, type="datetime"),
        CIMProperty("U8s", [Uint8(0), None, Uint8(255)], type="uint8"),
        CIMProperty("S64s", [Sint64(-1), Sint64(0), Sint64(1)], type="sint64"),
        CIMProperty("R64s", [Real64(0.5), Real64(-2.25), None], type="real64"),
        CIMProperty("Bools", [True, False, None], type="boolean"),
        CIMProperty("Chars", [Char16("a"), Char16("\u20ac")], type="char16"),
        CIMProperty("Dates", [CIMDateTime("20000101000000.000000+000")], type="datetime"),
        CIMProperty("Strings", ["", "a,b", "{x}", None], type="string"),
        CIMProperty("NoU16s", [], type="uint16"),
        CIMProperty("NullU16s", None, type="uint16", is_array=True),
    ])

    # References in every path form pywbem writes.
    out["references"] = CIMInstance("PoolCheck_References", properties=[
        CIMProperty("Full", SWITCH),
        CIMProperty("Local", CIMInstanceName(
            "Msvm_ResourcePool", keybindings=[("InstanceID", 'Microsoft:Pool "A" \\ 1')],
            namespace="root/virtualization/v2")),
        CIMProperty("Bare", CIMInstanceName(
            "CIM_Thing", keybindings=[("Id", Uint32(42)), ("Enabled", False),
                                      ("Label", "x,y=z")])),
        CIMProperty("Nested", CIMInstanceName(
            "CIM_Assoc", keybindings=[("Antecedent", CIMInstanceName(
                "CIM_Parent", keybindings=[("Name", "p")], namespace="root/cimv2"))])),
        CIMProperty("Unset", None, type="reference", reference_class="CIM_Thing"),
    ])

    # An allocation as a client writes it from a freshly spawned instance (GetText(1) of
    # Msvm_EthernetPortAllocationSettingData: CLASSORIGIN and PROPAGATED, NULL properties,
    # one switch path): the 1 KB instance of the decode benchmark.
    out["rasd_client_1k"] = CIMInstance(
        "Msvm_EthernetPortAllocationSettingData",
        properties=[
            CIMProperty("Address", None, type="string", propagated=True),
            CIMProperty("ElementName", "Tenant-A uplink", propagated=True),
            CIMProperty("HostResource", [SWITCH_TEXT], propagated=True),
            CIMProperty("InstanceID", None, type="string", propagated=True),
            CIMProperty("Limit", Uint64(1), propagated=True),
            CIMProperty("Parent", None, type="string", propagated=True),
            CIMProperty("PoolID", "", propagated=True),
            CIMProperty("Reservation", Uint64(1), propagated=True),
            CIMProperty("ResourceSubType", "Microsoft:Hyper-V:Ethernet Connection",
                        propagated=True),
            CIMProperty("ResourceType", Uint16(33), propagated=True),
            CIMProperty("Weight", Uint32(100), propagated=True),
        ])

    # A large allocation: many host resources and long strings (about 56 KB of CIM-XML,
    # within the default 64 KiB limit): the large instance of the decode benchmark.
    folders = [f"\\\\fileserver-{i:03}\\vhd-share-{i:03}\\tenant-{i % 7}\\gold & silver <{i}>"
               for i in range(480)]
    out["rasd_large"] = CIMInstance("Msvm_StorageAllocationSettingData", properties=[
        CIMProperty("ElementName", "Large storage pool allocation"),
        CIMProperty("HostResource", folders),
        CIMProperty("PoolID", "Large"),
        CIMProperty("ResourceSubType", "Microsoft:Hyper-V:Virtual Hard Disk"),
        CIMProperty("ResourceType", Uint16(31)),
        CIMProperty("Notes", "n" * 4000),
        CIMProperty("VirtualSystemIdentifiers",
                    [f"{{{i:08X}-0000-4000-8000-{i:012X}}}" for i in range(100)]),
    ])
    return out


def mof_texts(instance):
    """What the MOF text holds for properties whose MOF value is not canon(value): pywbem
    writes a reference as the WBEM URI string of its own path rendering."""
    texts = {}
    for prop in instance.properties.values():
        if prop.type == "reference" and prop.value is not None:
            texts[prop.name] = prop.value.to_wbem_uri()
    return texts


def generate(directory):
    os.makedirs(directory, exist_ok=True)
    expected = {
        "generated_by": "scripts/pywbem_vectors.py generate",
        "pywbem_version": pywbem.__version__,
        "vectors": [],
    }
    for name, instance in instances().items():
        files = {
            f"{name}.xml": instance.tocimxmlstr(),
            f"{name}.pretty.xml": instance.tocimxmlstr(indent=2) + "\n",
            f"{name}.mof": instance.tomof(),
        }
        for file_name, text in files.items():
            with open(os.path.join(directory, file_name), "w", encoding="utf-8",
                      newline="") as f:
                f.write(text)
        # Whether pywbem reads back what it wrote: recorded, not required (pywbem 1.9.1
        # cannot read VALUE.NULL in an array of a type other than string).
        entry = {"name": name, "files": sorted(files)}
        try:
            back = TupleParser().parse_embeddedObject(files[f"{name}.xml"])
            entry["pywbem_reads_back"] = describe(back) == describe(instance)
        except Exception as exc:  # recorded in the vector, as pywbem's own limitation
            entry["pywbem_reads_back"] = False
            entry["pywbem_read_back_error"] = f"{type(exc).__name__}: {exc}"[:300]
        entry.update(describe(instance, mof_texts(instance)))
        expected["vectors"].append(entry)
    with open(os.path.join(directory, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(expected['vectors'])} vectors to {directory}")


# ---------------------------------------------------------------------------------------
# pywbem parsing poolcheck's output

MOF_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "'": "'",
               "\\": "\\"}


def unescape_mof(body):
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            e = body[i + 1]
            if e in "xX":
                j = i + 2
                while j < len(body) and j < i + 6 and body[j] in "0123456789abcdefABCDEF":
                    j += 1
                out.append(chr(int(body[i + 2:j], 16)))
                i = j
                continue
            out.append(MOF_ESCAPES.get(e, e))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def canon_mof_char16(value):
    """pywbem's MOF compiler keeps a char16 literal as written, quotes and escapes
    included; undo that so the value is the character."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == "'" and value[-1] == "'":
        return unescape_mof(value[1:-1])
    return value


def mof_class_declaration(class_name, declared):
    lines = [f"class {class_name} {{"]
    for prop in declared:
        cimtype = "string" if prop["type"] == "reference" else prop["type"]
        suffix = "[]" if prop["is_array"] else ""
        lines.append(f"    {cimtype} {prop['name']}{suffix};")
    lines.append("};")
    return "\n".join(lines) + "\n"


def parse_one(request):
    text = request["text"]
    if request["encoding"] == "xml":
        instance = TupleParser().parse_embeddedObject(text)
        if not isinstance(instance, CIMInstance):
            raise ValueError("not an instance")
        return describe(instance)
    class_name = text.split("instance of", 1)[1].split()[0]
    conn = pywbem.MOFWBEMConnection()
    messages = []
    compiler = pywbem.MOFCompiler(conn, verbose=False, log_func=messages.append)
    mof = mof_class_declaration(class_name, request["declared"]) + text
    try:
        compiler.compile_string(mof, "root/poolcheck")
    except Exception as exc:
        raise ValueError(f"{exc}; compiler said: {' '.join(messages)[:300]}") from exc
    found = [i for insts in conn.instances.values() for i in insts]
    if len(found) != 1:
        raise ValueError(f"the MOF compiler produced {len(found)} instances")
    result = describe(found[0])
    for prop in result["properties"]:
        if prop["type"] == "char16":
            prop["value"] = (
                [canon_mof_char16(v) for v in prop["value"]] if prop["is_array"]
                and prop["value"] is not None else canon_mof_char16(prop["value"]))
    return result


def parse(stream_in, stream_out):
    requests = json.load(stream_in)
    results = []
    warnings.simplefilter("ignore")  # keyless paths, for one; the result says what was read
    for request in requests:
        try:
            result = {"id": request["id"], "ok": True}
            result.update(parse_one(request))
        except Exception as exc:  # every failure is a result, reported per request
            result = {"id": request["id"], "ok": False,
                      "error": f"{type(exc).__name__}: {str(exc)[:500]}"}
        results.append(result)
    json.dump(results, stream_out, ensure_ascii=False)
    stream_out.write("\n")


def main(argv):
    command = argv[1] if len(argv) > 1 else "help"
    if command == "version":
        if pywbem is None:
            print(f"pywbem not importable: {IMPORT_ERROR}")
            return 1
        print(pywbem.__version__)
        return 0
    if pywbem is None:
        print(f"pywbem not importable: {IMPORT_ERROR}", file=sys.stderr)
        return 1
    if command == "generate":
        here = os.path.dirname(os.path.abspath(__file__))
        default = os.path.join(here, "..", "tests", "data", "pywbem")
        generate(os.path.normpath(argv[2] if len(argv) > 2 else default))
        return 0
    if command == "parse":
        stdin = open(sys.stdin.fileno(), encoding="utf-8", closefd=False)
        stdout = open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)
        parse(stdin, stdout)
        stdout.flush()
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
