"""Over-long values for every operation of docs/openapi.yaml, read from the document itself.

Schemathesis sends values one past each `maxLength` (its coverage phase); this sends values far
past DynamoDB's key limits (a partition key value stops at 2048 bytes, a sort key at 1024),
which a bound forgotten in the code would let through to a key, and DynamoDB would refuse with
a 500. For each operation: every path parameter in turn, then every string query parameter in
turn, then the Idempotency-Key where the operation takes one, set to 3000 characters (ASCII,
and 1400 bytes of `å`), the other path parameters naming the seeded records. Each answer must
be a 4xx problem document with a status the operation documents.

Usage: contract-fuzz-long-values.py <api url> <token> <path parameter>=<value>...
"""

import sys
import urllib.error
import urllib.parse
import urllib.request

import yaml

LONG_VALUES = ["A" * 3000, "å" * 700]


def resolve(document, node):
    while isinstance(node, dict) and "$ref" in node:
        target = document
        for step in node["$ref"].lstrip("#/").split("/"):
            target = target[step]
        node = target
    return node


def parameters(document, path_item, operation):
    found = {}
    for parameter in path_item.get("parameters", []) + operation.get("parameters", []):
        parameter = resolve(document, parameter)
        found[(parameter["in"], parameter["name"])] = parameter
    return found


def is_string(document, parameter):
    schema = resolve(document, parameter.get("schema", {}))
    return schema.get("type") == "string" and "enum" not in schema


def send(api, token, method, path, query, headers):
    url = api + path + ("?" + urllib.parse.urlencode(query) if query else "")
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    request.add_header("If-Match", "*")
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers.get("Content-Type", "")
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers.get("Content-Type", "")


def main():
    api, token = sys.argv[1], sys.argv[2]
    seeded = dict(argument.split("=", 1) for argument in sys.argv[3:])
    with open("docs/openapi.yaml", encoding="utf-8") as file:
        document = yaml.safe_load(file)
    failures = []
    sent = 0
    for template, path_item in document["paths"].items():
        for method, operation in path_item.items():
            if method == "parameters":
                continue
            documented = {str(status) for status in operation.get("responses", {})}
            declared = parameters(document, path_item, operation)
            targets = [
                (where, name)
                for (where, name), parameter in declared.items()
                if where in ("path", "query") and is_string(document, parameter)
            ]
            if ("header", "Idempotency-Key") in declared:
                targets.append(("header", "Idempotency-Key"))
            for where, name in targets:
                for long in LONG_VALUES:
                    path = template
                    for (kind, param), _ in declared.items():
                        if kind == "path":
                            value = long if (where, name) == (kind, param) else seeded[param]
                            path = path.replace("{" + param + "}", urllib.parse.quote(value, safe=""))
                    query = {name: long} if where == "query" else {}
                    headers = {name: long} if where == "header" else {}
                    if where == "header" and not long.isascii():
                        continue  # not a header value HTTP can carry
                    status, content_type = send(api, token, method.upper(), path, query, headers)
                    sent += 1
                    problem = content_type.startswith("application/problem+json")
                    if not 400 <= status < 500 or not problem or str(status) not in documented:
                        failures.append(
                            f"{method.upper()} {template} with a {len(long)}-character {where} "
                            f"{name}: {status} {content_type}"
                        )
    print(f"contract-fuzz: {sent} requests with over-long values", file=sys.stderr)
    for failure in failures:
        print(f"contract-fuzz: {failure}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
