"""How the header check judges a value against what layercake.toml's [[accept]] declares; no Docker engine needed."""

import pytest

from pytest_layercake.checks.test_baseline import header_problem
from pytest_layercake.contract import Accepted

CSP = "Content-Security-Policy"
# The policy a real app needs (Flask-Talisman's in I Hate Money): inline scripts and styles, data: images.
APP_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'"
)


def declared(header: str, value: str) -> Accepted:
    return Accepted(header, value, "the app's templates need it")


def test_undeclared_weak_csp_fails():
    assert header_problem(CSP, APP_CSP, None)


def test_declared_csp_passes():
    assert header_problem(CSP, APP_CSP, declared(CSP, APP_CSP)) is None


def test_stricter_csp_than_declared_passes():
    assert header_problem(CSP, "default-src 'self'; object-src 'none'", declared(CSP, APP_CSP)) is None


@pytest.mark.parametrize(
    "value",
    [
        APP_CSP.replace("img-src 'self' data:", "img-src 'self' data: https:"),
        APP_CSP.replace("default-src 'self'; ", ""),
        APP_CSP.replace("script-src 'self' 'unsafe-inline'", "script-src 'self' 'unsafe-inline' 'unsafe-eval'"),
        APP_CSP + "; connect-src *",
    ],
    ids=["a scheme source", "no default-src", "eval", "a wildcard"],
)
def test_csp_looser_than_declared_fails(value):
    assert header_problem(CSP, value, declared(CSP, APP_CSP))


def test_declared_wildcard_fails_however_it_is_answered():
    wild = "default-src 'self' *.example.com"
    assert header_problem(CSP, wild, declared(CSP, wild))


@pytest.mark.parametrize(
    "header, value, allowed",
    [
        ("X-Frame-Options", "SAMEORIGIN", "SAMEORIGIN"),
        ("X-Frame-Options", "DENY", "SAMEORIGIN"),
        ("Referrer-Policy", "strict-origin-when-cross-origin", "strict-origin-when-cross-origin"),
        ("Referrer-Policy", "no-referrer", "strict-origin-when-cross-origin"),
    ],
)
def test_value_as_strict_as_declared_passes(header, value, allowed):
    assert header_problem(header, value, declared(header, allowed)) is None


@pytest.mark.parametrize(
    "header, value, allowed",
    [
        ("X-Frame-Options", "ALLOWALL", "SAMEORIGIN"),
        ("Referrer-Policy", "unsafe-url", "strict-origin-when-cross-origin"),
        ("Referrer-Policy", "", "same-origin"),
    ],
)
def test_value_weaker_than_declared_fails(header, value, allowed):
    assert header_problem(header, value, declared(header, allowed))


def test_nosniff_cannot_be_declared_away():
    assert header_problem("X-Content-Type-Options", "", declared("X-Content-Type-Options", ""))
