"""Whole responses cached for visitors, invalidated by the content's version.

A visitor (no credentials, or credentials that do not show drafts) asking for a page or an
API read gets the answer the previous visitor with the same address, host and Accept header
got, as long as the knowledge base has not changed since: the cache key holds the content's
version (`selectors.data_version()`, raised at the commit of every write, migration 0013), so
an edit through any path — admin, API, import, SQL — is visible to the next request, with no
list of keys to delete. Entries also expire after RESPONSE_CACHE_SECONDS.

Each cached answer carries an ETag derived from its key; a client that sends it back in
If-None-Match gets a 304 without a body, from the cache or after the view ran.
Editors' requests, writes, and answers other than 200 are never cached.
"""

from __future__ import annotations

import hashlib
import zlib
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers

from .selectors import can_see_drafts, data_version

KEPT_HEADERS = ("Content-Type", "Content-Disposition", "Link", "X-Total-Count", "Allow")


def _key(request) -> str | None:
    """The cache key of a visitor's read, or None when it must not be cached."""
    seconds = settings.RESPONSE_CACHE_SECONDS
    if seconds <= 0 or request.method not in ("GET", "HEAD"):
        return None
    credentials = request.META.get("HTTP_AUTHORIZATION") or request.COOKIES.get(
        settings.SESSION_COOKIE_NAME
    )
    # Signed in (a token, or perhaps a session): it depends on who it is.
    if credentials and can_see_drafts(request.user):
        return None
    address = "\n".join(
        (
            request.scheme,
            request.get_host(),
            request.get_full_path(),
            request.META.get("HTTP_ACCEPT", ""),
        )
    )
    digest = hashlib.sha256(address.encode()).hexdigest()[:40]
    return f"response:{data_version()}:{digest}"


def _etag(key: str) -> str:
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _not_modified(request, etag: str) -> bool:
    sent = request.META.get("HTTP_IF_NONE_MATCH", "")
    return bool(sent) and (sent.strip() == "*" or etag in [t.strip() for t in sent.split(",")])


def _store(key: str, response) -> None:
    if response.status_code != 200 or response.streaming or response.cookies:
        return
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    # Compressed: a page of 50 projects is ~130 KB of JSON and ~15 KB compressed, and the
    # per-process cache (without CACHE_URL) lives in each web worker's memory.
    content = zlib.compress(response.content, 1)
    cache.set(key, (content, headers), settings.RESPONSE_CACHE_SECONDS)


def _from_cache(request, key: str, etag: str):
    hit = cache.get(key)
    if hit is None:
        return None
    if _not_modified(request, etag):
        return HttpResponseNotModified(headers={"ETag": etag})
    content, headers = hit
    response = HttpResponse(zlib.decompress(content), headers=headers)
    response["ETag"] = etag
    response["X-Cache"] = "hit"
    return response


def _finish(request, key: str, etag: str, response):
    if response.status_code != 200:
        return response
    response["ETag"] = etag
    response["X-Cache"] = "miss"
    patch_vary_headers(response, ("Accept",))
    if hasattr(response, "add_post_render_callback") and not response.is_rendered:
        response.add_post_render_callback(lambda rendered: _store(key, rendered))
    else:
        _store(key, response)
    if _not_modified(request, etag):
        return HttpResponseNotModified(headers={"ETag": etag})
    return response


def answer_visitor(request, produce, *args, **kwargs):
    """`produce(request, *args, **kwargs)`'s answer, from the cache when the request is a
    visitor's read and the content has not changed since it was stored."""
    key = _key(request)
    if key is None:
        return produce(request, *args, **kwargs)
    etag = _etag(key)
    hit = _from_cache(request, key, etag)
    if hit is not None:
        return hit
    return _finish(request, key, etag, produce(request, *args, **kwargs))


def visitors_cached(view):
    """Cache a page view's answers to visitors (see the module's docstring)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return answer_visitor(request, view, *args, **kwargs)

    return wrapped


class VisitorsCachedReads:
    """For API views: `list`, `retrieve` and `get` answer visitors from the cache. They run
    after DRF has authenticated the request and applied its throttles."""

    def cached_read(self, handler, request, *args, **kwargs):
        return answer_visitor(request, handler, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        return self.cached_read(self.list_answer, request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        return self.cached_read(self.retrieve_answer, request, *args, **kwargs)

    def list_answer(self, request, *args, **kwargs):
        """The uncached list: override this rather than list()."""
        return super().list(request, *args, **kwargs)

    def retrieve_answer(self, request, *args, **kwargs):
        """The uncached object: override this rather than retrieve()."""
        return super().retrieve(request, *args, **kwargs)
