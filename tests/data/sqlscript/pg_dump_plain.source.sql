CREATE TABLE public."we;ird ""name""" (id serial PRIMARY KEY, "col--x" text DEFAULT 'it''s -- not a comment', note text DEFAULT E'tab\there\\ and \' quote');
COMMENT ON TABLE public."we;ird ""name""" IS 'a /* not a comment */ ; and a backslash \ at the end\';
INSERT INTO public."we;ird ""name""" ("col--x", note) VALUES
  (E'back\\slash', E'line1\nline2'),
  ('\. not an end marker', E'\\.'),
  ('$$ dollars $$', 'semi;colon'),
  (NULL, E'\\! not a meta-command'),
  ('unicode é € 日本', 'tab	inside');
CREATE FUNCTION public.plpgsql_f(a integer) RETURNS text LANGUAGE plpgsql AS $body$
DECLARE s text := 'x;y';
BEGIN
  -- a comment; with a semicolon
  s := s || $$;inner$$ || E'\\';
  RETURN s || a::text;
END;
$body$;
CREATE FUNCTION public.atomic_f(a integer) RETURNS integer LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN a > 0 THEN a ELSE 0 END;
END;
CREATE PROCEDURE public.atomic_p() LANGUAGE sql
BEGIN ATOMIC
  SELECT 1;
  SELECT 2;
END;
CREATE VIEW public.v AS SELECT 'semi;colon'::text AS a, U&'d\0061t\+000061' AS b, B'0101' AS c, X'1F' AS d;
CREATE TABLE public.ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL, state varchar);
INSERT INTO public.ir_module_module (name, state) VALUES ('base', 'installed');
SELECT lo_from_bytea(0, convert_to('large object data', 'UTF8'));
