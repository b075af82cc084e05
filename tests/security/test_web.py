"""Web attacks: sign-in brute force is throttled, CSRF is enforced on every write made with a
session, clients cannot choose their own address, responses carry the security headers (HSTS
only over TLS), and search highlighting never turns text into markup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.throttling import AnonRateThrottle

from dsr_kb.security import client_address
from projects.models import Project
from projects.pages import highlight_words
from tests.support import ROOT

LOGIN = "/admin/login/"
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("admin-under-attack", password=PASSWORD)


def sign_in(username: str, password: str, address: str = "203.0.113.7", **headers):
    client = Client(REMOTE_ADDR=address, headers=headers)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return client, response


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- sign-in throttling --------------------------------------------------------------------


def test_after_five_failures_even_the_right_password_is_refused_with_a_429(staff):
    for _ in range(5):
        client, response = sign_in(staff.username, "guess")
        assert response.status_code == 200 and not signed_in(client)
        assert "Please enter the correct username and password" in response.content.decode()

    client, response = sign_in(staff.username, PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    assert 800 < int(response["Retry-After"]) <= 900
    text = response.content.decode()
    assert "Too many failed sign-ins for this account or from this address" in text
    assert "Try again in 15 minute(s)" in text


def test_the_lock_is_for_that_account_from_that_address(staff):
    for _ in range(5):
        sign_in(staff.username, "guess")
    other = get_user_model().objects.create_user("colleague", password=PASSWORD, is_staff=True)
    assert signed_in(sign_in(other.username, PASSWORD)[0]), "another account, same address"
    assert signed_in(sign_in(staff.username, PASSWORD, address="198.51.100.2")[0])


def test_one_address_trying_many_accounts_is_locked_out_of_all(staff, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 8
    for number in range(8):
        sign_in(f"someone-{number}", "guess")
    client, response = sign_in(staff.username, PASSWORD)
    assert response.status_code == 429 and not signed_in(client)
    assert signed_in(sign_in(staff.username, PASSWORD, address="198.51.100.2")[0])


def test_many_addresses_trying_one_account_lock_it(staff, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 6
    for number in range(6):
        sign_in(staff.username, "guess", address=f"192.0.2.{number}")
    client, response = sign_in(staff.username, PASSWORD, address="198.51.100.2")
    assert response.status_code == 429 and not signed_in(client)


def test_usernames_are_counted_whatever_their_case(staff):
    for variant in ["Admin-Under-Attack", "ADMIN-UNDER-ATTACK", "admin-under-attack "] * 2:
        sign_in(variant, "guess")
    assert sign_in(staff.username, PASSWORD)[1].status_code == 429


def test_a_successful_sign_in_forgets_the_earlier_failures(staff):
    for _ in range(4):
        sign_in(staff.username, "guess")
    assert signed_in(sign_in(staff.username, PASSWORD)[0])
    for _ in range(4):
        sign_in(staff.username, "guess")
    assert signed_in(sign_in(staff.username, PASSWORD)[0])


def test_the_lock_ends_with_its_window(staff, settings):
    settings.LOGIN_LOCKOUT_SECONDS = 1
    for _ in range(5):
        sign_in(staff.username, "guess")
    assert sign_in(staff.username, PASSWORD)[1].status_code == 429
    time.sleep(1.2)
    assert signed_in(sign_in(staff.username, PASSWORD)[0])


def test_a_forged_forwarded_header_does_not_escape_the_lock(staff):
    for number in range(5):
        sign_in(staff.username, "guess", **{"X-Forwarded-For": f"10.9.9.{number}"})
    response = sign_in(staff.username, PASSWORD, **{"X-Forwarded-For": "10.9.9.99"})[1]
    assert response.status_code == 429


# --- who the client is ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "", "192.0.2.1"),
        (0, "198.51.100.9", "192.0.2.1"),
        (1, "198.51.100.9", "198.51.100.9"),
        # The client wrote the first entry itself; the proxy appended the address it saw.
        (1, "6.6.6.6, 198.51.100.9", "198.51.100.9"),
        (2, "6.6.6.6, 198.51.100.9, 10.0.0.2", "198.51.100.9"),
        (1, "", "192.0.2.1"),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(
    proxies, forwarded, expected, settings, rf
):
    settings.TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


@pytest.mark.django_db
def test_api_throttling_is_not_escaped_by_a_forged_forwarded_header(monkeypatch):
    """DRF's default would take X-Forwarded-For as the client wrote it (NUM_PROXIES None)."""
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    client = Client(REMOTE_ADDR="203.0.113.50")
    statuses = [
        client.get("/api/v1/project-types/", headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


# --- CSRF ------------------------------------------------------------------------------------


@pytest.fixture
def session_client(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    client.get("/admin/")  # sets the CSRF cookie
    return client


def project_payload(name: str) -> dict:
    slug = name.lower().replace(" ", "-")
    return {"name": name, "slug": slug, "type": "fiber-link", "status": "planned"}


def test_an_api_write_with_a_session_needs_the_csrf_token(session_client):
    body = json.dumps(project_payload("Written by a forged request"))
    forged = session_client.post("/api/v1/projects/", body, content_type="application/json")
    assert forged.status_code == 403
    assert "CSRF" in forged.json()["detail"]
    assert not Project.objects.filter(name="Written by a forged request").exists()

    token = session_client.cookies["csrftoken"].value
    genuine = session_client.post(
        "/api/v1/projects/",
        json.dumps(project_payload("Written by the editor")),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert genuine.status_code == 201, genuine.content
    assert Project.objects.filter(name="Written by the editor").exists()


def test_every_unsafe_method_with_a_session_needs_the_csrf_token(session_client, make_project):
    project = make_project(name="Kept as it was", slug="kept-as-it-was")
    url = f"/api/v1/projects/{project.slug}/"
    patch = json.dumps({"name": "Changed by a forged request"})
    assert session_client.patch(url, patch, content_type="application/json").status_code == 403
    assert session_client.put(url, patch, content_type="application/json").status_code == 403
    assert session_client.delete(url).status_code == 403
    project.refresh_from_db()
    assert project.name == "Kept as it was"


def test_a_token_client_needs_no_csrf_token_as_no_browser_sends_it_by_itself(staff):
    client = Client(enforce_csrf_checks=True)
    token = Token.objects.create(user=staff).key
    response = client.post(
        "/api/v1/projects/",
        json.dumps(project_payload("Written with a token")),
        content_type="application/json",
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 201, response.content


def test_an_admin_form_post_needs_the_csrf_token(session_client, make_project):
    project = make_project(name="Not to be deleted", slug="not-to-be-deleted")
    url = f"/admin/projects/project/{project.pk}/delete/"
    forged = session_client.post(url, {"post": "yes"})
    assert forged.status_code == 403
    assert Project.objects.filter(pk=project.pk).exists()

    token = session_client.cookies["csrftoken"].value
    genuine = session_client.post(url, {"post": "yes", "csrfmiddlewaretoken": token})
    assert genuine.status_code == 302
    assert not Project.objects.filter(pk=project.pk).exists()


def test_signing_in_and_out_need_the_csrf_token(staff):
    client = Client(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"username": staff.username, "password": PASSWORD})
    assert response.status_code == 403 and not signed_in(client)

    client.force_login(staff)
    assert client.get("/admin/logout/").status_code == 405, "signing out takes a POST"
    assert client.post("/admin/logout/").status_code == 403
    assert signed_in(client)


# --- security headers ------------------------------------------------------------------------

HEADER_PATHS = ["/", "/projects/", "/api/v1/projects/", "/api/v1/projects/?format=csv"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", HEADER_PATHS)
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response, "never over plain HTTP"


def production_security_settings() -> dict:
    """The security settings as dsr_kb.settings.production sets them (it refuses to load
    without a secret, so it is read in a child process given one)."""
    names = [
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_SSL_REDIRECT",
        "SECURE_REDIRECT_EXEMPT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_REFERRER_POLICY",
        "X_FRAME_OPTIONS",
    ]
    script = (
        "import json; from django.conf import settings;"
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dsr_kb.settings.production",
        "SECRET_KEY": "s" * 64,
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.django_db
def test_in_production_hsts_is_sent_over_tls_and_plain_http_is_redirected(client, settings):
    for name, value in production_security_settings().items():
        setattr(settings, name, tuple(value) if name == "SECURE_PROXY_SSL_HEADER" else value)

    over_tls = client.get("/projects/", headers={"X-Forwarded-Proto": "https"})
    assert over_tls.status_code == 200
    hsts = over_tls["Strict-Transport-Security"]
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert over_tls["X-Content-Type-Options"] == "nosniff"
    assert over_tls["X-Frame-Options"] == "DENY"

    plain = client.get("/projects/?page=2")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/projects/?page=2"
    assert "Strict-Transport-Security" not in plain
    assert client.get("/healthz").status_code == 200, "health checks answer over plain HTTP"


@pytest.mark.django_db
def test_in_production_the_session_and_csrf_cookies_are_secure_and_http_only(
    client, settings, staff
):
    for name, value in production_security_settings().items():
        setattr(settings, name, tuple(value) if name == "SECURE_PROXY_SSL_HEADER" else value)
    https = {"X-Forwarded-Proto": "https"}
    client.get(LOGIN, headers=https)
    token = client.cookies["csrftoken"].value
    response = client.post(
        LOGIN,
        {"username": staff.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={**https, "Referer": "https://testserver/admin/login/"},
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    assert client.cookies["csrftoken"]["secure"]


# --- highlighting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "query", "expected"),
    [
        ("<b>Huawei</b> & ZTE", "huawei", "&lt;b&gt;<mark>Huawei</mark>&lt;/b&gt; &amp; ZTE"),
        # Words matching inside an escaped form must not break it.
        ("a <script> tag", "lt script", "a &lt;<mark>script</mark>&gt; tag"),
        ("Tom & Jerry", "amp", "Tom &amp; Jerry"),
        ('it\'s "said"', "quot x27", "it&#x27;s &quot;said&quot;"),
        ("<img src=x onerror=alert(1)>", "", "&lt;img src=x onerror=alert(1)&gt;"),
    ],
)
def test_highlighting_marks_words_and_escapes_everything_else(text, query, expected):
    assert str(highlight_words(text, query)) == expected


# --- links -----------------------------------------------------------------------------------


def test_a_javascript_address_written_past_validation_is_never_a_link(make_project, client):
    """The models refuse `javascript:` addresses; one written with raw SQL is shown as text."""
    from projects.models import Company, SourceDocument

    company = Company.objects.create(name="Linked Co", slug="linked-co")
    Company.objects.filter(pk=company.pk).update(website=" JavaScript:alert('xss-link')")
    document = SourceDocument.objects.create(title="Linked report", kind="report")
    SourceDocument.objects.filter(pk=document.pk).update(url="javascript:alert('xss-link')")
    make_project(name="Linked project", slug="linked-project")

    for path in [f"/companies/{company.slug}/", f"/documents/{document.pk}/"]:
        page = client.get(path).content.decode()
        assert "alert(&#x27;xss-link&#x27;)" in page, f"{path}: the address is shown"
        assert 'href="javascript' not in page.lower().replace(" ", ""), path
    Company.objects.filter(pk=company.pk).update(website="https://example.org/linked")
    page = client.get(f"/companies/{company.slug}/").content.decode()
    assert 'href="https://example.org/linked"' in page
