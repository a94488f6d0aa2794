#!/bin/sh
# Run by the temporal-schema service (admin-tools image) before the Temporal
# server starts: creates Temporal's two PostgreSQL databases and brings their
# schemas up to the version embedded in this temporal-sql-tool, so the pinned
# admin-tools and server images must share a version. Idempotent: an existing
# database is kept, an up-to-date schema is left alone. temporal-sql-tool
# reads the connection from SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER and
# SQL_PASSWORD.
set -eu

schema() { # database, embedded schema
	echo "temporal-schema: $1"
	temporal-sql-tool --db "$1" create
	temporal-sql-tool --db "$1" setup-schema -v 0.0
	temporal-sql-tool --db "$1" update-schema --schema-name "$2"
}

schema temporal postgresql/v12/temporal
schema temporal_visibility postgresql/v12/visibility
echo "temporal-schema: done"
