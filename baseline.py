"""What every app owes the container and the harness: a health endpoint, a request-body limit and security headers.

A Flask app takes all of it with one line, `baseline.init_app(app)`; pytest_layercake/checks/test_baseline.py names whatever
a running app is missing.
"""

from flask import Flask, abort, request

# 'self' lets the page load its own scripts and styles only; widen it per source you need, never with * or
# 'unsafe-inline'.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
# 1 MB, unless FLASK_MAX_CONTENT_LENGTH says otherwise: without a limit any client can send an endless body.
MAX_CONTENT_LENGTH = 1024 * 1024


def refuse_oversized_body():
    """Answer 413 before routing, so even a route that never reads the body refuses a huge one."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        abort(413)


def add_security_headers(response):
    """Add the security headers to every response, errors included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def healthz():
    return {"status": "ok"}


def init_app(app: Flask, health_path: str = "/healthz") -> Flask:
    """Give app the health endpoint, the body limit and the security headers; read FLASK_* settings from the env."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    # FLASK_SECRET_KEY, FLASK_MAX_CONTENT_LENGTH and other FLASK_* settings come from the environment, never the image.
    app.config.from_prefixed_env()
    app.before_request(refuse_oversized_body)
    app.after_request(add_security_headers)
    app.add_url_rule(health_path, "healthz", healthz, methods=["GET"])
    return app
