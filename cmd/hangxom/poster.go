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
	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
)

// posterInstruction is the line printed on every poster above the QR code.
// It is read on paper on a wall, by someone who has not met the bot yet, so
// it is not in locales/ with the chat's words; it keeps the chat's "bác"
// register ("Mời bác": please, respectfully) and says what to do and what
// they get, in one sentence, with no app names a villager may not know.
const posterInstruction = "Mời bác quét mã bằng camera điện thoại để được hướng dẫn từng bước dùng dịch vụ số"

// zaloPosterInstruction is the line of a Zalo poster: Zalo passes nothing
// from the QR code to the chat, so the reader scans it with Zalo (its own
// scanner, or the camera, opens the OA), taps "Quan tâm" (Follow, as
// Zalo's button says it) and sends the hamlet's code, which the poster
// also prints large under the code.
func zaloPosterInstruction(code string) string {
	return "Mời bác quét mã bằng Zalo, bấm «Quan tâm», rồi gửi mã " + code + " để được hướng dẫn từng bước dùng dịch vụ số"
}

// runPoster writes the printable poster of one hamlet: its names, the
// instruction and a QR code of the bot's link that files the resident
// under that hamlet; on Zalo, a QR code of the Official Account and the
// hamlet's code to send.
func runPoster(ctx context.Context, e *environ, args []string) error {
	fs := newFlagSet("poster")
	hamletID := fs.String("hamlet", "", "id of the hamlet (required; \"hangxom areas list\" lists them)")
	out := fs.String("out", "", "the PNG file to write, A4 at 150 dpi (required)")
	bot := fs.String("bot", "", "the bot's Telegram username (default TELEGRAM_BOT_USERNAME, else asked of Telegram with TELEGRAM_BOT_TOKEN)")
	channelName := fs.String("channel", "telegram", "telegram, or zalo: the Official Account's QR code and the hamlet's code to send")
	oa := fs.String("oa-id", "", "with --channel zalo: the Official Account's id (default ZALO_OA_ID)")
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
	switch *channelName {
	case "telegram":
	case "zalo":
		return runZaloPoster(ctx, e, cfg, *hamletID, *out, *oa)
	default:
		return usagef("poster: --channel: %q: use telegram or zalo", *channelName)
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

	a, h, commune, err := posterHamlet(ctx, e, cfg, *hamletID)
	if err != nil {
		return err
	}
	defer a.Close()
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

// posterHamlet opens the app and finds the hamlet of a poster, valid
// today, and its commune; the caller closes the app.
func posterHamlet(ctx context.Context, e *environ, cfg config, id string) (*app, flows.Area, flows.Area, error) {
	a, err := e.open(ctx, cfg)
	if err != nil {
		return nil, flows.Area{}, flows.Area{}, err
	}
	h, ok := a.areas.Area(id)
	if !ok || h.Level != flows.LevelHamlet {
		a.Close()
		return nil, flows.Area{}, flows.Area{}, usagef("poster: --hamlet %q is not a hamlet in the store; \"hangxom areas list\" lists them", id)
	}
	// The bot ignores a link or a code of a hamlet that no longer exists,
	// so a poster for one would send people nowhere.
	if today := a.clock.Now().In(cfg.TZ).Format("2006-01-02"); !h.ValidOn(today) {
		a.Close()
		return nil, flows.Area{}, flows.Area{}, usagef("poster: hamlet %q (%s) is not valid today, %s (valid %s to %s)", h.ID, h.Name, today, orDash(h.ValidFrom), orDash(h.ValidTo))
	}
	commune, _ := a.areas.Area(h.ParentID)
	return a, h, commune, nil
}

// runZaloPoster is `hangxom poster --channel zalo`: the QR code of the
// Official Account, and the hamlet's code to send once it is open.
func runZaloPoster(ctx context.Context, e *environ, cfg config, hamletID, out, oa string) error {
	if oa == "" {
		oa = cfg.ZaloOAID
	}
	if oa == "" {
		return usagef("poster: --channel zalo needs the Official Account's id: give --oa-id ID, or set ZALO_OA_ID")
	}
	link, err := poster.ZaloLink(oa)
	if err != nil {
		return usagef("poster: --oa-id: %q is not a Zalo Official Account id (its digits, as in zalo.me/<id>)", oa)
	}
	fonts, err := poster.DejaVuSans()
	if err != nil {
		return err
	}
	a, h, commune, err := posterHamlet(ctx, e, cfg, hamletID)
	if err != nil {
		return err
	}
	defer a.Close()
	png, err := renderZaloPoster(h, commune, link, fonts)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(out, png); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, link)
	fmt.Fprintf(e.stdout, "wrote %s: %s, %s, code %s (A4, %d×%d px at %d dpi)\n", out, h.Name, commune.Name, h.Code, poster.Width, poster.Height, poster.DPI)
	return nil
}

// renderZaloPoster draws a hamlet's Zalo poster.
func renderZaloPoster(h, commune flows.Area, link string, fonts poster.Fonts) ([]byte, error) {
	if h.Code == "" {
		return nil, fmt.Errorf("poster for %s: the hamlet has no code", h.ID)
	}
	png, err := poster.Render(poster.Poster{
		HamletName: h.Name, CommuneName: commune.Name, Link: link, Instruction: zaloPosterInstruction(h.Code), Code: h.Code,
	}, fonts)
	if err != nil {
		return nil, fmt.Errorf("poster for %s: %w", h.ID, err)
	}
	return png, nil
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

// renderPoster makes a hamlet's poster for /poster in chat: the Zalo
// poster for a team member on Zalo, the Telegram one otherwise.
func (a *app) renderPoster(_ context.Context, channel string, h, c flows.Area) (flows.Document, string, error) {
	if channel == desk.ChannelZalo {
		link, err := poster.ZaloLink(a.cfg.ZaloOAID)
		if err != nil {
			return flows.Document{}, "", err // ZALO_OA_ID unset: the desk says the poster is unavailable
		}
		fonts, err := poster.DejaVuSans()
		if err != nil {
			a.logger.Warn("poster fonts", "err", err)
			return flows.Document{}, "", err
		}
		png, err := renderZaloPoster(h, c, link, fonts)
		if err != nil {
			return flows.Document{}, "", err
		}
		return flows.Document{Name: "poster-zalo-" + h.ID + ".png", Data: png}, link, nil
	}
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
