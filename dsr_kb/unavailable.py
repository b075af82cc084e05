"""When the database is unreachable (a restart, a failover), answer 503 with Retry-After —
JSON under /api/, a short page elsewhere — instead of a 500 and a traceback per request.
Connections are health-checked, so the next request after the outage reconnects by itself."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 10
MESSAGE = "The database is unavailable for a moment; try again in a few seconds."
PAGE = "<!doctype html><title>Unavailable</title><h1>Back in a moment</h1><p>{message}</p>"


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "Database unavailable for %s %s: %s", request.method, request.path, exception
        )
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": MESSAGE}, status=503)
        else:
            response = HttpResponse(PAGE.format(message=MESSAGE), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
