"""I Hate Money, served by gunicorn: its app factory with this project's settings file (ihatemoney.cfg)."""

import fcntl
import logging
import os
from pathlib import Path

from ihatemoney.run import create_app

import baseline

# The folder the app writes to (a volume in docker-compose.yml): the database, and the lock that orders its migrations.
DATA = Path(os.environ.setdefault("DATA_DIR", "/var/lib/ihatemoney"))
os.environ.setdefault("IHATEMONEY_SETTINGS_FILE_PATH", str(Path(__file__).with_name("ihatemoney.cfg")))


def create_app_keeping_the_logs():
    """create_app migrates the database, and its migrations configure logging from alembic.ini, which disables every
    logger already there (gunicorn's access log among them) and replaces the root's handler: put both back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    loggers = [logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    enabled = [logger for logger in loggers if not logger.disabled]
    app = create_app(instance_path=str(DATA))
    root.handlers[:], root.level = handlers, level
    for logger in enabled:
        logger.disabled = False
    return app


# Each gunicorn worker imports this module, and create_app migrates the database: one worker (or replica on the same
# volume) at a time, so that two never create the same table at once.
with (DATA / ".migrations.lock").open("w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    app = baseline.init_app(create_app_keeping_the_logs())

# ihatemoney trusts one proxy's X-Forwarded-For (werkzeug's ProxyFix); here clients reach gunicorn directly, so it
# trusts none. Behind a proxy, set this to the number of proxies in front.
app.wsgi_app.x_for = int(os.environ.get("TRUSTED_PROXIES", "0"))
