"""The short form of `make soak` (soak/): contention of three hosts on one IPMB, the fault
matrix at full load, and mixed traffic with resets; nothing lost, nothing misdelivered.

Rates and recovery times are figures in the soak's output, never asserted here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from satmc.ipmi.messages import STATISTICS_PAGES  # noqa: E402
from soak import __main__ as soak_main  # noqa: E402
from soak import contention  # noqa: E402
from soak.faults import MATRIX  # noqa: E402


@pytest.fixture
def board(tmp_path):
    from satmc.sim.simulator import Simulator

    s = Simulator("sim", socket_path=str(tmp_path / "soak.sock"), build_dir=tmp_path / "b")
    s.start()
    yield s
    s.stop()


def test_three_hosts_at_full_rate_each_get_exactly_their_own_answers(board):
    r = contention.run(board, 20)
    assert r["problems"] == []
    for name, h in r["hosts"].items():
        assert h["ok"] > 0 and h["ok"] == h["calls"], (name, h)
        assert h["wrong"] == h["stray"] == 0, (name, h)
        # every response frame this host took was one of its own requests' answers
        assert h["rsp_frames"] == h["req_frames"], (name, h)
    # each request frame dispatched once: the hosts' frames plus whole statistics reads
    # (settled() reads until two in a row agree: a few, each STATISTICS_PAGES requests)
    ours = r["requests"] - r["frames_written"]
    assert 0 <= ours <= 8 * STATISTICS_PAGES and ours % STATISTICS_PAGES == 0, ours
    assert r["counters"]["read_back"] == r["hosts"]["readback"]["rsp_frames"]


def test_soak_slice_loses_nothing_and_writes_its_summary_and_plot(tmp_path, capsys):
    out = tmp_path / "out"
    # the storm part's short form is tests/test_storm.py's (16 satellites under faults)
    code = soak_main.main(["--duration", "45s", "--out", str(out), "--no-storm"])
    printed = capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text())
    for part in ("contention", "faults", "mixed"):
        assert s[part]["problems"] == [], (part, s[part]["problems"])
        assert s[part]["alive"]
    assert "storm" not in s
    f = s["faults"]
    assert {x["kind"] for x in f["faults"]} == set(MATRIX)  # the whole matrix, each once
    fired = f["fired"]
    assert all(fired["ipmb"][k] for k in ("nack", "corrupt", "arb_lost", "stuck", "slow"))
    assert fired["board"]["nack"] > 0  # the busy EEPROM
    assert f["counters"]["events_dropped"] > 0  # the absent receiver: counted, not lost
    assert f["events_received"] >= f["counters"]["events_acked"] > 0
    m = s["mixed"]
    assert all(m["ops"][k] for k in ("sensor", "fru_read", "sdr_walk", "fru_write", "event"))
    assert m["ops"]["reset"] >= 1 and len(m["epochs"]) == m["ops"]["reset"] + 1
    assert all(e["silent_losses"] == 0 for e in m["epochs"])
    assert m["heap_growth"] is not None and m["heap_growth"] <= soak_main.HEAP_SLACK
    assert (out / "soak.png").stat().st_size > 10_000
    assert "silent losses and problems" in printed and "MISSED" not in printed, printed
    assert code == 0


def test_durations_read_like_make_soak_takes_them():
    assert [soak_main.seconds(t) for t in ("90", "90s", "10m", "1h")] == [90, 90, 600, 3600]
    with pytest.raises(Exception, match="not a duration"):
        soak_main.seconds("an hour")
