"""Bad input through the real CLI: one line on stderr, exit code 2, no traceback, nothing written.

The contract (SPEC §8, errors.py): the message names the field, the value and what is allowed;
the row counts of every table are the same before and after.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import count_rows, query

# Clients in the `clinic` fixture: 1 Jane Doe (case 1, intake, signed session 1),
# 2 Ann Lee, 3 Anna Smith (no cases), 4 Bob Ray (open case 2, no intake yet).
CLIENT_NAMES = ("Jane Doe", "Ann Lee", "Anna Smith", "Bob Ray")


@pytest.fixture
def clinic(practice):
    practice(
        "session", "log", "Jane", "--pre", "7", "--post", "4", "--date", "2026-11-20",
        "--technique", "myofascial-release=25", "--technique", "swedish=20",
        "--region", "neck", "--sign",
    )  # fmt: skip
    practice("client", "add", "Ann Lee")
    practice("client", "add", "Anna Smith")
    practice("client", "add", "Bob Ray")
    practice(
        "case", "open", "Bob Ray", "--payer", "health", "--dx", "M54.2", "--referrer", "Dr Who",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "6",
    )  # fmt: skip
    return practice


def log(
    *extra: str,
    client: str = "Jane",
    pre: str = "6",
    post: str = "3",
    technique: str = "swedish=30",
    region: str = "neck",
) -> list[str]:
    """`session log` with valid values, except the one a case replaces."""
    return [
        "session", "log", client, "--pre", pre, "--post", post,
        "--technique", technique, "--region", region, *extra,
    ]  # fmt: skip


def case_open(*extra: str, **replace: str) -> list[str]:
    """`case open Jane …` with valid values, except the one a case replaces."""
    values = {
        "payer": "health",
        "dx": "M54.2",
        "referrer": "Alan Brooks, DC",
        "rx-date": "2026-11-01",
        "rx-until": "2026-12-31",
        "visits": "12",
    }
    values.update({k.replace("_", "-"): v for k, v in replace.items()})
    args = ["case", "open", "Jane"]
    for option, value in values.items():
        args += [f"--{option}", value]
    return [*args, *extra]


# (args, field named, offending value as shown, further text the message must hold)
BAD_INPUT = [
    pytest.param(log(pre="11"), "pre", "'11'", ["0 to 10"], id="pain-11"),
    pytest.param(log(pre="-1"), "pre", "'-1'", ["0 to 10"], id="pain-minus-1"),
    pytest.param(log(post="five"), "post", "'five'", ["0 to 10"], id="pain-word-five"),
    pytest.param(log(pre="5.0"), "pre", "'5.0'", ["whole number"], id="pain-decimal-5.0"),
    pytest.param(log(pre="٣"), "pre", "'٣'", ["0 to 10"], id="pain-arabic-indic-digit"),
    pytest.param(
        log(technique="myofascial=25"),
        "technique",
        "'myofascial'",
        ["myofascial-release"],
        id="technique-unknown-myofascial",
    ),
    pytest.param(
        log(technique="swedish"), "technique", "'swedish'", ["NAME=MINUTES"], id="technique-no-min"
    ),
    pytest.param(log(technique="swedish=0"), "minutes", "'0'", ["1 to 480"], id="minutes-0"),
    pytest.param(log(technique="swedish=-5"), "minutes", "'-5'", ["1 to 480"], id="minutes-neg-5"),
    pytest.param(log(technique="swedish=ten"), "minutes", "'ten'", ["1 to 480"], id="minutes-ten"),
    pytest.param(log(technique="swedish=481"), "minutes", "'481'", ["1 to 480"], id="minutes-481"),
    pytest.param(
        log(region="shoulder"),
        "region",
        "'shoulder'",
        ["shoulder-left", "shoulder-right", "shoulder-both"],
        id="region-shoulder-needs-side",
    ),
    pytest.param(log(region="nek"), "region", "'nek'", ["neck"], id="region-typo-nek"),
    pytest.param(
        log(client="ann"),
        "client",
        "'ann'",
        ["ids 2, 3", "client list"],  # ids only: the names are not what was typed
        id="client-ambiguous-ann",
    ),
    pytest.param(log(client="Zelda"), "client", "'Zelda'", ["no client"], id="client-unknown"),
    pytest.param(
        log("--date", "2026-12-01"), "date", "'2026-12-01'", ["future"], id="date-in-future"
    ),
    pytest.param(log("--date", "2026-13-45"), "date", "'2026-13-45'", [], id="date-malformed"),
    pytest.param(
        log("--date", "2026-11-20T14:30xyz"),
        "date",
        "'2026-11-20T14:30xyz'",
        [],
        id="date-time-trailing-garbage",
    ),
    pytest.param(
        case_open(dx="M72.21"), "dx", "'M72.21'", ["ICD-10-CM"], id="dx-nonexistent-M72.21"
    ),
    pytest.param(
        case_open(dx="M54.5"),
        "dx",
        "'M54.5'",
        ["not billable", "M54.50", "M54.51", "M54.59"],
        id="dx-header-M54.5",
    ),
    pytest.param(case_open(dx="hello"), "dx", "'hello'", [], id="dx-garbage-hello"),
    pytest.param(
        case_open(payer="medicare"), "payer", "'medicare'", ["workers-comp"], id="payer-unknown"
    ),
    pytest.param(
        case_open("--referrer-npi", "1234567890"),
        "referrer-npi",
        "'1234567890'",
        ["check digit"],
        id="npi-bad-check-digit",
    ),
    pytest.param(
        ["profile", "set", "--npi", "1234567890"],
        "npi",
        "'1234567890'",
        ["check digit"],
        id="profile-npi-bad-check-digit",
    ),
    pytest.param(
        case_open(rx_until="2026-10-31"),
        "rx-until",
        "'2026-10-31'",
        ["2026-11-01"],
        id="rx-until-before-rx-date",
    ),
    pytest.param(case_open(visits="0"), "visits", "'0'", ["1 to 999"], id="visits-0"),
    pytest.param(
        case_open("--frequency", "often"), "frequency", "'often'", ["2x/week"], id="frequency-often"
    ),
    pytest.param(
        log("--minutes", "30", "--technique", "trigger-point=15"),
        "minutes",
        "'30'",
        ["45"],
        id="minutes-below-technique-sum",
    ),
    pytest.param(
        log("--technique", "trigger-point=300", technique="swedish=300"),
        "minutes",
        "600",
        ["480"],
        id="techniques-sum-over-480",
    ),
    pytest.param(["session", "sign", "1"], "session", "1", ["already signed"], id="sign-twice"),
    pytest.param(
        ["session", "amend", "1", "--text", ""], "text", "(missing)", [], id="amend-empty-text"
    ),
    pytest.param(
        ["session", "void", "1", "--reason", ""], "reason", "(missing)", [], id="void-empty-reason"
    ),
    pytest.param(
        ["session", "void", "1", "--reason", "   "],
        "reason",
        "'   '",
        [],
        id="void-blank-reason",
    ),
    pytest.param(
        ["session", "sign", "99999999999999999999"],
        "session",
        "99999999999999999999",
        [],
        id="session-id-too-large",
    ),
    pytest.param(["session", "sign", "²"], "session", "²", [], id="session-id-superscript-2"),
    pytest.param(
        ["session", "void", "١", "--reason", "entered in error"],
        "session",
        "١",
        [],
        id="session-id-arabic-indic-digit",
    ),
    pytest.param(
        ["client", "show", "99999999999999999999"],
        "client",
        "99999999999999999999",
        [],
        id="client-id-too-large",
    ),
    pytest.param(
        log("--case", "99999999999999999999"),
        "case",
        "99999999999999999999",
        [],
        id="case-id-too-large",
    ),
    pytest.param(
        ["intake", "Bob Ray", "--pain", "5", "--region", "neck"],
        "complaint",
        "(missing)",
        ["--complaint"],
        id="intake-missing-answer-in-script",
    ),
    pytest.param(["measure", "add", "Jane"], "measure", "(missing)", ["--nprs"], id="measure-none"),
    pytest.param(
        ["measure", "add", "Jane", "--ndi", "101"], "ndi", "'101'", ["0 to 100"], id="ndi-101"
    ),
    pytest.param(
        ["measure", "add", "Jane", "--psfs", "climb stairs 4"],
        "psfs",
        "'climb stairs 4'",
        ["ACTIVITY=SCORE"],
        id="psfs-without-equals",
    ),
]


def assert_one_line_error(stdout: str, stderr: str) -> str:
    everything = stdout + stderr
    assert "Traceback" not in everything
    line = stderr.rstrip("\n")
    assert line.strip(), "stderr is empty"
    assert "\n" not in line, f"more than one line on stderr:\n{stderr}"
    return line


@pytest.mark.parametrize(("args", "field", "value", "hints"), BAD_INPUT)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    clinic, db_path: Path, args: list[str], field: str, value: str, hints: list[str]
):
    before = count_rows(db_path)
    result = clinic(*args, ok=False)
    line = assert_one_line_error(result.stdout, result.stderr)
    assert result.exit_code == 2, line
    assert field in line
    assert value in line
    for hint in hints:
        assert hint in line
    assert count_rows(db_path) == before


# --- the console entry point: Click's usage errors become one line too -------------------------


SUBPROCESS_CASES = [
    pytest.param(log("--bogus"), ["--bogus"], id="unknown-option"),
    pytest.param(
        ["session", "log", "Jane", "--post", "3", "--technique", "swedish=30", "--region", "neck"],
        ["--pre"],
        id="missing-required-pre",
    ),
    pytest.param(["session", "log"], ["CLIENT"], id="missing-argument"),
    pytest.param(log(pre="11"), ["pre", "'11'"], id="pain-11"),
    pytest.param(log(client="ann"), ["matches 2 clients (ids 2, 3)"], id="client-ambiguous"),
    pytest.param(case_open(dx="M54.5"), ["M54.50", "M54.59"], id="dx-header-code"),
    pytest.param(
        ["intake", "Bob Ray", "--pain", "5", "--region", "neck"],
        ["complaint"],
        id="intake-missing-answer",
    ),
]


@pytest.mark.parametrize(("args", "hints"), SUBPROCESS_CASES)
def test_entry_point_bad_input_is_one_plain_line(clinic, db_path, sh, args, hints):
    before = count_rows(db_path)
    # input="": stdin is a pipe, not a terminal, so intake must not prompt
    done = sh("--db", str(db_path), *args, input="")
    line = assert_one_line_error(done.stdout, done.stderr)
    assert done.returncode == 2, line
    assert "╭" not in done.stdout + done.stderr
    for hint in hints:
        assert hint in line
    assert count_rows(db_path) == before


# --- a signed note is corrected with an addendum, the original untouched -----------------------


def test_amend_on_signed_session_adds_addendum_and_keeps_original(clinic, db_path):
    def snapshot():
        return (
            [tuple(r) for r in query(db_path, "SELECT * FROM session WHERE id = 1")],
            [tuple(r) for r in query(db_path, "SELECT * FROM session_technique")],
            [tuple(r) for r in query(db_path, "SELECT * FROM session_cpt")],
        )

    assert query(db_path, "SELECT status FROM session WHERE id = 1")[0]["status"] == "signed"
    original = snapshot()
    before = count_rows(db_path)
    result = clinic("session", "amend", "1", "--text", "Pain pre was 6, not 7.")
    assert result.exit_code == 0
    assert snapshot() == original
    after = count_rows(db_path)
    assert after["addendum"] == before["addendum"] + 1
    assert after["audit"] == before["audit"] + 1
    addendum = query(db_path, "SELECT * FROM addendum WHERE session_id = 1")
    assert [a["text"] for a in addendum] == ["Pain pre was 6, not 7."]
    shown = clinic("session", "show", "1", "-f", "json").stdout
    assert "Pain pre was 6, not 7." in shown


# --- client data stays off the screen, even when something unexpected breaks ---------------------


def test_unexpected_error_hides_client_data(clinic, db_path, monkeypatch):
    import medmassage.record.sessions

    def broken_log_session(conn, case, given):
        names = [r[0] for r in conn.execute("SELECT name FROM client")]
        raise ValueError(f"internal bug while reading {names}")

    monkeypatch.setattr(medmassage.record.sessions, "log_session", broken_log_session)
    before = count_rows(db_path)
    # the client is given by id: no name was typed, so no name may be printed
    result = clinic(*log(client="1"), ok=False)
    line = assert_one_line_error(result.stdout, result.stderr)
    assert result.exit_code == 1
    assert "unexpected" in line
    for name in CLIENT_NAMES:
        assert name not in result.stdout + result.stderr
    assert count_rows(db_path) == before
