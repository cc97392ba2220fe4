package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/locales"
)

// runContentCheck validates the embedded flows, areas, targets and words
// together; every problem is printed as file:line, and the exit status is 1
// when there is any.
func runContentCheck(_ context.Context, e *environ, args []string) error {
	flags := newFlagSet("content check")
	contentDir := flags.String("content", "", "check this content directory on disk instead of the built-in one (it holds flows/, areas.yaml, targets.yaml)")
	localesDir := flags.String("locales", "", "check this locales directory on disk instead of the built-in one")
	if err := parseFlags(flags, args, e.stderr); err != nil {
		return err
	}
	var cfs, lfs fs.FS = content.FS, locales.FS
	for _, d := range []struct {
		flag, dir string
		fsys      *fs.FS
	}{{"--content", *contentDir, &cfs}, {"--locales", *localesDir, &lfs}} {
		if d.dir == "" {
			continue
		}
		if st, err := os.Stat(d.dir); err != nil || !st.IsDir() {
			return usagef("content check: %s %s: not a directory", d.flag, d.dir)
		}
		*d.fsys = os.DirFS(d.dir)
	}
	problems := content.Check(cfs, lfs)
	for _, p := range problems {
		p.File = onDisk(p.File, *contentDir, *localesDir)
		fmt.Fprintln(e.stdout, p.String())
	}
	if len(problems) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("content check: %d problem(s)", len(problems))}
	}
	fmt.Fprintln(e.stdout, "content check: ok")
	return nil
}

// onDisk names a problem's file (content/… or locales/…, as the checker
// names the built-in trees) by its path in the directory being checked, so
// an editor can open it.
func onDisk(file, contentDir, localesDir string) string {
	if rest, ok := strings.CutPrefix(file, "content/"); ok && contentDir != "" {
		return filepath.Join(contentDir, filepath.FromSlash(rest))
	}
	if rest, ok := strings.CutPrefix(file, "locales/"); ok && localesDir != "" {
		return filepath.Join(localesDir, filepath.FromSlash(rest))
	}
	return file
}
