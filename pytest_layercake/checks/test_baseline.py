"""What every app owes the container (baseline.py gives a Flask app all of it): each missing piece is named."""

import pytest
import requests

from pytest_layercake.budgets import BODY_LIMIT_MAX_BYTES
from pytest_layercake.http import raw_http, request

pytestmark = pytest.mark.docker

FIX = "call baseline.init_app(app) in your app (see baseline.py)"
# Sources that undo a Content-Security-Policy: anything from anywhere, inline scripts, eval.
CSP_WIDENERS = ("*", "'unsafe-inline'", "'unsafe-eval'", "data:", "http:", "https:")


def csp_is_tight(value: str) -> bool:
    """default-src 'self' and frame-ancestors 'none', and nothing that widens any directive."""
    directives = {d.split()[0]: d.split()[1:] for d in value.split(";") if d.strip()}
    return (
        directives.get("default-src") == ["'self'"]
        and directives.get("frame-ancestors") == ["'none'"]
        and not any(source in CSP_WIDENERS for sources in directives.values() for source in sources)
    )


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


def test_app_has_a_health_endpoint(stack, contract):
    response = requests.get(stack.url(contract.health), timeout=5)
    assert response.status_code == 200, (
        f"the health path {contract.health} (layercake.toml) answered {response.status_code}: {FIX}"
    )


def test_responses_carry_security_headers(stack, contract):
    for path in dict.fromkeys([*(probe.path for probe in contract.probes), "/no-such-page"]):
        headers = requests.get(stack.url(path), timeout=5).headers
        wrong = [f"{name} ({want})" for name, (ok, want) in SECURITY_HEADERS.items() if not ok(headers.get(name, ""))]
        assert not wrong, f"{path} lacks the security headers {wrong}: {FIX}"


def test_oversized_body_is_refused(stack, contract):
    claimed = BODY_LIMIT_MAX_BYTES + 1
    response = raw_http(stack.port, request("POST", contract.health.encode(), b"Content-Length: %d\r\n" % claimed))
    status = response.status if response else None
    assert status == 413, (
        f"a body of {claimed} bytes got {status}, not 413: the app has no request-body limit "
        f"(MAX_CONTENT_LENGTH checked before routing): {FIX}"
    )
