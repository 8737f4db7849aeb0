-- Issue 14: where an account signs in. 'local': its own password (argon2id
-- hash in password_hash). 'ldap': the directory ([auth.ldap]); password_hash
-- is empty and never matches.
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
