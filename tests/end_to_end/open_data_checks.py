# The checks of the OCDS Data Review Tool (libcoveocds, its additional checks
# included) and of the OC4IDS one (libcoveoc4ids), run offline on packages the
# test gives on stdin:
#
#   {"schemas": "<dir with ocds-1.1.5/ and oc4ids-0.9.4/>",
#    "project_extension": "<dir of the extension every gongkai site serves at
#                          /api/v1/ocds/extensions/project/>",
#    "packages": [{"name": "...", "kind": "ocds" | "oc4ids", "package": {...}}]}
#
# Prints {"network": [...], "packages": {name: {"findings": [...], "notes": [...]}}}:
# a finding is something the tools report that the exports must not have
# (schema errors, undeclared or unknown fields, empty fields, values outside
# closed codelists, duplicate release ids, malformed ocid prefixes, a broken
# extension or schema); a note is reported but allowed (codes outside an open
# codelist, the OC4IDS project id without a registered `oc4ids-` prefix).
#
# Nothing is fetched: sockets refuse to connect, and every request the
# libraries make through `requests` is answered from the local schemas (the
# official schema URLs map to ../shared/schemas, a site's extension URL to
# the repository's copy of what it serves) or refused and listed under
# "network", which the test requires to stay empty.

import io
import json
import os
import socket
import sys
import tempfile
import zipfile

request = json.load(sys.stdin)
schemas = request["schemas"]
network = []


def refuse(*args, **kwargs):
    network.append(f"socket {args[1:]!r}")
    raise OSError("offline: the checks reach no network")


socket.socket.connect = refuse
socket.create_connection = refuse

import requests  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402
from urllib3 import HTTPResponse  # noqa: E402

OCDS = "https://standard.open-contracting.org/schema/1__1__5/"
OC4IDS = "https://standard.open-contracting.org/infrastructure/schema/0__9__4/"
MIRRORS = {OCDS: os.path.join(schemas, "ocds-1.1.5"), OC4IDS: os.path.join(schemas, "oc4ids-0.9.4")}
EXTENSION_PATH = "/api/v1/ocds/extensions/project/"


def local_file(url):
    """The local copy of `url`, when it is one of the mirrored ones."""
    for prefix, directory in MIRRORS.items():
        if url.startswith(prefix):
            return os.path.join(directory, url[len(prefix):])
    if EXTENSION_PATH in url and request.get("project_extension"):
        return os.path.join(request["project_extension"], url.split(EXTENSION_PATH, 1)[1])
    return None


def send(adapter, prepared, **kwargs):
    path = local_file(prepared.url)
    if path is not None:
        if os.path.isfile(path):
            with open(path, "rb") as f:
                status, reason, content = 200, "OK", f.read()
        else:
            status, reason, content = 404, "Not Found", b""
        raw = HTTPResponse(
            body=io.BytesIO(content),
            status=status,
            reason=reason,
            preload_content=False,
            decode_content=False,
            request_url=prepared.url,
        )
        return adapter.build_response(prepared, raw)
    network.append(prepared.url)
    raise requests.ConnectionError(f"offline: {prepared.url} is not a local schema")


HTTPAdapter.send = send


def standard_zip():
    """The OCDS schema directory as the standard's repository archive."""
    root = os.path.join(schemas, "ocds-1.1.5")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("standard/", "")
        for parent, _, files in sorted(os.walk(root)):
            for name in sorted(files):
                path = os.path.join(parent, name)
                archive.write(path, "standard/schema/" + os.path.relpath(path, root))
    return buffer.getvalue()


from libcoveoc4ids.common_checks import common_checks_oc4ids  # noqa: E402
from libcoveoc4ids.config import LibCoveOC4IDSConfig  # noqa: E402
from libcoveoc4ids.schema import SchemaOC4IDS  # noqa: E402
from libcoveocds.api import ocds_json_output  # noqa: E402
from libcoveocds.config import LibCoveOCDSConfig  # noqa: E402

STANDARD = standard_zip()


def ocds(package, workdir):
    config = LibCoveOCDSConfig()
    config.config["context"] = "api"
    config.config["standard_zip"] = STANDARD
    config.config["schema_codelists"] = {"1.1": OCDS + "codelists/"}
    result = ocds_json_output(workdir, json_data=package, lib_cove_ocds_config=config)
    findings, notes = [], []
    if result.get("json_deref_error"):
        findings.append(f"schema unreadable: {result['json_deref_error']}")
    extensions = result.get("extensions") or {}
    for url, why in extensions.get("invalid_extensions", []):
        findings.append(f"extension {url}: {why}")
    for error in result["validation_errors"]:
        findings.append(f"invalid: {error['description']} at {error['path']} ({error['value']!r})")
    for field in result["additional_fields"]:
        findings.append(f"additional field {field['path']}/{field['field']} ({field['usage_count']}×)")
    for check, found in (result.get("additional_checks") or {}).items():
        for item in found:
            findings.append(f"{check}: {item.get('json_location')}")
    for ocid, path in (result.get("conformance_errors") or {}).get("ocds_prefixes_bad_format", []):
        findings.append(f"malformed ocid prefix: {ocid} at {path}")
    for path, value in result.get("additional_closed_codelist_values", {}).items():
        findings.append(f"closed codelist {value['codelist']}: {value['values']} at {path}")
    aggregates = result.get("releases_aggregates") or {}
    for duplicate in aggregates.get("duplicate_release_ids", []):
        findings.append(f"duplicate release id in an ocid: {duplicate}")
    for path, value in result.get("additional_open_codelist_values", {}).items():
        notes.append(f"open codelist {value['codelist']}: {sorted(value['values'])} at {path}")
    return findings, notes


def oc4ids(package, workdir):
    config = LibCoveOC4IDSConfig()
    config.config["schema_version"] = "0.9.4"
    config.config["schema_version_choices"] = {"0.9.4": ("0.9.4", OC4IDS)}
    config.config["schema_host"] = OC4IDS
    config.config["schema_codelists"] = {"0.9": OC4IDS + "codelists/"}
    schema = SchemaOC4IDS(config)
    result = common_checks_oc4ids({"file_type": "json"}, workdir, package, schema, cache=False)
    findings, notes = [], []
    if getattr(schema, "json_deref_error", None):
        findings.append(f"schema unreadable: {schema.json_deref_error}")
    for key, values in result["validation_errors"]:
        error = json.loads(key)
        for value in values:
            findings.append(f"invalid: {error['message']} at {value.get('path')} ({value.get('value')!r})")
    for path, field, count in result["data_only"]:
        findings.append(f"additional field {path}/{field} ({count}×)")
    for check in result["additional_checks"]:
        findings.append(f"{check['check_id']}: {check.get('paths')}")
    for path, value in result.get("additional_closed_codelist_values", {}).items():
        findings.append(f"closed codelist {value['codelist']}: {value['values']} at {path}")
    for check in result["conformance_checks"]:
        notes.append(f"{check['check_id']}: {check.get('path_values')}")
    for path, value in result.get("additional_open_codelist_values", {}).items():
        notes.append(f"open codelist {value['codelist']}: {sorted(value['values'])} at {path}")
    return findings, notes


CHECKS = {"ocds": ocds, "oc4ids": oc4ids}
out = {}
for item in request["packages"]:
    with tempfile.TemporaryDirectory() as workdir:
        findings, notes = CHECKS[item["kind"]](item["package"], workdir)
    out[item["name"]] = {"findings": findings, "notes": notes}
print(json.dumps({"network": network, "packages": out}, ensure_ascii=False, default=str))
