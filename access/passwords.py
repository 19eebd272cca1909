"""Password hashes and the sign-in lockout, shared by every sign-in (GENLENS_AUTH and the admin page).

Hashes are scrypt (`scrypt$n$r$p$salt_b64$hash_b64`, made by `python -m generation.passwd`); PBKDF2
hashes (`pbkdf2_sha256$iterations$salt_b64$hash_b64`) are accepted too; both are checked in constant
time. After 5 refused sign-ins within 10 minutes every sign-in is refused for 10 minutes (one counter
for the whole process, shared by all sessions). Passwords are never logged or shown.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

from data_access.config import ConfigError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MAX_FAILURES, WINDOW_S, LOCK_S = 5, 600, 600


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: str) -> bytes:
    return base64.b64decode(s.encode("ascii"), validate=True)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=256 * 1024 * 1024)


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A `scrypt$n$r$p$salt$hash` string (base64 salt and hash) for GENLENS_ADMIN_PASSWORD_HASH."""
    if not password:
        raise ValueError("the password must not be empty")
    salt = secrets.token_bytes(16)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_scrypt(password, salt, n, r, p, 32))}"


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches `encoded`; ConfigError when `encoded` is not a hash we know."""
    bad = ConfigError("GENLENS_ADMIN_PASSWORD_HASH is not a valid hash; make one with `python -m generation.passwd`.")
    parts = (encoded or "").strip().split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt, want = _unb64(parts[4]), _unb64(parts[5])
            if n < 2 or n & (n - 1) or not (1 <= r <= 64 and 1 <= p <= 16) or not want:
                raise bad
            got = _scrypt(password, salt, n, r, p, len(want))
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            iterations, salt, want = int(parts[1]), _unb64(parts[2]), _unb64(parts[3])
            if not 1_000 <= iterations <= 10_000_000 or not want:
                raise bad
            got = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations, len(want))
        else:
            raise bad
    except (ValueError, binascii.Error, MemoryError):
        raise bad from None
    return hmac.compare_digest(got, want)


class AuthError(Exception):
    """A refused sign-in; the message is safe to show."""


class LockedOut(AuthError):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        minutes = max(1, round(seconds / 60))
        super().__init__(f"Too many refused sign-ins. Try again in about {minutes} minute{'s' if minutes > 1 else ''}.")


class Lockout:
    """After `max_failures` refusals within `window_s`, refuse everything for `lock_s`. Thread-safe."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        lock_s: float = LOCK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures, self.window_s, self.lock_s, self.clock = max_failures, window_s, lock_s, clock
        self._failures: deque[float] = deque()
        self._locked_until = 0.0
        self._lock = threading.Lock()

    def locked_for(self) -> float:
        """Seconds left of a lockout; 0 when sign-ins are allowed."""
        with self._lock:
            return max(0.0, self._locked_until - self.clock())

    def check(self) -> None:
        left = self.locked_for()
        if left > 0:
            raise LockedOut(left)

    def failure(self) -> None:
        with self._lock:
            now = self.clock()
            self._failures.append(now)
            while self._failures and self._failures[0] <= now - self.window_s:
                self._failures.popleft()
            if len(self._failures) >= self.max_failures:
                self._locked_until = now + self.lock_s
                self._failures.clear()

    def tries_left(self) -> int:
        with self._lock:
            now = self.clock()
            recent = sum(1 for t in self._failures if t > now - self.window_s)
            return max(0, self.max_failures - recent)

    def success(self) -> None:
        with self._lock:
            self._failures.clear()

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self._locked_until = 0.0


LOCKOUT = Lockout()
