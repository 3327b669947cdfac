"""layercake.toml parses, and a contract that no longer fits the app fails with the entry to fix."""

import tomllib

import pytest

from pytest_layercake.contract import ContractError, load, parse


@pytest.fixture
def data(project) -> dict:
    return tomllib.loads((project.root / "layercake.toml").read_text())


def test_contract_of_this_project_loads(project):
    contract = load(project.root)
    assert contract.probes and contract.change.probe in {probe.path for probe in contract.probes}


def test_change_that_no_longer_fits_the_file_is_an_error(project, data, tmp_path):
    data["change"]["find"] = "a text the app never had"
    contract = parse(data)
    copy = project.copy(tmp_path / "project")
    with pytest.raises(ContractError, match="occurs 0 times"):
        contract.change.apply(copy)


# A write probe: a POST that stores a note, and the page that lists the notes.
WRITE = {"path": "/notes", "body": '{"text": "record {n}"}', "status": 201, "read": "/notes", "shows": "record {n}"}


def test_write_probe_fills_in_the_records_number(data):
    write = parse(data | {"write": WRITE}).write
    assert (write.record(7), write.shown(7), write.content_type) == (
        '{"text": "record 7"}',
        "record 7",
        "application/json",
    )


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.pop("port"), "port is missing"),
        (lambda d: d.update(health="healthz"), "should start with /"),
        (lambda d: d.update(probes=[]), "at least one"),
        (lambda d: d["change"].update(probe="/elsewhere"), "not one of the"),
        (lambda d: d["probes"][0].update(status="200"), "should be a int"),
        (lambda d: d.update(absent={"path": "/no-such-page", "status": 200}), "absent.status is 200"),
        (lambda d: d.update(absent={"path": d["health"], "status": 404}), "is a path the app answers"),
        (lambda d: d.update(accept=[{"header": "Referrer-Policy", "value": "origin", "reason": "why"}]), "a reason"),
        (
            lambda d: d.update(accept=[{"header": "X-Frame-Options", "value": "SAMEORIGIN", "reason": "a b c"}] * 2),
            "names a header twice",
        ),
        (lambda d: d.update(write=WRITE | {"shows": "record"}), "each need {n}"),
        (lambda d: d.update(write={k: v for k, v in WRITE.items() if k != "read"}), "write.read is missing"),
    ],
    ids=[
        "no port",
        "relative health path",
        "no probe",
        "change of an unknown probe",
        "status as text",
        "absent path answering 200",
        "absent path that is the health path",
        "accept without a reason",
        "accept of one header twice",
        "write whose page can't tell records apart",
        "write with nowhere to read",
    ],
)
def test_malformed_contract_names_the_entry(data, edit, message):
    edit(data)
    with pytest.raises(ContractError, match=message):
        parse(data)
