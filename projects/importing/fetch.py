"""Download a document from a URL for import, without letting the URL reach internal services.

Guards against server-side request forgery: each URL, and each redirect target afresh, must be
http(s) without credentials; its host is resolved once and every address must be public (or
inside DSR_IMPORT_URL_ALLOWED_NETWORKS); the connection then goes to the checked address
itself, so a second DNS answer cannot send it elsewhere (DNS rebinding). Size and total time
are bounded by DSR_IMPORT_MAX_UPLOAD_BYTES and DSR_IMPORT_URL_TIMEOUT.
"""

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

USER_AGENT = "dsr-kb-importer/1.0"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
CHUNK_BYTES = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
SHARED_NETWORK = ipaddress.ip_network("100.64.0.0/10")


class FetchError(Exception):
    """str(error) is a sentence for an editor; `transient` marks errors worth retrying later."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Fetched:
    url: str
    data: bytes
    content_type: str
    filename: str


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str
    ascii_host: str
    port: int
    host_header: str
    request_path: str


class _Deadline:
    def __init__(self, seconds: float, url: str):
        self.seconds = seconds
        self.url = url
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; raises the timeout error once there are none."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise self.error()
        return left

    def error(self) -> FetchError:
        return FetchError(
            f"Fetching {self.url} took longer than the {self.seconds:g} seconds allowed "
            "(DSR_IMPORT_URL_TIMEOUT).",
            transient=True,
        )


def fetch(
    url: str,
    *,
    max_bytes: int | None = None,
    timeout: float | None = None,
    max_redirects: int | None = None,
    allowed_networks: list[str] | None = None,
) -> Fetched:
    """Download `url`, following redirects; the limits default to the DSR_IMPORT_* settings."""
    if max_bytes is None:
        max_bytes = settings.IMPORT_MAX_UPLOAD_BYTES
    if max_redirects is None:
        max_redirects = settings.IMPORT_URL_MAX_REDIRECTS
    if allowed_networks is None:
        allowed_networks = settings.IMPORT_URL_ALLOWED_NETWORKS
    networks = _parse_networks(allowed_networks)
    deadline = _Deadline(settings.IMPORT_URL_TIMEOUT if timeout is None else timeout, url)

    current = url
    for _ in range(max_redirects + 1):
        target = _parse_url(current)
        addresses = _resolve_public(target, networks)
        with _open(target, addresses, deadline) as response:
            if response.status in REDIRECT_STATUSES:
                current = _redirect_location(response, target.url)
                continue
            _check_status(response, target.url)
            return Fetched(
                url=target.url,
                data=_read_body(response, max_bytes, deadline, target.url),
                content_type=_content_type(response),
                filename=_filename(response, target.url),
            )
    raise FetchError(
        f"{url} redirected more than {max_redirects} times (DSR_IMPORT_URL_MAX_REDIRECTS)."
    )


def _parse_networks(networks: list[str]) -> list[IPNetwork]:
    try:
        return [ipaddress.ip_network(network.strip(), strict=False) for network in networks]
    except ValueError as error:
        raise ImproperlyConfigured(
            f"DSR_IMPORT_URL_ALLOWED_NETWORKS must list networks such as 10.0.0.0/8 ({error})."
        ) from error


def _parse_url(url: str) -> _Target:
    try:
        parts = urlsplit(url.strip())
        explicit_port = parts.port
    except ValueError as error:
        raise FetchError(f"{url} is not a valid URL.") from error
    if parts.scheme not in ("http", "https"):
        raise FetchError("Only http and https URLs can be imported.")
    if "@" in parts.netloc:
        raise FetchError("URLs containing a user name or password cannot be imported.")
    host = parts.hostname
    if not host:
        raise FetchError(f"The URL {url} names no host.")
    try:
        ascii_host = host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise FetchError(f"{host} is not a valid host name.") from error

    port = explicit_port or (443 if parts.scheme == "https" else 80)
    host_header = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if explicit_port:
        host_header += f":{explicit_port}"
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(
        url=url,
        scheme=parts.scheme,
        host=host,
        ascii_host=ascii_host,
        port=port,
        host_header=host_header,
        request_path=quote(path, safe="/?%:@!$&'()*+,;=~[]"),
    )


def _resolve_public(target: _Target, networks: list[IPNetwork]) -> list[tuple]:
    """Resolve the host once; every address must be public or allowed. Returns (family,
    sockaddr) pairs to connect to."""
    try:
        infos = socket.getaddrinfo(target.ascii_host, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise FetchError(
            f"Could not resolve host {target.host}.", transient=error.errno == socket.EAI_AGAIN
        ) from error
    except (UnicodeError, ValueError) as error:
        raise FetchError(f"{target.host} is not a valid host name.") from error

    addresses = []
    for family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        kind = _non_public_kind(address)
        if kind and not any(_unmapped(address) in network for network in networks):
            shown = _unmapped(address)
            of_host = "" if str(shown) == target.host else f" of {target.host}"
            raise FetchError(
                f"The address {shown}{of_host} is {kind}; imports may only fetch public "
                "addresses (DSR_IMPORT_URL_ALLOWED_NETWORKS lists exceptions)."
            )
        if (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    return addresses


def _unmapped(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:127.0.0.1), which connects
    to that IPv4 address."""
    return (address.version == 6 and address.ipv4_mapped) or address


def _non_public_kind(address: IPAddress) -> str | None:
    """Why the address is not public, as a phrase; None for a public address."""
    address = _unmapped(address)
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if any(address in network for network in PRIVATE_NETWORKS):
        return "a private address"
    if address in SHARED_NETWORK:
        return "a shared (carrier-grade NAT) address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "a special-purpose, non-public address"
    return None


class _Watchdog:
    """Shuts the socket down at the deadline, so that a server dripping bytes (in the
    handshake, the headers or the body) cannot hold a fetch past it: every blocking read then
    returns at once."""

    def __init__(self, seconds: float):
        self.sock: socket.socket | None = None
        self.fired = False
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> "_Watchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()

    def _cut(self) -> None:
        self.fired = True
        if self.sock is not None:
            with suppress(OSError):
                socket.socket.shutdown(self.sock, socket.SHUT_RDWR)


class _PinnedConnection(http.client.HTTPConnection):
    """Connects to an address that was already checked, never resolving the host again; for
    https the certificate and SNI are still checked against the host name."""

    def __init__(self, target: _Target, address: tuple, watchdog: _Watchdog, timeout: float):
        super().__init__(target.ascii_host, target.port, timeout=timeout)
        self._tls = target.scheme == "https"
        self._family, self._sockaddr = address
        self._watchdog = watchdog

    def connect(self) -> None:
        self.sock = self._watchdog.sock = socket.socket(self._family, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._sockaddr)
        if self._tls:
            self.sock = self._watchdog.sock = ssl.create_default_context().wrap_socket(
                self.sock, server_hostname=self.host, do_handshake_on_connect=False
            )
            self.sock.do_handshake()


@contextmanager
def _open(target: _Target, addresses: list[tuple], deadline: _Deadline):
    """Send the GET request and yield the response; network errors become FetchErrors."""
    connection = response = None
    with _Watchdog(deadline.remaining()) as watchdog:
        try:
            connection = _connect(target, addresses, watchdog, deadline)
            connection.putrequest(
                "GET", target.request_path, skip_host=True, skip_accept_encoding=True
            )
            connection.putheader("Host", target.host_header)
            connection.putheader("User-Agent", USER_AGENT)
            connection.putheader("Accept-Encoding", "identity")
            connection.endheaders()
            response = connection.getresponse()
            yield response
        except (OSError, http.client.HTTPException) as error:
            if watchdog.fired or isinstance(error, TimeoutError):
                raise deadline.error() from error
            raise _connection_error(error, target.host) from error
        finally:
            if response is not None:
                response.close()
            if connection is not None:
                connection.close()
        # A cut can look like the end of a body that has no Content-Length.
        if watchdog.fired:
            raise deadline.error()


def _connect(
    target: _Target, addresses: list[tuple], watchdog: _Watchdog, deadline: _Deadline
) -> _PinnedConnection:
    """Connect to the first address that accepts, as a browser tries each address in turn."""
    error = None
    for address in addresses:
        connection = _PinnedConnection(target, address, watchdog, deadline.remaining())
        try:
            connection.connect()
            return connection
        except OSError as caught:
            connection.close()
            if isinstance(caught, ssl.SSLError | TimeoutError):
                raise
            error = caught
    raise error


def _connection_error(error: Exception, host: str) -> FetchError:
    if isinstance(error, ssl.SSLCertVerificationError):
        return FetchError(
            f"The certificate of {host} could not be verified: {error.verify_message.rstrip('.')}."
        )
    if isinstance(error, ssl.SSLError):
        return FetchError(f"The secure connection to {host} failed: {error.reason or error}.")
    if isinstance(error, ConnectionRefusedError):
        return FetchError(f"The server {host} refused the connection.", transient=True)
    if isinstance(error, ConnectionResetError | http.client.IncompleteRead):
        return FetchError(f"The connection to {host} broke off.", transient=True)
    if isinstance(error, http.client.HTTPException):
        return FetchError(f"The server {host} did not answer in valid HTTP.")
    return FetchError(f"Could not connect to {host}: {error.strerror or error}.", transient=True)


def _redirect_location(response: http.client.HTTPResponse, url: str) -> str:
    location = response.getheader("Location")
    if not location:
        raise FetchError(
            f"The server answered {response.status} {response.reason} for {url} "
            "but named no new location."
        )
    return urljoin(url, location.strip())


def _check_status(response: http.client.HTTPResponse, url: str) -> None:
    if not 200 <= response.status < 300:
        raise FetchError(
            f"The server answered {response.status} {response.reason} for {url}.",
            transient=response.status in TRANSIENT_STATUSES,
        )


def _read_body(
    response: http.client.HTTPResponse, max_bytes: int, deadline: _Deadline, url: str
) -> bytes:
    too_large = FetchError(
        f"The document at {url} is larger than the {max_bytes:,} bytes allowed "
        "(DSR_IMPORT_MAX_UPLOAD_BYTES)."
    )
    if response.length is not None and response.length > max_bytes:
        raise too_large
    chunks, total = [], 0
    while chunk := response.read1(CHUNK_BYTES):
        total += len(chunk)
        if total > max_bytes:
            raise too_large
        chunks.append(chunk)
        deadline.remaining()
    return b"".join(chunks)


def _content_type(response: http.client.HTTPResponse) -> str:
    return (response.getheader("Content-Type") or "").split(";")[0].strip().lower()


def _filename(response: http.client.HTTPResponse, url: str) -> str:
    """The Content-Disposition filename, else the last segment of the URL path; never a path."""
    name = response.msg.get_filename() or unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(character for character in name if character.isprintable()).strip()
    return "" if name in (".", "..") else name
