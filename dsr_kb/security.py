"""Who a client is, and how many times it may fail to sign in.

A client's address is REMOTE_ADDR, or — behind DSR_TRUSTED_PROXIES proxies that each append
the address they received from to X-Forwarded-For — the entry that many places from the end of
that header. Entries further left are whatever the client wrote, so they are never trusted.

Failed sign-ins are counted in the cache (Redis in production, shared by every process) under
three keys: the account from one address, the address for any account, and the account from
any address. When one of them reaches its limit, sign-in is refused for that key — even with
the right password — until the window that started with its first failure has passed
(DSR_LOGIN_LOCKOUT_SECONDS). The account-and-address limit is the one a person who mistyped
meets; the wider two stop one address trying many accounts, and many addresses trying one.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver


def client_address(request) -> str:
    """The client's address, trusting exactly DSR_TRUSTED_PROXIES proxies in front of us."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXIES
    if not proxies:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    # The nearest proxy connected to us (REMOTE_ADDR) and appended its own client; each proxy
    # before it did the same, so the client is `proxies` entries from the end.
    return forwarded[-proxies] if len(forwarded) >= proxies else (forwarded or [remote])[0]


def _keys(username: str, address: str) -> list[tuple[str, int]]:
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [
        (f"login-failures:pair:{account}:{address}", settings.LOGIN_FAILURES),
        (f"login-failures:address:{address}", settings.LOGIN_FAILURES_PER_ADDRESS),
        (f"login-failures:account:{account}", settings.LOGIN_FAILURES_PER_ACCOUNT),
    ]


def _username(credentials: dict) -> str:
    from django.contrib.auth import get_user_model

    return str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username", ""))


def seconds_locked(request, username: str) -> int:
    """0 when this client may try to sign in as `username`; else the seconds left to wait."""
    if request is None:
        return 0
    keys = [(key, limit) for key, limit in _keys(username, client_address(request)) if limit]
    stored = cache.get_many([k for key, _ in keys for k in (key, f"{key}:until")])
    now = time.time()
    waits = [
        stored.get(f"{key}:until", now + settings.LOGIN_LOCKOUT_SECONDS) - now
        for key, limit in keys
        if stored.get(key, 0) >= limit
    ]
    return max(1, math.ceil(max(waits))) if waits else 0


class ThrottledModelBackend(ModelBackend):
    """Django's backend, refusing any sign-in while the client is locked out: the password is
    not even checked then (PermissionDenied also stops any backend listed after this one)."""

    def authenticate(self, request, username=None, password=None, **credentials):
        if seconds_locked(request, _username({"username": username, **credentials})):
            raise PermissionDenied("too many failed sign-ins")
        return super().authenticate(request, username=username, password=password, **credentials)


@receiver(user_login_failed, dispatch_uid="dsr_kb.security.count_failure")
def count_failure(sender, credentials, request=None, **kwargs):
    """Count the failure under each key; a key's window starts with its first failure. `add`
    and `incr` are atomic in Redis, so concurrent attempts are all counted."""
    if request is None:
        return
    window = settings.LOGIN_LOCKOUT_SECONDS
    for key, limit in _keys(_username(credentials), client_address(request)):
        if not limit:
            continue
        if cache.add(key, 0, timeout=window):
            cache.set(f"{key}:until", time.time() + window, timeout=window)
        try:
            cache.incr(key)
        except ValueError:  # the window ended between the two calls
            cache.set(key, 1, timeout=window)
            cache.set(f"{key}:until", time.time() + window, timeout=window)


@receiver(user_logged_in, dispatch_uid="dsr_kb.security.forget_failures")
def forget_failures(sender, request, user, **kwargs):
    """A successful sign-in clears that account's failures from that address (not the wider
    counts, which an attacker holding one password must not be able to reset)."""
    if request is not None:
        key, _ = _keys(user.get_username(), client_address(request))[0]
        cache.delete_many([key, f"{key}:until"])
