-- Oduflow default sanitisation: no real mail leaves or enters a test environment.
-- Tables that a module did not create are skipped, so this runs on any database.
DO $$
BEGIN
    -- Disable incoming mail servers (fetchmail)
    IF to_regclass('fetchmail_server') IS NOT NULL THEN
        UPDATE fetchmail_server SET active = false WHERE active = true;
    END IF;
    -- Disable outgoing mail servers
    IF to_regclass('ir_mail_server') IS NOT NULL THEN
        UPDATE ir_mail_server SET active = false WHERE active = true;
    END IF;
END $$;
