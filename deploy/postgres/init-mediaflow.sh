#!/bin/sh
# Creates mediaflow's own role and database beside Temporal's, so the worker
# never holds the superuser's password. The postgres image runs the files in
# /docker-entrypoint-initdb.d once, when its data volume is first created:
# to change the password later, ALTER ROLE mediaflow PASSWORD '…' (and .env).
# No `set` here: the entrypoint may source this file instead of running it.
: "${MEDIAFLOW_DB_PASSWORD:?MEDIAFLOW_DB_PASSWORD is not set (see .env.example)}"
# \getenv keeps the password out of psql's command line; :'pw' quotes it.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
\getenv pw MEDIAFLOW_DB_PASSWORD
CREATE ROLE mediaflow LOGIN PASSWORD :'pw';
CREATE DATABASE mediaflow OWNER mediaflow;
SQL
