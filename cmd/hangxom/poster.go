package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/bot/poster"
	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/flows"
)

// posterInstruction is the line printed on every poster above the QR code.
// It is read on paper on a wall, by someone who has not met the bot yet, so
// it is not in locales/ with the chat's words; it keeps the chat's "bác"
// register ("Mời bác": please, respectfully) and says what to do and what
// they get, in one sentence, with no app names a villager may not know.
const posterInstruction = "Mời bác quét mã bằng camera điện thoại để được hướng dẫn từng bước dùng dịch vụ số"

// runPoster writes the printable poster of one hamlet: its names, the
// instruction and a QR code of the bot's link that files the resident
// under that hamlet.
func runPoster(ctx context.Context, e *environ, args []string) error {
	fs := newFlagSet("poster")
	hamletID := fs.String("hamlet", "", "id of the hamlet (required; \"hangxom areas list\" lists them)")
	out := fs.String("out", "", "the PNG file to write, A4 at 150 dpi (required)")
	bot := fs.String("bot", "", "the bot's Telegram username (default TELEGRAM_BOT_USERNAME, else asked of Telegram with TELEGRAM_BOT_TOKEN)")
	cfg, err := e.settings(fs, args)
	if err != nil {
		return err
	}
	if *hamletID == "" {
		return usagef("poster: --hamlet is required; \"hangxom areas list\" lists the hamlets")
	}
	if *out == "" {
		return usagef("poster: --out FILE.png is required")
	}
	username := strings.TrimPrefix(strings.TrimSpace(*bot), "@")
	if username == "" {
		username = cfg.TelegramUsername
	}
	if username == "" && cfg.TelegramToken != "" {
		if username, err = botUsername(ctx, cfg, e.opts); err != nil {
			return err
		}
	}
	if username == "" {
		return usagef("poster: the bot's username is needed for the link: give --bot USERNAME, or set TELEGRAM_BOT_USERNAME or TELEGRAM_BOT_TOKEN")
	}
	if !usernamePattern.MatchString(username) {
		return usagef("poster: --bot: %q is not a Telegram username", username)
	}
	fonts, err := poster.DejaVuSans()
	if err != nil {
		return err
	}

	a, err := e.open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	h, ok := a.areas.Area(*hamletID)
	if !ok || h.Level != flows.LevelHamlet {
		return usagef("poster: --hamlet %q is not a hamlet in the store; \"hangxom areas list\" lists them", *hamletID)
	}
	// The bot ignores a link to a hamlet that no longer exists, so a poster
	// for one would send people nowhere.
	if today := a.clock.Now().In(cfg.TZ).Format("2006-01-02"); !h.ValidOn(today) {
		return usagef("poster: hamlet %q (%s) is not valid today, %s (valid %s to %s)", h.ID, h.Name, today, orDash(h.ValidFrom), orDash(h.ValidTo))
	}
	commune, _ := a.areas.Area(h.ParentID)
	link, err := poster.StartLink(username, h.ID)
	if err != nil {
		return err
	}
	png, err := poster.Render(poster.Poster{
		HamletName: h.Name, CommuneName: commune.Name, Link: link, Instruction: posterInstruction,
	}, fonts)
	if err != nil {
		return fmt.Errorf("poster for %s: %w", h.ID, err)
	}
	if err := writeFileAtomic(*out, png); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, link)
	fmt.Fprintf(e.stdout, "wrote %s: %s, %s (A4, %d×%d px at %d dpi)\n", *out, h.Name, commune.Name, poster.Width, poster.Height, poster.DPI)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// writeFileAtomic writes data to a temporary file beside name and renames
// it into place, so a printer or a watcher never sees half a PNG.
func writeFileAtomic(name string, data []byte) (err error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("poster: write %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("poster: write %s: %w", name, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("poster: write %s: %w", name, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("poster: write %s: %w", name, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("poster: write %s: %w", name, err)
	}
	if err = os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("poster: write %s: %w", name, err)
	}
	return nil
}

// renderPoster makes a hamlet's poster for /poster in chat.
func (a *app) renderPoster(_ context.Context, h, c flows.Area) (flows.Document, string, error) {
	link, err := poster.StartLink(a.channel.username, h.ID)
	if err != nil {
		return flows.Document{}, "", err
	}
	fonts, err := poster.DejaVuSans()
	if err != nil {
		a.logger.Warn("poster fonts", "err", err)
		return flows.Document{}, "", err
	}
	png, err := poster.Render(poster.Poster{HamletName: h.Name, CommuneName: c.Name, Link: link, Instruction: posterInstruction}, fonts)
	if err != nil {
		return flows.Document{}, "", err
	}
	return flows.Document{Name: "poster-" + h.ID + ".png", Data: png}, link, nil
}

// botUsername asks Telegram for the bot's username (getMe) with the
// configured token, for a command run without --bot.
func botUsername(ctx context.Context, cfg config, opts appOptions) (string, error) {
	hc := opts.httpClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client, err := telegram.NewClient(ctx, cfg.TelegramAPIURL, cfg.TelegramToken, hc)
	if err != nil {
		return "", fmt.Errorf("poster: ask Telegram at %s for the bot's username (or give --bot): %w", cfg.TelegramAPIURL, err)
	}
	return client.Self().UserName, nil
}
