-- Schema of the PostgreSQL journal (Akka.Persistence.Sql 1.5 with provider PostgreSQL.15), of the phone directory
-- and of the media catalog.
-- The server creates these itself (auto-initialize = on in HOCON/persistence.postgres.conf); run this file instead
-- when the server's database user may not create tables. Taken with pg_dump -s from a database the server initialized.


CREATE TABLE public.journal (
    ordering bigint NOT NULL,
    created bigint NOT NULL,
    deleted boolean NOT NULL,
    persistence_id text NOT NULL,
    sequence_number bigint NOT NULL,
    message bytea NOT NULL,
    manifest text,
    identifier integer,
    writer_uuid text
);

ALTER TABLE public.journal ALTER COLUMN ordering ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.journal_ordering_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.snapshot (
    persistence_id text NOT NULL,
    sequence_number bigint NOT NULL,
    created bigint NOT NULL,
    snapshot bytea,
    manifest text,
    serializer_id integer
);

CREATE TABLE public.tags (
    ordering_id bigint NOT NULL,
    tag text NOT NULL,
    sequence_nr bigint NOT NULL,
    persistence_id text NOT NULL
);

CREATE TABLE public.wa_phone_directory (
    phone text NOT NULL,
    user_id text NOT NULL,
    updated_at timestamp without time zone NOT NULL
);

CREATE TABLE public.wa_media (
    media_id text NOT NULL,
    owner text NOT NULL,
    kind integer NOT NULL,
    size bigint NOT NULL,
    sha256 bytea NOT NULL,
    mime_type text NOT NULL,
    created_at bigint NOT NULL,
    upload_by bigint NOT NULL,
    completed boolean NOT NULL,
    retained_until bigint NOT NULL
);

ALTER TABLE ONLY public.journal
    ADD CONSTRAINT "PK_journal" PRIMARY KEY (ordering);

ALTER TABLE ONLY public.snapshot
    ADD CONSTRAINT "PK_snapshot" PRIMARY KEY (persistence_id, sequence_number);

ALTER TABLE ONLY public.tags
    ADD CONSTRAINT "PK_tags" PRIMARY KEY (ordering_id, tag);

ALTER TABLE ONLY public.wa_phone_directory
    ADD CONSTRAINT "PK_wa_phone_directory" PRIMARY KEY (phone);

ALTER TABLE ONLY public.journal
    ADD CONSTRAINT journal_uq UNIQUE (persistence_id, sequence_number);

CREATE INDEX journal_created_idx ON public.journal USING btree (created);

CREATE INDEX journal_sequence_number_idx ON public.journal USING btree (sequence_number);

CREATE INDEX snapshot_created_idx ON public.snapshot USING btree (created);

CREATE INDEX snapshot_sequence_number_idx ON public.snapshot USING btree (sequence_number);

CREATE INDEX tags_persistence_id_sequence_nr_idx ON public.tags USING btree (persistence_id, sequence_nr);

CREATE INDEX tags_tag_idx ON public.tags USING btree (tag);

ALTER TABLE ONLY public.wa_media
    ADD CONSTRAINT "PK_wa_media" PRIMARY KEY (media_id);

CREATE INDEX wa_media_owner ON public.wa_media USING btree (owner, created_at);

CREATE INDEX wa_media_retained ON public.wa_media USING btree (completed, retained_until);
