"""The host capabilities a plugin may call. Each is denied unless the host's policy grants
it (`plugins.KIND.fetch`, `.http`, `.files`, `.kubernetes`; `log` is always granted).
A refusal or failure raises `noetl_plugin.CapabilityError`; left uncaught in `plan`, it
reaches the host as the capability reported it.

    from noetl_plugin import capability

    text = capability.read_file("words.txt", max_bytes=1 << 20).decode()
    reply = capability.http("POST", "https://api.example.com/v1/items", json={"name": "x"})
    if reply.status >= 400:
        raise ToolFailed(f"the API answered {reply.status}: {reply.text()}")
"""

from __future__ import annotations

import json as _json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import CapabilityError

__all__ = [
    "Fetched",
    "HttpResponse",
    "fetch",
    "http",
    "kubernetes_create",
    "kubernetes_delete",
    "kubernetes_get",
    "kubernetes_list",
    "log",
    "read_file",
]

# The largest `max-response-bytes` the contract can carry (u64): the host caps it at the
# plugin's `max_response_mib` limit.
_NO_CAP = (1 << 64) - 1
_LEVELS = ("trace", "debug", "info", "warn", "error")


def _call(function, *args):
    """Call an imported capability, turning the contract's `capability-error` into
    `CapabilityError` (the variant's class name is its kind: `CapabilityError_TooLarge`)."""
    from componentize_py_types import Err

    try:
        return function(*args)
    except Err as e:
        variant = type(e.value).__name__.split("_", 1)[1]
        kind = "".join("-" + c.lower() if c.isupper() else c for c in variant).lstrip("-")
        raise CapabilityError(kind, e.value.value) from None


def log(level: str, message: str) -> None:
    """Log through the host, tagged with this plugin's kind (`noetl-host -vv` shows it).
    `level`: trace, debug, info, warn or error."""
    from .bindings.imports import log as wit

    if level not in _LEVELS:
        raise ValueError(f"log level {level!r}: use one of {', '.join(_LEVELS)}")
    wit.log(wit.Level[level.upper()], message)


@dataclass
class Fetched:
    body: bytes
    #: Lowercase hex SHA-256 of `body`, to check a pinned digest.
    sha256: str


def fetch(uri: str, max_bytes: int) -> Fetched:
    """A document by URL (`http(s)://`, `gs://`, `s3://`) from a granted host or bucket
    (`plugins.KIND.fetch.hosts`); bodies over `max_bytes` are refused (`too-large`)."""
    from .bindings.imports import fetch as wit

    fetched = _call(wit.get, uri, max_bytes)
    return Fetched(fetched.body, fetched.sha256)


def read_file(path: str, max_bytes: int) -> bytes:
    """A file from a granted directory (`plugins.KIND.files.dirs`), relative to it (with
    `run`, the playbook's directory); `..` and escapes are refused."""
    from .bindings.imports import files as wit

    return _call(wit.read, path, max_bytes)


@dataclass
class HttpResponse:
    status: int
    headers: List[Tuple[str, str]]
    body: bytes
    #: The URL that answered, after redirects.
    final_url: str

    def header(self, name: str) -> Optional[str]:
        """The first header called `name` (case-insensitive)."""
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def text(self) -> str:
        """The body as text (invalid UTF-8 replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.body)


_NO_JSON = object()


def http(
    method: str,
    url: str,
    *,
    headers: Sequence[Tuple[str, str]] = (),
    body: Optional[bytes] = None,
    json: Any = _NO_JSON,
    timeout_ms: Optional[int] = None,
    follow_redirects: bool = True,
    max_response_bytes: int = _NO_CAP,
) -> HttpResponse:
    """One HTTP request to a granted host (`plugins.KIND.http.hosts`). Every status, 4xx
    and 5xx included, is a response; `CapabilityError` is for a denied host or redirect,
    a body over the cap, network failures and timeouts. `json=` sends a value as JSON with
    its content type. The host caps the timeout (60 s) and the body (`max_response_mib`)."""
    from .bindings.imports import http as wit

    headers = list(headers)
    if json is not _NO_JSON:
        if body is not None:
            raise ValueError("http(): give body= or json=, not both")
        body = _json.dumps(json).encode()
        headers.append(("content-type", "application/json"))
    request = wit.Request(method.upper(), url, headers, body, timeout_ms, follow_redirects, max_response_bytes)
    response = _call(wit.send, request)
    return HttpResponse(response.status, list(response.headers), response.body, response.final_url)


def kubernetes_get(kind: str, namespace: str, name: str) -> Dict[str, Any]:
    """One object (`kind` such as `ConfigMap`), within `plugins.KIND.kubernetes`'s grant.
    Needs a cluster: `--backend kubernetes` and a kubeconfig, else `not-configured`."""
    from .bindings.imports import kubernetes as wit

    return _json.loads(_call(wit.get, kind, namespace, name))


def kubernetes_list(kind: str, namespace: str, label_selector: str = "") -> List[Dict[str, Any]]:
    """Objects of a kind in a namespace matching a label selector (`a=b,c=d`)."""
    from .bindings.imports import kubernetes as wit

    return [_json.loads(item) for item in _call(wit.list, kind, namespace, label_selector)]


def kubernetes_create(namespace: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """Create an object (`body` carries its kind and name); returns the created object."""
    from .bindings.imports import kubernetes as wit

    return _json.loads(_call(wit.create, namespace, _json.dumps(body)))


def kubernetes_delete(kind: str, namespace: str, name: str) -> None:
    """Delete an object (background propagation)."""
    from .bindings.imports import kubernetes as wit

    _call(wit.delete, kind, namespace, name)
