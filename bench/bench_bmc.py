"""The bench BMC against OpenIPMI's ipmi_sim: stock `ipmitool -I lanplus -C 3 sdr list`.

The bench BMC (`satmc bmc`: LAN side and chassis side, in a process of its own) stands
in front of a simulated chassis; ipmi_sim is configured with the same satellites (an MC
at each address) and the same SDR records and sensors (the records are the ones our
BMC serves, dumped with `ipmitool sdr dump`). Each ipmitool run is timed whole by
`farm-bench` (paired runs, medians). IPMB transactions are the requests the satellites'
firmware counted (`requests`), so they are real bus transactions: cold is the BMC's
start (its SDR scan) plus the first listing, warm a later listing. ipmi_sim's MCs live
in its own process, so it has no bus to count. Suite 3 for both: ipmi_sim does not
answer Get Channel Cipher Suites before a session. Target: faster than ipmi_sim, cold
and warm.

Cold: COLD_ROUNDS rounds, each a fresh bench BMC process (in front of the same running
chassis) and a fresh ipmi_sim, both waited for with an RMCP presence ping only (no
session, nothing of the listing's path run before), then the first `sdr list` of each,
timed whole, in turns (who goes first alternates); the figure is the median of the
rounds' ratios. Warm: farm-bench's paired runs against the same two, already running.

The simulated IPMB is not paced (the bus does not hold transfers to 100 kHz wire time),
so the comparison is unpaced: the target is held to the unpaced figure. The wire time the
warm listing's transactions would take at the bus's clock, from the bus's own accounting,
is printed beside it: a real IPMB at that clock needs at least that long for them (ipmi_sim
has no bus).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import verdict
from satmc.ipmi.client import read_counters
from satmc.transports import connect

CHASSIS = "bench2"
USER, PASSWORD = "admin", "bench-password"
RUNS = 7
COLD_ROUNDS = 5
ASF_PING = bytes.fromhex("06 00 ff 06 00 00 11 be 80 00 00 00")  # RMCP presence ping


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(cond, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _ipmitool(port: int, *args: str) -> list[str]:
    return [
        shutil.which("ipmitool"),
        "-I",
        "lanplus",
        "-C",
        "3",
        "-H",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        USER,
        "-P",
        PASSWORD,
        *args,
    ]


def _answers(port: int) -> bool:
    r = subprocess.run(
        _ipmitool(port, "-N", "1", "-R", "1", "mc", "info"), capture_output=True, timeout=30
    )
    return r.returncode == 0


def _pongs(port: int) -> bool:
    """Does something answer an RMCP presence ping on the port (no session opened)?"""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.sendto(ASF_PING, ("127.0.0.1", port))
        try:
            return len(s.recv(512)) > 4
        except OSError:
            return False


def _transactions(url: str, addresses) -> int:
    """Requests the satellites' firmware has served (one more per satellite: this read)."""
    total = 0
    for a in addresses:
        with connect(url, address=a) as sat:
            total += read_counters(sat)["requests"]
    return total


def _records(dump: Path) -> list[bytes]:
    data, out = dump.read_bytes(), []
    while len(data) >= 5:
        n = 5 + data[4]
        out.append(data[:n])
        data = data[n:]
    return out


def _ipmi_sim_files(tmp: Path, port: int, addresses, records: list[bytes]) -> list[str]:
    (tmp / "lan.conf").write_text(
        f'name "bench"\nset_working_mc 0x20\nstartlan 1\n  addr 127.0.0.1 {port}\n'
        "  priv_limit admin\n"
        + "".join(f"  allowed_auths_{p} md5 straight\n" for p in ("callback", "user", "operator"))
        + "  allowed_auths_admin md5 straight\n"
        "  guid a123456789abcdefa123456789abcdef\nendlan\n"
        f'user 2 true "{USER}" "{PASSWORD}" admin 10 md5 straight\n'
    )
    emu = ["mc_setbmc 0x20", "mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02"]
    emu.append("sel_enable 0x20 1000 0x0a")
    for a in addresses:
        emu += [f"mc_add 0x{a:02x} 0 has-device-sdrs 0x23 9 8 0x29 0x1291 0xf03"]
    for rec in records:
        emu.append("main_sdr_add 0x20 " + " ".join(f"0x{b:02x}" for b in rec))
        if rec[3] in (0x01, 0x02):  # full and compact sensors: a sensor at their owner
            owner, lun, num, stype, rtype = rec[5], rec[6] & 3, rec[7], rec[12], rec[13]
            emu.append(f"sensor_add 0x{owner:02x} {lun} {num} 0x{stype:02x} 0x{rtype:02x}")
            emu.append(f"sensor_set_value 0x{owner:02x} {lun} {num} 0x40 0")
    emu += [f"mc_enable 0x{a:02x}" for a in addresses] + ["mc_enable 0x20"]
    (tmp / "bench.emu").write_text("\n".join(emu) + "\n")
    (tmp / "state").mkdir()
    return [
        shutil.which("ipmi_sim"),
        "-c",
        str(tmp / "lan.conf"),
        "-f",
        str(tmp / "bench.emu"),
        "-s",
        str(tmp / "state"),
        "-n",
        "-p",
    ]


def _farm_bench(a: list[str], b: list[str]) -> dict[str, float]:
    r = subprocess.run(
        ["farm-bench", "-n", str(RUNS), "--timeout", "600", "--vs", " ".join(b), "--", *a],
        capture_output=True,
        text=True,
        timeout=700,
    )
    if r.returncode:
        raise RuntimeError(f"farm-bench failed: {r.stderr.strip()[-300:]}")
    out = {}
    for key in ("A wall s", "B wall s", "A/B wall"):
        m = re.search(rf"^{re.escape(key)}\s+\S+\s+(\S+)", r.stdout, re.M)
        if m is None:
            raise RuntimeError(f"farm-bench printed no {key!r}: {r.stdout[-500:]}")
        out[key] = float(m.group(1))
    return out


def _timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True, timeout=300)
    return time.perf_counter() - t


def _bmc_process(url: str, port: int, users: Path, addresses, env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "satmc.cli.main", "-t", url, "bmc", "--port", str(port),
         "--users", str(users), "--satellites", ",".join(f"0x{a:02x}" for a in addresses)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def _cold_ratios(sim, users: Path, addresses, env, records, tmp: Path) -> list[float]:
    """COLD_ROUNDS first listings of fresh processes: [bench BMC / ipmi_sim] per round."""
    ratios = []
    for i in range(COLD_ROUNDS):
        ours_port, isim_port = _free_udp_port(), _free_udp_port()
        bmc = isim = None
        cwd = tmp / f"cold-{i}"
        cwd.mkdir()
        try:
            bmc = _bmc_process(sim.url, ours_port, users, addresses, env)
            isim = subprocess.Popen(
                _ipmi_sim_files(cwd, isim_port, addresses, records),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, cwd=cwd,
            )  # fmt: skip
            _wait_for(lambda p=ours_port: _pongs(p), "the bench BMC")
            _wait_for(lambda p=isim_port: _pongs(p), "ipmi_sim")
            ours, theirs = _ipmitool(ours_port, "sdr", "list"), _ipmitool(isim_port, "sdr", "list")
            if i % 2:
                b, a = _timed(theirs), _timed(ours)
            else:
                a, b = _timed(ours), _timed(theirs)
            ratios.append(a / b)
        finally:
            _stop(bmc)
            _stop(isim)
    return ratios


def run() -> None:
    missing = [t for t in ("ipmitool", "ipmi_sim", "farm-bench") if shutil.which(t) is None]
    if missing:
        print(f"{', '.join(missing)} not installed (apt-get install ipmitool openipmi): skipped")
        return
    from satmc.sim.chassis import ChassisSimulator

    with tempfile.TemporaryDirectory(prefix="satmc-bench-bmc-") as d:
        tmp = Path(d)
        users = tmp / "users.toml"
        users.write_text(
            f'[[user]]\nname = "{USER}"\npassword = "{PASSWORD}"\nprivilege = "administrator"\n'
        )
        users.chmod(0o600)
        sim = ChassisSimulator(CHASSIS, socket_path=str(tmp / "chassis.sock"), build_dir=tmp / "b")
        with sim:
            addresses = [s.address for s in sim.satellites]
            ours_port, isim_port = _free_udp_port(), _free_udp_port()
            before = _transactions(sim.url, addresses)
            env = dict(os.environ, XDG_CACHE_HOME=str(tmp / "cache"))
            bmc = _bmc_process(sim.url, ours_port, users, addresses, env)
            isim = None
            try:
                _wait_for(lambda: _answers(ours_port), "the bench BMC")
                listing = _ipmitool(ours_port, "sdr", "list")
                cold_wall = _timed(listing)
                mark = _transactions(sim.url, addresses)
                cost = _transactions(sim.url, addresses) - mark  # of reading the counters
                cold = mark - before - cost
                mark = _transactions(sim.url, addresses)
                wire0 = sim.control("stats", bus="ipmb")["wire_time"]
                _timed(listing)
                wire = sim.control("stats", bus="ipmb")["wire_time"] - wire0
                warm = _transactions(sim.url, addresses) - mark - cost
                dump = tmp / "sdr.bin"
                subprocess.run(_ipmitool(ours_port, "sdr", "dump", str(dump)), check=True,
                               capture_output=True, timeout=120)  # fmt: skip
                records = _records(dump)
                isim = subprocess.Popen(
                    _ipmi_sim_files(tmp, isim_port, addresses, records),
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, cwd=tmp,
                )  # fmt: skip
                _wait_for(lambda: _answers(isim_port), "ipmi_sim")
                sensors = sum(1 for r in records if r[3] in (0x01, 0x02))
                t = _farm_bench(listing, _ipmitool(isim_port, "sdr", "list"))
            finally:
                _stop(bmc)
                _stop(isim)
            cold_ratio = statistics.median(_cold_ratios(sim, users, addresses, env, records, tmp))
        print(
            f"{CHASSIS}: {len(addresses)} satellites, {sensors} sensors, {len(records)} SDR "
            f"records; ipmitool -I lanplus -C 3 sdr list, median of {RUNS} (farm-bench)"
        )
        print(
            f"bench BMC, cold            {cold_wall * 1000:7.1f} ms  {cold:4d} IPMB transactions "
            "(first listing after the start)"
        )
        print(
            f"bench BMC, warm            {t['A wall s'] * 1000:7.1f} ms  {warm:4d} IPMB "
            f"transactions (IPMB unpaced; their wire time at {sim.freq_hz // 1000} kHz "
            f"{wire * 1000:.1f} ms)"
        )
        print(f"ipmi_sim (OpenIPMI)        {t['B wall s'] * 1000:7.1f} ms     - (MCs in process)")
        print(
            f"bench BMC / ipmi_sim, cold  {cold_ratio:5.2f}x wall, median of {COLD_ROUNDS} "
            f"fresh starts of both (target < 1: {verdict(cold_ratio < 1)})"
        )
        print(
            f"bench BMC / ipmi_sim, warm  {t['A/B wall']:5.2f}x wall "
            f"(target < 1: {verdict(t['A/B wall'] < 1)})"
        )
