"""No secret is baked into the image: none in its files, none in its ENV; they come from the environment at run time."""

import re

import pytest

pytestmark = pytest.mark.docker

SECRET_FILE = re.compile(r"(^|/)(\.env(\..+)?|id_(rsa|dsa|ecdsa|ed25519)|.+\.(pem|key|p12|pfx)|\.netrc|\.pypirc)$")
SECRET_TEXT = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----|AKIA[0-9A-Z]{16}")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|_KEY$|API_?KEY|PRIVATE|CREDENTIAL", re.IGNORECASE)
# A URL that carries a password (scheme://user:password@host), or a private key, anywhere in the image's metadata.
SECRET_IN_TEXT = re.compile(
    r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@|-----BEGIN [A-Z ]*PRIVATE KEY-----", re.IGNORECASE
)


def test_image_layers_hold_no_secret_files(own_layers, image_attrs):
    """By name, the files the app's layers add beyond what pip installed: a package's public files (certifi's CA
    bundle, cacert.pem) are not secrets; a key or an .env copied in with the app is."""
    workdir = image_attrs["Config"]["WorkingDir"].strip("/")
    added = own_layers.not_installed()
    assert any(name.startswith(f"{workdir}/") for name in added), "could not find the app's own layers"
    named = sorted(name for name in added if SECRET_FILE.search(name))
    assert not named, f"secret-looking files are baked into the image: {named}; keep them in .dockerignore"


def test_image_layers_hold_no_private_keys(own_layers):
    """By contents, every file the layers add, installed packages included."""
    found = sorted(name for name, data in own_layers.files.items() if SECRET_TEXT.search(data))
    assert not found, f"files in the image contain a private key or an access key: {found}"


def test_image_env_holds_no_secrets(image_attrs):
    env = dict(item.split("=", 1) for item in image_attrs["Config"]["Env"])
    baked = [name for name, value in env.items() if SECRET_NAME.search(name) and value]
    assert not baked, f"ENV {baked} bakes a secret into every copy of the image: pass it at run time instead"
    in_values = [name for name, value in env.items() if SECRET_IN_TEXT.search(value)]
    assert not in_values, f"ENV {in_values} holds a password in a URL or a private key: pass it at run time instead"


def test_image_history_and_labels_hold_no_secrets(image, image_attrs, docker_client):
    history = [step["CreatedBy"] for step in docker_client.images.get(str(image)).history()]
    labels = image_attrs["Config"].get("Labels") or {}
    leaks = [text[:120] for text in history + list(labels.values()) if SECRET_IN_TEXT.search(text)]
    leaks += [name for name in labels if SECRET_NAME.search(name)]
    assert not leaks, (
        f"the image's build history or labels show a secret: {leaks}; a build argument or label is readable by "
        "anyone with the image (`docker history`): pass secrets at run time, or as a BuildKit secret mount"
    )
