-- Accounts, login sessions with their refresh tokens, login throttling, ECG owners and
-- the audit log. Nothing here is seeded: there is no default account or password;
-- `ecg create-admin` makes the first admin.

CREATE TABLE users (
    id                  uuid PRIMARY KEY,
    email               text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    role                text NOT NULL CHECK (role IN ('admin', 'user')),
    password_hash       text NOT NULL,  -- Argon2id, PHC string format
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now()
);
-- One account per address whatever its letter case; also the index of the login lookup.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- A session is one login: the family of refresh tokens that descends from it. Ending
-- it (logout, password change, reuse of a rotated token) ends all of them, and the
-- access tokens that carry its id.
CREATE TABLE sessions (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,  -- absolute: no refresh goes past it
    revoked_at     timestamptz,
    revoked_reason text CHECK (revoked_reason IN
                        ('logout', 'password_change', 'refresh_reuse', 'admin_reset'))
);
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens by their jti; only the SHA-256 of the token is stored. A token is
-- used once: rotation sets rotated_at, and presenting it again revokes the session.
CREATE TABLE refresh_tokens (
    jti        uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- Failed logins per scope ('pair': account and address, 'address', 'account'); see
-- gateway/throttle.py for the policy. Keys hold no secret: a user id or a lower-cased
-- claimed email, and a client address.
CREATE TABLE login_throttle (
    scope           text NOT NULL CHECK (scope IN ('pair', 'address', 'account')),
    key             text NOT NULL,
    failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at timestamptz,
    blocked_until   timestamptz,
    known_until     timestamptz,  -- pair only: a recent successful login from there
    PRIMARY KEY (scope, key)
);

-- Rows from before accounts keep a NULL owner: nobody can read them.
ALTER TABLE ecgs ADD COLUMN owner_id uuid REFERENCES users (id);
CREATE INDEX ecgs_by_owner ON ecgs (owner_id);

-- Who did what to which object, when, from where, and how it ended. Never passwords,
-- tokens or samples. Append-only: the trigger below refuses UPDATE, DELETE and
-- TRUNCATE, for every role that does not disable triggers.
CREATE TABLE audit_log (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    actor_id       uuid,
    actor_email    text,
    action         text NOT NULL,
    object_id      text,
    outcome        text NOT NULL,
    client_address inet,
    detail         jsonb CHECK (detail IS NULL OR pg_column_size(detail) <= 2048)
);
CREATE INDEX audit_log_by_actor ON audit_log (actor_id, at);
CREATE INDEX audit_log_by_object ON audit_log (object_id, at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
