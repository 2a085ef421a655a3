"""Runs the configuration of every gongkai container a rendered chart makes
through `gongkai config check`, as that container would load it.

For each Deployment and Job running gongkai: its mounted ConfigMaps are
written under a root directory standing for the container's file system
(paths in its arguments and environment are moved under it), its TLS Secret
becomes the test certificate, its literal GONGKAI_* variables are kept and
those taken from the Secret get well-formed placeholders. Then

    gongkai config check --target <its target>     (serve --target <name>)
    gongkai config check --witness                 (witness serve)
    gongkai config check                           (migrate)

must pass. Usage:

    check_config.py GONGKAI_BIN MANIFEST WORK_DIR TLS_CERT TLS_KEY

Prints a line per container checked; exits 1 when any check fails.
"""

import hashlib
import os
import shutil
import subprocess
import sys

import yaml


def keygen(gongkai, *args):
    """The private key a `gongkai … keygen` prints (its signing_key line)."""
    output = subprocess.run([gongkai, *args], check=True, capture_output=True, text=True).stdout
    for line in output.splitlines():
        if line.startswith("signing_key = "):
            return line.split('"')[1]
    sys.exit(f"{' '.join(args)} printed no signing_key")


def placeholders(gongkai):
    """Well-formed values for the variables the chart takes from its Secret."""
    token_hash = hashlib.sha256(b"placeholder-token").hexdigest()
    return {
        "GONGKAI_STORAGE__URL": "postgres://gongkai:placeholder@postgres:5432/gongkai",
        "GONGKAI_STORAGE__READ_URL": "postgres://gongkai:placeholder@postgres-replica:5432/gongkai",
        "GONGKAI_TLOG__SIGNING_KEY": keygen(gongkai, "tlog", "keygen", "--origin", "gongkai.example.cn/log"),
        "GONGKAI_WITNESS__SIGNING_KEY": keygen(gongkai, "witness", "keygen", "--name", "witness.example.org"),
        "GONGKAI_AUTH__CREDENTIALS": (
            f'[{{id="placeholder",token_sha256="{token_hash}",role="submitter",regions=["23"]}}]'
        ),
    }


def check_command(args):
    """The `config check` arguments for a container run with `args`."""
    if args[:1] == ["serve"]:
        return ["--target", args[args.index("--target") + 1]]
    if args[:2] == ["witness", "serve"]:
        return ["--witness"]
    if args[:1] == ["migrate"]:
        return []
    raise ValueError(f"no configuration check for gongkai {' '.join(args)}")


def main():
    gongkai, manifest, work, cert, key = sys.argv[1:6]
    with open(manifest) as file:
        documents = [doc for doc in yaml.safe_load_all(file) if doc]
    config_maps = {doc["metadata"]["name"]: doc["data"] for doc in documents if doc["kind"] == "ConfigMap"}
    secret_values = placeholders(gongkai)
    failed = checked = 0
    for doc in documents:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
        for container in pod["containers"]:
            if container.get("command") != ["gongkai"]:
                continue
            label = f"{doc['kind']} {doc['metadata']['name']}"
            root = os.path.join(work, doc["kind"], doc["metadata"]["name"])
            shutil.rmtree(root, ignore_errors=True)
            mounts = []
            for mount in container.get("volumeMounts", []):
                volume, into = volumes[mount["name"]], root + mount["mountPath"]
                os.makedirs(into, exist_ok=True)
                mounts.append(mount["mountPath"])
                if "configMap" in volume:
                    for name, text in config_maps[volume["configMap"]["name"]].items():
                        with open(os.path.join(into, name), "w") as file:
                            file.write(text)
                elif "secret" in volume:
                    # The chart mounts one Secret: gRPC's kubernetes.io/tls.
                    shutil.copy(cert, os.path.join(into, "tls.crt"))
                    shutil.copy(key, os.path.join(into, "tls.key"))

            def inside(value):
                """`value`, a path in the container moved under `root`."""
                for path in mounts:
                    if value == path or value.startswith(path.rstrip("/") + "/"):
                        return root + value
                return value

            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "RUST_LOG": "warn"}
            for variable in container.get("env", []):
                name = variable["name"]
                if "value" in variable:
                    env[name] = inside(str(variable["value"]))
                elif name in secret_values:
                    env[name] = secret_values[name]
                else:
                    print(f"{label}: no placeholder for {name}, taken from {variable['valueFrom']}")
                    failed += 1
            args = [inside(arg) for arg in container.get("args", [])]
            config = ["--config", args[args.index("--config") + 1]] if "--config" in args else []
            command = [gongkai, "config", "check", *config, *check_command(args)]
            result = subprocess.run(command, env=env, capture_output=True, text=True)
            checked += 1
            said = (result.stdout + result.stderr).strip().replace(root, "")
            if result.returncode != 0:
                failed += 1
                print(f"{label} ({' '.join(args)}): config check FAILED:\n{said}")
            else:
                print(f"{label}: {said}")
    if checked == 0:
        print("no gongkai container found to check")
        failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
