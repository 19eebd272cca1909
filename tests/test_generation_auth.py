"""Password hashes, the sign-in lockout and the access modes of the admin page."""

from __future__ import annotations

import base64
import hashlib
import threading

import pytest

from data_access.config import ConfigError
from generation import auth, passwd


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def no_login(monkeypatch):
    for name in ("GENLENS_ADMIN_PASSWORD_HASH", "SUPABASE_URL", "SUPABASE_ANON_KEY", "GENLENS_ADMIN_AUTH"):
        monkeypatch.delenv(name, raising=False)


def test_scrypt_hash_round_trip():
    h = auth.hash_password("correct horse battery", n=2**10)
    kind, n, r, p, salt, digest = h.split("$")
    assert (kind, n, r, p) == ("scrypt", "1024", "8", "1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert auth.verify_password("correct horse battery", h)
    assert not auth.verify_password("correct horse batter", h)
    assert not auth.verify_password("", h)
    assert auth.hash_password("same", n=2**10) != auth.hash_password("same", n=2**10)  # salted
    assert auth.hash_password("x").split("$")[1] == str(2**15)  # the default work factor


def test_pbkdf2_hashes_are_accepted():
    salt = b"0123456789abcdef"
    digest = hashlib.pbkdf2_hmac("sha256", b"pw-123", salt, 10_000)
    h = f"pbkdf2_sha256$10000${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert auth.verify_password("pw-123", h) and not auth.verify_password("pw-124", h)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plain-text",
        "scrypt$1024$8$1$notbase64!$aGFzaA==",
        "scrypt$1000$8$1$c2FsdA==$aGFzaA==",
        "md5$abc",
        "scrypt$$$$$",
    ],
)
def test_malformed_hashes_are_a_config_error(bad):
    with pytest.raises(ConfigError, match="python -m generation.passwd"):
        auth.verify_password("pw", bad)


def test_lockout_after_five_refusals_in_ten_minutes():
    clock = Clock()
    lock = auth.Lockout(clock=clock)
    for _ in range(4):
        lock.failure()
        clock.t += 60
    assert lock.locked_for() == 0 and lock.tries_left() == 1
    lock.failure()
    assert lock.locked_for() == pytest.approx(600)
    with pytest.raises(auth.LockedOut, match="10 minutes"):
        lock.check()
    clock.t += 599
    assert lock.locked_for() == pytest.approx(1)
    clock.t += 2
    lock.check()  # open again, with a fresh count
    assert lock.tries_left() == 5


def test_refusals_older_than_ten_minutes_do_not_count():
    clock = Clock()
    lock = auth.Lockout(clock=clock)
    for _ in range(4):
        lock.failure()
    clock.t += 601
    lock.failure()
    assert lock.locked_for() == 0 and lock.tries_left() == 4


def test_a_success_clears_the_count():
    lock = auth.Lockout(clock=Clock())
    for _ in range(4):
        lock.failure()
    lock.success()
    lock.failure()
    assert lock.locked_for() == 0 and lock.tries_left() == 4


def test_lockout_is_thread_safe():
    lock = auth.Lockout(max_failures=50)
    threads = [threading.Thread(target=lambda: [lock.failure() for _ in range(10)]) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lock.locked_for() > 0  # exactly 50 failures were counted


def test_password_sign_in_and_lockout(monkeypatch, no_login):
    monkeypatch.setenv("GENLENS_ADMIN_PASSWORD_HASH", auth.hash_password("s3cret-admin-pw", n=2**10))
    monkeypatch.setenv("GENLENS_ADMIN_USER_ID", "11111111-2222-4333-8444-555555555555")
    lock = auth.Lockout(clock=Clock())
    admin = auth.check_password("s3cret-admin-pw", lock)
    assert (admin.method, admin.user_id) == ("password", "11111111-2222-4333-8444-555555555555")
    for _ in range(5):
        with pytest.raises(auth.AuthError, match="Wrong password"):
            auth.check_password("guess", lock)
    with pytest.raises(auth.LockedOut):
        auth.check_password("s3cret-admin-pw", lock)  # even the right one, while locked


def test_access_modes(monkeypatch, no_login):
    assert auth.access_mode(demo_database=True).mode == "demo"
    locked = auth.access_mode(demo_database=False)
    assert locked.mode == "locked" and "GENLENS_ADMIN_PASSWORD_HASH" in locked.message
    monkeypatch.setenv("GENLENS_ADMIN_PASSWORD_HASH", "scrypt$1024$8$1$c2FsdA==$aGFzaA==")
    assert auth.access_mode(demo_database=True).mode == "password"  # a configured login always applies
    monkeypatch.setenv("GENLENS_ADMIN_AUTH", "supabase")
    assert auth.access_mode(demo_database=False).mode == "locked"  # asked for Supabase, not configured
    monkeypatch.setenv("GENLENS_ADMIN_AUTH", "ldap")
    assert auth.access_mode(demo_database=False).mode == "locked"


def test_passwd_prints_a_hash_that_verifies(monkeypatch, capsys):
    answers = iter(["a long admin password", "a long admin password"])
    monkeypatch.setattr(passwd.getpass, "getpass", lambda prompt="": next(answers))
    assert passwd.main([]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("scrypt$") and "a long admin password" not in out
    assert auth.verify_password("a long admin password", out)


@pytest.mark.parametrize("answers", [["a long admin password", "a different password"], ["short", "short"]])
def test_passwd_refuses_mismatch_and_short_passwords(monkeypatch, capsys, answers):
    it = iter(answers)
    monkeypatch.setattr(passwd.getpass, "getpass", lambda prompt="": next(it))
    assert passwd.main([]) == 1
    assert capsys.readouterr().out == ""
