-- Run as rel_attacker (CREATE on schema public, nothing on inventory):
-- objects in public named like the functions and operators the extension
-- and the fetcher use, with argument types that would win overload
-- resolution wherever public is on the search_path. Each records its call
-- in public.hijack_calls and answers something wrong.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE TABLE public.hijack_calls (fn text, at timestamptz DEFAULT clock_timestamp());
GRANT INSERT, SELECT ON public.hijack_calls TO PUBLIC;

CREATE FUNCTION public.hijacked(fn text) RETURNS void LANGUAGE sql AS
  $$ INSERT INTO public.hijack_calls (fn) VALUES (fn) $$;

-- What the fetcher sends (before it empties its search_path, it resolved
-- to_jsonb(inventory.inventory_sync_runs) here).
CREATE FUNCTION public.to_jsonb(r inventory.inventory_sync_runs) RETURNS jsonb LANGUAGE sql AS
  $$ SELECT public.hijacked('to_jsonb(run)'); SELECT '{"items_created": -1}'::jsonb $$;
-- What the extension calls.
CREATE FUNCTION public.canonical_json(jsonb) RETURNS text LANGUAGE sql AS
  $$ SELECT public.hijacked('canonical_json'); SELECT '{}'::text $$;
CREATE FUNCTION public.selection_hash(jsonb) RETURNS text LANGUAGE sql AS
  $$ SELECT public.hijacked('selection_hash'); SELECT repeat('0', 64) $$;
CREATE FUNCTION public.sync_lock_key(uuid, text) RETURNS bigint LANGUAGE sql AS
  $$ SELECT public.hijacked('sync_lock_key'); SELECT 42::bigint $$;
CREATE FUNCTION public.filter_meta(jsonb, jsonb) RETURNS jsonb LANGUAGE sql AS
  $$ SELECT public.hijacked('filter_meta'); SELECT $1 $$;
CREATE FUNCTION public.filter_meta_counted(jsonb, jsonb, OUT meta jsonb, OUT dropped integer) LANGUAGE sql AS
  $$ SELECT public.hijacked('filter_meta_counted'); SELECT $1, 0 $$;
CREATE FUNCTION public.redact_secrets(text) RETURNS text LANGUAGE sql AS
  $$ SELECT public.hijacked('redact_secrets'); SELECT $1 $$;
CREATE FUNCTION public._owned_run(bigint) RETURNS inventory.inventory_sync_runs LANGUAGE sql AS
  $$ SELECT public.hijacked('_owned_run'); SELECT r FROM inventory.inventory_sync_runs r LIMIT 0 $$;
CREATE FUNCTION public._holds_sync_lock(bigint) RETURNS boolean LANGUAGE sql AS
  $$ SELECT public.hijacked('_holds_sync_lock'); SELECT true $$;
CREATE FUNCTION public._may_access_tenant(name, uuid) RETURNS boolean LANGUAGE sql AS
  $$ SELECT public.hijacked('_may_access_tenant'); SELECT true $$;
CREATE FUNCTION public.visible_tenants() RETURNS uuid[] LANGUAGE sql AS
  $$ SELECT public.hijacked('visible_tenants'); SELECT ARRAY[]::uuid[] $$;
CREATE FUNCTION public._is_member_of(name) RETURNS boolean LANGUAGE sql AS
  $$ SELECT public.hijacked('_is_member_of'); SELECT true $$;
-- Built-ins the functions use, with more specific argument types.
CREATE FUNCTION public.pg_try_advisory_lock(bigint) RETURNS boolean LANGUAGE sql AS
  $$ SELECT public.hijacked('pg_try_advisory_lock'); SELECT true $$;
CREATE FUNCTION public.pg_advisory_unlock(bigint) RETURNS boolean LANGUAGE sql AS
  $$ SELECT public.hijacked('pg_advisory_unlock'); SELECT true $$;
CREATE FUNCTION public.set_config(text, text, boolean) RETURNS text LANGUAGE sql AS
  $$ SELECT public.hijacked('set_config'); SELECT $2 $$;
CREATE FUNCTION public.current_setting(text, boolean) RETURNS text LANGUAGE sql AS
  $$ SELECT public.hijacked('current_setting'); SELECT '1'::text $$;
CREATE FUNCTION public.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS
  $$ SELECT public.hijacked('jsonb_typeof'); SELECT 'object'::text $$;
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql AS
  $$ SELECT public.hijacked('lower'); SELECT $1 $$;
CREATE FUNCTION public.length(text) RETURNS integer LANGUAGE sql AS
  $$ SELECT public.hijacked('length'); SELECT 64 $$;
CREATE FUNCTION public.clock_timestamp() RETURNS timestamptz LANGUAGE sql AS
  $$ SELECT public.hijacked('clock_timestamp'); SELECT '2000-01-01'::timestamptz $$;
CREATE FUNCTION public.pg_backend_pid() RETURNS integer LANGUAGE sql AS
  $$ SELECT public.hijacked('pg_backend_pid'); SELECT 1 $$;
-- Operators with the exact argument types of the comparisons in the
-- extension and the fetcher.
CREATE FUNCTION public.hijack_eq_uuid(uuid, uuid) RETURNS boolean LANGUAGE sql AS
  $$ SELECT public.hijacked('=(uuid,uuid)'); SELECT true $$;
CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.hijack_eq_uuid);
CREATE FUNCTION public.hijack_eq_text(text, text) RETURNS boolean LANGUAGE sql AS
  $$ SELECT public.hijacked('=(text,text)'); SELECT true $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hijack_eq_text);
CREATE FUNCTION public.hijack_eq_bigint(bigint, bigint) RETURNS boolean LANGUAGE sql AS
  $$ SELECT public.hijacked('=(bigint,bigint)'); SELECT true $$;
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.hijack_eq_bigint);
CREATE FUNCTION public.hijack_ne_text(text, text) RETURNS boolean LANGUAGE sql AS
  $$ SELECT public.hijacked('<>(text,text)'); SELECT false $$;
CREATE OPERATOR public.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hijack_ne_text);
CREATE FUNCTION public.hijack_match(text, text) RETURNS boolean LANGUAGE sql AS
  $$ SELECT public.hijacked('~(text,text)'); SELECT false $$;
CREATE OPERATOR public.~ (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hijack_match);
-- Tables named like the extension's, for sessions whose search_path puts
-- public first.
CREATE TABLE public.policy_types AS SELECT * FROM inventory.policy_types WITH NO DATA;
CREATE TABLE public.meta_keys (key text, kind text, builtin boolean);
CREATE TABLE public.staged_items (policy_type text, external_id text, display_name text, meta_jsonb jsonb, content_hash text);
GRANT ALL ON public.policy_types, public.meta_keys, public.staged_items TO PUBLIC;
