"""fetch() against real HTTP servers on loopback; nothing outside this machine is contacted."""

import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from projects.importing.fetch import Fetched, FetchError, fetch

LOOPBACK_ALLOWED = ["127.0.0.1/32"]
DOCUMENT = b"%PDF-1.4 a small document"


class Handler(BaseHTTPRequestHandler):
    """Routes for the tests; `self.server.requests` records every path asked for."""

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        self.server.headers.append(self.headers)
        route = self.ROUTES.get(self.path.split("?")[0], Handler.not_found)
        route(self)

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location, status=302):
        self.send(status, headers=[("Location", location)])

    def drip(self, data):
        """Send one byte every 0.2 s until the client hangs up or 10 s have passed."""
        for _ in range(50):
            try:
                self.wfile.write(data)
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.2)

    def document(self):
        self.send(200, DOCUMENT, [("Content-Type", "Application/PDF; charset=binary")])

    def attachment(self):
        disposition = 'attachment; filename="../../etc/Report 2021.pdf"'
        self.send(200, DOCUMENT, [("Content-Disposition", disposition)])

    def empty(self):
        self.send(200, b"", [("Content-Type", "text/plain")])

    def not_found(self):
        self.send(404, b"nothing here")

    def unavailable(self):
        self.send(503, b"later")

    def huge_with_length(self):
        """Announces ten megabytes and never sends them: only refusing up front is quick."""
        self.send_response(200)
        self.send_header("Content-Length", str(10 * 1024 * 1024))
        self.end_headers()
        self.wfile.flush()
        time.sleep(3)

    def huge_without_length(self):
        self.send_response(200)
        self.end_headers()
        for _ in range(1000):
            try:
                self.wfile.write(b"x" * 1024)
            except OSError:
                return

    def slow_body(self):
        self.send_response(200)
        self.end_headers()
        self.drip(b"x")

    def slow_headers(self):
        self.wfile.write(b"HTTP/1.0 200 OK\r\n")
        self.drip(b"X")

    def chain(self):
        self.redirect("/chain/2", 301)

    def chain_2(self):
        self.redirect("3", 307)

    def chain_3(self):
        self.redirect(f"http://127.0.0.1:{self.server.server_port}/files/final.pdf", 308)

    def loop(self):
        self.redirect("/loop", 302)

    def to_private(self):
        self.redirect("http://10.0.0.1/")

    def to_metadata(self):
        self.redirect("http://169.254.169.254/latest/meta-data/")

    def to_second_server(self):
        self.redirect(f"http://127.0.0.2:{self.server.second_port}/secret")

    ROUTES = {
        "/document.pdf": document,
        "/files/final.pdf": document,
        "/attachment": attachment,
        "/empty": empty,
        "/unavailable": unavailable,
        "/huge-with-length": huge_with_length,
        "/huge-without-length": huge_without_length,
        "/slow-body": slow_body,
        "/slow-headers": slow_headers,
        "/chain": chain,
        "/chain/2": chain_2,
        "/chain/3": chain_3,
        "/loop": loop,
        "/to-private": to_private,
        "/to-metadata": to_metadata,
        "/to-second-server": to_second_server,
    }


def start_server(host):
    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    server.requests = []
    server.headers = []
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def second_server():
    """A server on 127.0.0.2: loopback, but outside the allowlist the tests use."""
    server = start_server("127.0.0.2")
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def server(second_server):
    server = start_server("127.0.0.1")
    server.second_port = second_server.server_port
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """An https server whose self-signed certificate for "localhost" the client trusts."""
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", key, "-out", cert, "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server = start_server("127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_connections(monkeypatch):
    """Fails the test if anything tries to open a connection."""
    attempts = []
    monkeypatch.setattr(socket.socket, "connect", lambda sock, address: attempts.append(address))
    yield
    assert attempts == []


def fetch_local(url, **limits):
    return fetch(url, allowed_networks=LOOPBACK_ALLOWED, **limits)


def test_it_fetches_a_document(server):
    fetched = fetch_local(server.url + "/document.pdf")

    assert fetched == Fetched(
        url=server.url + "/document.pdf",
        data=DOCUMENT,
        content_type="application/pdf",
        filename="document.pdf",
    )


def test_it_sends_host_user_agent_and_identity_encoding(server):
    fetch_local(server.url + "/document.pdf?x=1")

    headers = server.headers[0]
    assert server.requests == ["/document.pdf?x=1"]
    assert headers["Host"] == f"127.0.0.1:{server.server_port}"
    assert headers["User-Agent"] == "dsr-kb-importer/1.0"
    assert headers["Accept-Encoding"] == "identity"


def test_it_takes_the_filename_from_content_disposition_without_its_path(server):
    fetched = fetch_local(server.url + "/attachment")

    assert fetched.filename == "Report 2021.pdf"
    assert fetched.content_type == ""


def test_it_returns_an_empty_body(server):
    fetched = fetch_local(server.url + "/empty")

    assert fetched.data == b""
    assert fetched.content_type == "text/plain"
    assert fetched.filename == "empty"


def test_it_refuses_the_loopback_server_without_the_allowlist(server, no_connections):
    with pytest.raises(FetchError) as error:
        fetch(server.url + "/document.pdf", allowed_networks=[])

    assert "The address 127.0.0.1 is a loopback address" in str(error.value)
    assert "DSR_IMPORT_URL_ALLOWED_NETWORKS" in str(error.value)
    assert not error.value.transient


def test_it_uses_the_settings_by_default(server, settings):
    settings.IMPORT_URL_ALLOWED_NETWORKS = LOOPBACK_ALLOWED
    assert fetch(server.url + "/document.pdf").data == DOCUMENT

    settings.IMPORT_MAX_UPLOAD_BYTES = 10
    with pytest.raises(FetchError, match="DSR_IMPORT_MAX_UPLOAD_BYTES"):
        fetch(server.url + "/document.pdf")


def test_it_rejects_a_malformed_allowlist():
    with pytest.raises(ImproperlyConfigured, match="DSR_IMPORT_URL_ALLOWED_NETWORKS"):
        fetch("http://example.com/", allowed_networks=["intranet"])


def test_it_follows_a_chain_of_relative_and_absolute_redirects(server):
    fetched = fetch_local(server.url + "/chain", max_redirects=3)

    assert fetched.url == server.url + "/files/final.pdf"
    assert fetched.data == DOCUMENT
    assert fetched.filename == "final.pdf"
    assert server.requests == ["/chain", "/chain/2", "/chain/3", "/files/final.pdf"]


def test_it_stops_after_max_redirects(server):
    with pytest.raises(FetchError, match="DSR_IMPORT_URL_MAX_REDIRECTS"):
        fetch_local(server.url + "/chain", max_redirects=2)

    assert server.requests == ["/chain", "/chain/2", "/chain/3"]


def test_it_stops_a_redirect_loop(server):
    with pytest.raises(FetchError, match="more than 5 times"):
        fetch_local(server.url + "/loop", max_redirects=5)

    assert len(server.requests) == 6


def test_a_redirect_to_a_loopback_address_outside_the_allowlist_is_never_followed(
    server, second_server
):
    with pytest.raises(FetchError, match=re.escape("The address 127.0.0.2 is a loopback address")):
        fetch_local(server.url + "/to-second-server")

    assert second_server.requests == []


def test_the_second_server_answers_when_allowed(server, second_server):
    """Shows that the test above would notice a request to the second server."""
    with pytest.raises(FetchError, match="404 Not Found"):
        fetch(server.url + "/to-second-server", allowed_networks=["127.0.0.0/8"])

    assert second_server.requests == ["/secret"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/to-private", "The address 10.0.0.1 is a private address"),
        ("/to-metadata", "The address 169.254.169.254 is a link-local address"),
    ],
)
def test_a_redirect_to_an_internal_address_is_refused(server, path, message):
    with pytest.raises(FetchError, match=re.escape(message)):
        fetch_local(server.url + path)


def test_an_error_status_is_reported_and_not_transient(server):
    with pytest.raises(FetchError) as error:
        fetch_local(server.url + "/missing")

    assert str(error.value) == f"The server answered 404 Not Found for {server.url}/missing."
    assert not error.value.transient


def test_a_503_is_transient(server):
    with pytest.raises(FetchError, match="503 Service Unavailable") as error:
        fetch_local(server.url + "/unavailable")

    assert error.value.transient


def test_an_announced_oversize_body_is_refused_before_reading(server):
    started = time.monotonic()
    with pytest.raises(FetchError, match="DSR_IMPORT_MAX_UPLOAD_BYTES") as error:
        fetch_local(server.url + "/huge-with-length", max_bytes=1000, timeout=5)

    assert time.monotonic() - started < 1
    assert "larger than the 1,000 bytes allowed" in str(error.value)
    assert not error.value.transient


def test_an_unannounced_oversize_body_is_cut_off(server):
    with pytest.raises(FetchError, match="DSR_IMPORT_MAX_UPLOAD_BYTES"):
        fetch_local(server.url + "/huge-without-length", max_bytes=100_000)


@pytest.mark.parametrize("path", ["/slow-body", "/slow-headers"])
def test_a_slow_drip_is_stopped_at_the_deadline(server, path):
    started = time.monotonic()
    with pytest.raises(FetchError, match="DSR_IMPORT_URL_TIMEOUT") as error:
        fetch_local(server.url + path, timeout=1)

    assert time.monotonic() - started < 1.5
    assert "longer than the 1 seconds allowed" in str(error.value)
    assert error.value.transient


def test_a_refused_connection_is_transient():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    with pytest.raises(FetchError, match="refused the connection") as error:
        fetch_local(f"http://127.0.0.1:{port}/")

    assert error.value.transient


def test_a_name_that_does_not_resolve_is_not_transient(no_connections):
    with pytest.raises(FetchError) as error:
        fetch("http://nonexistent.invalid/")

    assert str(error.value) == "Could not resolve host nonexistent.invalid."
    assert not error.value.transient


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "Only http and https URLs can be imported."),
        ("ftp://example.com/file.pdf", "Only http and https URLs can be imported."),
        ("gopher://example.com/", "Only http and https URLs can be imported."),
        ("data:text/plain,hello", "Only http and https URLs can be imported."),
        ("http://user:pw@example.com/", "user name or password"),
        ("http:///path-only", "names no host"),
        ("http://example.com:99999/", "is not a valid URL"),
    ],
)
def test_it_refuses_urls_it_cannot_import(no_connections, url, message):
    with pytest.raises(FetchError, match=re.escape(message)):
        fetch(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://0.0.0.0/", "The address 0.0.0.0 is an unspecified address"),
        ("http://[::]/", "The address :: is an unspecified address"),
        ("http://[::1]/", "The address ::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "127.0.0.1 of ::ffff:127.0.0.1 is a loopback address"),
        ("http://2130706433/", "127.0.0.1 of 2130706433 is a loopback address"),
        ("http://0x7f.1/", "127.0.0.1 of 0x7f.1 is a loopback address"),
        ("http://127.1/", "127.0.0.1 of 127.1 is a loopback address"),
        ("http://localhost/", "of localhost is a loopback address"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("http://192.168.1.1/", "192.168.1.1 is a private address"),
        ("http://172.16.0.1/", "172.16.0.1 is a private address"),
        ("http://[fd00::1]/", "fd00::1 is a private address"),
        ("http://169.254.169.254/", "169.254.169.254 is a link-local address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://100.64.0.1/", "100.64.0.1 is a shared (carrier-grade NAT) address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
        ("http://192.0.2.1/", "192.0.2.1 is a special-purpose, non-public address"),
    ],
)
def test_it_refuses_non_public_addresses_before_connecting(no_connections, url, message):
    with pytest.raises(FetchError, match=re.escape(message)) as error:
        fetch(url, allowed_networks=["203.0.113.0/24"])

    assert "imports may only fetch public addresses" in str(error.value)
    assert not error.value.transient


def test_https_checks_the_certificate_against_the_host_name(tls_server):
    port = tls_server.server_port
    allowed = ["127.0.0.0/8", "::1/128"]

    fetched = fetch(f"https://localhost:{port}/document.pdf", allowed_networks=allowed)
    assert fetched.data == DOCUMENT
    assert tls_server.headers[0]["Host"] == f"localhost:{port}"

    unverified = re.escape("The certificate of 127.0.0.1 could not be verified")
    with pytest.raises(FetchError, match=unverified) as error:
        fetch(f"https://127.0.0.1:{port}/document.pdf", allowed_networks=allowed)
    assert not error.value.transient
