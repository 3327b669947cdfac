"""The app contract: what the generic checks need to know about the app, read from layercake.toml."""

import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path

FILE = "layercake.toml"


class ContractError(Exception):
    """layercake.toml is missing, malformed, or disagrees with the project; the message says which entry to fix."""


@dataclass(frozen=True)
class Probe:
    path: str
    status: int
    body: str
    log: str | None = None

    def answered_by(self, status: int, text: str) -> bool:
        return status == self.status and self.body in text


@dataclass(frozen=True)
class Absent:
    """A path the app does not route, and what it answers there: 404, or the redirect the app gives instead."""

    path: str
    status: int


# What an app may answer on a path it does not route: Not Found, or a redirect (Flask's 308 to a trailing slash).
ABSENT_STATUSES = (404, 301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Accepted:
    """A policy choice of the app that differs from the harness's default (a header's value), and why it is fine."""

    header: str
    value: str
    reason: str


@dataclass(frozen=True)
class Page:
    path: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    file: str
    find: str
    replace: str
    probe: str

    def apply(self, folder: Path) -> None:
        """Make the visible change in a copy of the project; fail loudly if the contract no longer fits the file."""
        path = folder / self.file
        if not path.is_file():
            raise ContractError(f"{FILE}: change.file {self.file!r} does not exist; name a file of your app")
        text = path.read_text()
        if text.count(self.find) != 1:
            raise ContractError(
                f"{FILE}: change.find {self.find!r} occurs {text.count(self.find)} times in {self.file}, "
                "not once: name a text of the probe's answer that the file holds exactly once"
            )
        path.write_text(text.replace(self.find, self.replace))


@dataclass(frozen=True)
class Write:
    """A request that stores a record, and the GET page that shows it; `{n}` in body and shows is the record's number."""

    path: str
    body: str
    status: int
    read: str
    shows: str
    content_type: str = "application/json"

    def record(self, n: int) -> str:
        return self.body.replace("{n}", str(n))

    def shown(self, n: int) -> str:
        return self.shows.replace("{n}", str(n))


@dataclass(frozen=True)
class Contract:
    port: int
    health: str
    image_files: tuple[str, ...]
    writable: tuple[str, ...]
    probes: tuple[Probe, ...]
    page: Page | None
    change: Change
    absent: Absent = Absent("/no-such-page", 404)
    accepted: tuple[Accepted, ...] = ()
    write: Write | None = None

    @property
    def probe(self) -> Probe:
        """The first probe: the one the checks ask when any answer of the app will do."""
        return self.probes[0]

    def accepted_value(self, header: str) -> Accepted | None:
        """The app's declared value of a header, with its reason; None where it keeps the harness's default."""
        found = [entry for entry in self.accepted if entry.header.lower() == header.lower()]
        return found[0] if found else None

    def probe_at(self, path: str) -> Probe:
        (found,) = [probe for probe in self.probes if probe.path == path]
        return found

    def unlisted(self, files: set[str]) -> list[str]:
        """Return the files (relative to /app) that no image_files pattern covers."""
        return sorted(f for f in files if not any(fnmatch.fnmatch(f, pattern) for pattern in self.image_files))

    def unmatched(self, files: set[str]) -> list[str]:
        """Return the image_files patterns that match no file, i.e. what failed to reach the image."""
        return [pattern for pattern in self.image_files if not fnmatch.filter(files, pattern)]


def _require(table: dict, key: str, kind: type, where: str):
    if key not in table:
        raise ContractError(f"{FILE}: {where}{key} is missing")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ContractError(f"{FILE}: {where}{key} should be a {kind.__name__}, is {value!r}")
    return value


def _path(table: dict, key: str, where: str) -> str:
    value = _require(table, key, str, where)
    if not value.startswith("/"):
        raise ContractError(f"{FILE}: {where}{key} {value!r} should start with /")
    return value


def parse(data: dict) -> Contract:
    probes = tuple(
        Probe(
            path=_path(item, "path", f"probes[{n}]."),
            status=_require(item, "status", int, f"probes[{n}]."),
            body=_require(item, "body", str, f"probes[{n}]."),
            log=item.get("log"),
        )
        for n, item in enumerate(_require(data, "probes", list, ""))
    )
    if not probes:
        raise ContractError(f"{FILE}: list at least one [[probes]] path that the app answers")
    page = data.get("page")
    change = _require(data, "change", dict, "")
    absent = data.get("absent", {"path": "/no-such-page", "status": 404})
    accepted = tuple(
        Accepted(
            header=_require(item, "header", str, f"accept[{n}]."),
            value=_require(item, "value", str, f"accept[{n}]."),
            reason=_require(item, "reason", str, f"accept[{n}]."),
        )
        for n, item in enumerate(data.get("accept", []))
    )
    write = data.get("write")
    if write is not None:
        write = Write(
            path=_path(write, "path", "write."),
            body=_require(write, "body", str, "write."),
            status=_require(write, "status", int, "write."),
            read=_path(write, "read", "write."),
            shows=_require(write, "shows", str, "write."),
            content_type=write.get("content_type", Write.content_type),
        )
        if "{n}" not in write.body or "{n}" not in write.shows:
            raise ContractError(f"{FILE}: write.body and write.shows each need {{n}}, the record's number")
    contract = Contract(
        port=_require(data, "port", int, ""),
        health=_path(data, "health", ""),
        image_files=tuple(_require(data, "image_files", list, "")),
        writable=tuple(_require(data, "writable", list, "")),
        probes=probes,
        page=Page(_path(page, "path", "page."), tuple(_require(page, "texts", list, "page."))) if page else None,
        change=Change(
            file=_require(change, "file", str, "change."),
            find=_require(change, "find", str, "change."),
            replace=_require(change, "replace", str, "change."),
            probe=_path(change, "probe", "change."),
        ),
        absent=Absent(_path(absent, "path", "absent."), _require(absent, "status", int, "absent.")),
        accepted=accepted,
        write=write,
    )
    if contract.change.probe not in {probe.path for probe in probes}:
        raise ContractError(f"{FILE}: change.probe {contract.change.probe!r} is not one of the [[probes]] paths")
    if contract.absent.status not in ABSENT_STATUSES:
        raise ContractError(
            f"{FILE}: absent.status is {contract.absent.status}: a path the app does not route answers one of "
            f"{ABSENT_STATUSES} (404, or the redirect the app gives instead)"
        )
    if contract.absent.path in {probe.path for probe in probes} | {contract.health}:
        raise ContractError(
            f"{FILE}: absent.path {contract.absent.path} is a path the app answers: name one it doesn't"
        )
    for entry in accepted:
        if len(entry.reason.split()) < 3:
            raise ContractError(f"{FILE}: accept {entry.header} needs a reason of a few words, is {entry.reason!r}")
    if len({entry.header.lower() for entry in accepted}) < len(accepted):
        raise ContractError(f"{FILE}: accept names a header twice: declare each header's value once")
    return contract


def load(root: Path) -> Contract:
    path = root / FILE
    if not path.is_file():
        raise ContractError(f"{FILE} is missing from {root}: copy the template's and describe your app in it")
    try:
        return parse(tomllib.loads(path.read_text()))
    except tomllib.TOMLDecodeError as exc:
        raise ContractError(f"{FILE} is not valid TOML: {exc}") from None
