package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/locales"
)

// runContentCheck validates the embedded flows, areas, targets and words
// together; every problem is printed as file:line, and the exit status is 1
// when there is any.
func runContentCheck(args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("content check")
	contentDir := flags.String("content", "", "check this content directory on disk instead of the built-in one (it holds flows/, areas.yaml, targets.yaml)")
	localesDir := flags.String("locales", "", "check this locales directory on disk instead of the built-in one")
	if err := parseFlags(flags, args, stderr); err != nil {
		return err
	}
	var cfs, lfs fs.FS = content.FS, locales.FS
	if *contentDir != "" {
		cfs = os.DirFS(*contentDir)
	}
	if *localesDir != "" {
		lfs = os.DirFS(*localesDir)
	}
	problems := content.Check(cfs, lfs)
	for _, p := range problems {
		fmt.Fprintln(stdout, p.String())
	}
	if len(problems) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("content check: %d problem(s)", len(problems))}
	}
	fmt.Fprintln(stdout, "content check: ok")
	return nil
}
