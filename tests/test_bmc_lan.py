"""The bench BMC's LAN side against real clients: ipmitool -I lan / lanplus (suites 3 and
17), FreeIPMI -D LAN / LAN_2_0, python-ipmi's rmcp interface, pyghmi; and its refusals
(wrong password, unknown user, replays, tampered integrity, privilege, rate limits,
session bounds, idle sessions, 10,000 random and mutated datagrams, 8 clients at once).

The commands here are the ones the LAN side answers itself (users, sessions, cipher
suites); the chassis side's commands are tested in test_bmc_e2e.py.
"""

from __future__ import annotations

import random
import socket
import struct
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from bmc_lan import Clock, Relay, Server, ipmitool, load, users_file

from satmc.bmc.lan import crypto, session, users, wire
from satmc.errors import UsersFileError

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="session")
def ipmitool_exe(need_tool):
    return need_tool("ipmitool", "ipmitool")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(load(users_file(tmp_path_factory.mktemp("bmc"))))
    yield s
    s.close()


@pytest.fixture
def fresh(tmp_path):
    """A server of the test's own (refusal counts, rate limits and bounds start at 0)."""
    made = []

    def make(text=None, **options):
        u = load(users_file(tmp_path, text) if text else users_file(tmp_path))
        s = Server(u, **options)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def wait_for(cond, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# --- users file ------------------------------------------------------------------------


def test_users_file_readable_by_others_is_refused(tmp_path):
    path = users_file(tmp_path, mode=0o644)
    with pytest.raises(UsersFileError, match="chmod 600"):
        users.load(path)


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "no \\[\\[user\\]\\]"),
        ('[[user]]\nname = "a"\npassword = ""\nprivilege = "user"\n', "password must be 1 to 20"),
        ('[[user]]\nname = "a"\npassword = "x"\nprivilege = "root"\n', "privilege must be one of"),
        ('[[user]]\nname = "a"\npassword = "%s"\nprivilege = "user"\n' % ("x" * 21), "1 to 20"),
        ('kg = 1\n[[user]]\nname = "a"\npassword = "x"\nprivilege = "user"\n', "kg must be"),
        ("colour = 'red'\n", "unknown key"),
        ("[[user\n", "not TOML"),
        # found by fuzzing (fuzz/corpus/users/finding-*): "false" in quotes switched role
        # logins on
        (
            'role_logins = "false"\n[[user]]\nname = "a"\npassword = "x"\nprivilege = "user"\n',
            "role_logins must be true or false",
        ),
    ],
)
def test_users_file_errors_are_one_line(tmp_path, text, match):
    with pytest.raises(UsersFileError, match=match) as e:
        users.load(users_file(tmp_path, text))
    assert "\n" not in str(e.value)


def test_a_users_file_that_is_not_utf8_is_one_line(tmp_path):
    path = users_file(tmp_path)
    path.write_bytes(b'[[user]]\nname = "\xff"\n')  # found by fuzzing: it was a traceback
    with pytest.raises(UsersFileError, match="not UTF-8") as e:
        users.load(path)
    assert "\n" not in str(e.value)


def test_cli_off_loopback_needs_a_users_file():
    from satmc.bmc.serve import Config, load_users

    with pytest.raises(UsersFileError, match="needs --users"):
        load_users(Config(bind="0.0.0.0", port=6230))


def test_cli_on_loopback_without_users_file_makes_a_one_run_login(tmp_path, monkeypatch, capsys):
    from satmc.bmc.serve import Config, load_users

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    u = load_users(Config(port=6231))
    out = capsys.readouterr().out
    (user,) = u.users
    assert user.name == b"admin" and user.password.decode() in out
    files = list(tmp_path.rglob("bmc-users-6231.toml"))
    assert files and files[0].stat().st_mode & 0o077 == 0
    assert load_users(Config(port=6231)).users[0].password != user.password  # never reused


# --- pure parts ------------------------------------------------------------------------


def test_aes_round_trip_and_bad_padding():
    k2 = bytes(range(20))
    for n in (0, 1, 15, 16, 17, 40):
        payload = bytes(range(n))
        assert crypto.aes_decrypt(k2, crypto.aes_encrypt(k2, payload)) == payload
    assert crypto.aes_decrypt(k2, bytes(31)) is None


def test_session_keys_chain_cbc_as_cryptography_does():
    # a session's Keys chain the blocks themselves over one ECB context each way: what
    # they encrypt, cryptography's AES-CBC decrypts, and the other way round
    k2 = bytes(range(3, 23))
    keys = crypto.Keys(crypto.SUITES[17], bytes(20), k2)
    for n in (0, 1, 15, 16, 17, 40, 63):
        payload = bytes(range(100, 100 + n))
        for _ in range(3):  # the contexts carry nothing from one packet to the next
            assert crypto.aes_decrypt(k2, keys.encrypt(payload)) == payload
            assert keys.decrypt(crypto.aes_encrypt(k2, payload)) == payload
    sealed = crypto.aes_encrypt(k2, b"0123456789")
    assert keys.decrypt(sealed[:-1]) is None and keys.decrypt(sealed[:16]) is None
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = bytes(16)
    enc = Cipher(algorithms.AES(k2[:16]), modes.CBC(iv)).encryptor()
    bad_pad = iv + enc.update(bytes(15) + b"\x20") + enc.finalize()  # pad length 32
    assert keys.decrypt(bad_pad) is None and crypto.aes_decrypt(k2, bad_pad) is None


def test_sequence_window_drops_replays_and_far_jumps():
    ep = session.Endpoint(users.Users())
    s = session.Session(1, 1, ("h", 1), True, 0, 0)
    assert ep._accept_seq(s, 5)
    assert not ep._accept_seq(s, 5)  # replay
    assert ep._accept_seq(s, 7) and ep._accept_seq(s, 6)  # out of order, once each
    assert not ep._accept_seq(s, 6)
    assert not ep._accept_seq(s, 7 + 17)  # too far ahead
    assert not ep._accept_seq(s, 0)
    assert ep._accept_seq(s, 7 + 16)
    assert not ep._accept_seq(s, 7)  # fell out of the window


def test_asf_presence_ping_gets_a_pong(server):
    ping = wire.rmcp_header(wire.CLASS_ASF) + struct.pack(
        ">IBBBB", wire.ASF_IANA, 0x80, 0x2A, 0, 0
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(ping, ("127.0.0.1", server.port))
        pong, _ = sock.recvfrom(512)
    iana, mtype, tag, _res, length = struct.unpack(">IBBBB", pong[4:12])
    assert (iana, mtype, tag, length) == (wire.ASF_IANA, 0x40, 0x2A, 16)
    assert pong[20] & 0x80  # IPMI supported


# --- real clients ------------------------------------------------------------------------


@pytest.mark.parametrize("suite", [None, "3", "17"])
def test_ipmitool_lanplus_user_list_and_session_info(server, ipmitool_exe, suite):
    extra = ("-C", suite) if suite else ()
    r = ipmitool(ipmitool_exe, server.port, "user", "list", extra=extra)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()[1:]]
    assert ["2", "admin", "true", "true", "true", "ADMINISTRATOR"] in rows
    assert ["4", "alice", "true", "true", "true", "USER"] in rows
    r = ipmitool(ipmitool_exe, server.port, "session", "info", "active", extra=extra)
    assert r.returncode == 0, r.stderr
    assert "IPMIv2/RMCP+" in r.stdout and "user id                       : 2" in r.stdout
    assert "console ip                    : 127.0.0.1" in r.stdout


def test_ipmitool_without_c_takes_suite_17_from_the_sessionless_cipher_list(server, ipmitool_exe):
    r = ipmitool(ipmitool_exe, server.port, "-v", "session", "info", "active")
    assert r.returncode == 0, r.stderr
    assert "Unable to Get Channel Cipher Suites" not in r.stderr
    r = ipmitool(ipmitool_exe, server.port, "channel", "getciphers", "ipmi")
    assert r.returncode == 0, r.stderr
    assert "3    N/A     hmac_sha1       hmac_sha1_96    aes_cbc_128" in r.stdout
    assert "17   N/A     hmac_sha256     sha256_128      aes_cbc_128" in r.stdout


def test_a_bmc_offering_suite_3_only_lists_and_takes_only_3(fresh, ipmitool_exe):
    s = fresh(cipher_suites=(3,))
    r = ipmitool(ipmitool_exe, s.port, "channel", "getciphers", "ipmi", extra=("-C", "3"))
    assert r.returncode == 0, r.stderr
    assert "3    N/A     hmac_sha1       hmac_sha1_96    aes_cbc_128" in r.stdout
    assert "17   N/A" not in r.stdout
    r = ipmitool(ipmitool_exe, s.port, "session", "info", "active")  # no -C: 3 from the list
    assert r.returncode == 0, r.stderr
    r = ipmitool(ipmitool_exe, s.port, "user", "list", extra=("-C", "17"))
    assert r.returncode != 0
    assert s.stats()["no_cipher_suite_match"] >= 1


@pytest.mark.parametrize("auth", ["MD5", "PASSWORD"])
def test_ipmitool_lan_ipmi15(server, ipmitool_exe, auth):
    r = ipmitool(ipmitool_exe, server.port, "user", "list", interface="lan", extra=("-A", auth))
    assert r.returncode == 0, r.stderr
    assert "alice" in r.stdout
    r = ipmitool(
        ipmitool_exe, server.port, "session", "info", "active", interface="lan", extra=("-A", auth)
    )
    assert r.returncode == 0, r.stderr
    assert "IPMIv1.5" in r.stdout


def test_auth_type_none_only_with_the_option(fresh, ipmitool_exe):
    plain = fresh()
    r = ipmitool(
        ipmitool_exe,
        plain.port,
        "user",
        "list",
        interface="lan",
        password=None,
        extra=("-A", "NONE"),
    )
    assert r.returncode != 0
    assert "Authentication type NONE not supported" in r.stderr, r.stderr
    opened = fresh(allow_auth_none=True)
    r = ipmitool(
        ipmitool_exe,
        opened.port,
        "session",
        "info",
        "active",
        interface="lan",
        password=None,
        extra=("-A", "NONE"),
    )
    assert r.returncode == 0, r.stderr


def test_freeipmi_lan_and_lan20(server, need_tool):
    raw = need_tool("ipmi-raw", "freeipmi-tools")
    for driver in ("LAN", "LAN_2_0"):
        r = subprocess.run(
            [
                raw,
                "-D",
                driver,
                "-h",
                f"127.0.0.1:{server.port}",
                "-u",
                "admin",
                "-p",
                "adminpw",
                "-l",
                "ADMIN",
                "00",
                "06",
                "54",
                "0e",
                "00",
                "80",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == "rcvd: 54 00 01 C0 03 01 41 81 C0 11 03 44 81".split()
    info = need_tool("bmc-info", "freeipmi-tools")
    for driver in ("LAN", "LAN_2_0"):
        r = subprocess.run(
            [
                info,
                "-D",
                driver,
                "-h",
                f"127.0.0.1:{server.port}",
                "-u",
                "alice",
                "-p",
                "alicepw",
                "-l",
                "USER",
                "--get-device-id",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        assert "Device ID             : 32" in r.stdout


def test_python_ipmi_rmcp(server):
    import pyipmi
    import pyipmi.interfaces

    intf = pyipmi.interfaces.create_interface("rmcp", keep_alive_interval=0)
    ipmi = pyipmi.create_connection(intf)
    ipmi.session.set_session_type_rmcp("127.0.0.1", port=server.port)
    ipmi.session.set_auth_type_user("operator", "operatorpw")
    ipmi.session.set_priv_level("OPERATOR")
    ipmi.target = pyipmi.Target(ipmb_address=0x20)
    with ipmi:
        rsp = ipmi.send_raw(0, 0x06, bytes((0x44, 0x01, 0x03)))
        assert rsp[0] == 0 and rsp[4] & 0x0F == 3  # operator's limit
        assert ipmi.get_device_id().device_id == 0x20


def pyghmi_command(port, user="admin", password="adminpw", **kw):
    from pyghmi.ipmi.command import Command

    return Command(bmc="127.0.0.1", userid=user, password=password, port=port, **kw)


def test_pyghmi_command(server):
    c = pyghmi_command(server.port)
    try:
        rsp = c.raw_command(netfn=0x06, command=0x46, data=(0x03,))
        assert bytes(rsp["data"]).rstrip(b"\0") == b"operator"
        rsp = c.raw_command(netfn=0x06, command=0x3D, data=(0x00,))
        assert rsp["data"][4] == 4  # administrator, as pyghmi asked
    finally:
        c.ipmi_session.logout()


def test_eight_clients_at_once(server, ipmitool_exe):
    def one(i):
        iface, extra = [
            ("lanplus", ("-C", "17")),
            ("lanplus", ("-C", "3")),
            ("lan", ("-A", "MD5")),
            ("lan", ("-A", "PASSWORD")),
        ][i % 4]
        return ipmitool(ipmitool_exe, server.port, "user", "list", interface=iface, extra=extra)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    for r in results:
        assert r.returncode == 0, r.stderr
        assert "alice" in r.stdout


# --- refusals ------------------------------------------------------------------------------


def test_wrong_password_and_unknown_user(fresh, ipmitool_exe):
    clock = Clock()
    s = fresh(clock=clock)
    # RMCP+: the client finds RAKP 2 signed with another key and gives up; the BMC counts
    # the abandoned login when it lapses
    r = ipmitool(ipmitool_exe, s.port, "user", "list", password="wrong")
    assert r.returncode != 0
    clock.now += 11
    s.call(s.endpoint.expire)
    assert s.stats()["login_abandoned"] == 1
    # IPMI 1.5: the activation packet's auth code is wrong; dropped and counted
    r = ipmitool(ipmitool_exe, s.port, "user", "list", interface="lan", password="wrong")
    assert r.returncode != 0
    assert s.stats()["bad_password"] == 1
    t0 = time.monotonic()
    r = ipmitool(ipmitool_exe, s.port, "user", "list", user="nobody", extra=("-v",))
    assert r.returncode != 0
    assert "unauthorized name" in r.stderr.lower()  # RAKP 2 status 0x0D, at once
    assert time.monotonic() - t0 < 10
    r = ipmitool(ipmitool_exe, s.port, "user", "list", interface="lan", user="nobody")
    assert r.returncode != 0
    assert s.stats()["unknown_user"] == 2
    assert s.stats()["failed_logins"] == 4


def test_failed_logins_are_rate_limited(fresh, ipmitool_exe):
    s = fresh(login_failures=3)
    for _ in range(3):
        assert ipmitool(ipmitool_exe, s.port, "user", "list", user="nobody").returncode != 0
    r = ipmitool(ipmitool_exe, s.port, "user", "list")  # the right password, too soon
    assert r.returncode != 0
    assert "insufficient resources" in r.stderr.lower()
    assert s.stats()["rate_limited"] >= 1


def test_privilege(server, ipmitool_exe):
    # alice is a user: user list needs operator (D4), and more than user is refused at login
    r = ipmitool(
        ipmitool_exe,
        server.port,
        "user",
        "list",
        user="alice",
        password="alicepw",
        extra=("-L", "USER"),
    )
    assert r.returncode != 0 and "Insufficient privilege level" in r.stderr
    r = ipmitool(
        ipmitool_exe,
        server.port,
        "session",
        "info",
        "active",
        user="alice",
        password="alicepw",
        extra=("-L", "ADMINISTRATOR"),
    )
    assert r.returncode != 0
    r = ipmitool(
        ipmitool_exe,
        server.port,
        "raw",
        "0x06",
        "0x3b",
        "0x04",
        user="operator",
        password="operatorpw",
        extra=("-L", "OPERATOR"),
    )
    assert r.returncode != 0  # Set Session Privilege Level above the user's maximum: 81h
    r = ipmitool(
        ipmitool_exe, server.port, "raw", "0x06", "0x47", "0x02", "0x02", *["0x41"] * 16
    )  # Set User Password: the users file is the one source
    assert r.returncode != 0


def test_session_bound(fresh, ipmitool_exe):
    s = fresh(max_sessions=1)
    c = pyghmi_command(s.port)
    try:
        r = ipmitool(ipmitool_exe, s.port, "user", "list")
        assert r.returncode != 0 and "insufficient resources" in r.stderr.lower()
        assert s.stats()["no_session_slot"] >= 1
        assert c.raw_command(netfn=0x06, command=0x46, data=(0x02,))["data"][:5] == b"admin"
    finally:
        c.ipmi_session.logout()


def test_idle_sessions_close_after_60_s(tmp_path):
    clock = Clock()
    s = Server(load(users_file(tmp_path)), clock=clock)
    try:
        c = pyghmi_command(s.port)
        assert s.call(lambda: sum(x.state == "active" for x in s.endpoint.sessions.values())) == 1
        clock.now += 59
        s.call(s.endpoint.expire)
        assert s.call(lambda: len(s.endpoint.sessions)) == 1
        clock.now += 2
        s.call(s.endpoint.expire)
        assert s.call(lambda: len(s.endpoint.sessions)) == 0
        assert s.stats()["sessions_expired"] == 1
        del c
    finally:
        s.close()


def _sent_in_session(relay, sid_of):
    """The client's authenticated RMCP+ datagrams of the live session."""
    out = []
    for d in relay.sent:
        if d[4] == 6 and d[5] & 0x40 and struct.unpack_from("<I", d, 6)[0] == sid_of:
            out.append(d)
    return out


def test_replay_tamper_and_unauthenticated_packets_are_refused(fresh):
    s = fresh()
    relay = Relay(s.port)
    try:
        c = pyghmi_command(relay.port)
        c.raw_command(netfn=0x06, command=0x46, data=(0x02,))
        (sid,) = s.call(lambda: [k for k, v in s.endpoint.sessions.items() if v.state == "active"])
        packets = _sent_in_session(relay, sid)
        assert packets
        before = s.stats()
        relay.inject(packets[-1])  # a replay
        tampered = bytearray(packets[-1])
        tampered[-1] ^= 0x01  # integrity code
        relay.inject(bytes(tampered))
        body = bytearray(packets[-1][4:])
        body[1] &= ~0x40  # "not authenticated": the payload without its trailer
        (length,) = struct.unpack_from("<H", body, 10)
        relay.inject(packets[-1][:4] + bytes(body[: 12 + length]))
        wait_for(lambda: s.stats()["refused"] >= before["refused"] + 3, "refusals")
        st = s.stats()
        assert st["replay"] == before["replay"] + 1
        assert st["bad_integrity"] == before["bad_integrity"] + 1
        assert st["unauthenticated"] == before["unauthenticated"] + 1
        # and the session goes on
        assert c.raw_command(netfn=0x06, command=0x46, data=(0x04,))["data"][:5] == b"alice"
        c.ipmi_session.logout()
    finally:
        relay.close()


def test_10000_random_and_mutated_datagrams(tmp_path, ipmitool_exe):
    clock = Clock()
    s = Server(load(users_file(tmp_path)), clock=clock, login_failures=10**6)
    relay = Relay(s.port)
    try:
        # a corpus from real clients: ipmitool lan and lanplus logins, a live pyghmi session
        for iface in ("lan", "lanplus"):
            assert (
                ipmitool(ipmitool_exe, relay.port, "user", "list", interface=iface).returncode == 0
            )
        c = pyghmi_command(relay.port)
        c.raw_command(netfn=0x06, command=0x46, data=(0x02,))
        corpus = list(relay.sent)
        peer = relay.back.getsockname()
        rng = random.Random(13)

        def mutate():
            if rng.random() < 0.25:
                return rng.randbytes(rng.randrange(0, 200))
            d = bytearray(rng.choice(corpus))
            for _ in range(rng.randrange(1, 6)):
                op = rng.randrange(4)
                if op == 0 and d:
                    d[rng.randrange(len(d))] = rng.randrange(256)
                elif op == 1 and d:
                    del d[rng.randrange(len(d)) :]
                elif op == 2:
                    d[rng.randrange(len(d) + 1) : 0] = rng.randbytes(rng.randrange(1, 20))
                elif d:
                    d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)
            return bytes(d)

        datagrams = [mutate() for _ in range(10_000)]

        def feed(batch):
            for d in batch:
                replies, dispatch = s.endpoint.receive(d, peer)
                assert isinstance(replies, list)
                for r in replies:
                    assert isinstance(r, bytes) and len(r) < 1024
            return len(batch)

        t0 = time.monotonic()
        for i in range(0, len(datagrams), 500):
            assert s.call(lambda b=datagrams[i : i + 500]: feed(b)) == len(datagrams[i : i + 500])
        assert time.monotonic() - t0 < 240  # no hang
        st = s.stats()
        assert st.get("internal_error", 0) == 0 and st["malformed"] > 1000
        # the live session is unaffected; logins work again once pending ones lapse
        assert c.raw_command(netfn=0x06, command=0x46, data=(0x04,))["data"][:5] == b"alice"
        clock.now += 11
        r = ipmitool(ipmitool_exe, s.port, "user", "list")
        assert r.returncode == 0, r.stderr
        c.ipmi_session.logout()
    finally:
        relay.close()
        s.close()


KG_USERS = """kg = "bmc-key"
role_logins = true
[[user]]
name = "admin"
password = "adminpw"
privilege = "administrator"
[[user]]
name = "alice"
password = "alicepw"
privilege = "user"
"""


def test_two_key_logins_need_kg(fresh, ipmitool_exe, need_tool):
    s = fresh(KG_USERS)
    r = ipmitool(ipmitool_exe, s.port, "session", "info", "active")
    assert r.returncode != 0  # the client derives the session keys from its password
    r = ipmitool(ipmitool_exe, s.port, "session", "info", "active", extra=("-k", "bmc-key"))
    assert r.returncode == 0, r.stderr
    raw = need_tool("ipmi-raw", "freeipmi-tools")
    r = subprocess.run(
        [raw, "-D", "LAN_2_0", "-h", f"127.0.0.1:{s.port}", "-u", "admin", "-p", "adminpw",
         "-k", "bmc-key", "-l", "ADMIN", "00", "06", "54", "0e", "00", "80"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr


def test_role_only_logins_when_configured(fresh, ipmitool_exe):
    s = fresh(KG_USERS)
    r = ipmitool(ipmitool_exe, s.port, "session", "info", "active", user="", password="alicepw",
                 extra=("-L", "USER", "-k", "bmc-key"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "user id                       : 3" in r.stdout  # alice: the user-level user
    r = ipmitool(ipmitool_exe, s.port, "session", "info", "active", interface="lan", user="",
                 password="alicepw", extra=("-L", "USER", "-A", "MD5"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    plain = fresh()  # not configured: a null user name is refused (RAKP 2 status 0Dh)
    r = ipmitool(ipmitool_exe, plain.port, "session", "info", "active", user="",
                 password="alicepw", extra=("-L", "USER", "-v"))  # fmt: skip
    assert r.returncode != 0 and "unauthorized name" in r.stderr.lower()
    assert plain.stats()["null_user"] == 1


def test_refusals_are_logged(fresh, ipmitool_exe, caplog):
    s = fresh()
    with caplog.at_level("INFO", logger="satmc.bmc.lan"):
        ipmitool(ipmitool_exe, s.port, "user", "list", user="nobody")
        wait_for(lambda: "refused (unknown_user)" in caplog.text, "the log line")


def test_satmc_bmc_refusals_are_one_line(tmp_path):
    import sys

    satmc = [sys.executable, "-m", "satmc.cli.main", "-t", f"sim://{tmp_path}/none.sock", "bmc"]
    r = subprocess.run([*satmc, "--bind", "0.0.0.0", "--port", "6232"], capture_output=True,
                       text=True, timeout=60)  # fmt: skip
    assert r.returncode == 1 and "needs --users FILE" in r.stderr and r.stderr.count("\n") == 1
    path = users_file(tmp_path, mode=0o640)
    r = subprocess.run([*satmc, "--users", str(path), "--port", "6232"], capture_output=True,
                       text=True, timeout=60)  # fmt: skip
    assert r.returncode == 1 and "chmod 600" in r.stderr and r.stderr.count("\n") == 1


@pytest.mark.parametrize("v2", [False, True])
def test_channel_auth_capabilities_with_and_without_the_v2_bit(v2):
    ep = session.Endpoint(users.parse(KG_USERS))
    head = bytes((0x20, 0x06 << 2))
    body = bytes((0x81, 0x04, 0x38, (0x80 if v2 else 0) | 0x0E, 0x04))
    msg = head + bytes((wire.checksum(head),)) + body + bytes((wire.checksum(body),))
    replies, dispatch = ep.receive(wire.encode_v15(0, 0, 0, b"", msg), ("127.0.0.1", 1))
    assert dispatch is None
    rsp = wire.decode_message(wire.decode_v15(replies[0][4:]).message)
    cc, channel, types, status, ext = rsp.data[:5]
    assert (cc, channel) == (0, 1)
    assert types == (0x94 if v2 else 0x14)  # MD5, straight password; none not offered
    assert status == 0x20 | 0x04 | 0x02  # Kg set, non-null and null (role-only) user names
    assert ext == (0x03 if v2 else 0)
