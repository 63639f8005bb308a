"""Optional security for the double (off by default, like a cluster with security disabled):
basic auth users and API keys, 401 `security_exception` answers shaped like ES's, and the two
security endpoints the project uses (`_authenticate`, a user's `_password`)."""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Mapping
from typing import Any

from .errors import EsError

WWW_AUTHENTICATE = 'Basic realm="security", charset="UTF-8", ApiKey'


class Security:
    """`enable(users={"elastic": "pw"}, api_keys={"id": "secret"})`; `disable()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.enabled = False
        self.users: dict[str, str] = {}
        self.api_keys: dict[str, str] = {}

    def enable(self, users: Mapping[str, str] | None = None, api_keys: Mapping[str, str] | None = None) -> None:
        with self._lock:
            self.enabled = True
            self.users = dict(users or {})
            self.api_keys = dict(api_keys or {})

    def disable(self) -> None:
        with self._lock:
            self.enabled = False
            self.users = {}
            self.api_keys = {}

    def api_key_header(self, key_id: str) -> str:
        """The `ApiKey` credential ES hands out (`base64(id:api_key)`), for clients' `api_key=`."""
        return base64.b64encode(f"{key_id}:{self.api_keys[key_id]}".encode()).decode()

    def authenticate(self, path: str, authorization: str | None) -> dict[str, Any] | None:
        """The authenticated principal, None when security is off; raises a 401 EsError."""
        if not self.enabled:
            return None
        if not authorization:
            raise _unauthorized(f"missing authentication credentials for REST request [{path}]")
        scheme, _, credentials = authorization.partition(" ")
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        name, _, secret = decoded.partition(":")
        with self._lock:
            if scheme.lower() == "basic":
                if name in self.users and self.users[name] == secret:
                    return {"username": name, "roles": ["superuser"] if name == "elastic" else [],
                            "authentication_type": "realm"}
                raise _unauthorized(f"unable to authenticate user [{name}] for REST request [{path}]")
            if scheme.lower() == "apikey" and name in self.api_keys and self.api_keys[name] == secret:
                return {"username": f"api-key-{name}", "roles": ["superuser"], "authentication_type": "api_key",
                        "api_key": {"id": name}}
        raise _unauthorized("unable to authenticate with provided credentials and anonymous access is not "
                            f"allowed for this request [{path}]")

    def set_password(self, username: str, body: Any) -> None:
        if not self.enabled:
            raise EsError(500, "exception", "Security must be explicitly enabled when using a [basic] license. "
                          "Enable security by setting [xpack.security.enabled] to [true] in the elasticsearch.yml "
                          "file and restart the node.")
        if not isinstance(body, Mapping) or not isinstance(body.get("password"), str):
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: password must be specified;")
        if len(body["password"]) < 6:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: passwords must be at least [6] characters long;")
        with self._lock:
            self.users[username] = body["password"]


def _unauthorized(reason: str) -> EsError:
    header = {"WWW-Authenticate": ['Basic realm="security", charset="UTF-8"', "ApiKey"]}
    return EsError(401, "security_exception", reason, header=header)
