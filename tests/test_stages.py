"""The stage graph and planner (pure)."""

import pytest

from harness.stages import NATURAL, NoPath, StageGraph, infer_stage, stage_for_row, tour_position


def names(legs) -> list[str]:
    return [f"{s.kind}:{s.name}" for leg in legs for s in leg.steps]


def test_full_dr_path_from_natural_to_restore() -> None:
    legs = StageGraph().plan(NATURAL, "restore")
    assert names(legs) == [
        "event:primary_down",
        "command:failover",
        "event:primary_up",
        "command:recover",
        "command:restore",
    ]
    assert [leg.target for leg in legs] == ["primary_down", "failover", "primary_up", "recover", "restore"]


def test_dr_commands_go_to_the_original_secondary() -> None:
    legs = StageGraph(primary="primary", secondary="secondary").plan(NATURAL, "restore")
    arrays = {s.array for leg in legs for s in leg.steps if s.kind == "command"}
    assert arrays == {"secondary"}


def test_consecutive_stages_do_not_replay_the_path() -> None:
    graph = StageGraph()
    assert names(graph.plan("failover", "primary_up")) == ["event:primary_up"]
    assert names(graph.plan("recover_failed", "recover")) == ["event:primary_up", "command:recover"]
    assert names(graph.plan("restore_failed", "restore")) == ["command:restore"]


def test_pass_through_stages_continue_from_natural() -> None:
    graph = StageGraph()
    assert graph.plan("restore", NATURAL) == []
    assert names(graph.plan("restore", "primary_down")) == ["event:primary_down"]
    assert names(graph.plan("normal:Syncing", "normal:Stopped")) == ["command:stop"]


def test_failure_branches_arm_the_fault_first() -> None:
    legs = StageGraph().plan("primary_up", "recover_failed")
    steps = [s for leg in legs for s in leg.steps]
    assert [s.kind for s in steps] == ["fault", "command"]
    assert steps[1].expect_failure


def test_teardown_from_every_stage_reaches_natural() -> None:
    graph = StageGraph()
    for stage in ("primary_down", "failover", "primary_up", "recover_failed", "recover", "restore_failed",
                  "normal:Stopped", "normal:New", "normal:NotSynced", "normal:Stale"):
        legs = graph.plan(stage, NATURAL)
        assert legs, stage
        assert legs[-1].target in (NATURAL, "restore")


def test_missing_actions_make_a_stage_unreachable_with_a_reason() -> None:
    graph = StageGraph(available={"primary_down", "primary_up"})
    with pytest.raises(NoPath, match="recover_fails"):
        graph.plan(NATURAL, "recover_failed")
    assert names(graph.plan(NATURAL, "recover"))[-1] == "command:recover"


def test_rows_map_to_stages_in_tour_order() -> None:
    assert stage_for_row("table107", stage="recover", when="failed", sync_status=None) == "recover_failed"
    assert stage_for_row("table107", stage="recover", when="in_progress", sync_status=None) == "recover"
    assert stage_for_row("table106", stage=None, when=None, sync_status="Synced") == NATURAL
    assert tour_position("recover_failed") < tour_position("recover") < tour_position("restore_failed")
    assert tour_position("restore_failed") < tour_position("restore")


def _view(role: str, status: str, target: str, sync: str):
    from harness.observation import CliView, CliVolume

    return CliView("g", "peer", status, role, "Sync", target, (CliVolume("v0", "v0", sync, sync, None),))


def test_infer_stage_from_cli_views() -> None:
    def views(primary, secondary):
        return {"primary": _view(*primary), "secondary": _view(*secondary)}

    natural = views(("Primary", "Started", "ready", "Synced"), ("Secondary", "Started", "ready", "Synced"))
    assert infer_stage(natural, "pair") == NATURAL
    down = {"secondary": _view("Secondary", "Stopped", "failed", "Stopped")}
    assert infer_stage(down, "pair") == "primary_down"
    failed_over = {"secondary": _view("Primary-Rev", "Stopped", "failed", "Stopped")}
    assert infer_stage(failed_over, "pair") == "failover"
    back = views(("Secondary-Rev", "Stopped", "ready", "Stopped"), ("Primary-Rev", "Stopped", "ready", "Stopped"))
    assert infer_stage(back, "pair") == "primary_up"
    recovered = views(("Secondary-Rev", "Started", "ready", "Synced"), ("Primary-Rev", "Started", "ready", "Synced"))
    assert infer_stage(recovered, "pair") == "recover"
    stale = views(("Primary", "Started", "ready", "Stale"), ("Secondary", "Started", "ready", "Stale"))
    assert infer_stage(stale, "pair") == "normal:Stale"
    assert infer_stage({"secondary": _view("Secondary-Rev", "Started", "ready", "Synced")}, "pair") is None


def test_teardown_ends_when_restore_returns_the_pair_to_natural() -> None:
    legs = StageGraph().plan("failover", NATURAL)
    assert names(legs) == ["event:primary_up", "command:recover", "command:restore"]
