"""Content-Security-Policy headers from settings (Django 5.2 has no CSP of its own; 6.0 does).

`CONTENT_SECURITY_POLICY` and `CONTENT_SECURITY_POLICY_REPORT_ONLY` map a directive to its
sources, e.g. `{"default-src": ["'self'"], "img-src": ["'self'", "data:"]}`; directives are
rendered in the setting's order. An empty or missing setting sends no header, and a response
that already carries the header (a view with a policy of its own) keeps it. With DEBUG on, error
responses go without: Django's debug pages are made of inline styles and scripts.
"""

from django.conf import settings

HEADERS = {
    "Content-Security-Policy": "CONTENT_SECURITY_POLICY",
    "Content-Security-Policy-Report-Only": "CONTENT_SECURITY_POLICY_REPORT_ONLY",
}


def render_policy(policy: dict[str, list[str]]) -> str:
    """`{"default-src": ["'self'"], "img-src": ["'self'", "data:"]}` ->
    `default-src 'self'; img-src 'self' data:`."""
    return "; ".join(" ".join([directive, *sources]) for directive, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.DEBUG and response.status_code >= 400:
            return response
        for header, setting in HEADERS.items():
            policy = getattr(settings, setting, None)
            if policy and header not in response:
                response[header] = render_policy(policy)
        return response
