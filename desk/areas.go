package desk

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hangxomso/hangxom/flows"
)

// PosterFunc renders a hamlet's printable poster (a PNG) for /poster and
// returns it with the link its QR code opens; the command wires it to the
// renderer so this package does no image work. channel is the asker's
// channel, their resident id's prefix ("tg", "zl"): a Zalo team member
// gets the poster of the Zalo Official Account, whose QR code opens the OA
// and which tells people to send the hamlet's code.
type PosterFunc func(ctx context.Context, channel string, hamlet, commune flows.Area) (flows.Document, string, error)

// ChannelZalo is the prefix of Zalo residents' ids ("zl:<user id>").
const ChannelZalo = "zl"

// AddAreaFunc stores a new area and makes the bot see it.
type AddAreaFunc func(ctx context.Context, a flows.Area) error

// poster sends a team member or coordinator the printable poster of one of
// their hamlets, asking which with buttons when they have several.
func (k *desk) poster(ctx context.Context, hamletID string) error {
	m, ok, err := k.staff(ctx)
	if err != nil || !ok {
		return err
	}
	if k.d.Poster == nil {
		k.say("staff.poster_unavailable", nil)
		return nil
	}
	var mine []flows.Area
	for _, h := range k.hamletsOf(m) {
		if !h.Unassigned && h.ValidOn(k.now.Format("2006-01-02")) {
			mine = append(mine, h)
		}
	}
	if hamletID == "" && len(mine) == 1 {
		hamletID = mine[0].ID
	}
	if hamletID == "" {
		var cs []flows.Choice
		for _, h := range mine {
			cs = append(cs, flows.Choice{Label: h.Name, Action: actStaff + "poster:" + h.ID})
		}
		if len(cs) == 0 {
			k.say("staff.no_hamlet_here", nil)
			return nil
		}
		k.ask("staff.poster_which", nil, cs)
		return nil
	}
	h, ok := k.d.Areas.Area(hamletID)
	if !ok || h.Level != flows.LevelHamlet || !k.mayHelp(m, h.ID) {
		k.say("staff.not_your_area", nil)
		return nil
	}
	c, _ := k.d.Areas.Area(h.ParentID)
	channel, _, _ := strings.Cut(k.me, ":")
	doc, link, err := k.d.Poster(ctx, channel, h, c)
	if err != nil {
		k.say("staff.poster_unavailable", nil)
		return nil
	}
	msg, data := "staff.poster_ready", map[string]any{"Hamlet": h.Name, "Link": link}
	if channel == ChannelZalo {
		msg, data = "staff.poster_ready_zalo", map[string]any{"Hamlet": h.Name, "Link": link, "Code": h.Code}
	}
	k.replies = append(k.replies, flows.Reply{Text: k.text(msg, data), Document: &doc})
	return nil
}

// addHamlet lets a coordinator add a hamlet to one of their communes:
// /addhamlet Name, then the commune by button (or at once if they have one).
func (k *desk) addHamlet(ctx context.Context, name, communeID string) error {
	m, ok, err := k.whoami(ctx)
	if err != nil {
		return err
	}
	if !ok || m.Role != flows.RoleCoordinator {
		k.say("staff.only_coordinators_add", nil)
		return nil
	}
	name = strings.Join(strings.Fields(name), " ")
	if name == "" || utf8.RuneCountInString(name) > 60 || flows.Sensitive(name) {
		k.say("staff.addhamlet_usage", nil)
		return nil
	}
	day := k.now.Format("2006-01-02")
	var communes []flows.Area
	for _, c := range k.d.Areas.Communes() {
		if c.ValidOn(day) && Covers(k.d.Areas, m, c.ID) {
			communes = append(communes, c)
		}
	}
	if communeID == "" && len(communes) == 1 {
		communeID = communes[0].ID
	}
	if communeID == "" {
		var cs []flows.Choice
		for _, c := range communes {
			cs = append(cs, flows.Choice{Label: c.Name, Action: actStaff + "addh:" + c.ID + ":" + name})
		}
		k.ask("staff.addhamlet_which", map[string]any{"Name": name}, cs)
		return nil
	}
	c, ok := k.d.Areas.Area(communeID)
	if !ok || c.Level != flows.LevelCommune || !Covers(k.d.Areas, m, c.ID) {
		k.say("staff.not_your_area", nil)
		return nil
	}
	_, err = k.addHamletTo(ctx, m, name, c)
	return err
}

// addHamletTo adds a hamlet named name to commune c, which m covers, and
// says so. added is false when nothing was added (the name is not one,
// or the commune has it).
func (k *desk) addHamletTo(ctx context.Context, m flows.Member, name string, c flows.Area) (added bool, err error) {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" || utf8.RuneCountInString(name) > 60 || flows.Sensitive(name) || !Covers(k.d.Areas, m, c.ID) {
		k.say("staff.addhamlet_usage", nil)
		return false, nil
	}
	for _, h := range k.d.Areas.Children(c.ID) {
		if h.Level == flows.LevelHamlet && flows.Fold(h.Name) == flows.Fold(name) {
			k.say("staff.addhamlet_exists", map[string]any{"Name": h.Name, "Commune": c.Name})
			return false, nil
		}
	}
	if k.d.AddArea == nil {
		k.say("staff.unknown", nil)
		return false, nil
	}
	day := k.now.Format("2006-01-02")
	id := newAreaID(k.d.Areas, c.ID, name)
	if err := k.d.AddArea(ctx, flows.Area{ID: id, Level: flows.LevelHamlet, Name: name, ParentID: c.ID, ValidFrom: day}); err != nil {
		return false, err
	}
	k.say("staff.addhamlet_done", map[string]any{"Name": name, "Commune": c.Name, "ID": id})
	return true, nil
}

// newAreaID makes a stable ASCII id "<commune>-<slug>", unique, ≤ 40.
func newAreaID(dir flows.Directory, commune, name string) string {
	var b strings.Builder
	dash := false
	for _, r := range flows.Fold(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.Trim(b.String(), "-")
	if slug == "" {
		slug = "xom"
	}
	base := commune + "-" + slug
	if len(base) > 36 {
		base = strings.TrimRight(base[:36], "-")
	}
	id := base
	for n := 2; ; n++ {
		if _, taken := dir.Area(id); !taken {
			return id
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}

// areaMessages are the words of this file and their fields.
func areaMessages() map[string][]string {
	return map[string][]string{
		"staff.poster_which":          nil,
		"staff.poster_ready":          {"Hamlet", "Link"},
		"staff.poster_ready_zalo":     {"Hamlet", "Link", "Code"},
		"staff.poster_unavailable":    nil,
		"staff.addhamlet_usage":       nil,
		"staff.addhamlet_which":       {"Name"},
		"staff.addhamlet_exists":      {"Name", "Commune"},
		"staff.addhamlet_done":        {"Name", "Commune", "ID"},
		"staff.no_hamlet_here":        nil,
		"staff.only_coordinators_add": nil,
	}
}
