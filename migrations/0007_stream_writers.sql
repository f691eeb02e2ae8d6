-- A stream's WebSocket writer (gateway/devices/leases.py). A WebSocket connection takes
-- the stream over at its handshake (writer = writer + 1, its fencing token) and keeps
-- next_seq and next_sample in memory, writing them here in batches, before lease_until
-- runs out and at its close; a position written under an older writer number is
-- refused. HTTP chunks and ends move writer on too, so a WebSocket that missed them
-- reads the position again. While lease_until lies ahead a WebSocket may hold
-- acknowledged chunks that are not counted here yet: HTTP requests of other gateway
-- processes wait (503) and the idle timeout (streams/idle.py) leaves the stream alone.

ALTER TABLE ecg_streams
    ADD COLUMN writer bigint NOT NULL DEFAULT 0,
    ADD COLUMN lease_until timestamptz;
