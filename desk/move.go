package desk

import (
	"context"
	"slices"

	"github.com/hangxomso/hangxom/flows"
)

// MoveFunc files a resident under a hamlet on a team member's behalf (the
// service runs it as an input of the resident's own, under their lock).
// updateID names that input: the same on every attempt of the team
// member's turn, so a turn that runs again (a stale write, a redelivered
// update) moves the resident and tells them once.
type MoveFunc func(ctx context.Context, resident, hamlet, updateID string) error

// moveCommunes are the communes whose "not yet assigned" residents a member
// may place: a team member's hamlets' communes, a coordinator's communes.
func (k *desk) moveCommunes(m flows.Member) []string {
	var out []string
	for _, h := range k.hamletsOf(m) {
		if !slices.Contains(out, h.ParentID) {
			out = append(out, h.ParentID)
		}
	}
	return out
}

// mayMoveFrom reports whether m may move a resident out of hamlet: the
// commune's unassigned hamlet in m's communes, or one of m's hamlets.
func (k *desk) mayMoveFrom(m flows.Member, hamlet string) bool {
	h, ok := k.d.Areas.Area(hamlet)
	if !ok {
		return false
	}
	if h.Unassigned && slices.Contains(k.moveCommunes(m), h.ParentID) {
		return true
	}
	return k.mayHelp(m, hamlet)
}

// maxMoveList is how many waiting residents /move lists at once.
const maxMoveList = 20

// move lists the residents waiting in "not yet assigned" in the member's
// communes; picking one offers the member's hamlets of that commune.
func (k *desk) move(ctx context.Context, parts []string) error {
	m, ok, err := k.staff(ctx)
	if err != nil || !ok {
		return err
	}
	if k.d.Move == nil || k.d.FollowUp == nil {
		k.say("staff.unknown", nil)
		return nil
	}
	switch {
	case len(parts) == 0: // the list
		var cs []flows.Choice
	list:
		for _, c := range k.moveCommunes(m) {
			for _, h := range k.d.Areas.Children(c) {
				if !h.Unassigned {
					continue
				}
				ps, err := k.d.FollowUp.HamletResidents(ctx, h.ID)
				if err != nil {
					return err
				}
				for _, p := range ps {
					id, ok, err := k.d.FollowUp.Resident(ctx, p)
					if err != nil || !ok || id == k.me {
						continue
					}
					s, err := k.d.FollowUp.Session(ctx, id)
					if err != nil {
						return err
					}
					name := s.Name
					if name == "" {
						name = k.text("staff.someone", nil)
					}
					c, _ := k.d.Areas.Area(h.ParentID)
					cs = append(cs, flows.Choice{Label: k.text("staff.btn.move_who", map[string]any{"Name": name, "Commune": c.Name}), Action: actStaff + "mv:" + p, Private: true})
					if len(cs) >= maxMoveList {
						break list // a screen's worth; /move again after filing them
					}
				}
			}
		}
		if len(cs) == 0 {
			k.say("staff.move_none", nil)
			return nil
		}
		k.ask("staff.move_who", nil, cs)
		return nil
	case len(parts) == 1 || len(parts) == 2:
		id, ok, err := k.d.FollowUp.Resident(ctx, parts[0])
		if err != nil {
			return err
		}
		if !ok || id == k.me {
			k.say("staff.not_your_area", nil)
			return nil
		}
		s, err := k.d.FollowUp.Session(ctx, id)
		if err != nil {
			return err
		}
		if !k.mayMoveFrom(m, s.Hamlet) {
			k.say("staff.not_your_area", nil)
			return nil
		}
		from, _ := k.d.Areas.Area(s.Hamlet)
		if len(parts) == 1 {
			var cs []flows.Choice
			for _, h := range k.hamletsOf(m) {
				if h.ParentID == from.ParentID && !h.Unassigned && h.ID != s.Hamlet {
					cs = append(cs, flows.Choice{Label: h.Name, Action: actStaff + "mv:" + parts[0] + ":" + h.ID})
				}
			}
			if len(cs) == 0 {
				k.say("staff.no_hamlet_here", nil)
				return nil
			}
			k.ask("staff.move_where", map[string]any{"Name": s.Name}, cs)
			return nil
		}
		to, ok := k.d.Areas.Area(parts[1])
		if !ok || to.Level != flows.LevelHamlet || to.Unassigned || to.ParentID != from.ParentID || !k.mayHelp(m, to.ID) {
			k.say("staff.not_your_area", nil)
			return nil
		}
		if err := k.d.Move(ctx, id, to.ID, "move:"+to.ID+":"+k.me+":"+k.turn); err != nil {
			return err
		}
		if k.d.Notify != nil {
			k.d.Notify(id) // the resident hears at once
		}
		k.say("staff.moved", map[string]any{"Name": s.Name, "Hamlet": to.Name})
		return nil
	}
	k.say("staff.unknown", nil)
	return nil
}

// moveMessages are the words of this file and their fields.
func moveMessages() map[string][]string {
	return map[string][]string{
		"staff.move_who":       nil,
		"staff.btn.move_who":   {"Name", "Commune"},
		"staff.move_none":      nil,
		"staff.move_where":     {"Name"},
		"staff.moved":          {"Name", "Hamlet"},
		"common.moved_by_team": {"Hamlet", "Commune"},
	}
}
