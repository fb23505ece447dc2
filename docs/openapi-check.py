#!/usr/bin/env python3
"""Checks docs/openapi.yaml: parses, is valid OpenAPI 3.1 (when
openapi-spec-validator is installed), matches the route table
(services/svc_routes.c) and the problem codes (gateway/gw_status.c), and
declares X-Request-Id on every response. Run from the repository root."""
import re
import sys

import yaml

spec = yaml.safe_load(open("docs/openapi.yaml", encoding="utf-8"))
errors = []

try:
    from openapi_spec_validator import validate
    validate(spec)
except ImportError:
    print("openapi-spec-validator not installed: schema validation skipped")
except Exception as e:  # noqa: BLE001
    errors.append(f"invalid OpenAPI: {e}")

# Routes: every served route documented, nothing documented that is not served.
routes = set(re.findall(r'\{"(GET|POST|PATCH|PUT|DELETE)",\s*"([^"]+)"',
                        open("services/svc_routes.c").read()))
routes.discard(("GET", "/v1/debug/sleep"))     # internal, off by default
documented = {(m.upper(), path) for path, item in spec["paths"].items()
              for m in item if m in ("get", "post", "patch", "put", "delete")}
norm = lambda p: re.sub(r"\{[^}]+\}", "{}", p)
served = {(m, norm(p)) for m, p in routes}
docs = {(m, norm(p)) for m, p in documented}
for r in sorted(served - docs):
    errors.append(f"served but not documented: {r}")
for r in sorted(docs - served):
    errors.append(f"documented but not served: {r}")

# Problem codes: the enum equals the codes of gw_status.c (minus "ok").
codes = set(re.findall(r'\{\d+,\s*"([a-z_]+)"',
                       open("gateway/gw_status.c").read())) - {"ok"}
enum = set(spec["components"]["schemas"]["ProblemCode"]["enum"])
if codes != enum:
    errors.append(f"code enum differs: missing {sorted(codes - enum)},"
                  f" extra {sorted(enum - codes)}")

# X-Request-Id on every response.
def resolve(obj):
    while isinstance(obj, dict) and "$ref" in obj:
        node = spec
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj

for path, item in spec["paths"].items():
    for m, op in item.items():
        if not isinstance(op, dict) or "responses" not in op:
            continue
        for st, resp in op["responses"].items():
            if "X-Request-Id" not in resolve(resp).get("headers", {}):
                errors.append(f"{m.upper()} {path} {st}: no X-Request-Id")

for e in errors:
    print("ERROR:", e)
print(f"{len(documented)} operations, {len(enum)} codes:",
      "FAIL" if errors else "OK")
sys.exit(1 if errors else 0)
