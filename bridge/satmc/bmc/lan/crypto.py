"""The cryptography of IPMI sessions: cipher suites 3 and 17 (IPMI 2.0 13.28-13.33), the
IPMI 1.5 auth codes (straight password, MD5), AES-CBC-128 payloads.

HMACs and MD5 are the standard library's; AES is `cryptography`'s. Only the key
derivations and byte layouts the spec defines are written here.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# algorithm numbers (tables 13-17, 13-18, 13-19)
AUTH_HMAC_SHA1, AUTH_HMAC_SHA256 = 0x01, 0x03
INTEGRITY_HMAC_SHA1_96, INTEGRITY_HMAC_SHA256_128 = 0x01, 0x04
CONF_AES_CBC_128 = 0x01


@dataclass(frozen=True)
class Suite:
    id: int
    auth: int
    integrity: int
    confidentiality: int
    digest: str  # hashlib name for RAKP, SIK and K1/K2
    rakp4_len: int  # the RAKP4 integrity check value's length
    icv_len: int  # session packets' integrity code length

    def hmac(self, key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, self.digest).digest()

    def record(self) -> bytes:
        """Its Get Channel Cipher Suites record (table 22-18)."""
        return bytes(
            (0xC0, self.id, self.auth, 0x40 | self.integrity, 0x80 | self.confidentiality)
        )


SUITES = {
    3: Suite(3, AUTH_HMAC_SHA1, INTEGRITY_HMAC_SHA1_96, CONF_AES_CBC_128, "sha1", 12, 12),
    17: Suite(17, AUTH_HMAC_SHA256, INTEGRITY_HMAC_SHA256_128, CONF_AES_CBC_128, "sha256", 16, 16),
}
BY_ALGORITHMS = {(s.auth, s.integrity, s.confidentiality): s for s in SUITES.values()}
CONST_1, CONST_2 = b"\x01" * 20, b"\x02" * 20  # 20 bytes whatever the digest (13.32)


def key20(secret: bytes) -> bytes:
    """A password or Kg as the HMAC key: zero-padded to 20 bytes (IPMI 2.0 passwords)."""
    return secret.ljust(20, b"\0")


def pad16(password: bytes) -> bytes:
    return password.ljust(16, b"\0")


def v15_auth_code(auth_type: int, password: bytes, sid: int, message: bytes, seq: int) -> bytes:
    """IPMI 1.5 auth code (22.17.1): straight password, or MD5(pw, SID, msg, seq, pw)."""
    pw = pad16(password)
    if auth_type == 4:
        return pw
    if auth_type == 2:
        return hashlib.md5(
            pw + sid.to_bytes(4, "little") + message + seq.to_bytes(4, "little") + pw
        ).digest()
    raise ValueError(f"auth type {auth_type} is not supported")


class Keys:
    """A session's integrity and confidentiality keys, set up once for all its packets:
    the HMAC keyed with K1 (copied per packet, not keyed again) and AES with K2 in one
    ECB context each way, made once; the CBC chaining of each packet is done here
    (C[i] = E(P[i] ^ C[i-1]), C[0] = the packet's IV). A CBC context per packet would
    set up the cipher and its key schedule again for every packet: that took 8 to 13 us
    of the 60 us a request spends in the BMC's Python."""

    def __init__(self, suite: Suite, k1: bytes, k2: bytes):
        self.suite = suite
        self._mac = hmac.new(k1, digestmod=suite.digest)
        self._aes = algorithms.AES(k2[:16])
        # ECB contexts: fed whole blocks only, so they never hold data between calls
        self._e = Cipher(self._aes, modes.ECB()).encryptor()
        self._d = Cipher(self._aes, modes.ECB()).decryptor()

    def __deepcopy__(self, memo) -> Keys:
        return self  # never changed once made (the keyed HMAC is only copied), so shared

    def icv(self, data: bytes) -> bytes:
        """The integrity check value of a packet's signed part (icv_len bytes)."""
        h = self._mac.copy()
        h.update(data)
        return h.digest()[: self.suite.icv_len]

    def encrypt(self, payload: bytes) -> bytes:
        """As aes_encrypt(K2, payload): IV, then AES-CBC-128 of the padded payload."""
        plain = _pad(payload)
        iv = os.urandom(16)
        out = [iv]
        prev = int.from_bytes(iv, "big")
        for i in range(0, len(plain), 16):
            block = int.from_bytes(plain[i : i + 16], "big") ^ prev
            c = self._e.update(block.to_bytes(16, "big"))
            out.append(c)
            prev = int.from_bytes(c, "big")
        return b"".join(out)

    def decrypt(self, data: bytes) -> bytes | None:
        """As aes_decrypt(K2, data): the payload, or None when not well-formed."""
        if len(data) < 32 or len(data) % 16:
            return None
        d = self._d.update(data[16:])  # every block at once: P[i] = D(C[i]) ^ C[i-1]
        plain = (int.from_bytes(d, "big") ^ int.from_bytes(data[:-16], "big")).to_bytes(
            len(d), "big"
        )
        return _unpad(plain)


def _pad(payload: bytes) -> bytes:
    """payload + pad 01 02 .. n + n, a multiple of 16 bytes (table 13-20)."""
    n = (-(len(payload) + 1)) % 16
    return payload + bytes(range(1, n + 1)) + bytes((n,))


def _unpad(plain: bytes) -> bytes | None:
    n = plain[-1]
    if n >= 16 or plain[-1 - n : -1] != bytes(range(1, n + 1)):
        return None
    return plain[: -1 - n]


def _aes(key) -> algorithms.AES:
    return key if isinstance(key, algorithms.AES) else algorithms.AES(key[:16])


def aes_encrypt(k2, payload: bytes) -> bytes:
    """IV, then AES-CBC-128 of payload + pad 01 02 .. n + n (table 13-20).
    k2: the key's bytes, or its algorithms.AES (made once per session)."""
    iv = os.urandom(16)
    enc = Cipher(_aes(k2), modes.CBC(iv)).encryptor()
    return iv + enc.update(_pad(payload)) + enc.finalize()


def aes_decrypt(k2, data: bytes) -> bytes | None:
    """The payload, or None when the data is not a well-formed encrypted payload.
    k2: the key's bytes, or its algorithms.AES (made once per session)."""
    if len(data) < 32 or len(data) % 16:
        return None
    dec = Cipher(_aes(k2), modes.CBC(data[:16])).decryptor()
    return _unpad(dec.update(data[16:]) + dec.finalize())
