-- 001_core.sql: runs and the flows they recorded.
--
-- Timestamps are seconds since the Unix epoch as REAL (microsecond exact
-- for capture times of this century); durations are seconds.  Addresses
-- are text (dotted quad or RFC 5952 IPv6).  A flow belongs to exactly one
-- run; (run_id, seq) identifies it within the run and uid outside it.

CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    mode             TEXT NOT NULL,          -- 'read' or 'capture'
    source           TEXT NOT NULL,          -- files, or the interface
    filter           TEXT,                   -- BPF expression
    sensor           TEXT,                   -- host name that ran flowaudit
    version          TEXT NOT NULL,          -- flowaudit version
    started          REAL NOT NULL,          -- wall clock
    ended            REAL,                   -- wall clock; NULL while running or after a crash
    first_packet     REAL,
    last_packet      REAL,
    packets          INTEGER NOT NULL DEFAULT 0,
    bytes            INTEGER NOT NULL DEFAULT 0,
    received         INTEGER,                -- pcap_stats, live capture only
    dropped          INTEGER,
    if_dropped       INTEGER,
    flows            INTEGER NOT NULL DEFAULT 0,
    evicted          INTEGER NOT NULL DEFAULT 0,   -- flows written early: table full
    orphan_fragments INTEGER NOT NULL DEFAULT 0
);

-- Packets the decoder skipped, by reason (see fa_decode_reason_name()).
CREATE TABLE decode_errors (
    run_id  INTEGER NOT NULL REFERENCES runs(id),
    reason  TEXT NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (run_id, reason)
) WITHOUT ROWID;

CREATE TABLE flows (
    id                INTEGER PRIMARY KEY,
    run_id            INTEGER NOT NULL REFERENCES runs(id),
    seq               INTEGER NOT NULL,      -- creation order within the run
    uid               TEXT NOT NULL,         -- Zeek-style id, distinct by construction
    ip_version        INTEGER NOT NULL,
    proto             INTEGER NOT NULL,      -- IP protocol number
    orig_h            TEXT NOT NULL,
    orig_p            INTEGER NOT NULL,      -- ICMP: message type
    resp_h            TEXT NOT NULL,
    resp_p            INTEGER NOT NULL,      -- ICMP: reply type, or code
    first_seen        REAL NOT NULL,
    last_seen         REAL NOT NULL,
    orig_pkts         INTEGER NOT NULL,
    orig_ip_bytes     INTEGER NOT NULL,
    orig_bytes        INTEGER NOT NULL,      -- payload
    resp_pkts         INTEGER NOT NULL,
    resp_ip_bytes     INTEGER NOT NULL,
    resp_bytes        INTEGER NOT NULL,
    conn_state        TEXT NOT NULL,         -- Zeek's vocabulary
    history           TEXT NOT NULL,         -- Zeek's letters, '' when none
    syn_count         INTEGER NOT NULL DEFAULT 0,
    syn_to_synack     REAL,                  -- handshake: SYN to SYN-ACK, seconds
    synack_to_ack     REAL,                  -- handshake: SYN-ACK to ACK, seconds
    icmp_error_type   INTEGER,               -- ICMP error quoting this flow
    icmp_error_code   INTEGER,
    icmp_error_v6     INTEGER,
    icmp_error_from   TEXT,
    end_reason        TEXT NOT NULL,         -- active closed timeout evicted capture-end reused
    UNIQUE (run_id, seq)
);

-- No secondary index: every index is rewritten by each batch of flows,
-- which made the writer the bottleneck of a read.  Queries filter a few
-- hundred thousand rows by scanning them; create an index for heavier use.
