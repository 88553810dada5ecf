"""python -m satmc.ports [FOLDER]: write wire.json (satmc.vbus.wire's constants) in every port
folder with sources in another language (under FOLDER, by default bridge/satmc/ports)."""

import sys
from pathlib import Path

from . import HERE, foreign_ports, wire_json

text = wire_json()
for port in foreign_ports(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
    table = port / "wire.json"
    if table.is_file() and table.read_text() == text:
        print(f"{table} is current")
    else:
        table.write_text(text)
        print(f"wrote {table}")
