"""What the wiring takes from the board config: address pins, I2C pins, the heartbeat LED."""

import asyncio

import machine

from ipmc import main, wiring


def test_fixed_address_without_ga_pins():
    assert wiring.ipmb_address({"address": 0x72, "ga_pins": []}) == 0x72


def test_ga_pins_add_twice_their_value_lsb_first():
    for pin, level in ((40, 1), (41, 0), (42, 1)):
        machine.Pin(pin).value(level)
    assert wiring.ipmb_address({"address": 0x70, "ga_pins": [40, 41, 42]}) == 0x70 + 2 * 0b101


def test_blocks_with_fixed_pins_get_no_pin_arguments():
    assert wiring._pins({"block": 1}) == {}
    kw = wiring._pins({"block": 0, "scl": 1, "sda": 0})
    assert kw["scl"].id == 1 and kw["sda"].id == 0


def test_heartbeat_toggles_the_led():
    seen = []

    async def watch():
        task = asyncio.create_task(main._heartbeat(wiring.led({"pin": 43, "active_low": True})))
        for _ in range(2):
            await asyncio.sleep_ms(20)
            seen.append(machine.Pin(43).value())
            await asyncio.sleep_ms(500)
        task.cancel()

    asyncio.run(watch())
    assert seen == [0, 1]  # active low: starts off (high), first toggle lights it
