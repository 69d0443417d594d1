"""An OCI distribution client: talk to a registry, authenticate, pull, push, login.

Transport: ``http.client`` over HTTPS. Plain HTTP only for loopback
registries (``localhost``, ``127.0.0.0/8``, ``::1``) and the hosts the caller
marks insecure, and then, as Docker does, only after HTTPS failed.

Auth (``distribution/registry/client/auth``): a request answered ``401`` with
``WWW-Authenticate: Bearer realm=...,service=...,scope=...`` gets a token from
the realm (anonymously, or with the credentials of ``config.json`` as basic
auth) and is retried with ``Authorization: Bearer``; a ``Basic`` challenge is
answered with the credentials. Tokens are kept per scope for the client's life.

``pull``/``push``/``login``/``logout`` are in ``distribution.py`` and
re-exported here.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import json
import re
import ssl
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from composer.errors import ImageError
from composer.image.auth import credentials

DOCKER_HUB_API = "registry-1.docker.io"
TIMEOUT = 30.0
_CHALLENGE_RE = re.compile(r'(\w+)="([^"]*)"')


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]", 1)[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def api_host(domain: str) -> str:
    return DOCKER_HUB_API if domain in ("docker.io", "index.docker.io") else domain


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    stream: Any = None  # the open response when streaming

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class Registry:
    """A client for one registry host (``domain`` as in references: ``127.0.0.1:5000``)."""

    def __init__(self, domain: str, *, docker_config: Path | None = None,
                 insecure: Iterable[str] = (), timeout: float = TIMEOUT) -> None:
        self.domain = domain
        self.host = api_host(domain)
        self.insecure = is_loopback(self.host) or self.host in set(insecure)
        self.credentials = credentials(docker_config, domain)
        self.timeout = timeout
        self.scheme: str | None = None
        self._tokens: dict[str, str] = {}
        self._basic = False
        self._lock = threading.Lock()

    # transport

    def _connection(self, scheme: str, host: str) -> http.client.HTTPConnection:
        if scheme == "https":
            return http.client.HTTPSConnection(host, timeout=self.timeout, context=ssl.create_default_context())
        return http.client.HTTPConnection(host, timeout=self.timeout)

    def _scheme(self) -> str:
        """https, or http for an insecure registry that does not speak TLS."""
        if self.scheme is not None:
            return self.scheme
        if not self.insecure:
            self.scheme = "https"
            return self.scheme
        conn = self._connection("https", self.host)
        try:
            conn.request("GET", "/v2/")
            conn.getresponse().read()
            self.scheme = "https"
        except (ssl.SSLError, ConnectionError, OSError):
            self.scheme = "http"
        finally:
            conn.close()
        return self.scheme

    def _raw(self, method: str, url: str, headers: dict[str, str], body: bytes | BinaryIO | None,
             stream: bool) -> Response:
        parsed = urllib.parse.urlsplit(url)
        target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        if parsed.scheme == "http" and not (is_loopback(parsed.netloc) or (parsed.netloc == self.host and self.insecure)):
            raise ImageError(f"refusing plain HTTP to {parsed.netloc}: only loopback or insecure registries")
        conn = self._connection(parsed.scheme, parsed.netloc)
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise ImageError(f"registry {self.domain}: {method} {parsed.path}: {reason}") from exc
        head = {k: v for k, v in resp.getheaders()}
        if stream and 200 <= resp.status < 300:
            return Response(resp.status, head, b"", stream=_Closing(resp, conn))
        try:
            data = resp.read()
        finally:
            conn.close()
        return Response(resp.status, head, data)

    def request(self, method: str, path: str, *, scope: str | None = None, headers: dict[str, str] | None = None,
                body: bytes | BinaryIO | None = None, stream: bool = False, url: str | None = None) -> Response:
        """One API call (``path`` under ``/v2/``, or a full ``url``), authenticated, redirects followed."""
        target = url or f"{self._scheme()}://{self.host}{path}"
        hdrs = dict(headers or {})
        for attempt in range(2):
            auth = self._authorization(scope)
            if auth and urllib.parse.urlsplit(target).netloc == self.host:
                hdrs["Authorization"] = auth
            if hasattr(body, "seek") and attempt:
                body.seek(0)  # type: ignore[union-attr]
            resp = self._raw(method, target, hdrs, body, stream)
            if resp.status == 401 and attempt == 0:
                self._challenge(resp, scope)
                continue
            if resp.status in (301, 302, 303, 307, 308) and resp.header("Location"):
                location = urllib.parse.urljoin(target, resp.header("Location") or "")
                hdrs.pop("Authorization", None)
                return self._raw(method if resp.status in (307, 308) else "GET", location,
                                 {k: v for k, v in hdrs.items() if k != "Authorization"}, body, stream)
            return resp
        return resp

    # auth

    def _authorization(self, scope: str | None) -> str | None:
        with self._lock:
            token = self._tokens.get(scope or "")
        if token:
            return f"Bearer {token}"
        if self._basic and self.credentials:
            user, password = self.credentials
            return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return None

    def _challenge(self, resp: Response, scope: str | None) -> None:
        header = resp.header("WWW-Authenticate") or ""
        kind, _, rest = header.partition(" ")
        params = dict(_CHALLENGE_RE.findall(rest))
        if kind.lower() == "basic":
            if not self.credentials:
                raise ImageError(f"registry {self.domain}: authentication required (composer login {self.domain})")
            self._basic = True
            return
        if kind.lower() != "bearer" or "realm" not in params:
            raise ImageError(f"registry {self.domain}: unsupported authentication challenge {header!r}")
        token = self.fetch_token(params["realm"], params.get("service"), scope or params.get("scope"))
        with self._lock:
            self._tokens[scope or ""] = token

    def fetch_token(self, realm: str, service: str | None, scope: str | None) -> str:
        query = {k: v for k, v in (("service", service), ("scope", scope)) if v}
        headers: dict[str, str] = {}
        if self.credentials:
            user, password = self.credentials
            query["account"] = user
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "https" and not is_loopback(parsed.netloc) and parsed.netloc not in (self.host,):
            raise ImageError(f"registry {self.domain}: refusing a token realm over plain HTTP ({realm})")
        resp = self._raw("GET", url, headers, None, False)
        if resp.status == 401:
            raise ImageError(f"registry {self.domain}: unauthorized: incorrect username or password")
        if resp.status != 200:
            raise ImageError(f"registry {self.domain}: token server answered {resp.status}")
        try:
            data = json.loads(resp.body)
            return str(data.get("token") or data["access_token"])
        except (ValueError, KeyError) as exc:
            raise ImageError(f"registry {self.domain}: the token server's answer is not valid") from exc

    def ping(self) -> None:
        """``GET /v2/``, authenticating as needed: succeeds when the credentials work."""
        resp = self.request("GET", "/v2/")
        if resp.status == 401:
            raise ImageError(f"registry {self.domain}: unauthorized: incorrect username or password")
        if resp.status != 200:
            raise ImageError(f"registry {self.domain}: /v2/ answered {resp.status}")


def error_message(resp: Response) -> str:
    """The message of a registry error body (``{"errors": [{"code", "message"}]}``)."""
    with contextlib.suppress(ValueError, KeyError, TypeError, IndexError):
        first = json.loads(resp.body)["errors"][0]
        return f"{str(first['code']).lower().replace('_', ' ')}: {first.get('message', '')}".rstrip(": ")
    return f"HTTP {resp.status}"


class _Closing:
    """A streamed response that closes its connection with it."""

    def __init__(self, resp: http.client.HTTPResponse, conn: http.client.HTTPConnection) -> None:
        self.resp = resp
        self.conn = conn

    def read(self, size: int = -1) -> bytes:
        return self.resp.read(size)

    def close(self) -> None:
        self.resp.close()
        self.conn.close()


def __getattr__(name: str) -> Any:
    """``pull``, ``push``, ``login``, ``logout`` live in ``distribution`` (which imports this)."""
    if name in ("pull", "push", "login", "logout"):
        from composer.image import distribution

        return getattr(distribution, name)
    raise AttributeError(name)
