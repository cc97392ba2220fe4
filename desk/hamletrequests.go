package desk

import (
	"context"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// HamletRequestStore keeps the hamlet names residents typed that their
// commune does not list (issue 19); package store implements it.
type HamletRequestStore interface {
	HamletRequests(ctx context.Context, commune string) ([]flows.HamletRequest, error)
	DropHamletRequest(ctx context.Context, commune, key string) error
}

// maxRequestButtons is how many requests /hamletrequests offers to add at
// once, the most asked first.
const maxRequestButtons = 8

// coordinator returns the caller if they are a coordinator; otherwise it
// says so and ok is false.
func (k *desk) coordinator(ctx context.Context) (flows.Member, bool, error) {
	m, ok, err := k.whoami(ctx)
	if err != nil {
		return flows.Member{}, false, err
	}
	if !ok || m.Role != flows.RoleCoordinator {
		k.say("staff.only_coordinators_add", nil)
		return flows.Member{}, false, nil
	}
	return m, true, nil
}

// myCommune returns the commune id if it is valid today and m covers it;
// otherwise it says so and ok is false.
func (k *desk) myCommune(m flows.Member, id string) (flows.Area, bool) {
	c, ok := k.d.Areas.Area(id)
	if !ok || c.Level != flows.LevelCommune || !c.ValidOn(k.now.Format("2006-01-02")) || !Covers(k.d.Areas, m, c.ID) {
		k.say("staff.not_your_area", nil)
		return flows.Area{}, false
	}
	return c, true
}

// hamletRequests shows a coordinator the hamlet names residents of their
// communes typed, each with a button that adds it (/addhamlet in one
// tap); with several communes asking, it asks which first.
func (k *desk) hamletRequests(ctx context.Context, communeID string) error {
	m, ok, err := k.coordinator(ctx)
	if err != nil || !ok || k.d.Requests == nil {
		if err == nil && ok {
			k.say("staff.unknown", nil)
		}
		return err
	}
	if communeID != "" {
		c, ok := k.myCommune(m, communeID)
		if !ok {
			return nil
		}
		return k.showRequests(ctx, c)
	}
	var asking []flows.Area
	var cs []flows.Choice
	for _, c := range k.d.Areas.Communes() {
		if !c.ValidOn(k.now.Format("2006-01-02")) || !Covers(k.d.Areas, m, c.ID) {
			continue
		}
		rs, err := k.requestsOf(ctx, c)
		if err != nil {
			return err
		}
		if len(rs) > 0 {
			asking = append(asking, c)
			cs = append(cs, flows.Choice{Label: c.Name, Action: actStaff + "hreq:" + c.ID})
		}
	}
	switch len(asking) {
	case 0:
		k.say("staff.hamlet_requests_none", nil)
		return nil
	case 1:
		return k.showRequests(ctx, asking[0])
	}
	k.ask("staff.hamlet_requests_which", nil, cs)
	return nil
}

// requestsOf returns a commune's requests whose hamlet does not exist
// yet; a request whose hamlet was added since is dropped.
func (k *desk) requestsOf(ctx context.Context, c flows.Area) ([]flows.HamletRequest, error) {
	rs, err := k.d.Requests.HamletRequests(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	var out []flows.HamletRequest
	for _, r := range rs {
		if k.hamletExists(c.ID, r.Key) {
			if err := k.d.Requests.DropHamletRequest(ctx, c.ID, r.Key); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// hamletExists reports whether a hamlet of the commune has a name or
// alias whose flows.HamletKey is key.
func (k *desk) hamletExists(commune, key string) bool {
	for _, h := range k.d.Areas.Children(commune) {
		if h.Level != flows.LevelHamlet || h.Unassigned {
			continue
		}
		for _, n := range append([]string{h.Name}, h.Aliases...) {
			if flows.HamletKey(n) == key {
				return true
			}
		}
	}
	return false
}

// showRequests lists one commune's requests with their buttons.
func (k *desk) showRequests(ctx context.Context, c flows.Area) error {
	rs, err := k.requestsOf(ctx, c)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		k.say("staff.hamlet_requests_none", nil)
		return nil
	}
	var lines []string
	var cs []flows.Choice
	for i, r := range rs {
		lines = append(lines, k.text("staff.hamlet_request_line", map[string]any{
			"Name": r.Name, "Count": r.Count, "Date": r.Last.In(k.loc()).Format("02/01")}))
		if i < maxRequestButtons {
			cs = append(cs, flows.Choice{Label: k.text("staff.btn.add_requested", map[string]any{"Name": r.Name}),
				Action: actStaff + "addreq:" + c.ID + ":" + r.Key})
		}
	}
	k.ask("staff.hamlet_requests", map[string]any{"Commune": c.Name, "List": strings.Join(lines, "\n")}, cs)
	return nil
}

// addRequested adds the hamlet a request names, as /addhamlet does, and
// drops the request once the hamlet is there.
func (k *desk) addRequested(ctx context.Context, communeID, key string) error {
	m, ok, err := k.coordinator(ctx)
	if err != nil || !ok {
		return err
	}
	if k.d.Requests == nil {
		k.say("staff.unknown", nil)
		return nil
	}
	c, ok := k.myCommune(m, communeID)
	if !ok {
		return nil
	}
	rs, err := k.d.Requests.HamletRequests(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Key != key {
			continue
		}
		if !k.hamletExists(c.ID, key) {
			added, err := k.addHamletTo(ctx, m, r.Name, c)
			if err != nil || !added {
				return err
			}
		} else {
			k.say("staff.hamlet_request_exists", map[string]any{"Name": r.Name, "Commune": c.Name})
		}
		return k.d.Requests.DropHamletRequest(ctx, c.ID, key)
	}
	k.say("staff.hamlet_request_gone", nil)
	return nil
}

// loc is the desk's time zone.
func (k *desk) loc() *time.Location {
	if k.d.Location == nil {
		return time.UTC
	}
	return k.d.Location
}

// requestMessages are the words of this file and their fields.
func requestMessages() map[string][]string {
	return map[string][]string{
		"staff.hamlet_requests":       {"Commune", "List"},
		"staff.hamlet_request_line":   {"Name", "Count", "Date"},
		"staff.hamlet_requests_none":  nil,
		"staff.hamlet_requests_which": nil,
		"staff.hamlet_request_exists": {"Name", "Commune"},
		"staff.hamlet_request_gone":   nil,
		"staff.btn.add_requested":     {"Name"},
	}
}
