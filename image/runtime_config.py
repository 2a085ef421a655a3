"""Reads the runtime settings of the Containerfile's last stage (USER,
WORKDIR, ENV, EXPOSE, VOLUME, ENTRYPOINT, CMD, LABEL) and prints them as
`umoci config` arguments, one per line, so image/build.sh gives its image
exactly the settings a registry build of the Containerfile gets.

    python3 runtime_config.py Containerfile NAME=VALUE...   (build arguments)
"""

import json
import re
import shlex
import sys


def instructions(text):
    """The Containerfile's instructions, continuation lines joined, comments dropped."""
    joined, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    for line in joined:
        keyword, _, rest = line.strip().partition(" ")
        yield keyword.upper(), rest.strip()


def pairs(rest, args):
    """KEY=VALUE pairs of an ENV or LABEL, with ${ARG} expanded."""
    expanded = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), rest)
    for word in shlex.split(expanded):
        key, sep, value = word.partition("=")
        if not sep:
            raise SystemExit(f"runtime_config: {word!r} is not KEY=VALUE")
        yield key, value


def main():
    path, *given = sys.argv[1:]
    args = dict(arg.split("=", 1) for arg in given)
    stage = []
    defaults = {}
    for keyword, rest in instructions(open(path, encoding="utf-8").read()):
        if keyword == "FROM":
            stage = []
        elif keyword == "ARG" and not stage:
            name, _, value = rest.partition("=")
            defaults[name] = value
        else:
            stage.append((keyword, rest))
    args = {**defaults, **args}
    out = []
    for keyword, rest in stage:
        if keyword == "USER":
            out += ["--config.user", rest]
        elif keyword == "WORKDIR":
            out += ["--config.workingdir", rest]
        elif keyword == "ENV":
            out += [a for k, v in pairs(rest, args) for a in ("--config.env", f"{k}={v}")]
        elif keyword == "EXPOSE":
            out += [a for port in rest.split() for a in ("--config.exposedports", port if "/" in port else f"{port}/tcp")]
        elif keyword == "VOLUME":
            out += [a for volume in rest.split() for a in ("--config.volume", volume)]
        elif keyword in ("ENTRYPOINT", "CMD"):
            flag = "--config.entrypoint" if keyword == "ENTRYPOINT" else "--config.cmd"
            out += [a for word in json.loads(rest) for a in (flag, word)]
        elif keyword == "LABEL":
            out += [a for k, v in pairs(rest, args) for a in ("--config.label", f"{k}={v}")]
    print("\n".join(out))


if __name__ == "__main__":
    main()
