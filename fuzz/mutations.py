"""Random and mutated IPMB frames from the corpus seeds: the one generator for the
MicroPython unix port run (fuzz/mpy_frames.py, imported there from this directory) and
the rp2emu slice (fuzz.rp2emu, under CPython). Uses only what both Pythons have.

    frames = seeds(path)          # the corpus seeds file (fuzz.seeds)
    f = mutate(frames[i], r)      # r: a random.Random (getrandbits)

A frame is the bytes after the satellite's address (0x72), as a controller writes them.
"""


def seeds(path):
    out = []
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i < len(data):
        n = data[i]
        out.append(bytes(data[i + 1 : i + 1 + n]))
        i += 1 + n
    return out or [b"\x18\xc8\x20\x04\x01\xdb"]


def fix_checksums(f):
    if len(f) >= 6:
        f[1] = -(0x72 + f[0]) & 0xFF
        s = 0
        for k in range(2, len(f) - 1):
            s += f[k]
        f[len(f) - 1] = -s & 0xFF


def mutate(seed, r):
    f = bytearray(seed)
    how = r.getrandbits(3)
    if how == 0:  # wholly random
        f = bytearray(r.getrandbits(8) for _ in range(1 + r.getrandbits(5)))
    elif how == 1 and f:
        i = r.getrandbits(8) % len(f)
        f[i] ^= 1 << r.getrandbits(3)
    elif how == 2:
        f.append(r.getrandbits(8))
    elif how == 3 and len(f) > 1:
        f = f[: r.getrandbits(8) % len(f)] or bytearray(1)
    elif how == 4:
        i = r.getrandbits(8) % (len(f) + 1)
        f = f[:i] + bytearray((r.getrandbits(8),)) + f[i:]
    elif how == 5 and len(f) > 6:
        f[5 + r.getrandbits(8) % (len(f) - 6)] = r.getrandbits(8)
    if r.getrandbits(1):
        fix_checksums(f)
    if len(f) > 40:
        f = f[:40]
    return f
