// Package desk is the team desk of Hàng xóm số: the commands of team members
// and coordinators (joining by invite, the team list, /pending, the help
// requests, reminders, /stats, /export, /log, posters, payees, /move).
// Unlike the engine it reads and writes other people's data, so it does I/O
// behind the store interfaces it declares (stores.go); the service calls it
// through flows.TeamDesk, which Desk implements. It imports flows, never the
// other way round.
package desk

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// Desk answers the commands of team members and coordinators: joining by
// invite, inviting, and the team list. Unlike the engine it reads other
// people's data, so it runs in the service, with I/O; every command checks
// the caller's role and area first.
type Desk struct {
	Store StaffStore
	Areas flows.Directory
	Loc   flows.Localizer
	// Coordinators are province-wide coordinators from configuration
	// (COORDINATOR_IDS), whatever the store says.
	Coordinators []string
	// BotUsername makes t.me links; without it only the code is shown.
	BotUsername string
	// InviteTTL is how long an invite made in chat lives; default 7 days.
	InviteTTL time.Duration
	// Random is the source of invite codes; default crypto/rand.
	Random io.Reader

	// Help keeps help requests; Notify, when set, is told of every other
	// person whose outbox the Desk filled (the Telegram sender drains it).
	Help   HelpStore
	Notify func(resident string)
	// NotifyBulk, when set, is told instead of Notify of an outbox holding a
	// message the bot sends on its own (a reminder), paced as bulk.
	NotifyBulk func(resident string)

	// Reminders keeps the reminder queue; Location is BOT_TZ, for the
	// quiet hours.
	Reminders ReminderStore
	Location  *time.Location
	// BulkRate is SEND_RATE_BULK, the messages a second of bulk sends:
	// /remind hands the sender now only what it can send well before the
	// quiet hours (half of what the rate allows, other runs sharing it),
	// and queues the rest for the morning. 0: all now.
	BulkRate float64

	// Windows are the messaging windows of channels that reach a person
	// only for a while after their last message (Zalo: 7 days, free for the
	// first 48 h): reminders, help alerts and /pending, /team follow them
	// (window.go). Residents of other channels have none.
	Windows []Window
	// BilledMessages is ZALO_BILLED_MESSAGES: reminders may go out in the
	// billed part of a window; by default only in the free part.
	BilledMessages bool
	// KeptAlive remembers the keep-alive messages sent to team members.
	KeptAlive WindowStore

	// FollowUp, Library and WaitExpiry serve /pending.
	FollowUp   FollowUpStore
	Library    *flows.Library
	WaitExpiry time.Duration
	// PrivateFlows are flows whose residents only coordinators and party-cell
	// secretaries may see by name (party membership is sensitive); others
	// see a count. Default: party-handbook.
	PrivateFlows []string
	// Payees keeps the registered payees (/payee).
	Payees flows.PayeeStore
	// Move files a resident under a hamlet for /move.
	Move MoveFunc
	// Poster renders a hamlet's poster; AddArea stores a new hamlet.
	Poster  PosterFunc
	AddArea AddAreaFunc
	// Requests keeps the hamlet names residents typed (/hamletrequests).
	Requests HamletRequestStore
	// Stats serves /stats, /export and /log (stats.go).
	Stats Stats
	// Dashboard makes the links /dashboard answers with; nil: the
	// dashboard is not set up (DASHBOARD_URL), and /dashboard says so.
	Dashboard Logins
	// Logger is told of what fails without failing the command (a /stats
	// picture not drawn); default slog.Default().
	Logger *slog.Logger
}

// actStaff starts the action of every button on the desk's screens.
const actStaff = flows.StaffAction

var _ flows.TeamDesk = (*Desk)(nil)

// pendingPage is how many residents one /pending message lists.
const pendingPage = 8

// Limits against guessing invite codes: 5 tries, then one more every 12 min.
const (
	joinBurst = 5
	joinRate  = 5.0 / 3600
)

// InviteCode returns a new unguessable code: 80 random bits, lower-case
// base32 (16 characters of a-z and 2-7), fit for a t.me start payload. It
// is one that flows.InviteCodeOf reads, so that it may be typed alone
// where there is no deep link (Zalo): it has a digit and a letter and is
// no secret by flows.Sensitive (it does not start with "mk", "pw", "otp"…
// and more digits). Some 4% of draws are drawn again, which leaves some
// 79.9 bits.
func InviteCode(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	for {
		var b [10]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", fmt.Errorf("desk: invite code: %w", err)
		}
		code := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
		if _, ok := flows.InviteCodeOf(code); ok {
			return code, nil
		}
	}
}

// InviteLink is the t.me link that joins with code.
func InviteLink(bot, code string) string {
	if bot == "" {
		return ""
	}
	return "https://t.me/" + bot + "?start=j_" + code
}

// desk is one Desk call.
type desk struct {
	d       *Desk
	me      string
	s       *flows.Session
	now     time.Time
	replies []flows.Reply
	args    string // text that came with an action (a message to send)
	// turn names the turn for the ids of what is enqueued for others
	// (flows.StaffRequest.Turn): the same on every attempt at it.
	turn string
}

// Do performs a staff request for resident and returns the replies. A
// refusal (wrong role, wrong area) is a reply, not an error; errors are
// failures of the store.
func (d *Desk) Do(ctx context.Context, resident string, s *flows.Session, req flows.StaffRequest, now time.Time) ([]flows.Reply, error) {
	k := &desk{d: d, me: resident, s: s, now: now, turn: req.Turn}
	if k.turn == "" {
		k.turn = "t" + strconv.FormatInt(now.UnixNano(), 36) // a caller that names no turn: each call is one
	}
	if req.Action == actStaff+"contact" {
		// A resident sharing a phone number mid-guide: their screen stays.
		return k.replies, k.contact(ctx, req.Args)
	}
	s.Stage = flows.StageStaff
	s.Keyboard, s.KeyboardSum = nil, ""
	s.Compose = ""
	var err error
	switch {
	case req.Command == "join":
		err = k.join(ctx, req.Args)
	case req.Command == "invite":
		err = k.invite(ctx, strings.Fields(req.Args))
	case req.Command == "team":
		err = k.team(ctx)
	case req.Command == "pending":
		err = k.pending(ctx, 0)
	case req.Command == "stats":
		err = k.stats(ctx, req.Args)
	case req.Command == "export":
		err = k.export(ctx, req.Args)
	case req.Command == "log":
		err = k.log(ctx, req.Args)
	case req.Command == "helpdesk":
		err = k.helpdesk(ctx)
	case req.Command == "remind":
		err = k.remind(ctx, req.Args)
	case req.Command == "poster":
		err = k.poster(ctx, "")
	case req.Command == "addhamlet":
		err = k.addHamlet(ctx, req.Args, "")
	case req.Command == "hamletrequests":
		err = k.hamletRequests(ctx, "")
	case req.Command == "move":
		err = k.move(ctx, nil)
	case req.Command == "payee":
		err = k.payee(ctx, req.Args)
	case req.Command == "dashboard":
		err = k.dashboard(ctx)
	case strings.HasPrefix(req.Action, actStaff):
		k.args = req.Args
		err = k.action(ctx, strings.Split(strings.TrimPrefix(req.Action, actStaff), ":"))
	default:
		k.say("staff.unknown", nil)
	}
	return k.replies, err
}

func (k *desk) text(id string, data map[string]any) string {
	t, _ := k.d.Loc.Localize(flows.LangOrDefault(k.s.Lang), id, data)
	if t == "" {
		return id
	}
	return t
}

func (k *desk) say(id string, data map[string]any) {
	k.replies = append(k.replies, flows.Reply{Text: k.text(id, data)})
}

func (k *desk) ask(id string, data map[string]any, cs []flows.Choice) {
	k.replies = append(k.replies, flows.Reply{Text: k.text(id, data), Buttons: flows.SetKeyboard(k.s, cs)})
}

// whoami returns the caller's role: configured coordinators first, then
// the store. ok is false for a plain resident.
func (k *desk) whoami(ctx context.Context) (flows.Member, bool, error) {
	return k.d.memberOf(ctx, k.me, k.s.Name)
}

// memberOf is person id as a member: a province-wide coordinator of the
// configuration (named name), or a stored member.
func (d *Desk) memberOf(ctx context.Context, id, name string) (flows.Member, bool, error) {
	if slices.Contains(d.Coordinators, id) {
		m := flows.Member{ID: id, Role: flows.RoleCoordinator, Name: name}
		for _, c := range d.Areas.Communes() {
			if p, ok := d.Areas.Area(c.ParentID); ok && p.Level == flows.LevelProvince && !slices.Contains(m.Areas, p.ID) {
				m.Areas = append(m.Areas, p.ID)
			}
		}
		return m, true, nil
	}
	return d.Store.Member(ctx, id)
}

// IsMember reports whether resident is a team member or coordinator, of
// the configuration or the store.
func (d *Desk) IsMember(ctx context.Context, resident string) (bool, error) {
	_, ok, err := d.memberOf(ctx, resident, "")
	return ok, err
}

// staff is whoami for commands that need a team member or coordinator: a
// resident is told so, and ok is false.
func (k *desk) staff(ctx context.Context) (flows.Member, bool, error) {
	m, ok, err := k.whoami(ctx)
	if err == nil && !ok {
		k.say("staff.not_a_member", nil)
	}
	return m, ok, err
}

// Covers reports whether area id lies within (or is one of) m's areas.
func Covers(dir flows.Directory, m flows.Member, id string) bool {
	for depth := 0; id != "" && depth < 8; depth++ {
		if slices.Contains(m.Areas, id) {
			return true
		}
		a, ok := dir.Area(id)
		if !ok {
			return false
		}
		id = a.ParentID
	}
	return false
}

func (k *desk) areaName(id string) string {
	if a, ok := k.d.Areas.Area(id); ok {
		return a.Name
	}
	return id
}

func (k *desk) join(ctx context.Context, code string) error {
	if strings.TrimSpace(code) == "" {
		// "/join" alone: say how, without spending a try of the rate limit.
		k.say("staff.join_how", nil)
		return nil
	}
	ok, _, err := k.d.Store.Allow(ctx, "join:"+k.me, joinRate, joinBurst)
	if err != nil {
		return err
	}
	if !ok {
		k.say("staff.join_slow_down", nil)
		return nil
	}
	code = strings.ToLower(strings.TrimSpace(code))
	if !flows.InviteCodePattern.MatchString(code) {
		k.say("staff.join_invalid", nil)
		return nil
	}
	inv, err := k.d.Store.RedeemInvite(ctx, code)
	if errors.Is(err, flows.ErrInviteInvalid) {
		k.say("staff.join_invalid", nil)
		return nil
	}
	if err != nil {
		return err
	}
	m, found, err := k.d.Store.Member(ctx, k.me)
	if err != nil {
		return err
	}
	if found && m.Role == flows.RoleCoordinator && inv.Role == flows.RoleTeam {
		k.say("staff.join_already_coordinator", nil)
		return nil
	}
	if !found || m.Role != inv.Role {
		m = flows.Member{ID: k.me, Role: inv.Role, Since: k.now, AddedBy: inv.CreatedBy}
	}
	if m.Secretary && len(m.SecretaryAreas) == 0 {
		// Stored before SecretaryAreas: a secretary of the areas held so
		// far, not of the one joined now.
		m.SecretaryAreas = slices.Clone(m.Areas)
	}
	if !slices.Contains(m.Areas, inv.AreaID) {
		m.Areas = append(m.Areas, inv.AreaID)
	}
	if inv.Secretary && !slices.Contains(m.SecretaryAreas, inv.AreaID) {
		m.SecretaryAreas = append(m.SecretaryAreas, inv.AreaID)
	}
	m.Secretary = len(m.SecretaryAreas) > 0
	if k.s.Name != "" {
		m.Name = k.s.Name
	}
	if err := k.d.Store.PutMember(ctx, m); err != nil {
		return err
	}
	k.say("staff.joined_"+string(inv.Role), map[string]any{"Area": k.areaName(inv.AreaID)})
	return nil
}

// invite makes an invite, asking for the role and the area with buttons
// when they are not given.
func (k *desk) invite(ctx context.Context, args []string) error {
	m, ok, err := k.whoami(ctx)
	if err != nil {
		return err
	}
	if !ok || m.Role != flows.RoleCoordinator {
		k.say("staff.only_coordinators", nil)
		return nil
	}
	if len(args) == 0 {
		k.ask("staff.invite_role", nil, []flows.Choice{
			{Label: k.text("staff.btn.role_team", nil), Action: actStaff + "inv:team"},
			{Label: k.text("staff.btn.role_coordinator", nil), Action: actStaff + "inv:coordinator"},
		})
		return nil
	}
	role := flows.Role(args[0])
	if role != flows.RoleTeam && role != flows.RoleCoordinator {
		k.say("staff.invite_role", nil)
		return nil
	}
	if len(args) == 1 {
		var cs []flows.Choice
		for _, a := range k.invitable(m, role) {
			cs = append(cs, flows.Choice{Label: a.Name, Action: actStaff + "inv:" + string(role) + ":" + a.ID})
		}
		if len(cs) == 0 {
			k.say("staff.invite_no_area", nil)
			return nil
		}
		k.ask("staff.invite_area", nil, cs)
		return nil
	}
	area, ok := k.d.Areas.Area(args[1])
	if !ok || !Covers(k.d.Areas, m, area.ID) || !levelFits(role, area.Level) {
		k.say("staff.not_your_area", nil)
		return nil
	}
	ttl := k.d.InviteTTL
	if ttl <= 0 {
		ttl = 7 * 24 * time.Hour
	}
	code, err := InviteCode(k.d.Random)
	if err != nil {
		return err
	}
	inv := flows.Invite{Code: code, AreaID: area.ID, AreaLevel: area.Level, Role: role, Uses: 1, ExpiresAt: k.now.Add(ttl), CreatedBy: k.me,
		Secretary: len(args) > 2 && args[2] == "secretary"} // "/invite team <hamlet> secretary"
	if err := k.d.Store.CreateInvite(ctx, inv); err != nil {
		return err
	}
	data := map[string]any{"Code": code, "Area": area.Name, "Days": int(ttl.Hours() / 24)}
	if link := InviteLink(k.d.BotUsername, code); link != "" {
		data["Link"] = link
		k.say("staff.invite_made_link", data)
	} else {
		k.say("staff.invite_made", data)
	}
	return nil
}

// levelFits: team members join hamlets, coordinators communes or provinces.
func levelFits(role flows.Role, level string) bool {
	if role == flows.RoleTeam {
		return level == flows.LevelHamlet
	}
	return level == flows.LevelCommune || level == flows.LevelProvince
}

// invitable lists the areas a coordinator may invite role to, valid today.
func (k *desk) invitable(m flows.Member, role flows.Role) []flows.Area {
	day := k.now.Format("2006-01-02")
	var out []flows.Area
	for _, c := range k.d.Areas.Communes() {
		if !c.ValidOn(day) || !Covers(k.d.Areas, m, c.ID) {
			continue
		}
		if role == flows.RoleCoordinator {
			out = append(out, c)
			continue
		}
		for _, h := range k.d.Areas.Children(c.ID) {
			if h.Level == flows.LevelHamlet && h.ValidOn(day) && !h.Unassigned {
				h.Name = h.Name + " (" + c.Name + ")"
				out = append(out, h)
			}
		}
	}
	return out
}

// team lists the team members a coordinator is responsible for, with a
// button to remove each and one to invite; a team member sees their hamlets.
func (k *desk) team(ctx context.Context) error {
	m, ok, err := k.staff(ctx)
	if err != nil || !ok {
		return err
	}
	if m.Role == flows.RoleTeam {
		var names []string
		for _, a := range m.Areas {
			names = append(names, k.areaName(a))
		}
		k.say("staff.team_mine", map[string]any{"Hamlets": strings.Join(names, ", ")})
		return nil
	}
	all, err := k.d.Store.Members(ctx)
	if err != nil {
		return err
	}
	var lines []string
	var cs []flows.Choice
	for _, x := range all {
		if x.ID == k.me || !k.within(m, x) {
			continue
		}
		var areas []string
		for _, a := range x.Areas {
			areas = append(areas, k.areaName(a))
		}
		name := x.Name
		if name == "" {
			name = x.ID
		}
		line := k.text("staff.team_line", map[string]any{"Name": name, "Role": k.text("staff.role_"+string(x.Role), nil), "Areas": strings.Join(areas, ", ")})
		if line, err = k.markOutOfReach(ctx, line, x.ID); err != nil {
			return err
		}
		lines = append(lines, line)
		cs = append(cs, flows.Choice{Label: k.text("staff.btn.remove", map[string]any{"Name": name}), Action: actStaff + "rm:" + x.ID})
	}
	sort.Strings(lines)
	cs = append(cs, flows.Choice{Label: k.text("staff.btn.invite", nil), Action: actStaff + "inv"})
	if len(lines) == 0 {
		k.ask("staff.team_empty", nil, cs)
		return nil
	}
	k.ask("staff.team_list", map[string]any{"List": strings.Join(lines, "\n")}, cs)
	return nil
}

// within reports whether every area of x lies in the coordinator m's areas.
func (k *desk) within(m flows.Member, x flows.Member) bool {
	if len(x.Areas) == 0 {
		return false
	}
	for _, a := range x.Areas {
		if !Covers(k.d.Areas, m, a) {
			return false
		}
	}
	return true
}

func (k *desk) action(ctx context.Context, parts []string) error {
	switch parts[0] {
	case "inv":
		return k.invite(ctx, parts[1:])
	case "rm", "rmok":
		if len(parts) < 2 {
			break
		}
		id := strings.Join(parts[1:], ":") // ids contain ":" (tg:123)
		m, ok, err := k.whoami(ctx)
		if err != nil {
			return err
		}
		x, found, err := k.d.Store.Member(ctx, id)
		if err != nil {
			return err
		}
		if !ok || m.Role != flows.RoleCoordinator || !found || !k.within(m, x) {
			k.say("staff.not_your_area", nil)
			return nil
		}
		name := x.Name
		if name == "" {
			name = x.ID
		}
		if parts[0] == "rm" {
			k.ask("staff.remove_ask", map[string]any{"Name": name}, []flows.Choice{
				{Label: k.text("staff.btn.remove_yes", nil), Action: actStaff + "rmok:" + id},
				{Label: k.text("common.btn.back", nil), Action: actStaff + "team"},
			})
			return nil
		}
		if err := k.d.Store.RemoveMember(ctx, id); err != nil {
			return err
		}
		if err := k.releaseClaims(ctx, x); err != nil {
			return err
		}
		k.say("staff.removed", map[string]any{"Name": name})
		return nil
	case "team":
		return k.team(ctx)
	case "alive": // the keep-alive message's button (window.go)
		k.say("staff.keepalive_ok", nil)
		return nil
	case "poster":
		if len(parts) > 1 {
			return k.poster(ctx, parts[1])
		}
	case "payee":
		return k.payee(ctx, "")
	case "payarea":
		if len(parts) > 2 {
			return k.payeeAsk(ctx, parts[1], strings.Join(parts[2:], ":"))
		}
	case "payadd":
		return k.payeeAdd(ctx, k.args)
	case "payrm":
		if len(parts) > 1 {
			return k.payeeRemove(ctx, parts[1])
		}
	case "mv":
		return k.move(ctx, parts[1:])
	case "addh":
		if len(parts) > 2 {
			return k.addHamlet(ctx, strings.Join(parts[2:], ":"), parts[1])
		}
	case "hreq":
		if len(parts) > 1 {
			return k.hamletRequests(ctx, parts[1])
		}
	case "addreq":
		if len(parts) > 2 {
			return k.addRequested(ctx, parts[1], strings.Join(parts[2:], ":"))
		}
	case "helpdesk":
		return k.helpdesk(ctx)
	case "note":
		if len(parts) > 1 && k.d.Help != nil {
			return k.note(ctx, parts[1], k.args)
		}
	case "msg":
		if len(parts) > 1 && k.d.Help != nil {
			return k.compose(ctx, parts[1])
		}
	case "send":
		if len(parts) > 1 && k.d.Help != nil {
			return k.sendToResident(ctx, parts[1], k.args)
		}
	case "claim", "close":
		if len(parts) < 2 || k.d.Help == nil {
			break
		}
		if parts[0] == "claim" {
			return k.claim(ctx, parts[1])
		}
		return k.closeHelp(ctx, parts[1])
	case "st", "exp", "log":
		return k.statsAction(ctx, parts)
	case "pending":
		page := 0
		if len(parts) > 1 {
			fmt.Sscanf(parts[1], "%d", &page)
		}
		return k.pending(ctx, page)
	}
	k.say("staff.unknown", nil)
	return nil
}

// hamletsOf lists the hamlets a member follows: a team member's own, or
// every hamlet (unassigned ones included) in a coordinator's areas.
func (k *desk) hamletsOf(m flows.Member) []flows.Area {
	var out []flows.Area
	if m.Role == flows.RoleTeam {
		for _, id := range m.Areas {
			if a, ok := k.d.Areas.Area(id); ok && a.Level == flows.LevelHamlet {
				out = append(out, a)
			}
		}
		return out
	}
	for _, c := range k.d.Areas.Communes() {
		for _, h := range k.d.Areas.Children(c.ID) {
			if h.Level == flows.LevelHamlet && Covers(k.d.Areas, m, h.ID) {
				out = append(out, h)
			}
		}
	}
	return out
}

type pendingRow struct {
	hamlet flows.Area
	flow   *flows.Flow
	entry  flows.OpenEntry
}

// pending lists the residents of the member's hamlets with an unfinished
// flow, oldest first, a page at a time.
func (k *desk) pending(ctx context.Context, page int) error {
	m, ok, err := k.staff(ctx)
	if err != nil || !ok {
		return err
	}
	var rows []pendingRow
	hidden := map[string]int{}
	for _, h := range k.hamletsOf(m) {
		for _, f := range k.d.Library.Flows() {
			es, err := k.d.FollowUp.Open(ctx, h.ID, f.ID)
			if err != nil {
				return err
			}
			if !k.mayName(m, h.ID, f.ID) {
				hidden[f.ID] += len(es)
				continue
			}
			for _, e := range es {
				rows = append(rows, pendingRow{hamlet: h, flow: f, entry: e})
			}
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].entry.Last.Before(rows[j].entry.Last) })
	var notes []string
	for _, f := range k.d.Library.Flows() {
		if n := hidden[f.ID]; n > 0 {
			notes = append(notes, k.text("staff.pending_hidden", map[string]any{"Flow": k.text(f.Title, nil), "Total": n}))
		}
	}
	if len(rows) == 0 {
		k.say("staff.pending_none", nil)
		for _, n := range notes {
			k.say("staff.pending_note", map[string]any{"Note": n})
		}
		return nil
	}
	pages := (len(rows) + pendingPage - 1) / pendingPage
	page = max(0, min(page, pages-1))
	var lines []string
	for _, r := range rows[page*pendingPage : min(len(rows), (page+1)*pendingPage)] {
		line, err := k.pendingLine(ctx, r)
		if err != nil {
			return err
		}
		lines = append(lines, line)
	}
	lines = append(lines, notes...)
	var cs []flows.Choice
	if page > 0 {
		cs = append(cs, flows.Choice{Label: k.text("staff.btn.prev_page", nil), Action: fmt.Sprintf("%spending:%d", actStaff, page-1)})
	}
	if page+1 < pages {
		cs = append(cs, flows.Choice{Label: k.text("staff.btn.next_page", nil), Action: fmt.Sprintf("%spending:%d", actStaff, page+1)})
	}
	data := map[string]any{"Total": len(rows), "Page": page + 1, "Pages": pages, "List": strings.Join(lines, "\n")}
	if len(cs) == 0 {
		k.say("staff.pending", data)
	} else {
		k.ask("staff.pending", data, cs)
	}
	return nil
}

// pendingLine describes one resident: name, hamlet, flow, step, days since
// the last answer, stalled, help asked.
func (k *desk) pendingLine(ctx context.Context, r pendingRow) (string, error) {
	name := k.text("staff.someone", nil)
	step, total, stepName := 0, len(r.flow.Steps), ""
	var help, out bool
	if id, ok, err := k.d.FollowUp.Resident(ctx, r.entry.Pseudonym); err != nil {
		return "", err
	} else if ok {
		s, err := k.d.FollowUp.Session(ctx, id)
		if err != nil {
			return "", err
		}
		if s.Name != "" {
			name = s.Name
		}
		out = k.d.reachOf(id, s.Seen, k.now) == reachOut
		runs := append([]flows.Run(nil), s.Paused...)
		if s.Active != nil {
			runs = append(runs, *s.Active)
		}
		for _, run := range runs {
			if run.Flow == r.flow.ID {
				if i := slices.IndexFunc(r.flow.Steps, func(x flows.Step) bool { return x.ID == run.Step }); i >= 0 {
					step = i + 1
					stepName = k.d.stepName(flows.LangOrDefault(k.s.Lang), r.flow, run.Step)
				}
				help = !s.HelpAt.IsZero() && !s.HelpAt.Before(run.Started)
			}
		}
	}
	days := int(k.now.Sub(r.entry.Last).Hours() / 24)
	line := k.text("staff.pending_line", map[string]any{"Name": name, "Hamlet": r.hamlet.Name, "Flow": k.text(r.flow.Title, nil),
		"Step": step, "Steps": total, "StepName": stepName, "Days": days})
	if k.d.WaitExpiry > 0 && k.now.Sub(r.entry.Last) > k.d.WaitExpiry {
		line += " " + k.text("staff.mark_stalled", nil)
	}
	if help {
		line += " " + k.text("staff.mark_help", nil)
	}
	if out {
		line += " " + k.text("staff.mark_out_of_window", map[string]any{"Days": k.windowDays()})
	}
	return line, nil
}

// staffMessages are the words of this file and their fields.
func staffMessages() map[string][]string {
	return map[string][]string{
		"staff.unknown": nil, "staff.join_slow_down": nil, "staff.join_invalid": nil, "staff.join_how": nil,
		"staff.join_already_coordinator": nil, "staff.joined_team": {"Area"}, "staff.joined_coordinator": {"Area"},
		"staff.only_coordinators": nil, "staff.invite_role": nil, "staff.invite_area": nil,
		"staff.invite_no_area": nil, "staff.not_your_area": nil,
		"staff.invite_made": {"Code", "Area", "Days"}, "staff.invite_made_link": {"Code", "Area", "Days", "Link"},
		"staff.not_a_member": nil, "staff.team_mine": {"Hamlets"}, "staff.team_line": {"Name", "Role", "Areas"},
		"staff.team_list": {"List"}, "staff.team_empty": nil, "staff.role_team": nil, "staff.role_coordinator": nil,
		"staff.remove_ask": {"Name"}, "staff.removed": {"Name"},
		"staff.btn.role_team": nil, "staff.btn.role_coordinator": nil, "staff.btn.invite": nil,
		"staff.btn.remove": {"Name"}, "staff.btn.remove_yes": nil,
		"staff.pending":        {"Total", "Page", "Pages", "List"},
		"staff.pending_line":   {"Name", "Hamlet", "Flow", "Step", "Steps", "StepName", "Days"},
		"staff.pending_none":   nil,
		"staff.pending_hidden": {"Flow", "Total"},
		"staff.pending_note":   {"Note"},
		"staff.someone":        nil,
		"staff.mark_stalled":   nil,
		"staff.mark_help":      nil,
		"staff.btn.next_page":  nil,
		"staff.btn.prev_page":  nil,
	}
}

// Messages returns every message id the desk renders, with the template
// fields supplied to each, for content check (as flows.SystemMessages does
// for the engine's).
func Messages() map[string][]string {
	m := map[string][]string{}
	for _, more := range []func() map[string][]string{staffMessages, payeeMessages, moveMessages, areaMessages, helpMessages, statsMessages, windowMessages, requestMessages, dashboardMessages} {
		for id, fields := range more() {
			m[id] = fields
		}
	}
	return m
}
