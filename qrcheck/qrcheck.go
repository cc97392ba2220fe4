// Package qrcheck reads payment QR codes for residents and the team: it
// implements the "vietqr" and "payee" checkers of flows (flows.Checker) on
// top of flows/vietqr (the payload) and bot/qrimage (the photo), and compares
// a code with the payees registered for the resident's area.
package qrcheck

import (
	"context"
	"errors"
	"strings"

	"github.com/hangxomso/hangxom/bot/qrimage"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/vietqr"
)

// Payees lists the registered payees (the store).
type Payees interface {
	Payees(ctx context.Context) ([]flows.Payee, error)
}

// Sessions reads a resident's session, for the hamlet they are filed in
// (the store).
type Sessions interface {
	Session(ctx context.Context, resident string) (flows.Session, error)
}

// Areas finds an area by id, for the commune above a hamlet.
type Areas interface {
	Area(id string) (flows.Area, bool)
}

// DownloadFunc fetches a photo by the channel's file id.
type DownloadFunc func(ctx context.Context, fileID string) ([]byte, error)

// MaxPhotoBytes bounds a downloaded photo (Telegram lets bots fetch 20 MB).
const MaxPhotoBytes = 20 << 20

// Checker is the "vietqr" checker of the qr-pay flow and /checkqr: it
// reads a pasted payment code, or decodes the QR codes in a photo (in
// memory, never stored), and says in short lines what the code pays and
// whether it is well-formed.
type Checker struct {
	loc flows.Localizer
	// payees, sessions and areas find the resident's area's registered
	// payees; any of them nil, no code is compared with a payee.
	payees   Payees
	sessions Sessions
	areas    Areas
	// download fetches a photo; nil where the channel has no photos (the
	// console).
	download DownloadFunc
}

// New returns a Checker answering in loc's words. payees, sessions and
// areas may be nil (no payee comparison); download may be nil (a photo is
// answered "unavailable").
func New(loc flows.Localizer, payees Payees, sessions Sessions, areas Areas, download DownloadFunc) *Checker {
	return &Checker{loc: loc, payees: payees, sessions: sessions, areas: areas, download: download}
}

var (
	_ flows.Checker = (*Checker)(nil)
	_ flows.Checker = PayeeChecker{}
)

// Check reads the code in a pasted text or a photo and describes it.
func (q *Checker) Check(ctx context.Context, resident, lang string, in flows.Input) (flows.CheckResult, error) {
	t := func(id string, data map[string]any) string {
		s, _ := q.loc.Localize(lang, id, data)
		return s
	}
	var payloads []string
	switch in.Kind {
	case flows.InputPhoto:
		if q.download == nil {
			return flows.CheckResult{Outcome: "unavailable"}, nil
		}
		data, err := q.download(ctx, in.Photo)
		if err != nil {
			return flows.CheckResult{}, err
		}
		payloads, err = qrimage.Decode(ctx, data)
		switch {
		case errors.Is(err, qrimage.ErrNoCode):
			return flows.CheckResult{Outcome: "unreadable", Text: t("qr.unreadable", nil)}, nil
		case errors.Is(err, qrimage.ErrTooLarge):
			return flows.CheckResult{Outcome: "unreadable", Text: t("qr.too_large", nil)}, nil
		case err != nil:
			return flows.CheckResult{}, err
		}
	default:
		payloads = []string{strings.TrimSpace(in.Text)}
	}
	results := make([]vietqr.Result, 0, len(payloads))
	for _, p := range payloads {
		results = append(results, vietqr.Parse(p))
	}
	var lines []string
	outcome := outcomeOf(results[0])
	if len(results) > 1 {
		// Two different codes in one picture: a sticker pasted over another.
		lines = append(lines, t("qr.double", nil))
		for i, r := range results {
			lines = append(lines, t("qr.code_n", map[string]any{"N": i + 1}))
			lines = append(lines, describe(t, r)...)
		}
		outcome = "invalid"
	} else {
		lines = append(lines, describe(t, results[0])...)
	}
	if len(results) == 1 && (results[0].Kind == vietqr.KindAccount || results[0].Kind == vietqr.KindCard) && results[0].Verdict != vietqr.Invalid {
		line, mismatch, err := q.matchPayee(ctx, resident, results[0], t)
		if err != nil {
			return flows.CheckResult{}, err
		}
		if line != "" {
			lines = append(lines, line)
		}
		if mismatch {
			outcome = "mismatch"
		}
	}
	// "Compare the payee's name" is said by whoever asked: /checkqr after
	// this report, the qr-pay guide in its own next step (said twice, the
	// turn grew past what a resident reads at once).
	return flows.CheckResult{Outcome: outcome, Text: strings.Join(lines, "\n")}, nil
}

// matchPayee compares a code with the payees registered for the resident's
// hamlet and commune: a match names the payee; when the area has payees and
// none matches, it says so loudly.
func (q *Checker) matchPayee(ctx context.Context, resident string, r vietqr.Result, t func(string, map[string]any) string) (string, bool, error) {
	if q.payees == nil || q.sessions == nil || q.areas == nil {
		return "", false, nil
	}
	s, err := q.sessions.Session(ctx, resident)
	if err != nil || s.Hamlet == "" {
		return "", false, err
	}
	area := map[string]bool{s.Hamlet: true}
	if h, ok := q.areas.Area(s.Hamlet); ok {
		area[h.ParentID] = true
	}
	all, err := q.payees.Payees(ctx)
	if err != nil {
		return "", false, err
	}
	registered := false
	for _, p := range all {
		if !area[p.Area] {
			continue
		}
		registered = true
		if p.BIN == r.BIN && strings.EqualFold(p.Account, r.Account) {
			return t("qr.payee_match", map[string]any{"Name": p.Name}), false, nil
		}
	}
	if registered {
		return t("qr.payee_mismatch", nil), true, nil
	}
	return "", false, nil
}

// PayeeChecker reads the genuine QR code of a payee being registered:
// outcome "ok:<BIN>:<account>" for a well-formed VietQR transfer code.
// It downloads photos as its Checker does.
type PayeeChecker struct{ QR *Checker }

// Check reads the payee's code in a pasted text or a photo.
func (p PayeeChecker) Check(ctx context.Context, resident, lang string, in flows.Input) (flows.CheckResult, error) {
	payloads := []string{strings.TrimSpace(in.Text)}
	if in.Kind == flows.InputPhoto {
		if p.QR.download == nil {
			return flows.CheckResult{Outcome: "unavailable"}, nil
		}
		data, err := p.QR.download(ctx, in.Photo)
		if err != nil {
			return flows.CheckResult{}, err
		}
		if payloads, err = qrimage.Decode(ctx, data); err != nil {
			return flows.CheckResult{Outcome: "unreadable"}, nil
		}
	}
	if len(payloads) != 1 {
		return flows.CheckResult{Outcome: "unreadable"}, nil
	}
	r := vietqr.Parse(payloads[0])
	if r.Verdict == vietqr.Invalid || (r.Kind != vietqr.KindAccount && r.Kind != vietqr.KindCard) {
		return flows.CheckResult{Outcome: "invalid"}, nil
	}
	return flows.CheckResult{Outcome: "ok:" + r.BIN + ":" + r.Account}, nil
}

// outcomeOf maps a decoding to the qr-pay flow's outcomes.
func outcomeOf(r vietqr.Result) string {
	switch {
	case r.Kind == vietqr.KindURL:
		return "url"
	case r.Kind == vietqr.KindText:
		return "not_payment"
	case r.Verdict == vietqr.Invalid:
		return "invalid"
	case r.Kind == vietqr.KindMerchant:
		return "merchant"
	case r.Kind == vietqr.KindAccount || r.Kind == vietqr.KindCard:
		return "valid"
	}
	return "other"
}

// describe writes the short lines about one code: bank, account (a card
// masked), amount, purpose, verdict.
func describe(t func(string, map[string]any) string, r vietqr.Result) []string {
	var lines []string
	switch {
	case r.Kind == vietqr.KindURL:
		return []string{t("qr.url", nil)}
	case r.Kind == vietqr.KindText:
		return []string{t("qr.not_payment", nil)}
	case r.Verdict == vietqr.Invalid:
		// What a broken code seems to say must not be trusted: say only that.
		return []string{t("qr.invalid", nil)}
	case r.Kind == vietqr.KindOther && r.BIN == "" && r.Scheme == "":
		return []string{t("qr.not_payment", nil)} // an EMVCo code with no account of any scheme
	}
	if r.Kind == vietqr.KindAccount || r.Kind == vietqr.KindCard {
		if r.Bank != "" {
			lines = append(lines, t("qr.bank", map[string]any{"Bank": r.Bank, "BIN": r.BIN}))
		} else {
			lines = append(lines, t("qr.bank_unknown", map[string]any{"BIN": r.BIN}))
		}
		if r.Kind == vietqr.KindCard {
			lines = append(lines, t("qr.card", map[string]any{"Card": vietqr.MaskCard(r.Account)}))
		} else {
			lines = append(lines, t("qr.account", map[string]any{"Account": r.Account}))
		}
	}
	if r.Kind == vietqr.KindMerchant {
		lines = append(lines, t("qr.merchant", map[string]any{"Name": r.MerchantName}))
	}
	if r.Amount != "" {
		lines = append(lines, t("qr.amount", map[string]any{"Amount": groupDigits(r.Amount)}))
	}
	if r.Purpose != "" {
		lines = append(lines, t("qr.purpose", map[string]any{"Purpose": r.Purpose}))
	}
	switch r.Verdict {
	case vietqr.Invalid:
		lines = append(lines, t("qr.invalid", nil))
	case vietqr.Warning:
		lines = append(lines, t("qr.warning", nil))
	default:
		lines = append(lines, t("qr.valid", nil))
	}
	return lines
}

// groupDigits writes 1500000 as 1.500.000, the Vietnamese way.
func groupDigits(d string) string {
	var b strings.Builder
	for i, r := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	return b.String()
}
