package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// maxIdleConns is how many idle connections the pool keeps (database/sql's
// default, set here so resetIdle can restore it).
const maxIdleConns = 2

// withConn runs f on one connection of the pool. It is the way every
// statement of the store reaches the database, so every store method
// recovers the same way: when f (or getting the connection) fails with an
// error that a fresh connection would not have (see freshConnFixes), the
// connection is discarded instead of going back to the pool, and so are
// the idle ones, which reached the same server or file the same way. The
// next call (Temporal's retry of the activity) connects afresh: a database
// that was read-only, unreachable or failed over is used again once it is
// back, without a restart. f's error is returned as it is. f must not
// call other Store methods: SQLite has one connection, which f holds.
func (s *Store) withConn(ctx context.Context, f func(*sql.Conn) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		if freshConnFixes(err) {
			s.resetIdle()
		}
		return err
	}
	err = f(conn)
	discard := err != nil && freshConnFixes(err)
	// Raw's callback returning driver.ErrBadConn makes database/sql close
	// the connection rather than pool it (and closes conn).
	_ = conn.Raw(func(dc any) error {
		if discard || readOnly(dc) {
			return driver.ErrBadConn
		}
		return nil
	})
	if discard {
		s.resetIdle()
	}
	conn.Close()
	return err
}

// readOnly reports whether dc is a connection that cannot write, though
// it may read: a SQLite connection that opened its file read-only (SQLite
// does that silently when the file is not writable, and the connection
// stays so after the file becomes writable again), or a PostgreSQL session
// on a hot standby or whose transactions default to read-only (fixed when
// the session starts; PostgreSQL 14 and later report both). A read on it
// succeeds, so only this check keeps it from going back to the pool and
// failing the next write.
func readOnly(dc any) bool {
	switch c := dc.(type) {
	case *stdlib.Conn:
		status := c.Conn().PgConn().ParameterStatus
		return status("in_hot_standby") == "on" || status("default_transaction_read_only") == "on"
	case interface {
		IsReadOnly(dbName string) (bool, error) // modernc.org/sqlite's conn
	}:
		ro, err := c.IsReadOnly("main")
		return ro || err != nil
	}
	return false
}

// resetIdle closes the pool's idle connections: database/sql closes those
// over the limit when it is lowered.
func (s *Store) resetIdle() {
	s.db.SetMaxIdleConns(0)
	s.db.SetMaxIdleConns(maxIdleConns)
}

// freshConnFixes reports whether err says the connection, rather than the
// statement, is at fault: the database is read-only or was unreachable for
// it, its server went away, or it reaches a server that can no longer
// write. It goes by the drivers' codes, never by message text.
//
// SQLite (modernc.org/sqlite result codes, extended ones by their primary
// code): SQLITE_READONLY (a connection opened while the file was not
// writable stays read-only for its life), SQLITE_IOERR (the file, its WAL
// or its shared memory failed under it) and SQLITE_CANTOPEN (the file or
// its directory could not be opened).
//
// PostgreSQL (SQLSTATE of a *pgconn.PgError): class 08 connection
// exceptions, 25006 read_only_sql_transaction (the session reaches a
// standby, e.g. after a failover, or a server set read-only), 57P01
// admin_shutdown, 57P02 crash_shutdown and 57P03 cannot_connect_now (the
// server stops, crashed or is starting). Errors below SQL: a network error
// or an unexpected EOF on the connection, and driver.ErrBadConn.
//
// Everything else (constraint violations, syntax, serialization
// failures, a cancelled context) is the statement's: the connection is
// kept.
func freshConnFixes(err error) bool {
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() & 0xff {
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return true
		}
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case pgerrcode.ReadOnlySQLTransaction, pgerrcode.AdminShutdown, pgerrcode.CrashShutdown, pgerrcode.CannotConnectNow:
			return true
		}
		return pgerrcode.IsConnectionException(pgErr.Code)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn)
}
