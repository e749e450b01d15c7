"""Start a simulated world with every array's WBEM server and SSH server, plus the control server.

    with SimulatedArrays(WorldSpec(topology="pair")) as sim:
        info = sim.describe()      # the same JSON object `smis-harness mock serve` prints

All servers listen on loopback with ephemeral ports; credentials are random per start.
"""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.deviation_format import DeviationSet
from harness.mock.cim_view import ArrayCIMBackend
from harness.mock.cimxml import CIMXMLServer
from harness.mock.cli_sim import ArrayCLI
from harness.mock.control import ControlServer
from harness.mock.deviations import Deviations
from harness.mock.sshd import ArraySSHServer
from harness.mock.topology import build_world
from harness.mock.world import Durations, World
from harness.world_spec import WorldSpec

CIM_USER = "smisuser"
SSH_USER = "3paradm"
NAMESPACE = "root/tpd"
INTEROP_NAMESPACE = "interop"


@dataclass
class ArrayServers:
    key: str
    cim: CIMXMLServer
    ssh: ArraySSHServer
    cim_password: str
    ssh_password: str


class SimulatedArrays:
    """A running simulated world: the context manager tests use and `mock serve` wraps."""

    def __init__(
        self,
        spec: WorldSpec | None = None,
        *,
        deviations: DeviationSet | None = None,
        durations: Durations | None = None,
        tls: bool = True,
        certfile: str | None = None,
        keyfile: str | None = None,
        authorized_keys: list[str] | None = None,
        world: World | None = None,
    ) -> None:
        self.spec = spec or WorldSpec()
        self.world = world or build_world(self.spec, durations=durations)
        self.deviations = Deviations.of(deviations)
        self.deviations.apply_transients(self.world)
        self.tls = tls
        self.certfile, self.keyfile = certfile, keyfile
        self.authorized_keys = authorized_keys
        self.control_token = secrets.token_urlsafe(24)
        self.servers: dict[str, ArrayServers] = {}
        self.control: ControlServer | None = None
        self._stack = ExitStack()

    def start(self) -> SimulatedArrays:
        try:
            for key in self.world.arrays:
                self.servers[key] = self._start_array(key)
            self.control = self._stack.enter_context(ControlServer(self.world, self.control_token))
        except BaseException:
            self._stack.close()
            raise
        return self

    def _start_array(self, key: str) -> ArrayServers:
        array = self.world.arrays[key]
        cim_password = secrets.token_urlsafe(16)
        ssh_password = secrets.token_urlsafe(16)

        def available() -> bool:
            return array.powered

        backend = ArrayCIMBackend(
            self.world, key, self.deviations, namespace=NAMESPACE, interop_namespace=INTEROP_NAMESPACE
        )
        cim = CIMXMLServer(
            backend,
            users={CIM_USER: cim_password},
            tls=self.tls,
            certfile=self.certfile,
            keyfile=self.keyfile,
            backend_lock=self.world.lock,
            available=available,
        )
        self._stack.enter_context(cim)
        ssh = ArraySSHServer(
            lambda: ArrayCLI(self.world, key, self.deviations),
            users={SSH_USER: ssh_password},
            authorized_keys=self.authorized_keys,
            system_name=array.system_name,
            available=available,
        )
        self._stack.enter_context(ssh)
        return ArrayServers(key, cim, ssh, cim_password, ssh_password)

    def stop(self) -> None:
        self._stack.close()

    def __enter__(self) -> SimulatedArrays:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def group_names(self) -> list[str]:
        """Groups under test, named as on the primary (noise groups left out)."""
        names: list[str] = []
        for rep in self.world.replications:
            if rep.noise or rep.backup or rep.source.array != "primary":
                continue
            if rep.source.group_name not in names:
                names.append(rep.source.group_name)
        return names

    def describe(self) -> dict[str, Any]:
        """Everything a client needs to reach the simulated arrays (the `mock serve` JSON line)."""
        assert self.control is not None, "start() first"
        return {
            "topology": self.spec.topology,
            "groups": self.group_names(),
            "arrays": {key: self._describe_array(key) for key in self.servers},
            "control": {"url": self.control.url, "token": self.control_token},
        }

    def _describe_array(self, key: str) -> dict[str, Any]:
        array = self.world.arrays[key]
        srv = self.servers[key]
        ca = srv.cim.ca_cert_path
        return {
            "system_name": array.system_name,
            "serial": array.serial,
            "system_id": array.system_id,
            "cim_url": srv.cim.url,
            "namespace": NAMESPACE,
            "interop_namespace": INTEROP_NAMESPACE,
            "user": CIM_USER,
            "password": srv.cim_password,
            "ca_cert": str(Path(ca)) if ca else None,
            "ssh_host": "127.0.0.1",
            "ssh_port": srv.ssh.port,
            "ssh_user": SSH_USER,
            "ssh_password": srv.ssh_password,
            "ssh_host_key": srv.ssh.host_key_line,
        }
