"""Per-call fault injection shared by the sandbox servers (tests say what breaks, and how often)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

# What a fault does when its call comes in:
#   http500             answer 500 instead of handling the call
#   http503             answer 503 Service Unavailable (Neon documents it as never applied:
#                       "always safe to retry", api/neon-and-postgres.md §A.1)
#   http429             answer 429 with a Retry-After header (retry_after seconds; with
#                       ``retry_after_header=False`` the platform's other signals only:
#                       Vercel's body ``error.limit.reset``, Resend's ``ratelimit-reset``)
#   timeout             sleep ``delay`` seconds before handling (longer than the client timeout)
#   malformed           answer 200 with a truncated JSON body (a proxy or platform glitch)
#   deployment_failed   the deployment the call starts ends FAILED (Railway) / ERROR (Vercel)
#   deployment_crashed  the deployment the call starts ends CRASHED (Railway) / ERROR (Vercel)
#   deployment_canceled the Vercel deployment the call starts ends CANCELED
#   deployment_removed  the Railway deployment the call starts is superseded before it goes
#                       live: REMOVING, then REMOVED (it will never serve the new variables)
#   deployment_needs_approval / deployment_waiting / deployment_skipped
#                       the Railway deployment the call starts stops in NEEDS_APPROVAL or
#                       WAITING (and stays there: a person must act) or ends SKIPPED
#   checks_failed       the Vercel deployment the call starts ends READY, checksConclusion failed
#   deployment_blocked  the Vercel deployment the call starts ends BLOCKED (with errorMessage)
#   deployment_deleted  the Vercel deployment the call starts is DELETED while it builds
#   alias_failed        the Vercel deployment the call starts ends READY with an aliasError
#   http402             Vercel createDeployment answers 402 (plan / payment limits)
#   builds_rate_limited Vercel createDeployment answers 429 builds_rate_limited (no retry)
# A Vercel ``createDeployment:production|preview|custom`` call name hits only that kind.
#   operation_failed    (call "neon-operation") the next Neon reset's apply_config fails once,
#                       then Neon retries it to finished
#   operation_error     (call "neon-operation") the next Neon reset's apply_config ends in
#                       error: the password is not changed
FAULT_KINDS = frozenset(
    {"http500", "http503", "http429", "timeout", "malformed",
     "deployment_failed", "deployment_crashed",
     "deployment_canceled", "deployment_removed", "deployment_needs_approval",
     "deployment_waiting", "deployment_skipped", "checks_failed", "operation_failed",
     "operation_error", "deployment_blocked", "deployment_deleted", "alias_failed", "http402",
     "builds_rate_limited"}
)
HTTP_FAULT_KINDS = frozenset({"http500", "http503", "http429", "timeout", "malformed"})


@dataclass
class Fault:
    call: str
    kind: str
    times: int = 1
    retry_after: float = 1.0
    delay: float = 5.0
    retry_after_header: bool = True


class Faults:
    """Thread-safe registry: ``faults.add("variableCollectionUpsert", kind="http500", times=1)``.

    ``call`` is the Railway root field name, the Vercel operationId, or the Resend operation id
    (e.g. ``api-keys/create``), so a fault names the same thing the platform's docs do.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.triggered: list[tuple[str, str]] = []

    def add(self, call: str, *, kind: str, times: int = 1, retry_after: float = 1.0,
            delay: float = 5.0, retry_after_header: bool = True) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {sorted(FAULT_KINDS)}")
        fault = Fault(call, kind, times, retry_after, delay, retry_after_header)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.triggered.clear()

    def take(self, call: str, *, kinds: frozenset[str] = FAULT_KINDS) -> Fault | None:
        """Consume one use of the first pending fault for ``call`` among ``kinds``."""
        with self._lock:
            for fault in self._faults:
                if fault.call == call and fault.kind in kinds and fault.times > 0:
                    fault.times -= 1
                    self.triggered.append((call, fault.kind))
                    return fault
        return None
