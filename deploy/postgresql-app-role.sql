-- The role the application connects as in production (R40): everything it needs, and on the
-- audit tables only SELECT and INSERT. The checkpoint signer (audit_checkpoint, run by its own
-- operating-system user) may connect as this role or as one created and granted the same way.
-- Migrations run as the database owner, never as this role.
-- Run as the owner after every `manage.py migrate` (new tables need their grants):
--   psql -v ON_ERROR_STOP=1 -d casework -f deploy/postgresql-app-role.sql
-- Create the role once beforehand: CREATE ROLE casework_app LOGIN; \password casework_app
-- tests/test_audit_log.py runs this file against a scratch role and proves the refusals.
GRANT USAGE ON SCHEMA public TO casework_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO casework_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO casework_app;
-- Append-only for the application; the triggers refuse UPDATE and DELETE even to the owner.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditevent, audit_checkpoint FROM casework_app;
-- The verification results auditors see, and the chain head (advanced by a trigger that runs
-- as the owner): the application only appends and reads them.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_verification, audit_chainhead FROM casework_app;
