#!/usr/bin/env python3
"""Writes operations.json: every management route with what its handler
takes and answers, read from the routers and handlers, and a JSON schema
for every request body type, read from the structs they decode into.
Run it after adding or changing a route (a test fails until it is run):

    python3 crates/admin/src/describe/generate.py
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN = os.path.normpath(os.path.join(HERE, ".."))
MODEL = os.path.normpath(os.path.join(HERE, "..", "..", "..", "model", "src"))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def routes(router_file, start):
    """(path, [(method, module, handler)]) from `.route("PATH", get(m::f).post(...))` calls."""
    src = read(router_file)
    src = src[src.index(start):]
    out = []
    for m in re.finditer(r'\.route\(\s*"([^"]+)",\s*(.*?)\)\s*\n', src, re.S):
        path, handlers = m.group(1), m.group(2)
        methods = re.findall(r'(?:^|[.\s(:])(get|post|put|delete)\((\w+)::(\w+)\)', handlers)
        out.append((path, [(meth.upper(), mod, fn) for meth, mod, fn in methods]))
    return out


def handler(directory, module, name):
    """The source of `pub async fn name` in directory/module.rs, and the whole file."""
    src = read(os.path.join(directory, module + ".rs"))
    m = re.search(r'pub async fn %s\b(.*?)\n}\n' % re.escape(name), src, re.S)
    if not m:
        raise SystemExit(f"handler {module}::{name} not found")
    return m.group(1), src


def describe(directory, module, name):
    body, src = handler(directory, module, name)
    signature = body[: body.index("{")] if "{" in body else body
    op = {"handler": f"{module}::{name}"}
    j = re.search(r'JsonBody<([\w:]+)>', signature)
    if j:
        op["body"] = {"kind": "json", "type": j.group(1).split("::")[-1]}
    elif "Multipart" in signature:
        op["body"] = {"kind": "multipart"}
    elif "RawBody" in signature:
        op["body"] = {"kind": "raw"}
    # Query parameters: read in the handler, or in the file's helpers it calls with the query.
    text = body
    for helper in re.findall(r'\b(\w+)\(&q\b', body):
        h = re.search(r'\nfn %s\b(.*?)\n}\n' % re.escape(helper), src, re.S)
        if h:
            text += h.group(1)
    names = re.findall(r'q\.(?:owned|get|precise)\("(\w+)"\)', text)
    query = []
    for n in names:
        if n not in query:
            query.append(n)
    if "q.precise(" in text and "precise_search" not in query:
        query.append("precise_search")
    op["query"] = query
    op["paged"] = "paging()" in text or "page_paging()" in text
    statuses = []
    for pattern, status in [(r'\bcreated\(', 201), (r'\bok\(', 200), (r'\bpage\(', 200), (r'\bdocument\(', 200), (r'\bno_content\(\)', 204)]:
        if re.search(pattern, body) and status not in statuses:
            statuses.append(status)
    if not statuses:
        raise SystemExit(f"{module}::{name}: no answer found")
    op["statuses"] = sorted(statuses)
    lists = re.findall(r'\bpage\("(\w+)"', body)
    if lists:
        op["list"] = lists[0]
    if re.search(r'\bdocument\(', body):
        op["document"] = True
    return op


# Structs: name -> list of (wire name, rust type), from the model and the admin service.
def structs():
    found = {}
    for root in (MODEL, ADMIN):
        for dirpath, _, files in os.walk(root):
            for f in files:
                if not f.endswith(".rs"):
                    continue
                src = read(os.path.join(dirpath, f))
                for m in re.finditer(r'#\[derive\(([^)]*)\)\]\s*(?:#\[[^\]]*\]\s*)*pub struct (\w+)\s*\{(.*?)\n\}', src, re.S):
                    if "Deserialize" not in m.group(1):
                        continue
                    fields = []
                    attrs = []
                    for line in m.group(3).split("\n"):
                        line = line.strip()
                        if line.startswith("#["):
                            attrs.append(line)
                            continue
                        fm = re.match(r'pub (\w+):\s*(.+?),?$', line)
                        if fm:
                            wire = fm.group(1)
                            skip = flatten = False
                            for a in attrs:
                                r = re.search(r'rename = "(\w+)"', a)
                                if r:
                                    wire = r.group(1)
                                skip |= "serde(skip)" in a
                                flatten |= "flatten" in a
                            if not skip:
                                fields.append({"name": wire, "type": fm.group(2).rstrip(","), "flatten": flatten})
                            attrs = []
                        elif line and not line.startswith("//"):
                            attrs = []
                    found[m.group(2)] = fields
    return found


def schema_of(rust, all_structs, wanted):
    rust = rust.strip()
    inner = re.match(r'^Option<(.*)>$', rust)
    if inner:
        return schema_of(inner.group(1), all_structs, wanted)
    vec = re.match(r'^Vec<(.*)>$', rust)
    if vec:
        return {"type": "array", "items": schema_of(vec.group(1), all_structs, wanted)}
    mp = re.match(r'^(?:std::collections::)?(?:BTreeMap|HashMap)<String,\s*(.*)>$', rust)
    if mp:
        return {"type": "object", "additionalProperties": schema_of(mp.group(1), all_structs, wanted)}
    simple = {"String": {"type": "string"}, "bool": {"type": "boolean"}}
    if rust in simple:
        return simple[rust]
    if rust in ("i64", "i32", "u32", "u16", "u64", "usize"):
        return {"type": "integer"}
    if rust.endswith("Value") or rust.endswith("Map<String, Value>") or "serde_json::Map" in rust:
        return {}
    name = rust.split("::")[-1]
    if name in all_structs:
        wanted.add(name)
        return {"$ref": f"#/components/schemas/{name}"}
    return {}


def main():
    v1 = os.path.join(ADMIN, "routes", "v1")
    v2 = os.path.join(ADMIN, "routes", "v2")
    operations = []
    for directory, router, start, family in [(v1, os.path.join(v1, "mod.rs"), "pub(crate) fn resources", "all"), (v2, os.path.join(v2, "mod.rs"), "pub fn router", "instance")]:
        for path, handlers in routes(router, start):
            for method, module, name in handlers:
                op = describe(directory, module, name)
                op.update({"method": method, "path": path, "families": family})
                operations.append(op)
    all_structs = structs()
    wanted = {op["body"]["type"] for op in operations if op.get("body", {}).get("kind") == "json"}
    schemas = {}
    while wanted - set(schemas):
        for name in sorted(wanted - set(schemas)):
            if name == "Value":
                schemas[name] = {"description": "Any JSON value"}
                continue
            if name not in all_structs:
                raise SystemExit(f"body type {name} not found")
            props = {}
            all_of = []
            for f in all_structs[name]:
                s = schema_of(f["type"], all_structs, wanted)
                if f["flatten"] and "$ref" in s:
                    all_of.append(s)
                else:
                    props[f["name"]] = s
            schema = {"type": "object", "properties": props}
            if all_of:
                schema = {"allOf": all_of + [schema]}
            schemas[name] = schema
    out = {"operations": operations, "schemas": dict(sorted(schemas.items()))}
    text = json.dumps(out, indent=1, ensure_ascii=False) + "\n"
    target = os.path.join(HERE, "operations.json")
    if "--check" in sys.argv:
        if read(target) != text:
            raise SystemExit("operations.json is out of date: run python3 crates/admin/src/describe/generate.py")
        return
    with open(target, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"{len(operations)} operations, {len(schemas)} body schemas")


if __name__ == "__main__":
    main()
