package diagnose

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"
)

func dbChecks() []Check {
	return []Check{
		{Name: "database file", Run: checkDBFile},
		{Name: "database open", Run: checkDBOpen},
		{Name: "database holders", Run: checkDBHolders},
		{Name: "postgres", Run: checkPostgres},
	}
}

func sqlitePath(e *Env) string {
	if e.Target.Database.Driver != "" && e.Target.Database.Driver != "sqlite" {
		return ""
	}
	return e.Target.Database.Path
}

// access is what a user may do with a file by its mode bits (as the
// kernel decides for anyone but root).
type access struct{ read, write bool }

func accessOf(st fs.FileInfo, u *user.User) (access, error) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return access{}, errors.New("no owner information")
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return access{}, err
	}
	if uid == 0 {
		return access{true, true}, nil
	}
	mode := st.Mode().Perm()
	var bits fs.FileMode
	switch {
	case uint32(uid) == sys.Uid:
		bits = (mode >> 6) & 7
	case inGroup(u, sys.Gid):
		bits = (mode >> 3) & 7
	default:
		bits = mode & 7
	}
	return access{read: bits&4 != 0, write: bits&2 != 0}, nil
}

func inGroup(u *user.User, gid uint32) bool {
	g := strconv.FormatUint(uint64(gid), 10)
	if u.Gid == g {
		return true
	}
	ids, _ := u.GroupIds()
	for _, id := range ids {
		if id == g {
			return true
		}
	}
	return false
}

func ownerOf(st fs.FileInfo) string {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "?"
	}
	name := strconv.FormatUint(uint64(sys.Uid), 10)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	grp := strconv.FormatUint(uint64(sys.Gid), 10)
	if g, err := user.LookupGroupId(grp); err == nil {
		grp = g.Name
	}
	return name + ":" + grp
}

func checkDBFile(ctx context.Context, e *Env) ([]Finding, error) {
	path := sqlitePath(e)
	if path == "" {
		return nil, nil
	}
	restore := verb("backup", "list") + " then " + verb("backup", "restore", "<id>")
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []Finding{{Title: "the database file is missing: " + path, Score: 96, Evidence: []string{path}, Next: restore}}, nil
	}
	if err != nil {
		return []Finding{{Title: "the database file cannot be examined: " + err.Error(), Score: 90, Evidence: []string{path}}}, nil
	}
	ev := []string{path, fmt.Sprintf("mode %04o, owner %s, %s", st.Mode().Perm(), ownerOf(st), bytesIEC(uint64(st.Size())))}
	var out []Finding
	if name := e.Target.Service.User; name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("service user: %w", err)
		}
		a, err := accessOf(st, u)
		if err != nil {
			return nil, err
		}
		var lacks []string
		if !a.read {
			lacks = append(lacks, "read")
		}
		if !a.write {
			lacks = append(lacks, "write")
		}
		// SQLite in WAL mode creates its -wal and -shm files beside the database.
		folder := ""
		if dst, err := os.Stat(filepath.Dir(path)); err == nil {
			if da, err := accessOf(dst, u); err == nil && !da.write {
				folder = fmt.Sprintf("%s (mode %04o, owner %s)", filepath.Dir(path), dst.Mode().Perm(), ownerOf(dst))
				ev = append(ev, "folder "+folder)
			}
		}
		next := fmt.Sprintf("by hand: chown %s %s; chmod 644 %s (opsbot changes no modes)", name, path, path)
		switch {
		case len(lacks) > 0:
			title := fmt.Sprintf("the service user %s cannot %s the database (mode %04o, owner %s)", name, strings.Join(lacks, " or "), st.Mode().Perm(), ownerOf(st))
			if folder != "" {
				title += ", nor create its -wal and -shm files in " + filepath.Dir(path)
			}
			return []Finding{{Title: title, Score: 96, Evidence: ev, Next: next}}, nil
		case folder != "":
			return []Finding{{Title: fmt.Sprintf("the service user %s cannot create the database's -wal and -shm files in %s", name, folder), Score: 80, Evidence: ev,
				Next: fmt.Sprintf("by hand: chown %s %s (opsbot changes no modes)", name, filepath.Dir(path))}}, nil
		}
		ev = append(ev, "service user "+name+" may read and write it")
	}
	out = append(out, Finding{Title: fmt.Sprintf("the database file is present (%s)", bytesIEC(uint64(st.Size()))), Score: 2, Evidence: ev})
	if wst, err := os.Stat(path + "-wal"); err == nil && wst.Size() > 0 {
		ratio := float64(wst.Size()) / float64(max(st.Size(), 1))
		// A small WAL is normal whatever the ratio (SQLite checkpoints at 4 MiB).
		sc := min(scale(ratio, 0.5, 4, 2, 40), scale(float64(wst.Size()), 16<<20, 256<<20, 2, 40))
		f := Finding{Title: fmt.Sprintf("WAL file is %s (%.1f× the database)", bytesIEC(uint64(wst.Size())), ratio), Score: sc,
			Evidence: []string{path + "-wal"}}
		if f.Score >= ScoreNotable {
			f.Title += ": checkpoints are not keeping up (a long reader holds them back)"
		}
		out = append(out, f)
	}
	return out, nil
}

func checkDBOpen(ctx context.Context, e *Env) ([]Finding, error) {
	path := sqlitePath(e)
	if path == "" {
		return nil, nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, nil // the file check says it
	}
	// Read-only, and never created: a diagnosis writes nothing. With no
	// -wal file nobody has the database open for writing; opened as
	// immutable, SQLite then creates no -wal and -shm files of its own.
	q := "mode=ro&_pragma=busy_timeout(2000)"
	if _, err := os.Stat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
		q += "&immutable=1"
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	restore := verb("backup", "list") + " then " + verb("backup", "restore", "<id>")
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		f := Finding{Title: "the database cannot be opened: " + sqliteErr(err), Score: 94, Evidence: []string{path}, Next: restore}
		if isPerm(err) {
			f.Next = "fix the file's owner and mode (see the file check), then " + verb("restart", e.Target.Name)
		}
		return []Finding{f}, nil
	}
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return []Finding{{Title: "quick_check failed: " + sqliteErr(err), Score: 93, Evidence: []string{path}, Next: restore}}, nil
	}
	if check != "ok" {
		return []Finding{{Title: "the database is damaged (quick_check)", Score: 93, Evidence: []string{path, clip(check, 200)}, Next: restore}}, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		tables = append(tables, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ev := []string{"journal_mode " + mode, "quick_check ok", fmt.Sprintf("%d table(s): %s", len(tables), clip(strings.Join(tables, " "), 150))}
	if len(tables) == 0 {
		return []Finding{{Title: "the database opens but has no tables", Score: 85, Evidence: ev, Next: restore}}, nil
	}
	return []Finding{{Title: fmt.Sprintf("the database opens, passes quick_check and has %d table(s)", len(tables)), Score: 2, Evidence: ev}}, nil
}

func isPerm(err error) bool {
	s := strings.ToLower(err.Error())
	return errors.Is(err, fs.ErrPermission) || strings.Contains(s, "permission denied") || strings.Contains(s, "unable to open") || strings.Contains(s, "readonly")
}

func sqliteErr(err error) string {
	s := err.Error()
	if isPerm(err) && !strings.Contains(s, "permission") {
		s += " (permission denied?)"
	}
	return clip(s, 200)
}

// holders lists processes that have any of paths open, from /proc.
func holders(ctx context.Context, paths ...string) (map[int32][]string, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil {
			want[abs] = true
		}
	}
	out := map[int32][]string{}
	for _, d := range ents {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		fdDir := filepath.Join("/proc", d.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue // another user's process, or gone
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err == nil && want[target] {
				out[int32(pid)] = append(out[int32(pid)], filepath.Base(target))
			}
		}
	}
	return out, nil
}

func checkDBHolders(ctx context.Context, e *Env) ([]Finding, error) {
	path := sqlitePath(e)
	if path == "" {
		return nil, nil
	}
	hs, err := holders(ctx, path, path+"-wal")
	if err != nil {
		return nil, err
	}
	self := int32(os.Getpid())
	delete(hs, self)
	if len(hs) == 0 {
		return []Finding{{Title: "no process has the database open", Score: 10, Evidence: []string{"from /proc/*/fd"}}}, nil
	}
	var svc []int32
	if e.Target.Service.PIDFile != "" || e.Target.Service.Process != "" {
		svc = locate(ctx, e.Target).pids
	}
	var ev, others []string
	for pid, files := range hs {
		s := fmt.Sprintf("pid %d (%s): %s", pid, procName(ctx, pid), strings.Join(files, ", "))
		ev = append(ev, s)
		if len(svc) > 0 && !containsPID(svc, pid) && !childOf(ctx, pid, svc) {
			others = append(others, s)
		}
	}
	if len(others) > 0 {
		return []Finding{{Title: fmt.Sprintf("%d process(es) besides the service hold the database open (a long transaction blocks writers and checkpoints)", len(others)),
			Score: 40, Evidence: others}}, nil
	}
	return []Finding{{Title: fmt.Sprintf("%d process(es) hold the database open", len(hs)), Score: 2, Evidence: ev}}, nil
}

func containsPID(ps []int32, p int32) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

func checkPostgres(ctx context.Context, e *Env) ([]Finding, error) {
	if e.Target.Database.Driver != "postgres" || e.Target.Database.DSN == "" {
		return nil, nil
	}
	db, err := sql.Open("pgx", e.Target.Database.DSN.Reveal())
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The error may quote the DSN's host, never its password (pgx omits it).
		return []Finding{{Title: "PostgreSQL cannot be reached: " + clip(err.Error(), 200), Score: 95, Next: verb("restart", e.Target.Name)}}, nil
	}
	var used, maxConn int
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM pg_stat_activity), current_setting('max_connections')::int`).Scan(&used, &maxConn); err != nil {
		return nil, fmt.Errorf("postgres connections: %w", err)
	}
	var waiting int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE NOT granted`).Scan(&waiting); err != nil {
		return nil, fmt.Errorf("postgres locks: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT pid, COALESCE(EXTRACT(EPOCH FROM now() - query_start), 0), left(regexp_replace(query, '\s+', ' ', 'g'), 120)
		FROM pg_stat_activity WHERE state <> 'idle' AND pid <> pg_backend_pid() ORDER BY query_start NULLS LAST LIMIT 3`)
	if err != nil {
		return nil, fmt.Errorf("postgres queries: %w", err)
	}
	defer rows.Close()
	var long []string
	var longest float64
	for rows.Next() {
		var pid int
		var secs float64
		var q string
		if err := rows.Scan(&pid, &secs, &q); err != nil {
			return nil, err
		}
		longest = max(longest, secs)
		long = append(long, fmt.Sprintf("pid %d, %s: %s", pid, (time.Duration(secs)*time.Second).String(), q))
	}
	ratio := float64(used) / float64(max(maxConn, 1)) * 100
	out := []Finding{{Title: fmt.Sprintf("PostgreSQL reachable, %d of %d connections", used, maxConn), Score: scale(ratio, 70, 95, 2, 80),
		Evidence: []string{pct(ratio) + " of max_connections"}}}
	if waiting > 0 {
		out = append(out, Finding{Title: fmt.Sprintf("%d lock request(s) waiting", waiting), Score: scale(float64(waiting), 0, 20, 30, 75), Evidence: long})
	}
	if len(long) > 0 {
		out = append(out, Finding{Title: fmt.Sprintf("longest running query: %s", (time.Duration(longest) * time.Second).String()), Score: scale(longest, 30, 600, 3, 60), Evidence: long})
	}
	return out, nil
}
