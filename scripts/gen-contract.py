#!/usr/bin/env python3
"""Extract the REST contract facts of the guest chat API from swagger.json.

Usage: scripts/gen-contract.py [SWAGGER_JSON] [OUTPUT]

Reads the swagger 2.0 document of the official JavaScript SDK (by default
../shared/reference/swagger.json relative to the repository root) and writes
crates/client/tests/data/rest-contract.json: for each operation its id, method,
path, authentication, parameters (place, type, required) and responses (status,
model, error codes); for each model its fields with their types, formats and
enum values, and the required fields. No description text is carried over.
The output is deterministic (sorted keys, two-space indent, trailing newline);
`.ci/run` regenerates it and fails when the committed file differs.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_IN = os.path.join(ROOT, "..", "shared", "reference", "swagger.json")
DEFAULT_OUT = os.path.join(ROOT, "crates", "client", "tests", "data", "rest-contract.json")

# Schema keys that are facts about the wire; everything else (description, readOnly,
# example text, vendor extensions) is left out.
FACT_KEYS = ("type", "format", "enum", "default")


def model_name(ref):
    prefix = "#/definitions/"
    if not ref.startswith(prefix):
        raise SystemExit(f"unsupported $ref {ref!r}")
    return ref[len(prefix):]


def schema_facts(schema):
    if "$ref" in schema:
        return {"model": model_name(schema["$ref"])}
    out = {k: schema[k] for k in FACT_KEYS if k in schema}
    if "items" in schema:
        out["items"] = schema_facts(schema["items"])
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = schema_facts(extra)
    elif isinstance(extra, bool):
        out["additionalProperties"] = extra
    return out


def parameter_facts(p):
    out = {"name": p["name"], "in": p["in"], "required": bool(p.get("required", False))}
    if p["in"] == "body":
        out.update(schema_facts(p.get("schema", {})))
    else:
        out.update({k: p[k] for k in FACT_KEYS if k in p})
    return out


def response_facts(r):
    out = {}
    if "schema" in r:
        out.update(schema_facts(r["schema"]))
    codes = r.get("x-inin-error-codes")
    if codes:
        out["errorCodes"] = sorted(codes)
    return out


def extract(sw):
    operations = []
    for path, methods in sw["paths"].items():
        for method, op in methods.items():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            operations.append({
                "operationId": op["operationId"],
                "method": method.upper(),
                "path": path,
                "auth": bool(op.get("security")),
                # the swagger's order, which is the JavaScript SDK's argument order
                "parameters": [parameter_facts(p) for p in op.get("parameters", [])],
                "responses": {code: response_facts(r) for code, r in op.get("responses", {}).items()},
            })
    operations.sort(key=lambda o: o["operationId"])
    models = {}
    for name, d in sw["definitions"].items():
        m = {"properties": {k: schema_facts(v) for k, v in d.get("properties", {}).items()}}
        if d.get("type"):
            m["type"] = d["type"]
        if d.get("required"):
            m["required"] = sorted(d["required"])
        models[name] = m
    return {
        "generator": "scripts/gen-contract.py (facts extracted from the guest chat swagger.json; do not edit)",
        "operations": operations,
        "models": models,
    }


def main(argv):
    src = argv[1] if len(argv) > 1 else DEFAULT_IN
    dst = argv[2] if len(argv) > 2 else DEFAULT_OUT
    try:
        with open(src, encoding="utf-8") as f:
            sw = json.load(f)
    except OSError as e:
        print(f"gen-contract: cannot read {src}: {e.strerror}", file=sys.stderr)
        return 1
    text = json.dumps(extract(sw), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    with open(dst, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
