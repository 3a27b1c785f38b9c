-- 005_flow_ids.sql: a flow's id says its run, and the unique (run_id, seq)
-- index is gone.
--
-- id is run_id * 2^40 + the flow's row in its run: 1, 2, ... in the order
-- the run first wrote its flows.  A flow written again (a live capture's
-- checkpoint, then its end) keeps its row, so its id finds it for the
-- update that the unique index found before; and since a run writes its
-- flows in row order, each batch appends to the table, where keeping the
-- index cost the writer about a sixth of its time.  The flows of run r
-- are the ids from r * 2^40 to (r + 1) * 2^40 - 1: a range of the table's
-- own key, which a query by run reads without an index.  A run writes at
-- most 2^40 - 1 flows, and a database holds at most 2^23 - 1 runs.
--
-- seq keeps its meaning (the order the run created its flows in, which
-- uid is made from); (run_id, seq) still names one flow.  The flows
-- written before this version are numbered here in the order of their
-- old ids, which was the order they were first written in.

CREATE TABLE flows_new (
    id                INTEGER PRIMARY KEY, -- run_id * 2^40 + row, see above
    run_id            INTEGER NOT NULL REFERENCES runs(id),
    seq               INTEGER NOT NULL,    -- creation order within the run
    uid               TEXT NOT NULL,       -- Zeek-style id, distinct by construction
    ip_version        INTEGER NOT NULL,
    proto             INTEGER NOT NULL,    -- IP protocol number
    orig_h            TEXT NOT NULL,
    orig_p            INTEGER NOT NULL,    -- ICMP: message type
    resp_h            TEXT NOT NULL,
    resp_p            INTEGER NOT NULL,    -- ICMP: reply type, or code
    first_seen        REAL NOT NULL,
    last_seen         REAL NOT NULL,
    orig_pkts         INTEGER NOT NULL,
    orig_ip_bytes     INTEGER NOT NULL,
    orig_bytes        INTEGER NOT NULL,    -- payload
    resp_pkts         INTEGER NOT NULL,
    resp_ip_bytes     INTEGER NOT NULL,
    resp_bytes        INTEGER NOT NULL,
    conn_state        TEXT NOT NULL,       -- Zeek's vocabulary
    history           TEXT NOT NULL,       -- Zeek's letters, '' when none
    syn_count         INTEGER NOT NULL DEFAULT 0,
    syn_to_synack     REAL,                -- handshake: SYN to SYN-ACK, seconds
    synack_to_ack     REAL,                -- handshake: SYN-ACK to ACK, seconds
    icmp_error_type   INTEGER,             -- ICMP error quoting this flow
    icmp_error_code   INTEGER,
    icmp_error_v6     INTEGER,
    icmp_error_from   TEXT,
    end_reason        TEXT NOT NULL,       -- active closed timeout evicted capture-end reused
    app_proto         TEXT,                -- tls http tds tns ssh smtp amqp dns
    server_name       TEXT,                -- TLS SNI or HTTP Host, lower case, no port
    tls_version       TEXT,                -- 'TLS 1.2' ... (003_names.sql)
    dns_name          TEXT                 -- from the capture's DNS answers (003_names.sql)
);

INSERT INTO flows_new
SELECT run_id * 1099511627776 + row_number() OVER (PARTITION BY run_id ORDER BY id),
       run_id, seq, uid, ip_version, proto, orig_h, orig_p, resp_h, resp_p, first_seen,
       last_seen, orig_pkts, orig_ip_bytes, orig_bytes, resp_pkts, resp_ip_bytes, resp_bytes,
       conn_state, history, syn_count, syn_to_synack, synack_to_ack, icmp_error_type,
       icmp_error_code, icmp_error_v6, icmp_error_from, end_reason, app_proto, server_name,
       tls_version, dns_name
FROM flows;

DROP TABLE flows;
ALTER TABLE flows_new RENAME TO flows;
