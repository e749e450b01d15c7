"""Target discovery: which remote-copy target leads to the peer, from real `showrcopy -d` output and over SSH."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.array_cli import Transcript
from harness.config import ConfigError, builtin_config, load_config
from harness.connections import Connections, PreflightError
from harness.mock.cimxml_tls import make_self_signed_cert
from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec
from harness.showrcopy import Target, parse_showrcopy, parse_showsys
from harness.target_discovery import PeerIdentity, TargetDiscoveryError, choose_target, describe_target

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "fixtures" / "captures" / "alletra-mp-10.5"
D_SOURCE = "showrcopy -d targets"


def capture(name: str) -> str:
    return (CAPTURES / name).read_text()


def targets_of(name: str) -> list[Target]:
    return parse_showrcopy(capture(name)).targets


def d22u27() -> PeerIdentity:
    """D22U27 as its own showsys (real capture) shows it: AlletraMP_D22U27, ID 0x2DEF6 = 188150."""
    info = parse_showsys(capture("D22U27_showsys.txt"))
    return PeerIdentity("primary", info.name, info.id)


E18U31_D = capture("E18U31_showrcopy_d.txt")
TARGET_ROW = next(line for line in E18U31_D.splitlines() if line.startswith("AlletraMP_E18U31  3 IP"))


def with_target_rows(*rows: str) -> list[Target]:
    """The real -d capture with extra target rows after the real one."""
    return parse_showrcopy(E18U31_D.replace(TARGET_ROW, "\n".join([TARGET_ROW, *rows]))).targets


# --------------------------------------------------------------------------- selection on real output


def test_real_pair_target_named_by_its_creator_is_found_from_sysname_and_sysid() -> None:
    peer = d22u27()
    assert (peer.name, peer.system_id) == ("AlletraMP_D22U27", 188150)
    choice = choose_target("secondary", targets_of("E18U31_showrcopy_d.txt"), peer, None, D_SOURCE)
    assert choice.name == "AlletraMP_E18U31"  # not the peer's name: named by whoever created it
    assert choice.peer == "primary"
    assert "SysName/SysID match the primary's showsys (AlletraMP_D22U27, 188150)" in choice.reason
    assert choice.manifest() == {"name": "AlletraMP_E18U31", "peer": "primary", "reason": choice.reason}


def test_real_pair_configured_target_is_confirmed_by_d() -> None:
    choice = choose_target("secondary", targets_of("E18U31_showrcopy_d.txt"), d22u27(), "AlletraMP_E18U31", D_SOURCE)
    assert choice.name == "AlletraMP_E18U31" and choice.reason.startswith("configured target; SysName/SysID match")


def test_no_target_leads_to_another_array_and_the_message_lists_what_was_seen() -> None:
    third = PeerIdentity("primary", "MPB10K-E24U21-LZ", 99999)
    with pytest.raises(TargetDiscoveryError) as caught:
        choose_target("secondary", targets_of("E18U31_showrcopy_d.txt"), third, None, D_SOURCE)
    message = str(caught.value)
    assert "secondary: showrcopy -d targets lists AlletraMP_E18U31 (SysName AlletraMP_D22U27, SysID 188150, ready)" in (
        message
    )
    assert "no target leads to primary (MPB10K-E24U21-LZ, SysID 99999)" in message
    assert "arrays.secondary.target" in message


def test_a_configured_target_that_leads_elsewhere_is_refused() -> None:
    targets = with_target_rows(TARGET_ROW.replace("AlletraMP_E18U31  3", "to_the_third_arr  4", 1)
                               .replace("AlletraMP_D22U27 188150", "MPB10K-E24U21-LZ  77777"))  # fmt: skip
    assert [(t.name, t.sys_name, t.sys_id) for t in targets] == [
        ("AlletraMP_E18U31", "AlletraMP_D22U27", 188150),
        ("to_the_third_arr", "MPB10K-E24U21-LZ", 77777),
    ]
    assert choose_target("secondary", targets, d22u27(), None, D_SOURCE).name == "AlletraMP_E18U31"
    with pytest.raises(TargetDiscoveryError, match="configured target to_the_third_arr does not lead to primary"):
        choose_target("secondary", targets, d22u27(), "to_the_third_arr", D_SOURCE)
    with pytest.raises(TargetDiscoveryError, match="configured target nosuch is not listed"):
        choose_target("secondary", targets, d22u27(), "nosuch", D_SOURCE)


def test_several_targets_to_the_peer_need_a_configured_target() -> None:
    targets = with_target_rows(TARGET_ROW.replace("AlletraMP_E18U31  3", "second_path_FC_1  4", 1))
    with pytest.raises(TargetDiscoveryError) as caught:
        choose_target("secondary", targets, d22u27(), None, D_SOURCE)
    message = str(caught.value)
    assert "several targets lead to primary (AlletraMP_D22U27, SysID 188150) (AlletraMP_E18U31, second_path_FC_1)" in (
        message
    )
    assert "second_path_FC_1 (SysName AlletraMP_D22U27, SysID 188150, ready)" in message
    assert choose_target("secondary", targets, d22u27(), "second_path_FC_1", D_SOURCE).name == "second_path_FC_1"


def test_sysname_and_sysid_that_disagree_stop_the_run() -> None:
    targets = parse_showrcopy(E18U31_D.replace("AlletraMP_D22U27 188150", "AlletraMP_D22U27 188151")).targets
    with pytest.raises(TargetDiscoveryError, match="SysName and SysID that disagree"):
        choose_target("secondary", targets, d22u27(), None, D_SOURCE)


def test_plain_targets_have_no_identity_so_the_peer_name_or_config_decides() -> None:
    plain = targets_of("E18U31_showrcopy_targets.txt")
    assert plain[0].sys_name is None and plain[0].sys_id is None
    with pytest.raises(TargetDiscoveryError) as caught:
        choose_target("secondary", plain, d22u27(), None, "showrcopy targets")
    assert "none shows SysName/SysID and none is named AlletraMP_D22U27" in str(caught.value)
    assert "AlletraMP_E18U31 (ready)" in str(caught.value)
    configured = choose_target("secondary", plain, d22u27(), "AlletraMP_E18U31", "showrcopy targets")
    assert (configured.name, configured.reason) == (
        "AlletraMP_E18U31",
        "configured target; no SysName/SysID in the output to confirm where it leads",
    )


def test_a_target_named_after_the_peer_is_used_when_d_shows_no_identity() -> None:
    failed = targets_of("third_array_showrcopy_targets_failed.txt")
    peer = PeerIdentity("secondary", "MPB10K-E24U21-LZ", None)
    choice = choose_target("primary", failed, peer, None, D_SOURCE)
    assert choice.name == "MPB10K-E24U21-LZ"
    assert choice.reason.startswith("named after the secondary's showsys name")


def test_no_targets_at_all() -> None:
    with pytest.raises(TargetDiscoveryError, match="lists none: no remote-copy target leads to primary"):
        choose_target("secondary", [], d22u27(), None, D_SOURCE)


# --------------------------------------------------------------------------- configuration


def lab_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: Any) -> Path:
    data = yaml.safe_load((ROOT / "fixtures" / "lab-example.yaml").read_text())
    data["arrays"]["secondary"]["target"] = target
    cert, _ = make_self_signed_cert(tmp_path)  # ca_cert must hold a real PEM certificate
    for key in ("primary", "secondary"):
        data["arrays"][key]["cim"]["ca_cert"] = cert
    for name in ("SMIS_PRIMARY_PASSWORD", "SMIS_SECONDARY_PASSWORD", "SMIS_PRIMARY_SSH_PASSWORD",
                 "SMIS_SECONDARY_SSH_PASSWORD"):  # fmt: skip
        monkeypatch.setenv(name, "x")
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_config_target_is_optional_and_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_config(lab_config(tmp_path, monkeypatch, "AlletraMP_E18U31")).array("secondary").target == (
        "AlletraMP_E18U31"
    )
    assert load_config(lab_config(tmp_path, monkeypatch, None)).array("primary").target is None
    for bad, fragment in (("two words", "no spaces"), ("receive", "inbound links"), ("", "target name")):
        with pytest.raises(ConfigError) as caught:
            load_config(lab_config(tmp_path, monkeypatch, bad))
        assert "arrays.secondary.target" in str(caught.value) and fragment in str(caught.value)


# --------------------------------------------------------------------------- end to end over SSH


@pytest.fixture(scope="module")
def simulated_pair() -> Any:
    with SimulatedArrays(WorldSpec(topology="pair")) as sim:
        yield sim


def open_session(sim: SimulatedArrays, targets: dict[str, str] | None = None) -> Connections:
    config = builtin_config("pair").with_simulated_arrays(sim.describe())
    session = Connections.open(config, Transcript())
    for key, name in (targets or {}).items():
        handle = session.arrays[key]
        handle.config = handle.config.model_copy(update={"target": name})
    return session


def listed_targets(session: Connections, key: str) -> list[Target]:
    """What `showrcopy -d targets` printed on `key` during preflight (from the session's transcript)."""
    outputs = [r.stdout for r in session.transcript.entries if r.array == key and r.command == D_SOURCE]
    assert len(outputs) == 1
    return parse_showrcopy(outputs[0]).targets


def test_preflight_over_ssh_states_the_target_and_why(simulated_pair: SimulatedArrays) -> None:
    session = open_session(simulated_pair)
    lines: list[str] = []
    try:
        session.preflight("rcg_sync_0", lines.append)
        names = {key: info["system_name"] for key, info in simulated_pair.describe()["arrays"].items()}
        for key, peer in (("primary", "secondary"), ("secondary", "primary")):
            handle = session.arrays[key]
            (listed,) = listed_targets(session, key)
            assert handle.target_name == listed.name
            if listed.sys_name is None:  # a simulator without SysName/SysID in -d: the fallback says so
                assert listed.name == names[peer]
                reason = f"named after the {peer}'s showsys name; no SysName/SysID in the output to confirm"
            else:
                peer_id = session.arrays[peer].cli_identity.system_id
                assert (listed.sys_name, listed.sys_id) == (names[peer], peer_id)
                reason = f"SysName/SysID match the {peer}'s showsys ({names[peer]}, {listed.sys_id})"
            assert handle.target is not None and handle.target.reason.startswith(reason)
            assert handle.manifest()["target"] == {"name": listed.name, "peer": peer, "reason": handle.target.reason}
            progress = f"{key}: remote-copy target {listed.name} leads to {peer} {names[peer]}: {reason}"
            assert progress in "\n".join(lines)
        assert session.arrays["secondary"].group_name.startswith("rcg_sync_0.r")
    finally:
        session.close()


def test_preflight_over_ssh_uses_a_configured_target(simulated_pair: SimulatedArrays) -> None:
    names = {key: info["system_name"] for key, info in simulated_pair.describe()["arrays"].items()}
    session = open_session(simulated_pair, {"secondary": names["primary"]})
    try:
        session.preflight("rcg_sync_0")
        assert session.arrays["secondary"].target_name == names["primary"]
        assert session.arrays["secondary"].target.reason.startswith("configured target; ")
        assert not session.arrays["primary"].target.reason.startswith("configured")
    finally:
        session.close()


def test_preflight_over_ssh_stops_on_a_configured_target_the_array_does_not_list(
    simulated_pair: SimulatedArrays,
) -> None:
    session = open_session(simulated_pair, {"primary": "AlletraMP_E18U31"})
    try:
        with pytest.raises(PreflightError) as caught:
            session.preflight("rcg_sync_0")
        (listed,) = listed_targets(session, "primary")
        message = str(caught.value)
        assert f"primary: showrcopy -d targets lists {describe_target(listed)}" in message
        assert "the configured target AlletraMP_E18U31 is not listed" in message
        assert session.arrays["primary"].group is None  # stopped before any group lookup
    finally:
        session.close()


NAMING = "target_names" in WorldSpec.__dataclass_fields__


@pytest.mark.skipif(not NAMING, reason="this simulator cannot name targets other than after the peer")
@pytest.mark.parametrize(
    ("behaviour", "style", "expected"),
    [
        ("10.5", None, {"primary": "{secondary}", "secondary": "{secondary}"}),  # as on the real pair
        ("3.1", "own", {"primary": "{primary}", "secondary": "{secondary}"}),
        ("3.1", "rc_{own_id}_to_{peer_id}", {"primary": "rc_{primary_id}_to_{secondary_id}",
                                             "secondary": "rc_{secondary_id}_to_{primary_id}"}),
    ],
)  # fmt: skip
def test_preflight_over_ssh_finds_targets_not_named_after_the_peer(
    behaviour: str, style: str | None, expected: dict[str, str]
) -> None:
    spec = WorldSpec(topology="pair", behaviour=behaviour, target_names=style)  # type: ignore[call-arg]
    with SimulatedArrays(spec) as sim:
        arrays = sim.describe()["arrays"]
        values = {key: info["system_name"] for key, info in arrays.items()}
        values |= {f"{key}_id": info["system_id"] for key, info in arrays.items()}
        session = open_session(sim)
        lines: list[str] = []
        try:
            session.preflight("rcg_sync_0", lines.append)
            for key, handle in session.arrays.items():
                assert handle.target_name == expected[key].format(**values)
                assert handle.target is not None and handle.target.reason.startswith("SysName/SysID match")
            assert session.arrays["secondary"].group_name == f"rcg_sync_0.r{values['primary_id']}"
            text = "\n".join(lines)
            chosen = expected["secondary"].format(**values)
            assert f"secondary: remote-copy target {chosen} leads to primary {values['primary']}: SysName" in text
        finally:
            session.close()
