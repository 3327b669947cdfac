"""What every app owes the container (baseline.py gives a Flask app all of it): each missing piece is named."""

import pytest
import requests

from pytest_layercake.budgets import BODY_LIMIT_MAX_BYTES
from pytest_layercake.http import raw_http, request

pytestmark = pytest.mark.docker

FIX = "call baseline.init_app(app) in your app (see baseline.py)"
# Sources that undo a Content-Security-Policy: anything from anywhere, inline scripts, eval.
CSP_WIDENERS = ("*", "'unsafe-inline'", "'unsafe-eval'", "data:", "http:", "https:")
# The directives that fall back to default-src when a policy leaves them out (CSP Level 3's fetch directives).
FETCH_DIRECTIVES = (
    "child-src", "connect-src", "font-src", "frame-src", "img-src", "manifest-src", "media-src", "object-src",
    "script-src", "style-src", "worker-src",
)  # fmt: skip
# Each header's values from the strictest to the loosest: a declared value admits itself and anything stricter.
STRICTNESS = {
    "X-Frame-Options": ["DENY", "SAMEORIGIN"],
    "Referrer-Policy": [
        "no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin", "origin",
        "origin-when-cross-origin", "no-referrer-when-downgrade", "unsafe-url",
    ],
}  # fmt: skip


def directives(policy: str) -> dict[str, set[str]]:
    return {d.split()[0].lower(): set(d.split()[1:]) for d in policy.split(";") if d.strip()}


def csp_is_tight(value: str) -> bool:
    """default-src 'self' and frame-ancestors 'none', and nothing that widens any directive."""
    policy = directives(value)
    return (
        policy.get("default-src") == {"'self'"}
        and policy.get("frame-ancestors") == {"'none'"}
        and not any(source in CSP_WIDENERS for sources in policy.values() for source in sources)
    )


def csp_wider_than(value: str, declared: str) -> list[str]:
    """The directives where value allows a source that the declared policy doesn't, and any wildcard source."""
    have, allowed = directives(value), directives(declared)

    def effective(policy: dict[str, set[str]], name: str) -> set[str] | None:
        """A directive's sources, from default-src where a fetch directive is left out; None allows anything."""
        if name in policy:
            return policy[name]
        return policy.get("default-src") if name in FETCH_DIRECTIVES else None

    wider = [f"{name} {' '.join(sorted(s))}" for name, s in have.items() if any("*" in source for source in s)]
    for name in {*have, *allowed, "default-src", *FETCH_DIRECTIVES}:
        mine, limit = effective(have, name), effective(allowed, name)
        if limit is not None and (mine is None or mine - limit):
            wider.append(f"{name} allows {'anything' if mine is None else ' '.join(sorted(mine - limit))}")
    return sorted(set(wider))


# The headers every response carries, with a check of the value and what the header must say.
SECURITY_HEADERS = {
    "X-Content-Type-Options": (lambda v: v == "nosniff", "exactly nosniff"),
    "Content-Security-Policy": (
        csp_is_tight,
        "default-src 'self' and frame-ancestors 'none', with no *, 'unsafe-inline', 'unsafe-eval' or scheme source",
    ),
    "X-Frame-Options": (lambda v: v == "DENY", "exactly DENY"),
    "Referrer-Policy": (lambda v: v == "no-referrer", "exactly no-referrer"),
}


def header_problem(name: str, value: str, declared) -> str | None:
    """What is wrong with one header's value, given what the contract accepts for it (None: the default)."""
    if declared is None:
        ok, want = SECURITY_HEADERS[name]
        return None if ok(value) else f"{name} is {value!r}, want {want}"
    if name == "Content-Security-Policy":
        wider = csp_wider_than(value, declared.value) + csp_wider_than(declared.value, declared.value)
        return f"{name} is {value!r}, wider than declared: {wider}" if wider else None
    if name in STRICTNESS:
        order = STRICTNESS[name]
        if value not in order or order.index(value) > order.index(declared.value):
            return f"{name} is {value!r}, weaker than the declared {declared.value!r}"
        return None
    return f"{name} can't be accepted: it has one right value ({SECURITY_HEADERS[name][1]})"


def test_app_has_a_health_endpoint(stack, contract):
    response = requests.get(stack.url(contract.health), timeout=5)
    assert response.status_code == 200, (
        f"the health path {contract.health} (layercake.toml) answered {response.status_code}: {FIX}"
    )


def test_responses_carry_security_headers(stack, contract):
    """Each header as baseline.py sets it, or as strict as the value layercake.toml's [[accept]] declares with a
    reason; a wildcard source never passes."""
    for path in dict.fromkeys([*(probe.path for probe in contract.probes), contract.absent.path]):
        headers = requests.get(stack.url(path), timeout=5, allow_redirects=False).headers
        problems = [
            problem
            for name in SECURITY_HEADERS
            if (problem := header_problem(name, headers.get(name, ""), contract.accepted_value(name)))
        ]
        assert not problems, (
            f"{path}: {problems}. {FIX}; where the app needs another value, declare it in layercake.toml's [[accept]] "
            "with the reason"
        )


def test_accepted_values_are_known_headers(contract):
    """[[accept]] may relax a header whose values have an order of strictness, and only with a valid value."""
    for entry in contract.accepted:
        name = next((known for known in SECURITY_HEADERS if known.lower() == entry.header.lower()), None)
        assert name, (
            f"layercake.toml accepts {entry.header}, which no check reads: name one of {list(SECURITY_HEADERS)}"
        )
        assert name != "X-Content-Type-Options", f"{name} has one right value, nosniff: it can't be accepted otherwise"
        if name in STRICTNESS:
            assert entry.value in STRICTNESS[name], f"layercake.toml accepts {name} {entry.value!r}: not a known value"
        else:
            wild = csp_wider_than(entry.value, entry.value)
            assert not wild, f"layercake.toml accepts a {name} with a wildcard source {wild}: name each source"


def test_oversized_body_is_refused(stack, contract):
    claimed = BODY_LIMIT_MAX_BYTES + 1
    response = raw_http(stack.port, request("POST", contract.health.encode(), b"Content-Length: %d\r\n" % claimed))
    status = response.status if response else None
    assert status == 413, (
        f"a body of {claimed} bytes got {status}, not 413: the app has no request-body limit "
        f"(MAX_CONTENT_LENGTH checked before routing): {FIX}"
    )
