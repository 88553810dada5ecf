"""Shell completion (argcomplete): commands and options, sensor names, board names.

    eval "$(register-python-argcomplete satmc)"        # bash or zsh, e.g. in ~/.bashrc
    register-python-argcomplete --shell fish satmc | source

Commands, subcommands and options come from the parser itself. Sensor names come
from the SDR cache of the satellite `-a` names (satmc.sensors), so completing costs no
bus traffic; before any listing has filled the cache, the completer asks the target
once (which fills it). Board names are the board files satmc ships.
"""

from __future__ import annotations


def board_names(prefix: str = "", **_) -> list[str]:
    from ..board import board_names as names

    return [n for n in names() if n.startswith(prefix)]


def sensor_names(prefix: str = "", parsed_args=None, **_) -> list[str]:
    from ..sensors import SensorClient, cached_sensor_names
    from .main import _address, open_target

    address = getattr(parsed_args, "address", "0x72")
    try:  # argcomplete leaves defaults unconverted
        parsed_args.address = address = _address(address) if isinstance(address, str) else address
    except (ValueError, AttributeError):
        return []
    names = cached_sensor_names(address)
    if not names:
        try:
            with open_target(parsed_args) as sat:
                names = [r.device_id_string for r in SensorClient(sat).sensor_records()]
        except Exception:  # noqa: BLE001  (no satellite to ask: nothing to offer, no traceback)
            names = []
    return [n for n in names if n.startswith(prefix)]


def install(parser) -> None:
    """Answer a completion request when the shell asks (argcomplete exits then)."""
    import argcomplete

    argcomplete.autocomplete(parser)
