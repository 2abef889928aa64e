"""Keep API keys out of text: logs, exception messages, --json output, screenshots.

- `Secret` holds a key in memory. Its str/repr/format show a mask, `json.dumps` refuses it, and
  pickling is refused, so a key can only leave it through an explicit `.reveal()`.
- `redact(text, secrets)` masks known keys (and the Basic-auth token built from them) in text.
- `RedactFilter` is a logging.Filter that does the same to every record passing through it.
  Every live `Secret` is known to it by default, so holding a key as a `Secret` is enough.
"""

from __future__ import annotations

import base64
import hmac
import logging
import weakref
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

MASK = "***"

# Secrets shorter than this are not scrubbed from text: masking "a" or "12" would mangle
# every log line. Real keys are 40+ characters.
MIN_REDACT_LEN = 8

_LIVE: weakref.WeakSet[Secret] = weakref.WeakSet()


class Secret:
    """A secret string that never shows itself.

    Deliberately not a `str` subclass: json.dumps and "".join would read a str subclass's raw
    characters without calling __str__, leaking the key.
    """

    __slots__ = ("__value", "__weakref__")

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"Secret wraps a str, not {type(value).__name__}")
        self.__value = value
        _LIVE.add(self)

    def reveal(self) -> str:
        """The secret itself; call only where it must go on the wire or into a keyring."""
        return self.__value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __bool__(self) -> bool:
        return bool(self.__value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            other = other.reveal()
        if not isinstance(other, str):
            return NotImplemented
        # Constant-time, so comparing keys does not leak them through timing.
        return hmac.compare_digest(self.__value.encode(), other.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self.__value))

    # Immutable: copies can share the value (dataclasses.asdict deep-copies fields).
    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled (it would write the key in clear)")


def live_secrets() -> list[str]:
    """The values of every `Secret` currently alive in this process."""
    return [s.reveal() for s in list(_LIVE)]


def _variants(secret: str) -> list[str]:
    # The key itself and the Basic-auth token the SDK and our client send ("api:<key>"),
    # which shows up in debug logs of HTTP headers.
    token = base64.b64encode(f"api:{secret}".encode()).decode()
    return [secret, token]


def redact(text: str, secrets: Iterable[str | Secret]) -> str:
    """`text` with every occurrence of every secret (and its Basic-auth token) masked."""
    values: set[str] = set()
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if value and len(value) >= MIN_REDACT_LEN:
            values.update(_variants(value))
    # Longest first, so a key that contains another key is masked whole.
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


class RedactFilter(logging.Filter):
    """Masks secrets in log records. Never drops a record.

    Attach it to a *handler* to cover every logger that propagates to it (a filter on a logger
    only sees records logged on that very logger). With no `secrets`, it masks every live
    `Secret`; pass an iterable or a callable returning one to choose otherwise.
    """

    def __init__(
        self,
        secrets: Iterable[str | Secret] | Callable[[], Iterable[str | Secret]] | None = None,
        name: str = "",
    ) -> None:
        super().__init__(name)
        self._secrets = secrets if callable(secrets) or secrets is None else list(secrets)
        self._extra: list[str | Secret] = []

    def add(self, secret: str | Secret) -> None:
        """Also mask this secret from now on."""
        self._extra.append(secret)

    def _current(self) -> list[str | Secret]:
        if self._secrets is None:
            base: Iterable[str | Secret] = live_secrets()
        elif callable(self._secrets):
            base = self._secrets()
        else:
            base = self._secrets
        return [*base, *self._extra]

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._current()
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it for the handler to report
            return True
        # Freeze the formatted message so the handler formats the masked text.
        record.msg = redact(message, secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True
