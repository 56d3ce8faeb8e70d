"""Receipt codes: shown to the voter once, stored only as a digest.

A receipt lets a voter confirm, after the close, that their ballot was
counted. It does not prove how they voted: choices are never published
per receipt.
"""

from __future__ import annotations

import hashlib
import secrets

# Crockford's base32 without the letters people misread (I, L, O, U).
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_GROUPS, _GROUP_LEN = 4, 4
_BITS = _GROUPS * _GROUP_LEN * 5  # 80: five bits a character


def new_receipt_code() -> str:
    # One draw from the system's random source, not one a character.
    bits = secrets.randbits(_BITS)
    chars = "".join(_ALPHABET[(bits >> shift) & 31] for shift in range(0, _BITS, 5))
    return "-".join(chars[i : i + _GROUP_LEN] for i in range(0, len(chars), _GROUP_LEN))


def normalise(code: str) -> str:
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    cleaned = cleaned.replace("O", "0").replace("I", "1").replace("L", "1")
    return "-".join(cleaned[i : i + _GROUP_LEN] for i in range(0, len(cleaned), _GROUP_LEN))


def receipt_digest(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def looks_like_receipt(code: str) -> bool:
    cleaned = normalise(code).replace("-", "")
    return len(cleaned) == _GROUPS * _GROUP_LEN and all(c in _ALPHABET for c in cleaned)
