"""A GPIO level as a discrete state (presence, power good).

present = GPIOState(machine.Pin(7, machine.Pin.IN, machine.Pin.PULL_UP), active_low=True)
present.read()      # 1 when active, else 0
"""


class GPIOState:
    def __init__(self, pin, active_low=False):
        self.pin = pin
        self.invert = 1 if active_low else 0

    def read(self):
        return self.pin.value() ^ self.invert
