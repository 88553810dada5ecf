"""Every command the BMC answers itself, and Send Message, fed random request data:
each gets a completion code, none is a fault in the BMC."""

from __future__ import annotations

import random

from satmc.bmc.chassis import BenchBmc
from satmc.ipmi import codes


def test_random_request_data_never_faults_the_bmc(sim, another_bmc):
    s = another_bmc([sim.address], capacity=32)
    rng = random.Random(13)
    commands = list(BenchBmc._LOCAL) + [(codes.NETFN_APP, codes.CMD_SEND_MESSAGE)]
    for netfn, cmd in commands:
        for n in list(range(0, 24)) + [40, 64]:
            data = bytes(rng.randrange(256) for _ in range(n))
            if cmd == codes.CMD_SEND_MESSAGE and n and rng.random() < 0.5:
                data = bytes((0x40,)) + data[1:]  # reach the frame checks, too
            cc, rsp = s.call(netfn, cmd, data)
            assert 0 <= cc <= 0xFF and isinstance(rsp, bytes)
            assert cc != codes.CC_UNSPECIFIED or cmd == codes.CMD_SEND_MESSAGE, (netfn, cmd, data)
    assert s.bmc.faults == 0
