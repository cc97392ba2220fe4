package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// printHelp is a subcommand's --help: its own flags first, then (for a
// command that takes the settings) the few most used and a pointer to
// "hangxom help", which describes them all. serve's flags are the settings,
// so serve lists them in full.
func printHelp(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "Usage of hangxom %s:\n", fs.Name())
	isSetting := make(map[string]bool, len(settings))
	for _, s := range settings {
		isSetting[s.flag] = true
	}
	own := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	own.SetOutput(w)
	takesSettings := false
	fs.VisitAll(func(f *flag.Flag) {
		if isSetting[f.Name] {
			takesSettings = true
			return
		}
		own.Var(f.Value, f.Name, f.Usage)
		own.Lookup(f.Name).DefValue = f.DefValue // not a value parsed before -h
	})
	own.PrintDefaults()
	switch {
	case !takesSettings:
	case fs.Name() == "serve":
		printSettings(w)
	case strings.HasPrefix(fs.Name(), "zalo "):
		// The Zalo settings are the command's own; Redis is the usual one.
		fmt.Fprintln(w, "\nZalo settings, as an environment variable or a flag (the flag wins):")
		for _, s := range settings {
			if strings.HasPrefix(s.env, "ZALO_") {
				fmt.Fprintf(w, "  %-22s --%-22s %s%s\n", s.env, s.flag, s.help, defText(s.def))
			}
		}
		fmt.Fprint(w, `
and the store: REDIS_URL (--redis-url) or another Redis setting; "hangxom help" lists them all.
`)
	default:
		fmt.Fprint(w, `
Settings, as an environment variable or a flag (the flag wins), for example
  REDIS_URL (--redis-url), STORE=memory (--store), BOT_TZ (--bot-tz), LOG_LEVEL (--log-level);
"hangxom help" lists and explains them all.
`)
	}
}
