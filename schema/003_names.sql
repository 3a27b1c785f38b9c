-- 003_names.sql: what a flow's first bytes said: the application protocol,
-- the server name the client asked for, and the TLS version it offered;
-- and what the capture's DNS answers said of the flow's responder.
--
-- TCP flows are named from the first bytes each side sent, never from the
-- ports.  A UDP flow is named dns when a packet from its port 53 is a whole,
-- well-formed DNS message.  A column is NULL when nothing was recognised,
-- and in the rows of a database written before this version.
--
-- tls_version is text ('SSL 3.0', 'TLS 1.0', 'TLS 1.1', 'TLS 1.2',
-- 'TLS 1.3') rather than the wire value: as an integer, TLS 1.2 (0x0303)
-- would read 771, which means nothing without a table, while the names
-- read as they are, and also sort in version order, so
-- tls_version < 'TLS 1.2' selects the outdated ones.  It is the highest
-- version the ClientHello offered, not the one the server chose; NULL when
-- the flow is not TLS, the ClientHello was not read to its end, or the
-- version is none of those five.

ALTER TABLE flows ADD COLUMN app_proto   TEXT;   -- tls http tds tns ssh smtp amqp dns
ALTER TABLE flows ADD COLUMN server_name TEXT;   -- TLS SNI or HTTP Host, lower case, no port
ALTER TABLE flows ADD COLUMN tls_version TEXT;   -- see above

-- dns_name is what the capture's DNS answers said of the responder: the
-- name most recently seen resolving to resp_h at or before first_seen,
-- followed back through CNAMEs to the name the client asked for.  It is
-- independent of server_name (which the flow itself sent) and may differ
-- from it.  NULL when no answer seen before the flow gave that address.
ALTER TABLE flows ADD COLUMN dns_name TEXT;

-- The DNS answers a run saw: one row per name and address, with the first
-- and last answer that gave them.  An address reached through CNAMEs has
-- a row under the name the client asked for and one under the name that
-- owns its address record.  Written when the run ends; a run that did not end
-- cleanly has none.  At most 100,000 pairs a run are kept, those observed
-- least recently dropped first.
CREATE TABLE names (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    name        TEXT NOT NULL,           -- lower case, no trailing dot
    address     TEXT NOT NULL,           -- as flows.resp_h writes it
    first_seen  REAL NOT NULL,
    last_seen   REAL NOT NULL,
    PRIMARY KEY (run_id, name, address)
) WITHOUT ROWID;
