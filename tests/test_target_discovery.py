"""Target discovery: which remote-copy target leads to the peer, from real `showrcopy -d` output and over SSH."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.array_cli import Transcript
from harness.config import ConfigError, builtin_config, load_config
from harness.mock.service import SimulatedArrays
from harness.mock.topology import WorldSpec
from harness.session import PreflightError, Session
from harness.showrcopy import Target, parse_showrcopy, parse_showsys
from harness.target_discovery import PeerIdentity, TargetDiscoveryError, choose_target

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
    for key in ("primary", "secondary"):
        data["arrays"][key]["cim"]["ca_cert"] = str(tmp_path / "ca.pem")
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
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
    assert load_config(ROOT / "fixtures" / "lab-example.yaml").array("primary").target is None
    for bad, fragment in (("two words", "no spaces"), ("receive", "inbound links"), ("", "target name")):
        with pytest.raises(ConfigError) as caught:
            load_config(lab_config(tmp_path, monkeypatch, bad))
        assert "arrays.secondary.target" in str(caught.value) and fragment in str(caught.value)


# --------------------------------------------------------------------------- end to end over SSH


@pytest.fixture(scope="module")
def simulated_pair() -> Any:
    with SimulatedArrays(WorldSpec(topology="pair")) as sim:
        yield sim


def open_session(sim: SimulatedArrays, targets: dict[str, str] | None = None) -> Session:
    config = builtin_config("pair").with_simulated_arrays(sim.describe())
    session = Session.open(config, Transcript())
    for key, name in (targets or {}).items():
        handle = session.arrays[key]
        handle.config = handle.config.model_copy(update={"target": name})
    return session


def test_preflight_over_ssh_states_the_target_and_why(simulated_pair: SimulatedArrays) -> None:
    session = open_session(simulated_pair)
    lines: list[str] = []
    try:
        session.preflight("rcg_sync_0", lines.append)
        names = {k: h.cli_identity.name for k, h in session.arrays.items() if h.cli_identity}
        primary, secondary = session.arrays["primary"], session.arrays["secondary"]
        # the simulator names its targets after the peer and shows no SysName/SysID: the fallback says so
        assert primary.target_name == names["secondary"] and secondary.target_name == names["primary"]
        assert secondary.group_name.startswith("rcg_sync_0.r")
        manifest = secondary.manifest()["target"]
        assert manifest["name"] == names["primary"] and manifest["peer"] == "primary"
        assert manifest["reason"].startswith("named after the primary's showsys name")
        assert f"secondary: remote-copy target {names['primary']} leads to {names['primary']} (named after" in (
            "\n".join(lines)
        )
        commands = [entry.command for entry in session.transcript.entries]
        assert commands.count("showrcopy -d targets") == 2
    finally:
        session.close()


def test_preflight_over_ssh_uses_a_configured_target(simulated_pair: SimulatedArrays) -> None:
    names = {key: info["system_name"] for key, info in simulated_pair.describe()["arrays"].items()}
    session = open_session(simulated_pair, {"secondary": names["primary"]})
    try:
        session.preflight("rcg_sync_0")
        assert session.arrays["secondary"].target.reason.startswith("configured target")
        assert session.arrays["primary"].target.reason.startswith("named after")
    finally:
        session.close()


def test_preflight_over_ssh_stops_on_a_configured_target_the_array_does_not_list(
    simulated_pair: SimulatedArrays,
) -> None:
    names = {key: info["system_name"] for key, info in simulated_pair.describe()["arrays"].items()}
    session = open_session(simulated_pair, {"primary": "AlletraMP_E18U31"})
    try:
        with pytest.raises(PreflightError) as caught:
            session.preflight("rcg_sync_0")
        message = str(caught.value)
        assert f"primary: showrcopy -d targets lists {names['secondary']} (ready)" in message
        assert "the configured target AlletraMP_E18U31 is not listed" in message
        assert session.arrays["primary"].group is None  # stopped before any group lookup
    finally:
        session.close()
