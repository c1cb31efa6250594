"""The one error type. Every transport maps ``RawrError`` the same way (see ``wire.py``).

``defined`` is not stored on the error: a transport decides it from the contract, since an
error is "defined" (oRPC's ``isDefinedError``) exactly when the procedure declares its code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Default messages for the common codes, as oRPC's clients show them.
COMMON_ERRORS: dict[str, tuple[int, str]] = {
    "BAD_REQUEST": (400, "Bad Request"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "FORBIDDEN": (403, "Forbidden"),
    "NOT_FOUND": (404, "Not Found"),
    "METHOD_NOT_SUPPORTED": (405, "Method Not Supported"),
    "NOT_ACCEPTABLE": (406, "Not Acceptable"),
    "TIMEOUT": (408, "Request Timeout"),
    "CONFLICT": (409, "Conflict"),
    "PRECONDITION_FAILED": (412, "Precondition Failed"),
    "PAYLOAD_TOO_LARGE": (413, "Payload Too Large"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type"),
    "UNPROCESSABLE_CONTENT": (422, "Unprocessable Content"),
    "TOO_MANY_REQUESTS": (429, "Too Many Requests"),
    "INTERNAL_SERVER_ERROR": (500, "Internal Server Error"),
    "NOT_IMPLEMENTED": (501, "Not Implemented"),
    "BAD_GATEWAY": (502, "Bad Gateway"),
    "SERVICE_UNAVAILABLE": (503, "Service Unavailable"),
    "GATEWAY_TIMEOUT": (504, "Gateway Timeout"),
}

_CODE_BY_STATUS = {status: code for code, (status, _msg) in COMMON_ERRORS.items()}


class RawrError(Exception):
    """A failure a caller should see: stable ``code``, HTTP ``status``, ``message``, ``data``."""

    def __init__(
        self, code: str, status: int | None = None, message: str | None = None, data: Any = None
    ) -> None:
        default_status, default_message = COMMON_ERRORS.get(code, (500, code))
        self.code = code
        self.status = status if status is not None else default_status
        if not (self.status < 200 or self.status >= 400):
            raise ValueError(f"error status must be <200 or >=400, got {self.status}")
        self.message = message or default_message
        self.data = data
        super().__init__(f"{self.code}: {self.message}")

    @classmethod
    def from_status(cls, status: int, message: str | None = None, data: Any = None) -> RawrError:
        """The common error for an HTTP status (used for Django's own 404/405/413/500)."""
        code = _CODE_BY_STATUS.get(status)
        if code is None:
            code = "INTERNAL_SERVER_ERROR" if status >= 500 else "BAD_REQUEST"
        return cls(code, status, message, data)

    def body(self, *, defined: bool = False) -> dict[str, Any]:
        """The oRPC error object: exactly ``defined, code, status, message[, data]``."""
        out: dict[str, Any] = {
            "defined": defined,
            "code": self.code,
            "status": self.status,
            "message": self.message,
        }
        if self.data is not None:
            out["data"] = self.data
        return out


@dataclass(frozen=True)
class ErrorSpec:
    """An error a procedure declares in its contract (code + status + default message)."""

    code: str
    status: int
    message: str = ""

    def __call__(self, message: str | None = None, *, data: Any = None) -> RawrError:
        """Build the error to raise: ``raise DOCUMENT_NOT_FOUND(data={...})``."""
        return RawrError(self.code, self.status, message or self.message or self.code, data)


def bad_request(message: str, issues: list[dict[str, Any]] | None = None) -> RawrError:
    return RawrError("BAD_REQUEST", 400, message, {"issues": issues or []})
