-- 003_names.sql: what a flow's first bytes said: the application protocol,
-- the server name the client asked for, and the TLS version it offered.
--
-- Only TCP flows are named, from the first bytes each side sent, never from
-- the ports.  A column is NULL when nothing was recognised, and in the rows
-- of a database written before this version.
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
