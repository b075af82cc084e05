"""The Content-Security-Policy header: rendered from the setting on every response, report-only
only when configured, and a view's own policy left alone. (That the pages satisfy it is
tests/browser/test_csp.py.)"""

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from dsr_kb.csp import ContentSecurityPolicyMiddleware, render_policy

POLICY = "Content-Security-Policy"
REPORT_ONLY = "Content-Security-Policy-Report-Only"


def test_a_policy_renders_its_directives_in_the_settings_order():
    policy = {"default-src": ["'self'"], "img-src": ["'self'", "data:"], "object-src": ["'none'"]}
    assert render_policy(policy) == "default-src 'self'; img-src 'self' data:; object-src 'none'"


def test_the_default_policy_allows_only_this_site_and_no_inline_script():
    assert render_policy(settings.CONTENT_SECURITY_POLICY) == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/about/", "/projects/no-such-project/", "/api/v1/countries/"])
def test_every_response_carries_the_policy_of_the_setting(client, path):
    response = client.get(path)
    assert response[POLICY] == render_policy(settings.CONTENT_SECURITY_POLICY)


@pytest.mark.django_db
def test_there_is_no_report_only_policy_by_default(client):
    assert REPORT_ONLY not in client.get("/about/")


@pytest.mark.django_db
def test_a_report_only_policy_is_sent_when_configured(client):
    trial = {"default-src": ["'none'"], "report-uri": ["/csp-reports/"]}
    with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY=trial):
        response = client.get("/about/")
    assert response[REPORT_ONLY] == "default-src 'none'; report-uri /csp-reports/"
    assert response[POLICY] == render_policy(settings.CONTENT_SECURITY_POLICY)


def test_a_view_that_sets_its_own_policy_keeps_it():
    def view(request):
        response = HttpResponse("framed elsewhere")
        response[POLICY] = "frame-ancestors https://partner.example"
        return response

    response = ContentSecurityPolicyMiddleware(view)(RequestFactory().get("/"))
    assert response[POLICY] == "frame-ancestors https://partner.example"


@override_settings(CONTENT_SECURITY_POLICY={})
def test_an_empty_policy_sends_no_header():
    response = ContentSecurityPolicyMiddleware(lambda request: HttpResponse())(
        RequestFactory().get("/")
    )
    assert POLICY not in response


@override_settings(DEBUG=True)
def test_with_debug_on_an_error_page_goes_without_so_that_the_debug_page_works():
    def view(request):
        return HttpResponse("<style>…</style><script>…</script>", status=500)

    middleware = ContentSecurityPolicyMiddleware(view)
    assert POLICY not in middleware(RequestFactory().get("/"))
    ok = ContentSecurityPolicyMiddleware(lambda request: HttpResponse())(RequestFactory().get("/"))
    assert ok[POLICY] == render_policy(settings.CONTENT_SECURITY_POLICY)
