"""Writes standalone, strict JSON schemas of Kubernetes kinds for kubeconform,
offline, from the schemas the kubernetes-validate package ships.

Its "local" schemas point into a shared _definitions.json, which kubeconform
does not follow from a file; each schema written here carries the
definitions it reaches instead. Usage:

    kube_schemas.py OUT_DIR KUBERNETES_VERSION FILE_NAME...

FILE_NAME as kubeconform asks for it, e.g. deployment-apps-v1.json; the
schemas land in OUT_DIR/v<version>-standalone-strict/.
"""

import json
import os
import sys

import kubernetes_validate

DEFINITIONS_REF = "/api/_definitions.json#/$defs/"
LOCAL_REF = "#/$defs/"


def rewrite(node, reached):
    """Points the refs of `node` at its own definitions; collects their names."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        # Kinds point into _definitions.json, definitions into themselves.
        for prefix in (DEFINITIONS_REF, LOCAL_REF):
            if isinstance(ref, str) and ref.startswith(prefix):
                name = ref[len(prefix):]
                node["$ref"] = LOCAL_REF + name
                reached.append(name)
        for value in node.values():
            rewrite(value, reached)
    elif isinstance(node, list):
        for value in node:
            rewrite(value, reached)


def standalone(schema, definitions):
    """`schema` with every definition it reaches, transitively."""
    reached, kept = [], {}
    rewrite(schema, reached)
    while reached:
        name = reached.pop()
        if name in kept:
            continue
        definition = json.loads(json.dumps(definitions[name]))
        rewrite(definition, reached)
        kept[name] = definition
    schema["$defs"] = kept
    return schema


def main():
    out_dir, version, names = sys.argv[1], sys.argv[2].lstrip("v"), sys.argv[3:]
    source = os.path.join(
        os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema", f"v{version}-local-strict"
    )
    if not os.path.isdir(source):
        sys.exit(f"kubernetes-validate ships no schemas of Kubernetes {version} ({source})")
    with open(os.path.join(source, "_definitions.json")) as file:
        definitions = json.load(file)["$defs"]
    target = os.path.join(out_dir, f"v{version}-standalone-strict")
    os.makedirs(target, exist_ok=True)
    for name in names:
        with open(os.path.join(source, name)) as file:
            schema = json.load(file)
        with open(os.path.join(target, name), "w") as file:
            json.dump(standalone(schema, definitions), file)


if __name__ == "__main__":
    main()
