-- Accounts that an administrator disabled: no login, and every token of theirs (access,
-- refresh, ingest) refused from then on; enabling them again restores login. Disabling
-- ends the account's sessions with the reason 'disabled'.

ALTER TABLE users ADD COLUMN disabled_at timestamptz;

ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check CHECK (revoked_reason IN
    ('logout', 'password_change', 'refresh_reuse', 'admin_reset', 'disabled'));

-- The administrators' list of accounts pages in creation order.
CREATE INDEX users_by_creation ON users (created_at, id);
