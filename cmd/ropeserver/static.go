package main

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
)

// staticFiles serves dir's files (-static). They are public: a browser
// loads the page and its scripts before it holds a token, and sends none
// with them, so the token guards the WebSocket only. What is served is
// limited instead: no directory listings (a directory is served only
// through its index.html), no dotfiles or dot-directories, and no symlinks
// that lead out of dir (os.Root refuses them). Each refusal is a 404, as
// for a missing file. Close the returned root when done.
func staticFiles(dir string) (http.Handler, io.Closer, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("-static: %w", err)
	}
	return http.FileServerFS(publicFS{root.FS()}), root, nil
}

// publicFS is the part of an fs.FS that -static shows.
type publicFS struct{ fsys fs.FS }

func (p publicFS) Open(name string) (fs.File, error) {
	notExist := &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	if hidden(name) {
		return nil, notExist
	}
	// Stat first: a link out of the root fails here, and a FIFO or device
	// (which an open could block on) is not served.
	st, err := fs.Stat(p.fsys, name)
	if err != nil || !st.Mode().IsRegular() && !st.IsDir() {
		return nil, notExist
	}
	if st.IsDir() && !p.isFile(path.Join(name, "index.html")) {
		return nil, notExist
	}
	f, err := p.fsys.Open(name)
	if err != nil {
		return nil, notExist
	}
	if st.IsDir() {
		return noListing{f}, nil
	}
	return f, nil
}

// isFile says whether name is a regular file (after links inside the root).
func (p publicFS) isFile(name string) bool {
	st, err := fs.Stat(p.fsys, name)
	return err == nil && st.Mode().IsRegular()
}

// hidden says whether a slash-separated name has a dot element (".git",
// ".env"); "." alone is the root.
func hidden(name string) bool {
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, ".") && elem != "." {
			return true
		}
	}
	return false
}

// noListing is a directory that cannot be read as a list, should the file
// server ever try.
type noListing struct{ fs.File }
