"""The field checks every section of a board file uses: one message per kind of mistake.

    need(d, "name", where, str)               # "<where>.name: missing" / "expected str, got 5"
    integer(d, "freq", where, 10_000, 1_000_000, default=100_000)
    only(d, ("scl", "sda", "freq"), where)    # "<where>.x: unknown field (known: ...)"
    milli(0.5, where)                         # 500: engineering unit -> thousandths
    one_of(v, UNITS)                          # a name in the table (never unhashable)
    read_yaml(path)                           # a file's YAML data, or one line saying why not

`where` is the dotted path of the mapping in the board file (e.g. "pico.ipmb").
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import BoardFileError

_NO_DEFAULT = object()


def need(d: dict, key: str, where: str, kind=None):
    """d[key], or BoardFileError when it is missing or not of `kind`."""
    if not isinstance(d, dict) or key not in d:
        raise BoardFileError(f"{where}.{key}: missing")
    v = d[key]
    if kind is not None and not isinstance(v, kind):
        name = getattr(kind, "__name__", None) or " or ".join(k.__name__ for k in kind)
        raise BoardFileError(f"{where}.{key}: expected {name}, got {v!r}")
    return v


def integer(d: dict, key: str, where: str, lo: int, hi: int, default=_NO_DEFAULT) -> int:
    """d[key] as an integer in lo..hi (bools refused); `default` when the key is absent."""
    if default is not _NO_DEFAULT and key not in d:
        return default
    v = need(d, key, where)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        f = "d" if key.endswith(("_ms", "_s", "freq")) else "#x"  # times and rates in decimal
        raise BoardFileError(f"{where}.{key}: {v!r} is not an integer in {lo:{f}}..{hi:{f}}")
    return v


def boolean(d: dict, key: str, where: str, default: bool) -> bool:
    v = d.get(key, default)
    if not isinstance(v, bool):
        raise BoardFileError(f"{where}.{key}: expected true or false, got {v!r}")
    return v


def only(d: dict, keys: tuple, where: str) -> None:
    """Refuse fields the format does not know (a typo must not pass as a default)."""
    unknown = sorted(set(d) - set(keys), key=repr)  # keys of any YAML type, None too
    if unknown:
        raise BoardFileError(f"{where}.{unknown[0]}: unknown field (known: {', '.join(keys)})")


def milli(v, where: str) -> int:
    """A number in engineering units as integer thousandths (at most 3 decimals)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise BoardFileError(f"{where}: expected a number, got {v!r}")
    m = round(v * 1000)
    if abs(m - v * 1000) > 1e-6:
        raise BoardFileError(f"{where}: {v} has more than 3 decimals")
    return m


def one_of(v, names) -> bool:
    """v is one of the names (a table's keys): a YAML mapping or list is none, not a
    TypeError (unhashable)."""
    return isinstance(v, str) and v in names


def exists(path: Path) -> bool:
    """path.exists(), with a name no file can have (too long, a NUL byte) not there."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def read_yaml(path: Path):
    """The YAML data of a board, chassis or FRU source file; BoardFileError, in one line,
    for text that is not UTF-8 or not YAML, or a file that cannot be read."""
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise BoardFileError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from e
    except UnicodeDecodeError as e:
        raise BoardFileError(f"{path}: not UTF-8 text (byte {e.start}): {e.reason}") from e
    except RecursionError:
        raise BoardFileError(f"{path}: not valid YAML: nested too deeply") from None
    except (ValueError, TypeError, AttributeError, OverflowError) as e:
        # PyYAML's constructors raise these for a value of their type they cannot make:
        # a timestamp 21:99 or 2001-02-30, !!int 'x', an empty !!timestamp
        raise BoardFileError(
            f"{path}: not valid YAML: a value PyYAML cannot construct ({e})"
        ) from None
    except OSError as e:
        raise BoardFileError(f"{path}: cannot read it: {e.strerror}") from None
