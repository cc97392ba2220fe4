package main

import (
	"fmt"
	"io"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/locales"
)

// runContentCheck validates the embedded flows, areas, targets and words
// together; every problem is printed as file:line, and the exit status is 1
// when there is any.
func runContentCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("content check")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	problems := content.Check(content.FS, locales.FS)
	for _, p := range problems {
		fmt.Fprintln(stdout, p.String())
	}
	if len(problems) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("content check: %d problem(s)", len(problems))}
	}
	fmt.Fprintln(stdout, "content check: ok")
	return nil
}
