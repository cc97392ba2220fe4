package desk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// helpID names the help request of one help effect, the same on every retry.
func helpID(resident string, e flows.Effect) string {
	sum := sha256.Sum256([]byte(resident + "|" + strconv.FormatInt(e.At.UnixNano(), 10) + "|" + e.Flow + "|" + e.Step))
	return hex.EncodeToString(sum[:8])
}

// NotifyHelp turns a committed help effect into a help request and tells
// every team member of the hamlet a message reaches, with a button to claim
// it; a hamlet with no team member a message reaches goes to the
// coordinators covering it. It is idempotent: the request is created once,
// and only its creator notifies.
func (d *Desk) NotifyHelp(ctx context.Context, resident string, s flows.Session, e flows.Effect) error {
	if d.Help == nil || e.Hamlet == "" {
		return nil
	}
	h := flows.HelpRequest{ID: helpID(resident, e), Hamlet: e.Hamlet, Flow: e.Flow, Step: e.Step,
		Resident: resident, Name: s.Name, At: e.At, Status: flows.HelpOpen, Urgent: e.Urgent}
	created, err := d.Help.CreateHelp(ctx, h)
	if err != nil || !created {
		return err
	}
	return d.offerHelp(ctx, h, e.At)
}

// offerHelp tells the helpers of an open request about it at now, escalated
// to the coordinators when the hamlet has no team member who may take it
// and whom a message reaches.
func (d *Desk) offerHelp(ctx context.Context, h flows.HelpRequest, now time.Time) error {
	to, escalated, err := d.helpers(ctx, h.Hamlet, h.Flow, now)
	if err != nil {
		return err
	}
	if escalated {
		if _, _, err := d.Help.UpdateHelp(ctx, h.ID, func(x *flows.HelpRequest) bool { x.Escalated = true; return true }); err != nil {
			return err
		}
	}
	msg := "staff.help_new"
	if h.Urgent {
		msg = "staff.help_urgent" // someone may just have been scammed
	}
	return d.tellHelpers(ctx, h, to, msg)
}

// helpers are the team members of a hamlet who may see the flow's
// residents by name (in a private flow, its party-cell secretaries), or,
// when it has none, the coordinators covering it (escalated). Only those
// a message reaches at now: on a channel with a window (Zalo), a member
// who has not written within it would not get the alert, so the request
// goes to the coordinators rather than wait on them; they see it in
// /helpdesk when they come back, and /team shows them out of reach.
func (d *Desk) helpers(ctx context.Context, hamlet, flow string, now time.Time) ([]string, bool, error) {
	all, err := d.Store.Members(ctx)
	if err != nil {
		return nil, false, err
	}
	var team, coord []string
	for _, m := range all {
		switch {
		case m.Role == flows.RoleTeam && slices.Contains(m.Areas, hamlet) && d.mayName(m, hamlet, flow):
			team = append(team, m.ID)
		case m.Role == flows.RoleCoordinator && Covers(d.Areas, m, hamlet):
			coord = append(coord, m.ID)
		}
	}
	if team, err = d.reachable(ctx, team, now); err != nil || len(team) > 0 {
		return team, false, err
	}
	for _, c := range d.Coordinators {
		if !slices.Contains(coord, c) {
			coord = append(coord, c)
		}
	}
	coord, err = d.reachable(ctx, coord, now)
	return coord, true, err
}

func (d *Desk) tellHelpers(ctx context.Context, h flows.HelpRequest, to []string, msg string) error {
	for _, id := range to {
		lang := "vi"
		if d.FollowUp != nil {
			if s, err := d.FollowUp.Session(ctx, id); err == nil && s.Lang != "" {
				lang = s.Lang
			}
		}
		data := d.helpData(lang, h)
		text, _ := d.Loc.Localize(lang, msg, data)
		label, _ := d.Loc.Localize(lang, "staff.btn.claim", nil)
		r := flows.Reply{ID: "help:" + h.ID + ":" + msg + ":" + id, Text: text,
			Buttons: []flows.Choice{{Data: flows.HelpClaimPrefix + h.ID, Label: label}}}
		if err := d.Help.Enqueue(ctx, id, r); err != nil {
			return err
		}
		if d.Notify != nil {
			d.Notify(id)
		}
	}
	return nil
}

func (d *Desk) helpData(lang string, h flows.HelpRequest) map[string]any {
	name := h.Name
	if name == "" {
		name, _ = d.Loc.Localize(lang, "staff.someone", nil)
	}
	data := map[string]any{"Name": name, "Hamlet": h.Hamlet, "Flow": "", "Step": 0, "StepName": ""}
	if a, ok := d.Areas.Area(h.Hamlet); ok {
		data["Hamlet"] = a.Name
	}
	if d.Library != nil {
		if f, ok := d.Library.Flow(h.Flow); ok {
			data["Flow"], _ = d.Loc.Localize(lang, f.Title, nil)
			data["Step"] = slices.IndexFunc(f.Steps, func(x flows.Step) bool { return x.ID == h.Step }) + 1
			data["StepName"] = d.stepName(lang, f, h.Step)
		}
	}
	if data["Flow"] == "" {
		data["Flow"], _ = d.Loc.Localize(lang, "staff.no_flow", nil)
	}
	return data
}

// Escalation is how long a help request may stay unclaimed before the
// coordinators covering its hamlet are told; UrgentEscalation the same for
// a resident who may just have been scammed (Step.Urgent).
const (
	Escalation       = 24 * time.Hour
	UrgentEscalation = 30 * time.Minute
)

// Escalate sends help requests unclaimed for Escalation (UrgentEscalation
// when urgent) to the coordinators covering their hamlet whom a message
// reaches, once.
func (d *Desk) Escalate(ctx context.Context, now time.Time) (int, error) {
	if d.Help == nil {
		return 0, nil
	}
	hs, err := d.Help.UnclaimedBefore(ctx, now.Add(-UrgentEscalation))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, h := range hs {
		if !h.Urgent && h.At.After(now.Add(-Escalation)) {
			continue
		}
		_, wrote, err := d.Help.UpdateHelp(ctx, h.ID, func(x *flows.HelpRequest) bool {
			if x.Escalated || x.Status != flows.HelpOpen {
				return false
			}
			x.Escalated = true
			return true
		})
		if err != nil || !wrote {
			continue
		}
		all, err := d.Store.Members(ctx)
		if err != nil {
			return n, err
		}
		var to []string
		for _, m := range all {
			if m.Role == flows.RoleCoordinator && Covers(d.Areas, m, h.Hamlet) {
				to = append(to, m.ID)
			}
		}
		for _, c := range d.Coordinators {
			if !slices.Contains(to, c) {
				to = append(to, c)
			}
		}
		if to, err = d.reachable(ctx, to, now); err != nil {
			return n, err
		}
		if err := d.tellHelpers(ctx, h, to, "staff.help_escalated"); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// mayHelp reports whether m may claim or see a request of hamlet.
func (k *desk) mayHelp(m flows.Member, hamlet string) bool { return k.d.mayHelp(m, hamlet) }

func (d *Desk) mayHelp(m flows.Member, hamlet string) bool {
	if m.Role == flows.RoleTeam {
		return slices.Contains(m.Areas, hamlet)
	}
	return m.Role == flows.RoleCoordinator && Covers(d.Areas, m, hamlet)
}

// mayTake reports whether m may see and take help request h: a member
// covering its hamlet who may see its resident by name.
func (d *Desk) mayTake(m flows.Member, h flows.HelpRequest) bool {
	return d.mayHelp(m, h.Hamlet) && d.mayName(m, h.Hamlet, h.Flow)
}

// claimerMay reports whether h's claimer may still act on it: a member
// who was removed, or no longer covers its hamlet, may not.
func (d *Desk) claimerMay(ctx context.Context, h flows.HelpRequest) (bool, error) {
	if h.ClaimedBy == "" {
		return false, nil
	}
	m, ok, err := d.memberOf(ctx, h.ClaimedBy, h.ClaimerName)
	if err != nil || !ok {
		return false, err
	}
	return d.mayTake(m, h), nil
}

// mine reports whether the caller claimed h and may still act on it.
func (k *desk) mine(ctx context.Context, h flows.HelpRequest) (bool, error) {
	if h.ClaimedBy != k.me || h.Status != flows.HelpClaimed {
		return false, nil
	}
	return k.d.claimerMay(ctx, h)
}

// releaseClaims opens again the requests x claimed (x was removed) and
// offers them to the hamlet's helpers, so that no resident waits on
// someone who left, and no one who left keeps their contact.
func (k *desk) releaseClaims(ctx context.Context, x flows.Member) error {
	for _, hm := range k.hamletsOf(x) {
		hs, err := k.d.Help.OpenHelps(ctx, hm.ID)
		if err != nil {
			return err
		}
		for _, h := range hs {
			if h.ClaimedBy != x.ID || h.Status != flows.HelpClaimed {
				continue
			}
			h, wrote, err := k.d.Help.UpdateHelp(ctx, h.ID, func(r *flows.HelpRequest) bool {
				if r.ClaimedBy != x.ID || r.Status != flows.HelpClaimed {
					return false
				}
				r.Status, r.ClaimedBy, r.ClaimerName, r.ClaimedAt = flows.HelpOpen, "", "", time.Time{}
				return true
			})
			if err != nil {
				return err
			}
			if wrote {
				if err := k.d.offerHelp(ctx, h, k.now); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// claim takes a help request for the caller, if nobody has.
func (k *desk) claim(ctx context.Context, id string) error {
	m, ok, err := k.whoami(ctx)
	if err != nil {
		return err
	}
	h, found, err := k.d.Help.Help(ctx, id)
	if err != nil {
		return err
	}
	if !ok || !found || !k.d.mayTake(m, h) {
		k.say("staff.not_your_area", nil)
		return nil
	}
	name := k.s.Name
	if name == "" {
		name = m.Name
	}
	h, wrote, err := k.d.Help.UpdateHelp(ctx, id, func(x *flows.HelpRequest) bool {
		if x.Status != flows.HelpOpen {
			return false
		}
		x.Status, x.ClaimedBy, x.ClaimerName, x.ClaimedAt = flows.HelpClaimed, k.me, name, k.now
		return true
	})
	if err != nil {
		return err
	}
	data := k.d.helpData(flows.LangOrDefault(k.s.Lang), h)
	if !wrote {
		if h.ClaimedBy == k.me {
			k.say("staff.help_yours", data)
			return nil
		}
		data["Claimer"] = h.ClaimerName
		k.say("staff.help_taken", data)
		return nil
	}
	k.ask("staff.help_claimed_you", data, []flows.Choice{
		{Label: k.text("staff.btn.message", data), Action: actStaff + "msg:" + id, Private: true},
		{Label: k.text("staff.btn.close", nil), Action: actStaff + "close:" + id},
	})
	if h.Contact != "" {
		k.say("staff.contact_shared", map[string]any{"Name": data["Name"], "Phone": h.Contact})
	}
	// The resident learns who will come: the helper's first name only.
	lang := "vi"
	if s, err := k.d.FollowUp.Session(ctx, h.Resident); err == nil && s.Lang != "" {
		lang = s.Lang
	}
	text, _ := k.d.Loc.Localize(lang, "common.help_coming", map[string]any{"Name": firstName(name)})
	place, _ := k.d.Loc.Localize(lang, "common.btn.write_place", nil)
	hint, _ := k.d.Loc.Localize(lang, "common.share_phone_hint", nil)
	phone, _ := k.d.Loc.Localize(lang, "common.btn.share_phone", nil)
	replies := []flows.Reply{{ID: "helpcoming:" + id, Text: text, Buttons: []flows.Choice{{Data: flows.NotePrefix + id, Label: place}}},
		{ID: "helpphone:" + id, Text: hint, Buttons: []flows.Choice{{Label: phone, Contact: true}}}}
	if strings.HasPrefix(h.Resident, "zl:") {
		// Zalo has no button that shares a phone number here (its form
		// for asking one is not in our research): no hint to tap a button
		// that is not there; the resident can still write where they live.
		replies = replies[:1]
	}
	if err := k.d.Help.Enqueue(ctx, h.Resident, replies...); err != nil {
		return err
	}
	if k.d.Notify != nil {
		k.d.Notify(h.Resident)
	}
	return nil
}

func firstName(name string) string {
	f := strings.Fields(name)
	if len(f) == 0 {
		return name
	}
	return f[len(f)-1] // Vietnamese names end with the given name
}

// closeHelp marks a claimed request done: by its claimer or a coordinator.
func (k *desk) closeHelp(ctx context.Context, id string) error {
	m, ok, err := k.whoami(ctx)
	if err != nil {
		return err
	}
	h, found, err := k.d.Help.Help(ctx, id)
	if err != nil {
		return err
	}
	if !ok || !found || !(k.mayHelp(m, h.Hamlet) && (h.ClaimedBy == k.me || m.Role == flows.RoleCoordinator)) {
		k.say("staff.not_your_area", nil)
		return nil
	}
	if _, _, err := k.d.Help.UpdateHelp(ctx, id, func(x *flows.HelpRequest) bool {
		if x.Status == flows.HelpClosed {
			return false
		}
		// Done: the phone number and the place were for the visit.
		x.Status, x.Contact, x.Note = flows.HelpClosed, "", ""
		return true
	}); err != nil {
		return err
	}
	k.say("staff.help_closed", k.d.helpData(flows.LangOrDefault(k.s.Lang), h))
	return nil
}

// helpdesk lists the open and claimed requests of the caller's hamlets.
func (k *desk) helpdesk(ctx context.Context) error {
	m, ok, err := k.staff(ctx)
	if err != nil || !ok {
		return err
	}
	var lines []string
	var cs []flows.Choice
	for _, hm := range k.hamletsOf(m) {
		hs, err := k.d.Help.OpenHelps(ctx, hm.ID)
		if err != nil {
			return err
		}
		for _, h := range hs {
			if !k.d.mayTake(m, h) {
				continue // a private flow's request, for its secretaries
			}
			data := k.d.helpData(flows.LangOrDefault(k.s.Lang), h)
			data["Status"] = k.text("staff.help_status_"+h.Status, map[string]any{"Claimer": h.ClaimerName})
			lines = append(lines, k.text("staff.helpdesk_line", data))
			switch {
			case h.Status == flows.HelpOpen:
				cs = append(cs, flows.Choice{Label: k.text("staff.btn.claim_name", data), Action: actStaff + "claim:" + h.ID, Private: true})
			case h.ClaimedBy == k.me || m.Role == flows.RoleCoordinator:
				if h.ClaimedBy == k.me {
					cs = append(cs, flows.Choice{Label: k.text("staff.btn.message", data), Action: actStaff + "msg:" + h.ID, Private: true})
					if h.Contact != "" {
						lines = append(lines, k.text("staff.contact_shared", map[string]any{"Name": data["Name"], "Phone": h.Contact}))
					}
				}
				cs = append(cs, flows.Choice{Label: k.text("staff.btn.close_name", data), Action: actStaff + "close:" + h.ID, Private: true})
			}
		}
	}
	if len(lines) == 0 {
		k.say("staff.helpdesk_none", nil)
		return nil
	}
	k.ask("staff.helpdesk", map[string]any{"List": strings.Join(lines, "\n")}, cs)
	return nil
}

// compose starts a message from the claimer to the resident they help.
func (k *desk) compose(ctx context.Context, id string) error {
	h, ok, err := k.d.Help.Help(ctx, id)
	if err != nil {
		return err
	}
	if ok {
		if ok, err = k.mine(ctx, h); err != nil {
			return err
		}
	}
	if !ok {
		k.say("staff.not_your_area", nil)
		return nil
	}
	k.s.Stage, k.s.Compose = flows.StageCompose, id
	k.ask("staff.compose", k.d.helpData(flows.LangOrDefault(k.s.Lang), h), []flows.Choice{
		{Label: k.text("common.btn.back", nil), Action: actStaff + "helpdesk"},
	})
	return nil
}

// sendToResident delivers the claimer's message to the resident.
func (k *desk) sendToResident(ctx context.Context, id, text string) error {
	h, ok, err := k.d.Help.Help(ctx, id)
	if err != nil {
		return err
	}
	if ok && strings.TrimSpace(text) != "" {
		if ok, err = k.mine(ctx, h); err != nil {
			return err
		}
	} else {
		ok = false
	}
	if !ok {
		k.say("staff.not_your_area", nil)
		return nil
	}
	lang := "vi"
	if s, err := k.d.FollowUp.Session(ctx, h.Resident); err == nil && s.Lang != "" {
		lang = s.Lang
	}
	msg, _ := k.d.Loc.Localize(lang, "common.message_from_team", map[string]any{"Name": firstName(h.ClaimerName), "Text": text})
	if err := k.d.Help.Enqueue(ctx, h.Resident, flows.Reply{ID: "msg:" + id + ":" + k.turn, Text: msg}); err != nil {
		return err
	}
	if k.d.Notify != nil {
		k.d.Notify(h.Resident)
	}
	k.say("staff.message_sent", k.d.helpData(flows.LangOrDefault(k.s.Lang), h))
	return nil
}

// note keeps where the resident lives with their request and tells the
// claimer.
func (k *desk) note(ctx context.Context, id, text string) error {
	h, ok, err := k.d.Help.Help(ctx, id)
	if err != nil {
		return err
	}
	text = strings.TrimSpace(text)
	if !ok || h.Resident != k.me || h.Status == flows.HelpClosed || text == "" {
		k.say("common.tap_button", nil)
		return nil
	}
	if len([]rune(text)) > 200 {
		text = string([]rune(text)[:200])
	}
	if _, _, err := k.d.Help.UpdateHelp(ctx, id, func(x *flows.HelpRequest) bool { x.Note = text; return true }); err != nil {
		return err
	}
	tell, err := k.d.claimerMay(ctx, h)
	if err != nil {
		return err
	}
	if tell {
		lang := "vi"
		if s, err := k.d.FollowUp.Session(ctx, h.ClaimedBy); err == nil && s.Lang != "" {
			lang = s.Lang
		}
		msg, _ := k.d.Loc.Localize(lang, "staff.note_from_resident", map[string]any{"Name": h.Name, "Note": text})
		if err := k.d.Help.Enqueue(ctx, h.ClaimedBy, flows.Reply{ID: "note:" + id + ":" + k.turn, Text: msg}); err != nil {
			return err
		}
		if k.d.Notify != nil {
			k.d.Notify(h.ClaimedBy)
		}
	}
	k.say("common.note_sent", nil)
	return nil
}

// contact keeps a phone number a resident shared with their open help
// requests, for the claimer only, and tells a claimer who already came.
func (k *desk) contact(ctx context.Context, phone string) error {
	if k.d.Help == nil {
		return nil
	}
	hs, err := k.d.Help.OpenHelps(ctx, k.s.Hamlet)
	if err != nil {
		return err
	}
	saved := false
	for _, h := range hs {
		if h.Resident != k.me {
			continue
		}
		h, wrote, err := k.d.Help.UpdateHelp(ctx, h.ID, func(x *flows.HelpRequest) bool { x.Contact = phone; return true })
		if err != nil {
			return err
		}
		saved = saved || wrote
		tell := false
		if wrote {
			if tell, err = k.d.claimerMay(ctx, h); err != nil {
				return err
			}
		}
		if tell {
			lang := "vi"
			if s, err := k.d.FollowUp.Session(ctx, h.ClaimedBy); err == nil && s.Lang != "" {
				lang = s.Lang
			}
			name := h.Name
			text, _ := k.d.Loc.Localize(lang, "staff.contact_shared", map[string]any{"Name": name, "Phone": phone})
			// The id names the request and the turn, never the number: ids
			// outlive the message in the helper's sent markers and are
			// logged when a send fails. The turn's name, not the clock, so
			// that a retried turn passes the number on once.
			r := flows.Reply{ID: "contact:" + h.ID + ":" + k.turn, Text: text}
			if err := k.d.Help.Enqueue(ctx, h.ClaimedBy, r); err != nil {
				return err
			}
			if k.d.Notify != nil {
				k.d.Notify(h.ClaimedBy)
			}
		}
	}
	if saved {
		k.say("common.contact_saved", nil)
	} else {
		k.say("common.contact_ignored", nil)
	}
	return nil
}

// helpMessages are the words of this file and their fields.
func helpMessages() map[string][]string {
	f := []string{"Name", "Hamlet", "Flow", "Step", "StepName"}
	return map[string][]string{
		"staff.help_new": f, "staff.help_urgent": f, "staff.help_escalated": f, "staff.help_claimed_you": f, "staff.help_yours": f,
		"staff.help_taken":  append(append([]string{}, f...), "Claimer"),
		"staff.help_closed": f, "staff.helpdesk": {"List"}, "staff.helpdesk_none": nil,
		"staff.helpdesk_line":       append(append([]string{}, f...), "Status"),
		"staff.help_status_open":    {"Claimer"},
		"staff.help_status_claimed": {"Claimer"},
		"staff.btn.claim":           nil,
		"staff.btn.claim_name":      append(append([]string{}, f...), "Status"),
		"staff.btn.close":           nil,
		"staff.btn.close_name":      append(append([]string{}, f...), "Status"),
		"staff.no_flow":             nil,
		"staff.btn.message":         append(append([]string{}, f...), "Status"),
		"staff.compose":             f,
		"staff.message_sent":        f,
		"staff.contact_shared":      {"Name", "Phone"},
		"common.message_from_team":  {"Name", "Text"},
		"common.contact_saved":      nil,
		"common.write_place_ask":    nil,
		"common.note_sent":          nil,
		"common.share_phone_hint":   nil,
		"common.btn.write_place":    nil,
		"common.btn.share_phone":    nil,
		"staff.note_from_resident":  {"Name", "Note"},
		"common.help_coming":        {"Name"},
		"common.reminder":           {"Flow"},
		"staff.remind_done":         {"Now", "Later", "Skipped"},
		"staff.remind_unknown_flow": {"Flow"},
	}
}

// stepName names a step for the team's lists by the first words residents
// read there (its text in lang, to the end of its first sentence, at most
// about 45 characters): "bước 11" alone tells a helper nothing.
func (d *Desk) stepName(lang string, f *flows.Flow, stepID string) string {
	i := slices.IndexFunc(f.Steps, func(x flows.Step) bool { return x.ID == stepID })
	if i < 0 || f.Steps[i].Say == "" {
		return ""
	}
	text, err := d.Loc.Localize(lang, f.Steps[i].Say, map[string]any{"Hamlet": "", "Commune": ""})
	if err != nil {
		return ""
	}
	return shortName(text)
}

// shortName is the first sentence of text, cut at a word to about 45
// characters, with "…" when cut.
func shortName(text string) string {
	if i := strings.IndexAny(text, ".?!:\n"); i > 0 {
		text = text[:i]
	}
	text = strings.TrimSpace(text)
	r := []rune(text)
	if len(r) <= 48 {
		return text
	}
	cut := 45
	for cut > 20 && r[cut] != ' ' {
		cut--
	}
	return strings.TrimSpace(string(r[:cut])) + "…"
}
