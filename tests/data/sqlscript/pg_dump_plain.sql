--
-- PostgreSQL database dump
--

\restrict SQSfdoyOoqOTgCSBkfVOChQhUwgkecNAeIV5tsHNyDGb7ry0EiooKgnEsH9O56R

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: public; Type: SCHEMA; Schema: -; Owner: -
--

-- *not* creating schema, since initdb creates it


--
-- Name: SCHEMA public; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA public IS '';


--
-- Name: atomic_f(integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.atomic_f(a integer) RETURNS integer
    LANGUAGE sql
    BEGIN ATOMIC
 SELECT
         CASE
             WHEN (a > 0) THEN a
             ELSE 0
         END AS "case";
END;


--
-- Name: atomic_p(); Type: PROCEDURE; Schema: public; Owner: -
--

CREATE PROCEDURE public.atomic_p()
    LANGUAGE sql
    BEGIN ATOMIC
 SELECT 1;
 SELECT 2;
END;


--
-- Name: plpgsql_f(integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.plpgsql_f(a integer) RETURNS text
    LANGUAGE plpgsql
    AS $_$
DECLARE s text := 'x;y';
BEGIN
  -- a comment; with a semicolon
  s := s || $$;inner$$ || E'\\';
  RETURN s || a::text;
END;
$_$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: ir_module_module; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ir_module_module (
    id integer NOT NULL,
    name character varying NOT NULL,
    state character varying
);


--
-- Name: ir_module_module_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.ir_module_module_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: ir_module_module_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.ir_module_module_id_seq OWNED BY public.ir_module_module.id;


--
-- Name: v; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.v AS
 SELECT 'semi;colon'::text AS a,
    'data'::text AS b,
    '0101'::"bit" AS c,
    '00011111'::"bit" AS d;


--
-- Name: we;ird "name"; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public."we;ird ""name""" (
    id integer NOT NULL,
    "col--x" text DEFAULT 'it''s -- not a comment'::text,
    note text DEFAULT 'tab	here\ and '' quote'::text
);


--
-- Name: TABLE "we;ird ""name"""; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public."we;ird ""name""" IS 'a /* not a comment */ ; and a backslash \ at the end\';


--
-- Name: we;ird "name"_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public."we;ird ""name""_id_seq"
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: we;ird "name"_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public."we;ird ""name""_id_seq" OWNED BY public."we;ird ""name""".id;


--
-- Name: ir_module_module id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ir_module_module ALTER COLUMN id SET DEFAULT nextval('public.ir_module_module_id_seq'::regclass);


--
-- Name: we;ird "name" id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public."we;ird ""name""" ALTER COLUMN id SET DEFAULT nextval('public."we;ird ""name""_id_seq"'::regclass);


--
-- Name: 16440; Type: BLOB; Schema: -; Owner: -
--

SELECT pg_catalog.lo_create('16440');


--
-- Data for Name: ir_module_module; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.ir_module_module (id, name, state) FROM stdin;
1	base	installed
\.


--
-- Data for Name: we;ird "name"; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public."we;ird ""name""" (id, "col--x", note) FROM stdin;
1	back\\slash	line1\nline2
2	\\. not an end marker	\\.
3	$$ dollars $$	semi;colon
4	\N	\\! not a meta-command
5	unicode é € 日本	tab\tinside
\.


--
-- Name: ir_module_module_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.ir_module_module_id_seq', 1, true);


--
-- Name: we;ird "name"_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public."we;ird ""name""_id_seq"', 5, true);


--
-- Data for Name: BLOBS; Type: BLOBS; Schema: -; Owner: -
--

BEGIN;

SELECT pg_catalog.lo_open('16440', 131072);
SELECT pg_catalog.lowrite(0, '\x6c61726765206f626a6563742064617461');
SELECT pg_catalog.lo_close(0);

COMMIT;

--
-- Name: ir_module_module ir_module_module_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ir_module_module
    ADD CONSTRAINT ir_module_module_pkey PRIMARY KEY (id);


--
-- Name: we;ird "name" we;ird "name"_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public."we;ird ""name"""
    ADD CONSTRAINT "we;ird ""name""_pkey" PRIMARY KEY (id);


--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: -
--

REVOKE USAGE ON SCHEMA public FROM PUBLIC;


--
-- PostgreSQL database dump complete
--

\unrestrict SQSfdoyOoqOTgCSBkfVOChQhUwgkecNAeIV5tsHNyDGb7ry0EiooKgnEsH9O56R

