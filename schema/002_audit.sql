-- 002_audit.sql: audits of the stored flows against rules, and what they found.
--
-- An audit is immutable once written: it records the rule files it used
-- (their text, so a report can always show the rules as they were), the
-- runs it covered, one row per requirement with its status, and one row
-- per finding.  Findings group flows: count is the number of flows, and
-- examples names up to three of them by uid.

CREATE TABLE audits (
    id          INTEGER PRIMARY KEY,
    created     REAL NOT NULL,           -- wall clock
    version     TEXT NOT NULL,           -- flowaudit version
    sources     TEXT NOT NULL,           -- rule files, in the order loaded
    rules_text  TEXT NOT NULL,           -- their contents, as used
    runs        TEXT NOT NULL,           -- ids of the runs audited, comma separated
    flows       INTEGER NOT NULL,        -- flows audited
    fail_on     TEXT NOT NULL            -- error, warning or never
);

-- One row for each port group of each require rule, each direction.
CREATE TABLE requirements (
    audit_id    INTEGER NOT NULL REFERENCES audits(id),
    rule_file   TEXT NOT NULL,
    rule_line   INTEGER NOT NULL,
    rule_text   TEXT NOT NULL,
    message     TEXT NOT NULL,
    purpose     TEXT NOT NULL,           -- publication or monitoring
    src_role    TEXT NOT NULL,
    dst_role    TEXT NOT NULL,
    proto       TEXT NOT NULL,           -- tcp, udp, icmp, any
    ports       TEXT NOT NULL,           -- the group: '443', '1433|1521'
    status      TEXT NOT NULL,           -- ok, failing, failed, not-observed
    attempts    INTEGER NOT NULL,        -- flows that matched
    failures    INTEGER NOT NULL,        -- of those, blocked, rejected or unreachable
    first_seen  REAL,
    last_seen   REAL
);

CREATE TABLE findings (
    id          INTEGER PRIMARY KEY,
    audit_id    INTEGER NOT NULL REFERENCES audits(id),
    kind        TEXT NOT NULL,           -- blocked rejected unreachable unexpected denied slow not-observed
    severity    TEXT NOT NULL,           -- error warning info
    rule_file   TEXT,                    -- NULL when no rule matched (unexpected)
    rule_line   INTEGER,
    rule_text   TEXT,
    src         TEXT,                    -- NULL for not-observed
    src_role    TEXT,
    dst         TEXT,
    dst_role    TEXT,
    proto       TEXT,
    port        INTEGER,                 -- the responder's port; NULL without one
    count       INTEGER NOT NULL,        -- flows
    syn_count   INTEGER NOT NULL,        -- SYNs the originators sent, over those flows
    first_seen  REAL,
    last_seen   REAL,
    detail      TEXT,                    -- e.g. 'icmp 3/13 from 192.0.2.1', 'handshake 25.0 ms > 10 ms'
    examples    TEXT,                    -- up to three flow uids, space separated
    message     TEXT NOT NULL
);

CREATE INDEX findings_by_audit ON findings(audit_id);
CREATE INDEX requirements_by_audit ON requirements(audit_id);
