"""Schema versions. Append-only: never edit a migration that has shipped; add the next one.

Each migration runs in one BEGIN IMMEDIATE transaction together with its `user_version` bump,
so a database is always at exactly one version. After migrating, the protective triggers
listed in PROTECTIVE_TRIGGERS are checked (a table rebuild silently drops triggers).
"""

from __future__ import annotations

from medmassage.rules.catalog import PAYER_TYPES

_PAYERS = ", ".join(f"'{p}'" for p in PAYER_TYPES)


def _is_date(column: str, nullable: bool = True) -> str:
    # date(x, '+0 days') IS x rejects 'garbage' and 2026-02-30 alike (a bare `x = date(x)`
    # lets NULL comparisons through and normalises impossible days).
    check = f"date({column}, '+0 days') IS {column}"
    return f"CHECK ({column} IS NULL OR {check})" if nullable else f"CHECK ({check})"


_NPI = "CHECK ({c} IS NULL OR (length({c}) = 10 AND {c} NOT GLOB '*[^0-9]*'))"
_CPT = "CHECK (cpt GLOB '[0-9][0-9][0-9][0-9][0-9]')"
_JSON_LIST = "CHECK (json_valid({c}) AND json_type({c}) = 'array')"

# Columns of `session` that may not change once a note is signed, even when it is voided, as
# M001 named them (M006 renamed two: see SESSION_LOCKED_COLUMNS). Shipped: never edit.
_M001_SESSION_LOCKED = (
    "id",
    "case_id",
    "date",
    "start_time",
    "minutes",
    "pain_pre",
    "pain_post",
    "regions",
    "subjective",
    "objective",
    "assessment",
    "plan",
    "homecare",
    "feedback",
    "units_rule",
    "rx_flag",
    "over_authorized",
    "override_reason",
    "signed_at",
    "created",
)

# Today's names of those columns: rx_flag and over_authorized became the warnings given when
# the visit was logged (history), not its standing, which is derived (medmassage/rules/coverage.py).
M006_RENAMED_SESSION_COLUMNS = {
    "rx_flag": "logged_rx_flag",
    "over_authorized": "logged_over_authorized",
}
SESSION_LOCKED_COLUMNS = tuple(M006_RENAMED_SESSION_COLUMNS.get(c, c) for c in _M001_SESSION_LOCKED)


def _unchanged(columns: tuple[str, ...]) -> str:
    return " AND ".join(f"NEW.{c} IS OLD.{c}" for c in columns)


def _session_locked_update(columns: tuple[str, ...]) -> str:
    return f"""
CREATE TRIGGER session_locked_update BEFORE UPDATE ON session
WHEN OLD.status IS NOT 'draft'
    AND NOT (OLD.status = 'signed' AND NEW.status = 'void'
             AND NEW.void_reason IS NOT NULL AND {_unchanged(columns)})
BEGIN
    SELECT RAISE(ABORT, 'session is signed and locked: add an addendum instead');
END;
"""


def _child_locked(table: str, verb: str, row: str) -> str:
    return f"""
CREATE TRIGGER {table}_locked_{verb.lower()} BEFORE {verb} ON {table}
WHEN (SELECT status FROM session WHERE id = {row}.session_id) IS NOT 'draft'
BEGIN
    SELECT RAISE(ABORT, 'session is signed and locked: add an addendum instead');
END;
"""


M001_INITIAL = f"""
CREATE TABLE profile (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT,
    credentials TEXT,
    license_number TEXT,
    license_state TEXT,
    npi TEXT {_NPI.format(c="npi")},
    practice_name TEXT,
    address TEXT,
    phone TEXT,
    email TEXT,
    tax_id TEXT,
    updated TEXT NOT NULL
) STRICT;

CREATE TABLE fee (
    cpt TEXT PRIMARY KEY {_CPT},
    cents INTEGER NOT NULL CHECK (cents >= 0)
) STRICT;

-- Overrides of the default progress-report rule per payer type; NULL = never by that measure.
CREATE TABLE report_rule (
    payer_type TEXT PRIMARY KEY CHECK (payer_type IN ({_PAYERS})),
    every_visits INTEGER CHECK (every_visits IS NULL OR every_visits BETWEEN 1 AND 365),
    every_days INTEGER CHECK (every_days IS NULL OR every_days BETWEEN 1 AND 365)
) STRICT;

CREATE TABLE custom_technique (
    name TEXT PRIMARY KEY CHECK (name GLOB '[a-z]*' AND length(name) <= 60),
    cpt TEXT NOT NULL {_CPT},
    created TEXT NOT NULL
) STRICT;

CREATE TABLE client (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    dob TEXT {_is_date("dob")},
    sex TEXT CHECK (sex IS NULL OR sex IN ('female', 'male', 'other', 'unknown')),
    phone TEXT,
    email TEXT,
    address TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'discharged')),
    discharge_date TEXT {_is_date("discharge_date")},
    discharge_reason TEXT,
    created TEXT NOT NULL,
    CHECK ((status = 'discharged') = (discharge_reason IS NOT NULL))
) STRICT;

CREATE TABLE care_case (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES client(id),
    payer_type TEXT NOT NULL CHECK (payer_type IN ({_PAYERS})),
    payer_name TEXT,
    policy TEXT,
    claim TEXT,
    injury_date TEXT {_is_date("injury_date")},
    adjuster TEXT,
    referrer TEXT NOT NULL CHECK (length(referrer) BETWEEN 1 AND 200),
    referrer_npi TEXT {_NPI.format(c="referrer_npi")},
    rx_date TEXT NOT NULL {_is_date("rx_date", nullable=False)},
    rx_until TEXT NOT NULL {_is_date("rx_until", nullable=False)},
    visits_authorized INTEGER NOT NULL CHECK (visits_authorized BETWEEN 1 AND 999),
    frequency TEXT,
    areas_ordered TEXT NOT NULL DEFAULT '[]' {_JSON_LIST.format(c="areas_ordered")},
    units_rule TEXT NOT NULL DEFAULT 'cms' CHECK (units_rule IN ('cms', 'ama')),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    close_date TEXT {_is_date("close_date")},
    close_reason TEXT,
    opened TEXT NOT NULL,
    CHECK (rx_until >= rx_date),
    CHECK ((status = 'closed') = (close_reason IS NOT NULL))
) STRICT;
CREATE INDEX care_case_client ON care_case(client_id);

CREATE TABLE diagnosis (
    case_id INTEGER NOT NULL REFERENCES care_case(id),
    position INTEGER NOT NULL CHECK (position >= 1),
    code TEXT NOT NULL CHECK (code GLOB '[A-Z][0-9]*' AND length(code) BETWEEN 3 AND 8),
    description TEXT NOT NULL,
    PRIMARY KEY (case_id, code),
    UNIQUE (case_id, position)
) STRICT;

CREATE TABLE intake (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL UNIQUE REFERENCES care_case(id),
    date TEXT NOT NULL {_is_date("date", nullable=False)},
    complaint TEXT NOT NULL CHECK (length(complaint) >= 1),
    conditions TEXT NOT NULL DEFAULT '[]' {_JSON_LIST.format(c="conditions")},
    onset_date TEXT {_is_date("onset_date")},
    mechanism TEXT,
    regions TEXT NOT NULL {_JSON_LIST.format(c="regions")},
    pain INTEGER NOT NULL CHECK (pain BETWEEN 0 AND 10),
    aggravating TEXT,
    relieving TEXT,
    limitations TEXT NOT NULL DEFAULT '[]' {_JSON_LIST.format(c="limitations")},
    history TEXT,
    medications TEXT,
    contraindications TEXT,
    consent_date TEXT {_is_date("consent_date")},
    created TEXT NOT NULL,
    CHECK (json_array_length(regions) >= 1)
) STRICT;

CREATE TABLE goal (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES care_case(id),
    text TEXT NOT NULL CHECK (length(text) >= 1),
    target TEXT,
    target_date TEXT {_is_date("target_date")},
    status TEXT NOT NULL DEFAULT 'progressing'
        CHECK (status IN ('progressing', 'met', 'not-met')),
    created TEXT NOT NULL
) STRICT;
CREATE INDEX goal_case ON goal(case_id);

CREATE TABLE measure (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES care_case(id),
    date TEXT NOT NULL {_is_date("date", nullable=False)},
    kind TEXT NOT NULL CHECK (kind IN ('nprs', 'ndi', 'odi', 'psfs')),
    activity TEXT,
    score REAL NOT NULL,
    created TEXT NOT NULL,
    CHECK ((kind = 'psfs') = (activity IS NOT NULL)),
    CHECK (CASE WHEN kind IN ('nprs', 'psfs')
                THEN score BETWEEN 0 AND 10 AND score = CAST(score AS INTEGER)
                ELSE score BETWEEN 0 AND 100 END)
) STRICT;
CREATE INDEX measure_case ON measure(case_id, kind, date);

CREATE TABLE session (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES care_case(id),
    date TEXT NOT NULL {_is_date("date", nullable=False)},
    start_time TEXT CHECK (start_time IS NULL
        OR (length(start_time) = 5 AND time(start_time) IS start_time || ':00')),
    minutes INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 480),
    pain_pre INTEGER NOT NULL CHECK (pain_pre BETWEEN 0 AND 10),
    pain_post INTEGER NOT NULL CHECK (pain_post BETWEEN 0 AND 10),
    regions TEXT NOT NULL {_JSON_LIST.format(c="regions")},
    subjective TEXT,
    objective TEXT,
    assessment TEXT,
    plan TEXT,
    homecare TEXT,
    feedback TEXT,
    units_rule TEXT NOT NULL CHECK (units_rule IN ('cms', 'ama')),
    rx_flag TEXT CHECK (rx_flag IS NULL OR rx_flag IN ('expired', 'not-yet-valid')),
    over_authorized INTEGER NOT NULL DEFAULT 0 CHECK (over_authorized IN (0, 1)),
    override_reason TEXT,
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'signed', 'void')),
    signed_at TEXT,
    void_reason TEXT,
    voided_at TEXT,
    created TEXT NOT NULL,
    CHECK (json_array_length(regions) >= 1),
    CHECK (status = 'void' OR (status = 'draft') = (signed_at IS NULL)),
    CHECK ((status = 'void') = (void_reason IS NOT NULL))
) STRICT;
CREATE INDEX session_case_date ON session(case_id, date);
CREATE INDEX session_date ON session(date);

CREATE TABLE session_technique (
    session_id INTEGER NOT NULL REFERENCES session(id),
    position INTEGER NOT NULL CHECK (position >= 1),
    technique TEXT NOT NULL,
    cpt TEXT NOT NULL {_CPT},
    minutes INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 480),
    PRIMARY KEY (session_id, position)
) STRICT;

-- The CPT lines as billed when the session was logged (units under the case's rule then).
CREATE TABLE session_cpt (
    session_id INTEGER NOT NULL REFERENCES session(id),
    position INTEGER NOT NULL CHECK (position >= 1),
    cpt TEXT NOT NULL {_CPT},
    minutes INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 480),
    units INTEGER NOT NULL CHECK (units BETWEEN 0 AND 40),
    PRIMARY KEY (session_id, cpt)
) STRICT;

CREATE TABLE addendum (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES session(id),
    text TEXT NOT NULL CHECK (length(text) >= 1),
    author TEXT NOT NULL,
    created TEXT NOT NULL
) STRICT;
CREATE INDEX addendum_session ON addendum(session_id);

-- Progress reports sent to the payer; the report-due rule counts from the latest one.
CREATE TABLE progress_report (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES care_case(id),
    written TEXT NOT NULL {_is_date("written", nullable=False)},
    period_from TEXT NOT NULL {_is_date("period_from", nullable=False)},
    period_to TEXT NOT NULL {_is_date("period_to", nullable=False)},
    created TEXT NOT NULL
) STRICT;
CREATE INDEX progress_report_case ON progress_report(case_id, written);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id INTEGER
) STRICT;

-- Append-only audit log.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

-- A signed note is locked. The one change allowed is signed → void with a reason,
-- which keeps every other column as it was.
{_session_locked_update(_M001_SESSION_LOCKED).strip()}
CREATE TRIGGER session_locked_delete BEFORE DELETE ON session
WHEN OLD.status IS NOT 'draft'
BEGIN
    SELECT RAISE(ABORT, 'session is signed and locked: void it with a reason instead');
END;
{_child_locked("session_technique", "INSERT", "NEW")}
{_child_locked("session_technique", "UPDATE", "OLD")}
{_child_locked("session_technique", "DELETE", "OLD")}
{_child_locked("session_cpt", "INSERT", "NEW")}
{_child_locked("session_cpt", "UPDATE", "OLD")}
{_child_locked("session_cpt", "DELETE", "OLD")}

-- Addenda are corrections beside the original: never edited, never removed.
CREATE TRIGGER addendum_no_update BEFORE UPDATE ON addendum
BEGIN SELECT RAISE(ABORT, 'addenda are append-only'); END;
CREATE TRIGGER addendum_no_delete BEFORE DELETE ON addendum
BEGIN SELECT RAISE(ABORT, 'addenda are append-only'); END;
"""

# INSERT OR REPLACE deletes the conflicting row without firing DELETE triggers (unless
# recursive_triggers is on), so without these a signed note, an audit row or an addendum could
# be rewritten by any SQLite tool that reuses its id.
M002_NO_REPLACE = """
CREATE TRIGGER session_locked_replace BEFORE INSERT ON session
WHEN EXISTS (SELECT 1 FROM session WHERE id = NEW.id AND status IS NOT 'draft')
BEGIN
    SELECT RAISE(ABORT, 'session is signed and locked: add an addendum instead');
END;
CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER addendum_no_replace BEFORE INSERT ON addendum
WHEN EXISTS (SELECT 1 FROM addendum WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'addenda are append-only'); END;
"""

# Progress reports sent are facts of the record: append-only. `last_session_id` is the newest
# session when the report was written (ids only grow; sessions are never deleted), so a visit
# logged afterwards — later the same day, or a late entry dated inside the period — is known to
# be missing from that report.
M003_REPORTS = """
ALTER TABLE progress_report ADD COLUMN last_session_id INTEGER;
CREATE TRIGGER progress_report_no_update BEFORE UPDATE ON progress_report
BEGIN SELECT RAISE(ABORT, 'progress reports sent are append-only'); END;
CREATE TRIGGER progress_report_no_delete BEFORE DELETE ON progress_report
BEGIN SELECT RAISE(ABORT, 'progress reports sent are append-only'); END;
CREATE TRIGGER progress_report_no_replace BEFORE INSERT ON progress_report
WHEN EXISTS (SELECT 1 FROM progress_report WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'progress reports sent are append-only'); END;
"""

# The tamper-evident audit log (store/audit.py explains the design). `practice_meta` holds
# the practice's random id, which names its audit key file outside the database; `audit_chain`
# holds one HMAC per audit row (a separate table, because audit rows can never be updated), and
# `key_id` marks the first row of each key segment. Both tables are append-only. db.migrate()
# chains the audit rows an older medmassage wrote in this same transaction.
M004_AUDIT_CHAIN = """
CREATE TABLE practice_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    practice_uuid TEXT NOT NULL
        CHECK (length(practice_uuid) = 36 AND practice_uuid NOT GLOB '*[^0-9a-f-]*'),
    created TEXT NOT NULL
) STRICT;
INSERT INTO practice_meta (id, practice_uuid, created)
SELECT 1,
       lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-'
             || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(h, 18, 3) || '-'
             || substr(h, 21, 12)),
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
FROM (SELECT hex(randomblob(16)) AS h);

CREATE TABLE audit_chain (
    audit_id INTEGER PRIMARY KEY REFERENCES audit(id),
    hash TEXT NOT NULL CHECK (length(hash) = 64),
    key_id TEXT CHECK (key_id IS NULL OR length(key_id) = 16)
) STRICT;
CREATE INDEX audit_chain_segment ON audit_chain(audit_id) WHERE key_id IS NOT NULL;

CREATE TRIGGER practice_meta_no_update BEFORE UPDATE ON practice_meta
BEGIN SELECT RAISE(ABORT, 'the practice id never changes'); END;
CREATE TRIGGER practice_meta_no_delete BEFORE DELETE ON practice_meta
BEGIN SELECT RAISE(ABORT, 'the practice id never changes'); END;
CREATE TRIGGER practice_meta_no_replace BEFORE INSERT ON practice_meta
WHEN EXISTS (SELECT 1 FROM practice_meta)
BEGIN SELECT RAISE(ABORT, 'the practice id never changes'); END;
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_chain_no_replace BEFORE INSERT ON audit_chain
WHEN EXISTS (SELECT 1 FROM audit_chain WHERE audit_id = NEW.audit_id)
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""

# `client list` and reports ask "latest visit of each case, voids left out": with status in the
# index the answer comes from the index alone, without reading the session rows (notes and all).
# 118 ms → 8 ms for 2,000 clients with 100,000 sessions. It supersedes session_case_date.
M005_SESSION_INDEX = """
CREATE INDEX session_case_date_status ON session(case_id, date, status);
DROP INDEX session_case_date;
"""

# Authorizations (SPEC §10). A case is one claim for one condition; its prescriptions and payer
# approvals become rows of their own, so a renewal or a re-authorization (new dates, more visits,
# an authorization number, often backdated) extends the same case instead of opening another.
# Each case's prescription becomes its first authorization, valid from the date it was written.
# care_case is rebuilt without the prescription columns (they would go stale beside the
# authorizations); the rebuild runs with foreign keys off, as SQLite's ALTER TABLE page says,
# and foreign_key_check must pass before it commits (db.migrate, REBUILDS).
# session.rx_flag and session.over_authorized become logged_rx_flag and logged_over_authorized:
# what session log warned at the time, kept as history. A visit's standing (its authorization,
# Rx flag, over-authorized) is derived each time it is read (medmassage/rules/coverage.py). The lock
# trigger is created again naming the new columns (a rename would rewrite its text for us).
# A partial index finds the unsigned drafts (`report due`, `session list --drafts`).
M006_AUTHORIZATIONS = f"""
CREATE TABLE authorization (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES care_case(id),
    prescriber TEXT NOT NULL CHECK (length(prescriber) BETWEEN 1 AND 200),
    prescriber_credentials TEXT CHECK (prescriber_credentials IS NULL
        OR length(prescriber_credentials) BETWEEN 1 AND 40),
    prescriber_npi TEXT {_NPI.format(c="prescriber_npi")},
    written TEXT NOT NULL {_is_date("written", nullable=False)},
    valid_from TEXT NOT NULL {_is_date("valid_from", nullable=False)},
    valid_until TEXT NOT NULL {_is_date("valid_until", nullable=False)},
    visits INTEGER NOT NULL CHECK (visits BETWEEN 1 AND 999),
    frequency TEXT,
    areas_ordered TEXT NOT NULL DEFAULT '[]' {_JSON_LIST.format(c="areas_ordered")},
    auth_number TEXT CHECK (auth_number IS NULL OR length(auth_number) BETWEEN 1 AND 80),
    note TEXT,
    created TEXT NOT NULL,
    CHECK (valid_until >= valid_from)
) STRICT;
CREATE INDEX authorization_case ON authorization(case_id, written);

INSERT INTO authorization (case_id, prescriber, prescriber_npi, written, valid_from, valid_until,
                           visits, frequency, areas_ordered, created)
SELECT id, referrer, referrer_npi, rx_date, rx_date, rx_until, visits_authorized, frequency,
       areas_ordered, opened
FROM care_case ORDER BY id;

CREATE TABLE care_case_new (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES client(id),
    payer_type TEXT NOT NULL CHECK (payer_type IN ({_PAYERS})),
    payer_name TEXT,
    policy TEXT,
    claim TEXT,
    injury_date TEXT {_is_date("injury_date")},
    adjuster TEXT,
    units_rule TEXT NOT NULL DEFAULT 'cms' CHECK (units_rule IN ('cms', 'ama')),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    close_date TEXT {_is_date("close_date")},
    close_reason TEXT,
    opened TEXT NOT NULL,
    CHECK ((status = 'closed') = (close_reason IS NOT NULL))
) STRICT;
INSERT INTO care_case_new (id, client_id, payer_type, payer_name, policy, claim, injury_date,
                           adjuster, units_rule, status, close_date, close_reason, opened)
SELECT id, client_id, payer_type, payer_name, policy, claim, injury_date, adjuster, units_rule,
       status, close_date, close_reason, opened
FROM care_case ORDER BY id;
DROP TABLE care_case;
ALTER TABLE care_case_new RENAME TO care_case;
CREATE INDEX care_case_client ON care_case(client_id);

ALTER TABLE session RENAME COLUMN rx_flag TO logged_rx_flag;
ALTER TABLE session RENAME COLUMN over_authorized TO logged_over_authorized;
DROP TRIGGER session_locked_update;
{_session_locked_update(SESSION_LOCKED_COLUMNS).strip()}

-- `report due` lists drafts left unsigned: few rows, found without reading every session.
CREATE INDEX session_drafts ON session(date) WHERE status = 'draft';
"""

# Content digests (SPEC §13, store/digests.py): each chain row may carry the digest of the
# record its audit row changed, so `db check` can tell a record edited, added or deleted with
# another SQLite tool. db.migrate then chains a "baseline" digest of every record already there,
# in this migration's transaction (records.record_all).
M007_CONTENT_DIGESTS = """
ALTER TABLE audit_chain ADD COLUMN digest TEXT CHECK (digest IS NULL OR length(digest) = 64);
"""

# ICD-10-CM codes may have a letter second (the 2026 release added the category QA0, e.g.
# QA0.0101): the code check allows them, so the column must too. Only the CHECK changes, so the
# table is rebuilt with the same rows; nothing references it.
M008_DIAGNOSIS_CODE_SHAPE = """
CREATE TABLE diagnosis_new (
    case_id INTEGER NOT NULL REFERENCES care_case(id),
    position INTEGER NOT NULL CHECK (position >= 1),
    code TEXT NOT NULL CHECK (code GLOB '[A-Z][0-9A-Z][0-9A-Z]*' AND length(code) BETWEEN 3 AND 8),
    description TEXT NOT NULL,
    PRIMARY KEY (case_id, code),
    UNIQUE (case_id, position)
) STRICT;
INSERT INTO diagnosis_new (case_id, position, code, description)
SELECT case_id, position, code, description FROM diagnosis ORDER BY case_id, position;
DROP TABLE diagnosis;
ALTER TABLE diagnosis_new RENAME TO diagnosis;
"""

# The practice's time zone, an IANA name such as America/Los_Angeles (profile.py checks it with
# zoneinfo): a session's start time is wall-clock time where the practice is, so the FHIR export
# gives it that zone's offset on that day, and the same file exports the same instants on any
# computer. NULL until set: `profile set` stores the computer's zone the first time it runs
# without one (profile.py). A new column changes the profile's content digest (store/digests.py), so
# db.migrate chains the profile's new digest in this migration's transaction.
M009_PROFILE_TIME_ZONE = """
ALTER TABLE profile ADD COLUMN time_zone TEXT
    CHECK (time_zone IS NULL OR length(time_zone) BETWEEN 1 AND 64);
"""

# Full-text search over the notes (SPEC §12, record/search.py): SQLite FTS5, one index row
# per session holding its SOAP note, home care, client feedback and addenda, so the words of a
# query may come from any of them. The index is derived data, not a record (store/digests.py digests
# none of it): an external-content table whose content is the view `session_search_text`, so
# the note text is stored once, in `session`. Triggers keep it in step inside the very
# transaction that writes a note (session log, edit, import; an addendum); a void or a
# signature changes no text and leaves the index alone. An external-content index must be told
# the old text to remove it ('delete' with the values indexed), so the triggers give exactly
# what the view gave. The migration builds the index from the rows already there ('rebuild').
# `db check` compares the index with the notes (FTS5 'integrity-check') and verifies the
# triggers by their SQL (SEARCH_TRIGGERS); `medmassage db reindex` rebuilds both.
_SEARCH_NOTE_COLUMNS = ("subjective", "objective", "assessment", "plan", "homecare", "feedback")
SEARCH_COLUMNS = (*_SEARCH_NOTE_COLUMNS, "addenda")


def _addenda_of(session: str, leaving_out: str | None = None) -> str:
    """A session's addenda as the view joins them, oldest first (optionally without one)."""
    extra = f" AND id IS NOT {leaving_out}" if leaving_out else ""
    return (
        "(SELECT group_concat(text, char(10)) FROM (SELECT text FROM addendum "
        f"WHERE session_id = {session}{extra} ORDER BY id))"
    )


def _search_row(session: str) -> str:
    """The index row of session `session`, read from the view (the index's content)."""
    return (
        f"INSERT INTO session_fts (rowid, {', '.join(SEARCH_COLUMNS)}) "
        f"SELECT id, {', '.join(SEARCH_COLUMNS)} FROM session_search_text WHERE id = {session};"
    )


def _search_delete(values: str) -> str:
    return f"INSERT INTO session_fts (session_fts, rowid, {', '.join(SEARCH_COLUMNS)}) {values};"


_OLD_NOTES = ", ".join(f"OLD.{c}" for c in _SEARCH_NOTE_COLUMNS)
M010_NOTE_SEARCH = f"""
CREATE VIEW session_search_text AS
SELECT s.id, {", ".join(f"s.{c}" for c in _SEARCH_NOTE_COLUMNS)}, {_addenda_of("s.id")} AS addenda
FROM session s;

-- unicode61 with diacritics folded: "Zoe" finds "Zoë". No stemmer: a word is found as typed,
-- and `lumb*` finds its forms. Prefix indexes for 2 and 3 letters keep short prefixes fast.
CREATE VIRTUAL TABLE session_fts USING fts5(
    {", ".join(SEARCH_COLUMNS)},
    content = 'session_search_text', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);

-- FTS5 writes its pending words out at the end of every statement, so one trigger run per row
-- of a bulk import costs about 30 µs a session against 7 µs for one INSERT … SELECT. While this
-- table holds a row (only inside `import sessions`' transaction: import_sessions.py), new sessions
-- are left to that one statement, run before the same transaction commits.
CREATE TABLE session_fts_deferred (id INTEGER PRIMARY KEY CHECK (id = 1)) STRICT;

CREATE TRIGGER session_fts_insert AFTER INSERT ON session
WHEN NOT EXISTS (SELECT 1 FROM session_fts_deferred)
BEGIN
    {_search_row("NEW.id")}
END;
CREATE TRIGGER session_fts_update AFTER UPDATE OF id, {", ".join(_SEARCH_NOTE_COLUMNS)} ON session
BEGIN
    {_search_delete(f"VALUES ('delete', OLD.id, {_OLD_NOTES}, {_addenda_of('OLD.id')})")}
    {_search_row("NEW.id")}
END;
CREATE TRIGGER session_fts_delete AFTER DELETE ON session
BEGIN
    {_search_delete(f"VALUES ('delete', OLD.id, {_OLD_NOTES}, {_addenda_of('OLD.id')})")}
END;
CREATE TRIGGER addendum_fts_insert AFTER INSERT ON addendum
BEGIN
    {
    _search_delete(
        f"SELECT 'delete', id, {', '.join(_SEARCH_NOTE_COLUMNS)}, "
        f"{_addenda_of('NEW.session_id', 'NEW.id')} FROM session WHERE id = NEW.session_id"
    )
}
    {_search_row("NEW.session_id")}
END;

INSERT INTO session_fts (session_fts) VALUES ('rebuild');
"""

# Note templates and phrase shortcuts (SPEC §12, medmassage/record/notetemplates.py, phrases.py):
# records of the therapist's own, one row each, audited with content digests (store/digests.py) so
# `db check` sees a row changed with another tool. `source` says whether medmassage shipped it
# (and it is unchanged) or the therapist wrote or replaced it. The migration inserts the shipped
# defaults once, with the database's other records: db.migrate chains their digests in this
# transaction (SEEDED). A default the therapist removes stays removed: no later step puts the
# shipped rows back. Template text keeps `;name` phrase shortcuts as typed: they expand when a
# note made from it is saved, so a changed phrase changes the next note, not the template.
_TEMPLATE_NAME = (
    "CHECK (length(name) BETWEEN 1 AND 40 AND name GLOB '[a-z]*' AND name NOT GLOB '*[^a-z0-9-]*')"
)
_PHRASE_NAME = (
    "CHECK (length(name) BETWEEN 1 AND 20 AND name GLOB '[a-z]*' AND name NOT GLOB '*[^a-z0-9]*')"
)
_SOURCE = "CHECK (source IN ('shipped', 'yours'))"
_SECTION = "TEXT CHECK ({c} IS NULL OR length({c}) BETWEEN 1 AND 20000)"
_TEMPLATE_SECTIONS = ("subjective", "objective", "assessment", "plan", "homecare", "feedback")
# Stamped in UTC by SQLite (the migration has no Python clock): an ISO time with its offset.
_NOW_UTC = "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')"
M011_TEMPLATES_PHRASES = f"""
CREATE TABLE note_template (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE {_TEMPLATE_NAME},
    {", ".join(f"{c} {_SECTION.format(c=c)}" for c in _TEMPLATE_SECTIONS)},
    source TEXT NOT NULL {_SOURCE},
    created TEXT NOT NULL,
    changed TEXT,
    CHECK (coalesce({", ".join(_TEMPLATE_SECTIONS)}) IS NOT NULL)
) STRICT;

CREATE TABLE phrase (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE {_PHRASE_NAME},
    text TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    source TEXT NOT NULL {_SOURCE},
    created TEXT NOT NULL,
    changed TEXT
) STRICT;

INSERT INTO phrase (name, text, source, created) VALUES
    ('tol', 'Client tolerated treatment well; no adverse reaction.', 'shipped', {_NOW_UTC}),
    ('noadv', 'No adverse reaction to treatment reported or observed.', 'shipped', {_NOW_UTC}),
    ('edu', 'Client educated on home care and self-stretching; demonstrated understanding.',
     'shipped', {_NOW_UTC}),
    ('cont', 'Recommend continued care per plan of care.', 'shipped', {_NOW_UTC}),
    ('consent', 'Treatment plan reviewed; client gave verbal consent to treatment.', 'shipped',
     {_NOW_UTC}),
    ('reass', 'Reassess at next visit.', 'shipped', {_NOW_UTC});

INSERT INTO note_template (name, assessment, plan, homecare, source, created) VALUES
    ('follow-up', ';tol Response to treatment consistent with the plan of care.',
     ';cont ;reass', ';edu', 'shipped', {_NOW_UTC}),
    ('reassessment', 'Progress toward functional goals reviewed with client; see outcome measures.',
     'Plan of care reviewed with client. ;cont', ';edu', 'shipped', {_NOW_UTC});
"""

# Claims (SPEC §11, medmassage/claims/). The case gets what a claim asks of the insurer and the
# insured (CMS-1500 boxes 1a, 4, 6, 7, 10b, 11, 11a, 16, 26 and the payer's id and address), the
# profile what it asks of the biller (25 tax id kind, 33b taxonomy, 24B place of service, 27
# assignment, the clearinghouse's ids for 837P), and claim_rule the modifiers a payer type asks
# for. Addresses stay one text ("street, city, ST ZIP"): the claim splits them and says so when
# one will not split.
#
# A claim holds the boxes as built (`data`: every box but 24 and the totals) and one claim_line
# per 24 line with the fee used, so a claim never changes after it is made, whatever the profile
# does later; its total, its forms and box 28 are derived from its lines. Its status moves
# draft → submitted (printed or exported) or draft → void; "replaced" is derived, never stored:
# a submitted claim is replaced while a non-void corrected claim (box 22 code 7) names it, so
# voiding that draft gives the original its standing back. Nothing else
# ever changes, and no claim or line is ever deleted. A visit is on at most one open (draft or
# submitted) claim: claim_line_one_open_claim refuses a second even from the sqlite3 shell.
# An 837P interchange's control number is the id of its x12_interchange row: AUTOINCREMENT
# never hands one out twice, even after a row is removed with another tool.
_CLAIM_LOCKED = ("case_id", "frequency_code", "replaces", "original_ref", "data", "created")
_SUBMISSION = ("submitted", "submitted_by")
M012_CLAIMS = f"""
ALTER TABLE care_case ADD COLUMN payer_id TEXT
    CHECK (payer_id IS NULL OR length(payer_id) BETWEEN 2 AND 80);
ALTER TABLE care_case ADD COLUMN payer_address TEXT
    CHECK (payer_address IS NULL OR length(payer_address) BETWEEN 1 AND 300);
ALTER TABLE care_case ADD COLUMN insured_name TEXT
    CHECK (insured_name IS NULL OR length(insured_name) BETWEEN 1 AND 200);
ALTER TABLE care_case ADD COLUMN insured_relationship TEXT
    CHECK (insured_relationship IS NULL
           OR insured_relationship IN ('self', 'spouse', 'child', 'other'));
ALTER TABLE care_case ADD COLUMN insured_dob TEXT {_is_date("insured_dob")};
ALTER TABLE care_case ADD COLUMN insured_sex TEXT
    CHECK (insured_sex IS NULL OR insured_sex IN ('female', 'male'));
ALTER TABLE care_case ADD COLUMN insured_address TEXT
    CHECK (insured_address IS NULL OR length(insured_address) BETWEEN 1 AND 300);
ALTER TABLE care_case ADD COLUMN group_number TEXT
    CHECK (group_number IS NULL OR length(group_number) BETWEEN 1 AND 50);
ALTER TABLE care_case ADD COLUMN employer TEXT
    CHECK (employer IS NULL OR length(employer) BETWEEN 1 AND 200);
ALTER TABLE care_case ADD COLUMN accident_state TEXT
    CHECK (accident_state IS NULL OR (length(accident_state) = 2
                                      AND accident_state NOT GLOB '*[^A-Z]*'));
ALTER TABLE care_case ADD COLUMN account_number TEXT
    CHECK (account_number IS NULL OR length(account_number) BETWEEN 1 AND 38);
ALTER TABLE care_case ADD COLUMN unable_from TEXT {_is_date("unable_from")};
ALTER TABLE care_case ADD COLUMN unable_to TEXT {_is_date("unable_to")};

ALTER TABLE profile ADD COLUMN tax_id_kind TEXT
    CHECK (tax_id_kind IS NULL OR tax_id_kind IN ('ein', 'ssn'));
ALTER TABLE profile ADD COLUMN taxonomy TEXT
    CHECK (taxonomy IS NULL OR (length(taxonomy) = 10 AND taxonomy NOT GLOB '*[^0-9A-Z]*'));
ALTER TABLE profile ADD COLUMN place_of_service TEXT
    CHECK (place_of_service IS NULL OR place_of_service GLOB '[0-9][0-9]');
ALTER TABLE profile ADD COLUMN accept_assignment INTEGER
    CHECK (accept_assignment IS NULL OR accept_assignment IN (0, 1));
ALTER TABLE profile ADD COLUMN submitter_id TEXT
    CHECK (submitter_id IS NULL OR length(submitter_id) BETWEEN 2 AND 15);
ALTER TABLE profile ADD COLUMN receiver_id TEXT
    CHECK (receiver_id IS NULL OR length(receiver_id) BETWEEN 2 AND 15);
ALTER TABLE profile ADD COLUMN receiver_name TEXT
    CHECK (receiver_name IS NULL OR length(receiver_name) BETWEEN 1 AND 60);
-- The 837P's implementation guide (GS08, ST03) the clearinghouse asks for; NULL: X222A2.
ALTER TABLE profile ADD COLUMN x12_version TEXT
    CHECK (x12_version IS NULL OR x12_version IN ('005010X222A1', '005010X222A2'));

-- What a payer type asks on a claim: modifier 59 or XS when 97124 and 97140 fall on one date
-- on distinct regions; GP on every line (only where the payer instructs it).
CREATE TABLE claim_rule (
    payer_type TEXT PRIMARY KEY CHECK (payer_type IN ({_PAYERS})),
    distinct_modifier TEXT CHECK (distinct_modifier IS NULL OR distinct_modifier IN ('59', 'XS')),
    gp INTEGER NOT NULL DEFAULT 0 CHECK (gp IN (0, 1))
) STRICT;

CREATE TABLE claim (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES care_case(id),
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'submitted', 'void')),
    frequency_code TEXT NOT NULL DEFAULT '1' CHECK (frequency_code IN ('1', '7')),
    replaces INTEGER REFERENCES claim(id),
    original_ref TEXT CHECK (original_ref IS NULL OR length(original_ref) BETWEEN 1 AND 50),
    data TEXT NOT NULL CHECK (json_valid(data) AND json_type(data) = 'object'),
    created TEXT NOT NULL,
    submitted TEXT {_is_date("submitted")},
    submitted_by TEXT CHECK (submitted_by IS NULL OR submitted_by IN ('print', 'x12')),
    void_reason TEXT CHECK (void_reason IS NULL OR length(void_reason) BETWEEN 1 AND 500),
    voided TEXT,
    CHECK ((status = 'void') = (void_reason IS NOT NULL)),
    CHECK ((frequency_code = '7') = (replaces IS NOT NULL)),
    CHECK ((status = 'submitted') = (submitted IS NOT NULL))
) STRICT;
CREATE INDEX claim_case ON claim(case_id, status);

CREATE TABLE claim_line (
    claim_id INTEGER NOT NULL REFERENCES claim(id),
    line INTEGER NOT NULL CHECK (line BETWEEN 1 AND 999),
    session_id INTEGER NOT NULL REFERENCES session(id),
    service_date TEXT NOT NULL {_is_date("service_date", nullable=False)},
    cpt TEXT NOT NULL {_CPT},
    modifiers TEXT NOT NULL DEFAULT '[]' {_JSON_LIST.format(c="modifiers")},
    pointers TEXT NOT NULL CHECK (pointers GLOB '[A-L]*' AND length(pointers) BETWEEN 1 AND 4
                                  AND pointers NOT GLOB '*[^A-L]*'),
    units INTEGER NOT NULL CHECK (units BETWEEN 1 AND 99),
    fee_cents INTEGER NOT NULL CHECK (fee_cents >= 0),
    charge_cents INTEGER NOT NULL CHECK (charge_cents = fee_cents * units),
    PRIMARY KEY (claim_id, line)
) STRICT;
CREATE INDEX claim_line_session ON claim_line(session_id);

CREATE TABLE x12_interchange (
    id INTEGER PRIMARY KEY AUTOINCREMENT CHECK (id BETWEEN 1 AND 999999999),
    created TEXT NOT NULL,
    claims TEXT NOT NULL CHECK (json_valid(claims) AND json_type(claims) = 'array')
) STRICT;

CREATE TRIGGER claim_locked_update BEFORE UPDATE ON claim
WHEN NOT ({_unchanged(_CLAIM_LOCKED)} AND NEW.id IS OLD.id AND (
        (OLD.status = 'draft' AND NEW.status = 'submitted' AND NEW.void_reason IS NULL)
     OR (OLD.status = 'draft' AND NEW.status = 'void' AND {_unchanged(_SUBMISSION)})))
BEGIN
    SELECT RAISE(ABORT, 'claim is locked: void a draft, or replace a submitted claim');
END;
CREATE TRIGGER claim_no_delete BEFORE DELETE ON claim
BEGIN SELECT RAISE(ABORT, 'claims are never deleted: void or replace one'); END;
CREATE TRIGGER claim_no_replace BEFORE INSERT ON claim
WHEN EXISTS (SELECT 1 FROM claim WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'claims are never deleted: void or replace one'); END;
CREATE TRIGGER claim_replaces_one_submitted BEFORE INSERT ON claim
WHEN NEW.replaces IS NOT NULL AND (
       (SELECT status FROM claim WHERE id = NEW.replaces AND case_id = NEW.case_id)
           IS NOT 'submitted'
    OR EXISTS (SELECT 1 FROM claim WHERE replaces = NEW.replaces AND status <> 'void'))
BEGIN
    SELECT RAISE(ABORT, 'a claim replaces one submitted claim of its case, once at a time');
END;
CREATE TRIGGER claim_line_locked_insert BEFORE INSERT ON claim_line
WHEN (SELECT status FROM claim WHERE id = NEW.claim_id) IS NOT 'draft'
    OR EXISTS (SELECT 1 FROM claim_line WHERE claim_id = NEW.claim_id AND line = NEW.line)
BEGIN SELECT RAISE(ABORT, 'claim is locked: its lines are those it was made with'); END;
CREATE TRIGGER claim_line_one_open_claim BEFORE INSERT ON claim_line
WHEN EXISTS (SELECT 1 FROM claim_line l JOIN claim c ON c.id = l.claim_id
             WHERE l.session_id = NEW.session_id AND l.claim_id <> NEW.claim_id
               AND c.status IN ('draft', 'submitted')
               AND NOT EXISTS (SELECT 1 FROM claim r WHERE r.replaces = c.id
                               AND r.status <> 'void'))
BEGIN SELECT RAISE(ABORT, 'session is on another open claim'); END;
CREATE TRIGGER claim_line_no_update BEFORE UPDATE ON claim_line
BEGIN SELECT RAISE(ABORT, 'claim is locked: its lines are those it was made with'); END;
CREATE TRIGGER claim_line_no_delete BEFORE DELETE ON claim_line
BEGIN SELECT RAISE(ABORT, 'claim is locked: its lines are those it was made with'); END;
CREATE TRIGGER x12_interchange_no_update BEFORE UPDATE ON x12_interchange
BEGIN SELECT RAISE(ABORT, 'an interchange sent is a fact of the record'); END;
CREATE TRIGGER x12_interchange_no_delete BEFORE DELETE ON x12_interchange
BEGIN SELECT RAISE(ABORT, 'an interchange sent is a fact of the record'); END;
"""

# (version, name, sql). The version is what PRAGMA user_version holds once it is applied.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "m001_initial", M001_INITIAL),
    (2, "m002_no_replace", M002_NO_REPLACE),
    (3, "m003_reports", M003_REPORTS),
    (4, "m004_audit_chain", M004_AUDIT_CHAIN),
    (5, "m005_session_index", M005_SESSION_INDEX),
    (6, "m006_authorizations", M006_AUTHORIZATIONS),
    (7, "m007_content_digests", M007_CONTENT_DIGESTS),
    (8, "m008_diagnosis_code_shape", M008_DIAGNOSIS_CODE_SHAPE),
    (9, "m009_profile_time_zone", M009_PROFILE_TIME_ZONE),
    (10, "m010_note_search", M010_NOTE_SEARCH),
    (11, "m011_templates_phrases", M011_TEMPLATES_PHRASES),
    (12, "m012_claims", M012_CLAIMS),
]

# Migrations that insert records (shipped defaults) and the entities (store/digests.py) of the rows
# they insert: db.migrate chains those records' digests in the migration's transaction.
SEEDED: dict[int, tuple[str, ...]] = {11: ("template", "phrase")}

# Migrations that rebuild a table: they run with foreign keys off (a DROP of a parent table
# would otherwise delete or refuse), and must leave `PRAGMA foreign_key_check` empty.
REBUILDS = {6, 8}

LATEST_VERSION = MIGRATIONS[-1][0]

# Triggers that protect the record, and the schema version that introduced each. Checked after
# every migration: a table rebuild (sqlite-utils' transform, say) silently drops triggers.
PROTECTIVE_TRIGGERS: dict[str, int] = {
    "audit_no_update": 1,
    "audit_no_delete": 1,
    "session_locked_update": 1,
    "session_locked_delete": 1,
    "session_technique_locked_insert": 1,
    "session_technique_locked_update": 1,
    "session_technique_locked_delete": 1,
    "session_cpt_locked_insert": 1,
    "session_cpt_locked_update": 1,
    "session_cpt_locked_delete": 1,
    "addendum_no_update": 1,
    "addendum_no_delete": 1,
    "session_locked_replace": 2,
    "audit_no_replace": 2,
    "addendum_no_replace": 2,
    "progress_report_no_update": 3,
    "progress_report_no_delete": 3,
    "progress_report_no_replace": 3,
    "practice_meta_no_update": 4,
    "practice_meta_no_delete": 4,
    "practice_meta_no_replace": 4,
    "audit_chain_no_update": 4,
    "audit_chain_no_delete": 4,
    "audit_chain_no_replace": 4,
    "claim_locked_update": 12,
    "claim_no_delete": 12,
    "claim_no_replace": 12,
    "claim_replaces_one_submitted": 12,
    "claim_line_locked_insert": 12,
    "claim_line_one_open_claim": 12,
    "claim_line_no_update": 12,
    "claim_line_no_delete": 12,
    "x12_interchange_no_update": 12,
    "x12_interchange_no_delete": 12,
}

# Triggers that keep the notes' search index in step (M010), and the version that introduced each.
# They protect nothing (the index is derived), but a missing or altered one leaves search
# answering from stale notes: migrate() and `db check` verify them by their SQL text, as they do
# the protective triggers, and `medmassage db reindex` puts them back.
SEARCH_TRIGGERS: dict[str, int] = {
    "session_fts_insert": 10,
    "session_fts_update": 10,
    "session_fts_delete": 10,
    "addendum_fts_insert": 10,
}
# The search index's tables (the FTS5 table and the shadow tables SQLite keeps for it): derived
# data, rebuilt from the notes, never exported, digested or counted as records.
SEARCH_TABLES = (
    "session_fts",
    "session_fts_data",
    "session_fts_idx",
    "session_fts_docsize",
    "session_fts_config",
    "session_fts_deferred",
)

# Stored in the file header so other tools can tell a medmassage database ("MMSG").
APPLICATION_ID = 0x4D4D5347
