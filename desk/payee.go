package desk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/hangxomso/hangxom/flows"
)

// payeeAreas are where a member may register payees: a team member's
// hamlets, a coordinator's communes.
func (k *desk) payeeAreas(m flows.Member) []flows.Area {
	if m.Role == flows.RoleTeam {
		return k.hamletsOf(m)
	}
	var out []flows.Area
	for _, c := range k.d.Areas.Communes() {
		if Covers(k.d.Areas, m, c.ID) && c.ValidOn(k.now.Format("2006-01-02")) {
			out = append(out, c)
		}
	}
	return out
}

// payee handles /payee [list], /payee add NAME and /payee remove.
func (k *desk) payee(ctx context.Context, args string) error {
	m, ok, err := k.staff(ctx)
	if err != nil || !ok {
		return err
	}
	if k.d.Payees == nil {
		k.say("staff.unknown", nil)
		return nil
	}
	verb, rest, _ := strings.Cut(strings.TrimSpace(args), " ")
	switch strings.ToLower(verb) {
	case "add", "them", "thêm":
		name := strings.Join(strings.Fields(rest), " ")
		if name == "" || utf8.RuneCountInString(name) > 80 || flows.Sensitive(name) {
			k.say("staff.payee_usage", nil)
			return nil
		}
		areas := k.payeeAreas(m)
		if len(areas) == 1 {
			return k.payeeAsk(ctx, areas[0].ID, name)
		}
		var cs []flows.Choice
		for _, a := range areas {
			cs = append(cs, flows.Choice{Label: a.Name, Action: actStaff + "payarea:" + a.ID + ":" + name})
		}
		if len(cs) == 0 {
			k.say("staff.no_hamlet_here", nil)
			return nil
		}
		k.ask("staff.payee_which_area", map[string]any{"Name": name}, cs)
		return nil
	}
	return k.payeeList(ctx, m)
}

// payeeAsk waits for the payee's genuine QR code (a photo or its text).
func (k *desk) payeeAsk(ctx context.Context, area, name string) error {
	m, ok, err := k.staff(ctx)
	if err != nil || !ok {
		return err
	}
	if !k.mayAddPayee(m, area) {
		k.say("staff.not_your_area", nil)
		return nil
	}
	k.s.Stage, k.s.PayeeArea, k.s.PayeeName = flows.StagePayee, area, name
	k.ask("staff.payee_send_qr", map[string]any{"Name": name}, []flows.Choice{{Label: k.text("common.btn.back", nil), Action: actStaff + "payee"}})
	return nil
}

// mayAddPayee reports whether m may register a payee of area.
func (k *desk) mayAddPayee(m flows.Member, area string) bool {
	return Covers(k.d.Areas, m, area) || (m.Role == flows.RoleTeam && k.mayHelp(m, area))
}

// payeeAdd stores the payee once its code was read. The caller's role and
// area are checked again: they may have been removed since they asked.
func (k *desk) payeeAdd(ctx context.Context, outcome string) error {
	area, name := k.s.PayeeArea, k.s.PayeeName
	k.s.PayeeArea, k.s.PayeeName = "", ""
	parts := strings.SplitN(outcome, ":", 3)
	if area == "" || name == "" {
		k.say("staff.unknown", nil)
		return nil
	}
	m, ok, err := k.whoami(ctx)
	if err != nil {
		return err
	}
	if !ok || !k.mayAddPayee(m, area) {
		k.say("staff.not_your_area", nil)
		return nil
	}
	if len(parts) != 3 || parts[0] != "ok" {
		// Unreadable or not a VietQR transfer code: ask again.
		k.s.Stage, k.s.PayeeArea, k.s.PayeeName = flows.StagePayee, area, name
		k.say("staff.payee_bad_qr", nil)
		return nil
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	p := flows.Payee{ID: hex.EncodeToString(b[:]), Area: area, Name: name, BIN: parts[1], Account: parts[2], AddedBy: k.me, AddedAt: k.now}
	if err := k.d.Payees.PutPayee(ctx, p); err != nil {
		return err
	}
	a, _ := k.d.Areas.Area(area)
	k.say("staff.payee_added", map[string]any{"Name": name, "Area": a.Name, "Account": p.Account})
	return nil
}

func (k *desk) payeeList(ctx context.Context, m flows.Member) error {
	all, err := k.d.Payees.Payees(ctx)
	if err != nil {
		return err
	}
	var lines []string
	var cs []flows.Choice
	for _, p := range all {
		if !Covers(k.d.Areas, m, p.Area) && !k.mayHelp(m, p.Area) {
			continue
		}
		a, _ := k.d.Areas.Area(p.Area)
		lines = append(lines, k.text("staff.payee_line", map[string]any{"Name": p.Name, "Area": a.Name, "Account": p.Account}))
		cs = append(cs, flows.Choice{Label: k.text("staff.btn.remove", map[string]any{"Name": p.Name}), Action: actStaff + "payrm:" + p.ID})
	}
	if len(lines) == 0 {
		k.say("staff.payee_none", nil)
		return nil
	}
	k.ask("staff.payee_list", map[string]any{"List": strings.Join(lines, "\n")}, cs)
	return nil
}

func (k *desk) payeeRemove(ctx context.Context, id string) error {
	m, ok, err := k.staff(ctx)
	if err != nil || !ok {
		return err
	}
	all, err := k.d.Payees.Payees(ctx)
	if err != nil {
		return err
	}
	for _, p := range all {
		if p.ID == id && (Covers(k.d.Areas, m, p.Area) || k.mayHelp(m, p.Area)) {
			if err := k.d.Payees.RemovePayee(ctx, id, k.me); err != nil {
				return err
			}
			k.say("staff.removed", map[string]any{"Name": p.Name})
			return nil
		}
	}
	k.say("staff.not_your_area", nil)
	return nil
}

// payeeMessages are the words of this file and their fields.
func payeeMessages() map[string][]string {
	return map[string][]string{
		"staff.payee_usage":      nil,
		"staff.payee_which_area": {"Name"},
		"staff.payee_send_qr":    {"Name"},
		"staff.payee_bad_qr":     nil,
		"staff.payee_added":      {"Name", "Area", "Account"},
		"staff.payee_line":       {"Name", "Area", "Account"},
		"staff.payee_none":       nil,
		"staff.payee_list":       {"List"},
		"qr.payee_match":         {"Name"},
		"qr.payee_mismatch":      nil,
	}
}
