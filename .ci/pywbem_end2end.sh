#!/usr/bin/env bash
# pywbem's own end-to-end server and profile tests, run against `smis-harness mock serve`.
#
# The tests are not in pywbem's wheel: they come from the sdist of the installed pywbem version,
# fetched from the package index here (never vendored into this repository). They need
# pytest-easy-server and an easy-server file, written from the JSON line `mock serve` prints.
# Tests for a capability or profile the simulated arrays do not claim skip; every other test must
# pass. Run from the project venv (smis-harness installed): .ci/pywbem_end2end.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

EASY_SERVER_VERSION=0.8.0
TESTS=(test_server.py test_profile_generic.py test_profile_snia_server.py test_profile_snia_smis.py)

work=$(mktemp -d -t smis-pywbem-e2e-XXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

version=$(python -c 'import importlib.metadata as m; print(m.version("pywbem"))')
python -m pip install -q "pytest-easy-server==$EASY_SERVER_VERSION"
python -m pip download -q --no-deps --no-binary :all: "pywbem==$version" -d "$work"
tar xzf "$work/pywbem-$version.tar.gz" -C "$work"

smis-harness mock serve --topology pair >"$work/serve.json" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 300); do
  [ -s "$work/serve.json" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; echo "mock serve did not start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/serve.json" ] || { echo "mock serve printed no endpoints within 30 s" >&2; exit 1; }

# One easy-server entry per simulated array; the vault (passwords) stays in the temporary directory.
python - "$work" <<'EOF'
import json
import sys
from pathlib import Path

import yaml

work = Path(sys.argv[1])
served = json.loads((work / "serve.json").read_text().splitlines()[0])
capabilities = ["interop", "profiles", "smis", "snia-smis", "snia-server"]
servers, secrets = {}, {}
for key, array in served["arrays"].items():
    servers[key] = {
        "description": f"smis-harness simulated array {array['system_name']}",
        "user_defined": {
            "url": array["cim_url"],
            "default_namespace": array["namespace"],
            "capabilities": capabilities,
        },
    }
    secrets[key] = {"user": array["user"], "password": array["password"], "ca_certs": array["ca_cert"]}
server_file = {
    "vault_file": "es_vault.yml",
    "default": "simulated",
    "server_groups": {"simulated": {"description": "smis-harness mock serve", "members": list(servers)}},
    "servers": servers,
}
(work / "es_server.yml").write_text(yaml.safe_dump(server_file))
vault = work / "es_vault.yml"
vault.touch(mode=0o600)
vault.write_text(yaml.safe_dump({"secrets": secrets}))
EOF

cd "$work/pywbem-$version"
echo "pywbem $version end-to-end tests against smis-harness mock serve:"
# REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE would override the vault's ca_certs.
status=0
env -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE TEST_INSTALLED=1 \
  python -m pytest -q -p no:cacheprovider -rfE --es-file "$work/es_server.yml" --junitxml "$work/junit.xml" \
  "${TESTS[@]/#/tests/end2endtest/}" "$@" || status=$?

# The counts; a skip for another reason than an unregistered profile fails the step like a failure.
python - "$work/junit.xml" <<'EOF' || status=1
import re
import sys
import xml.etree.ElementTree as ET

passed = failed = 0
skips: dict[str, int] = {}
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    elif (skip := case.find("skipped")) is not None:
        reason = re.sub(r"Server \S+ at \S+: ", "", skip.get("message", ""))
        reason = "profile not advertised" if reason.endswith("is not advertised") else reason
        skips[reason] = skips.get(reason, 0) + 1
    else:
        passed += 1
print(f"pywbem end2end: {passed} passed, {failed} failed, {sum(skips.values())} skipped")
for reason, count in sorted(skips.items()):
    print(f"  skipped {count}: {reason}")
if failed or not passed or set(skips) - {"profile not advertised"}:
    sys.exit("pywbem end2end: a test failed, none passed, or one skipped for another reason than an unregistered profile")
EOF
exit "$status"
