-- The audit and purge logs are append-only: no UPDATE, DELETE or TRUNCATE
-- through SQL. (Someone with the power to drop this trigger can still edit a
-- row; the hash chain is what shows it, `npm run audit:verify`.)
CREATE FUNCTION refuse_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change();
--> statement-breakpoint
CREATE TRIGGER purge_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON purge_log
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change();
