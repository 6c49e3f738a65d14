package backup

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// storedExt are formats that are compressed already: deflating them again
// costs time and gains nothing, so they go into stored (level 0) members.
var storedExt = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true, ".heic": true, ".avif": true,
	".zip": true, ".gz": true, ".tgz": true, ".bz2": true, ".xz": true, ".zst": true, ".lz4": true, ".br": true,
	".7z": true, ".rar": true, ".mp4": true, ".m4v": true, ".mov": true, ".mkv": true, ".webm": true, ".avi": true,
	".mp3": true, ".m4a": true, ".aac": true, ".ogg": true, ".opus": true, ".flac": true,
	".docx": true, ".xlsx": true, ".pptx": true, ".odt": true, ".epub": true, ".jar": true, ".woff2": true,
}

// Compressed reports whether a file name says its content is compressed.
func Compressed(name string) bool { return storedExt[strings.ToLower(filepath.Ext(name))] }

// smallFile is below the size where switching gzip members pays off.
const smallFile = 64 << 10

// ArchiveStats describes a written archive.
type ArchiveStats struct {
	Entries  int      // tar entries (folders, files, links)
	Files    int      // regular files
	Stored   int      // regular files stored without compression
	RawBytes int64    // bytes of file content read
	Warnings []string // files that vanished or changed while read
}

// memberWriter writes one gzip stream made of members that may differ in
// level: gzip readers (gzip -d, tar -z, Go's gzip.Reader) read concatenated
// members as one stream, so already-compressed files can be stored while
// the rest is deflated, all in one .tar.gz.
type memberWriter struct {
	out   io.Writer
	gz    map[int]*gzip.Writer
	cur   *gzip.Writer
	level int
}

func (m *memberWriter) use(level int) error {
	if m.cur != nil && m.level == level {
		return nil
	}
	if m.cur != nil {
		if err := m.cur.Close(); err != nil {
			return err
		}
	}
	w, ok := m.gz[level]
	if !ok {
		var err error
		if w, err = gzip.NewWriterLevel(m.out, level); err != nil {
			return err
		}
		m.gz[level] = w
	} else {
		w.Reset(m.out)
	}
	m.cur, m.level = w, level
	return nil
}

func (m *memberWriter) Write(p []byte) (int, error) { return m.cur.Write(p) }

func (m *memberWriter) Close() error {
	if m.cur == nil {
		return nil
	}
	return m.cur.Close()
}

// WriteTarGz writes a tar.gz of paths (relative to root or absolute; entry
// names are relative to root, as `tar -czf out -C root paths…` would) to w, streaming: memory
// stays flat whatever the size. Text is deflated at BestSpeed on one
// goroutine; already-compressed files are stored. A configured path that
// is a symlink is followed (the operator named it); symlinks inside are
// stored as links, never followed. Missing paths are skipped and listed in
// missing. progress, when set, is called with the bytes of content read so far.
func WriteTarGz(ctx context.Context, w io.Writer, root string, paths []string, progress func(done int64)) (st ArchiveStats, missing []string, err error) {
	mw := &memberWriter{out: w, gz: map[int]*gzip.Writer{}}
	if err := mw.use(gzip.BestSpeed); err != nil {
		return st, nil, err
	}
	tw := tar.NewWriter(mw)
	buf := make([]byte, 1<<20)
	for _, p := range paths {
		top := p
		if !filepath.IsAbs(p) {
			top = filepath.Join(root, p)
		}
		top = filepath.Clean(top)
		// Entries are named relative to root; a path outside it keeps its
		// absolute name without the leading slash, as tar does.
		rel, err := filepath.Rel(root, top)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			rel = strings.TrimLeft(filepath.ToSlash(top), "/")
		}
		info, err := os.Stat(top)
		if errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, p)
			continue
		}
		if err != nil {
			return st, missing, fmt.Errorf("archive %s: %w", p, err)
		}
		if !info.IsDir() {
			real, err := filepath.EvalSymlinks(top)
			if err != nil {
				return st, missing, fmt.Errorf("archive %s: %w", p, err)
			}
			if err := addEntry(ctx, tw, mw, real, filepath.ToSlash(rel), info, buf, &st, progress); err != nil {
				return st, missing, err
			}
			continue
		}
		// Walk the resolved folder so a configured symlink to a folder is
		// archived under its configured name.
		real, err := filepath.EvalSymlinks(top)
		if err != nil {
			return st, missing, fmt.Errorf("archive %s: %w", p, err)
		}
		err = filepath.WalkDir(real, func(path string, d fs.DirEntry, werr error) error {
			if werr != nil {
				if errors.Is(werr, fs.ErrNotExist) {
					return nil
				}
				return werr
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			sub, _ := filepath.Rel(real, path)
			name := filepath.ToSlash(filepath.Join(rel, sub))
			info, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				st.Warnings = append(st.Warnings, name+": vanished while archiving")
				return nil
			}
			if err != nil {
				return err
			}
			return addEntry(ctx, tw, mw, path, name, info, buf, &st, progress)
		})
		if err != nil {
			return st, missing, fmt.Errorf("archive %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return st, missing, fmt.Errorf("archive: %w", err)
	}
	if err := mw.Close(); err != nil {
		return st, missing, fmt.Errorf("archive: %w", err)
	}
	return st, missing, nil
}

func addEntry(ctx context.Context, tw *tar.Writer, mw *memberWriter, path, name string, info fs.FileInfo, buf []byte, st *ArchiveStats, progress func(int64)) error {
	mode := info.Mode()
	link := ""
	switch {
	case mode.IsDir(), mode.IsRegular():
	case mode&fs.ModeSymlink != 0:
		l, err := os.Readlink(path)
		if err != nil {
			return fmt.Errorf("archive %s: %w", name, err)
		}
		link = l
	default:
		// Sockets, pipes and devices have no content to keep.
		return nil
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	hdr.Name = name
	if mode.IsDir() {
		hdr.Name += "/"
	}
	// Owner names need lookups and mean little on another host.
	hdr.Uname, hdr.Gname = "", ""
	if !mode.IsRegular() {
		st.Entries++
		return tw.WriteHeader(hdr)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		st.Warnings = append(st.Warnings, name+": vanished while archiving")
		return nil
	}
	if err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	defer f.Close()
	level := mw.level
	if info.Size() >= smallFile {
		level = gzip.BestSpeed
		if Compressed(name) {
			level = gzip.NoCompression
		}
	}
	if err := mw.use(level); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	st.Entries++
	st.Files++
	if level == gzip.NoCompression {
		st.Stored++
	}
	left := hdr.Size
	for left > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := f.Read(buf[:min(int64(len(buf)), left)])
		if n > 0 {
			if _, err := tw.Write(buf[:n]); err != nil {
				return fmt.Errorf("archive %s: %w", name, err)
			}
			left -= int64(n)
			st.RawBytes += int64(n)
			if progress != nil {
				progress(st.RawBytes)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("archive %s: %w", name, rerr)
		}
	}
	if left > 0 {
		// The file shrank while read: pad as tar does, and say so.
		st.Warnings = append(st.Warnings, name+": shrank while archiving")
		clear(buf)
		for left > 0 {
			n := min(int64(len(buf)), left)
			if _, err := tw.Write(buf[:n]); err != nil {
				return fmt.Errorf("archive %s: %w", name, err)
			}
			left -= n
		}
	}
	return nil
}

// ReadTarGz reads a tar.gz from r to the end, every entry's content
// included, and returns the number of entries. A truncated or corrupt
// archive is an error.
func ReadTarGz(ctx context.Context, r io.Reader) (entries int, err error) {
	zr, err := gzip.NewReader(bufio.NewReaderSize(r, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("read archive: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return entries, err
		}
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return entries, fmt.Errorf("read archive: entry %d: %w", entries+1, err)
		}
		entries++
		if _, err := io.CopyBuffer(io.Discard, tr, buf); err != nil {
			return entries, fmt.Errorf("read archive: entry %d: %w", entries, err)
		}
	}
	// Whatever follows the tar end blocks must still be valid gzip.
	if _, err := io.CopyBuffer(io.Discard, zr, buf); err != nil {
		return entries, fmt.Errorf("read archive: %w", err)
	}
	return entries, nil
}
