// Command jobs prints the rows of mediaflow's local SQLite database (one
// per Animus job), for a machine without the sqlite3 shell: what
// `sqlite3 data/mediaflow.db 'select … from jobs'` would show. It opens
// the file read-only, so it may run beside the worker.
//
//	go run ./tools/jobs [--db data/mediaflow.db] [--limit 20] [JOB_ID…]
//
// The database is --db, else DATABASE_URL when it names a SQLite file,
// else data/mediaflow.db (the worker's default). Rows are newest first.
// Exit status: 0 (also for --help), 1 when the database cannot be read,
// 2 for bad flags.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	_ "modernc.org/sqlite" // the "sqlite" driver, as the worker uses

	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/store"
	"github.com/mediaflow/mediaflow/tools/internal/cli"
)

func main() {
	os.Exit(cli.ExitCode("jobs", run(context.Background(), os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

func run(ctx context.Context, args []string, out, stderr io.Writer) error {
	flags := flag.NewFlagSet("jobs", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dbPath := flags.String("db", "", "SQLite file (default: DATABASE_URL's, else "+store.SQLitePath(config.DefaultDatabaseURL)+")")
	limit := flags.Int("limit", 20, "at most this many rows, newest first")
	if err := cli.Parse(flags, args); err != nil {
		return err
	}
	path := *dbPath
	if path == "" {
		url, err := config.DatabaseURL(os.Getenv("DATABASE_URL"))
		if err != nil {
			return err
		}
		if store.IsPostgres(url) {
			return errors.New("DATABASE_URL names PostgreSQL: read it with psql (select job_id, status, event_id, media_path from jobs)")
		}
		path = store.SQLitePath(url)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no database at %s yet: the worker creates it when it starts (make dev)", path)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()

	q := `SELECT job_id, status, event_id, COALESCE(media_path, '-'), COALESCE(CAST(media_size AS TEXT), '-'), updated_at FROM jobs`
	var qargs []any
	if ids := flags.Args(); len(ids) > 0 {
		q += ` WHERE job_id IN (?` + strings.Repeat(`, ?`, len(ids)-1) + `)`
		for _, id := range ids {
			qargs = append(qargs, id)
		}
	}
	q += ` ORDER BY updated_at DESC, job_id LIMIT ?`
	qargs = append(qargs, *limit)
	rows, err := db.QueryContext(ctx, q, qargs...)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer rows.Close()
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "JOB_ID\tSTATUS\tEVENT_ID\tMEDIA_PATH\tMEDIA_BYTES\tUPDATED_AT (UTC)")
	n := 0
	for rows.Next() {
		var jobID, status, eventID, mediaPath, size, updated string
		if err := rows.Scan(&jobID, &status, &eventID, &mediaPath, &size, &updated); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", jobID, status, eventID, mediaPath, size, updated)
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	w.Flush()
	fmt.Fprintf(out, "%d row(s) from %s\n", n, path)
	return nil
}
