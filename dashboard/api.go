package dashboard

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// The open feed (issue 20): the province's own systems read the counts of
// one area as JSON, with a key made by `hangxom apikey create`.
//
//	GET <base>api/v1/stats?from=YYYY-MM&to=YYYY-MM
//	GET <base>api/v1/funnel?hamlet=ID&flow=ID[&from=&to=]
//
// A key is sent as "Authorization: Bearer hxk_…" and nothing else
// authorises these routes: no cookie is read or set, so a dashboard session
// opens nothing here and a page elsewhere cannot make a browser call them
// on its person's behalf. The key's area is its scope (a hamlet, a
// commune's hamlets, the province's). A key is no person: it may never
// see residents' names, so a private flow's counts from 1 to 4 are always
// null, whoever made the key. Nothing of a key is logged; logs name its id.

// APIKeyPrefix starts every key, so that one found in a file or a log is
// recognised for what it is (secret scanners look for such prefixes).
const APIKeyPrefix = "hxk_"

// A key's rate: on average apiRate requests a second, in bursts of up to
// apiBurst; enough for a system polling every few seconds or fetching the
// funnels of a commune's hamlets at once, not for scraping the store.
const (
	apiRate  = 5.0
	apiBurst = 20
)

// NewAPIKey makes a key for the open feed: APIKeyPrefix and 256 random bits
// from r (default crypto/rand), base64url; and the hash the store keeps of
// it (hex SHA-256), the only form in which it is ever stored.
func NewAPIKey(r io.Reader) (key, keyHash string, err error) {
	s, err := random(r)
	if err != nil {
		return "", "", err
	}
	key = APIKeyPrefix + s
	return key, hash(key), nil
}

// apiScope is the caller of the feed: its key and the member the desk
// answers for, built from the key's area.
type apiScope struct {
	key  flows.APIKey
	area flows.Area
	m    flows.Member
}

// keyMember is the member whose view a key of area a has, by the chat
// commands' rules: a hamlet's key sees that hamlet as a team member of it
// does; a commune's or the province's sees its hamlets as a coordinator
// of it does. The desk would let a coordinator name the residents of a
// private flow; the feed never asks it (MayName), and masks every private
// flow's small counts (maskStatsRow, funnelColumn).
func keyMember(k flows.APIKey, a flows.Area) flows.Member {
	m := flows.Member{ID: "apikey:" + k.ID, Role: flows.RoleCoordinator, Areas: []string{a.ID}}
	if a.Level == flows.LevelHamlet {
		m.Role = flows.RoleTeam
	}
	return m
}

// apiAuth finds the caller of r by its key, and takes one request from the
// key's rate. Otherwise it answers the request itself (401, 429, 403) and
// ok is false.
func (s *Server) apiAuth(w http.ResponseWriter, r *http.Request) (apiScope, bool) {
	scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	key = strings.TrimSpace(key)
	if !strings.EqualFold(scheme, "Bearer") || key == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hangxom"`)
		s.apiError(w, http.StatusUnauthorized, "send the key as \"Authorization: Bearer hxk_…\"")
		return apiScope{}, false
	}
	body, ok := strings.CutPrefix(key, APIKeyPrefix)
	if !ok || !validToken(body) {
		s.refuseKey(w, "")
		return apiScope{}, false
	}
	h := hash(key)
	id := h[:12] // the store's id of the key: its hash's first 12 hex digits
	k, found, allowed, wait, err := s.Store.APIKey(r.Context(), h, apiRate, apiBurst)
	if err != nil {
		s.apiFail(w, "key "+id, err)
		return apiScope{}, false
	}
	if !found {
		s.refuseKey(w, id)
		return apiScope{}, false
	}
	if !allowed {
		// Debug: a client ignoring Retry-After would otherwise fill the log.
		s.logger().Debug("api: over the rate", "key", k.ID)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		s.apiError(w, http.StatusTooManyRequests, fmt.Sprintf("more than %g requests a second (bursts of %d): wait and retry", apiRate, apiBurst))
		return apiScope{}, false
	}
	a, ok := s.Desk.Area(k.Area)
	if !ok {
		s.logger().Warn("api: the key's area is gone", "key", k.ID, "area", k.Area)
		s.apiError(w, http.StatusForbidden, "the key's area "+k.Area+" no longer exists")
		return apiScope{}, false
	}
	return apiScope{key: k, area: a, m: keyMember(k, a)}, true
}

// refuseKey answers a key that is malformed, never made or revoked: the
// same words for all three, so the answer tells nothing. id is the hash's
// id when the key was well formed (not secret: the hash cannot be turned
// back into the key).
func (s *Server) refuseKey(w http.ResponseWriter, id string) {
	s.logger().Info("api: key refused", "key", id)
	w.Header().Set("WWW-Authenticate", `Bearer realm="hangxom", error="invalid_token"`)
	s.apiError(w, http.StatusUnauthorized, "the key is unknown or revoked")
}

// apiJSON writes v as the answer.
func (s *Server) apiJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		s.apiFail(w, "encode", err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// apiError answers {"error": msg}.
func (s *Server) apiError(w http.ResponseWriter, status int, msg string) {
	s.apiJSON(w, status, map[string]string{"error": msg})
}

// apiFail logs a failure (err comes from the store or the desk, which see
// only hashes) and says so.
func (s *Server) apiFail(w http.ResponseWriter, what string, err error) {
	s.logger().Error("api: "+what, "err", err)
	s.apiError(w, http.StatusInternalServerError, "internal error; try again later")
}

// apiMonths is the range of months asked for by from and to (YYYY-MM,
// either may be left out). As on the overview, to defaults to this month
// and from to January of to's year (or the stats' first month, if later):
// by default, January of this year to this month. A month that is not
// YYYY-MM, or to before from, is an error (400); a range reaching before
// the stats' first month or after this month is cut to them, and one
// longer than maxRangeMonths to its last maxRangeMonths. The answer says
// the range it counted.
func (s *Server) apiMonths(now time.Time, from, to string) (f, t string, months []string, err error) {
	first, last := s.Desk.StatsSince(), now.In(s.location()).Format("2006-01")
	if last < first {
		last = first
	}
	month := func(name, v string) error {
		if _, err := time.Parse("2006-01", v); err != nil || len(v) != 7 {
			return fmt.Errorf("%s: %q is not a month like 2026-01", name, v)
		}
		return nil
	}
	t = last
	if to != "" {
		if err := month("to", to); err != nil {
			return "", "", nil, err
		}
		t = to
	}
	f = max(first, t[:4]+"-01")
	if from != "" {
		if err := month("from", from); err != nil {
			return "", "", nil, err
		}
		f = from
	}
	if t < f {
		return "", "", nil, fmt.Errorf("to %s is before from %s", t, f)
	}
	asked := f + " to " + t
	f, t = max(f, first), min(t, last)
	if t < f {
		return "", "", nil, fmt.Errorf("no month of %s is counted: the counts run from %s to %s", asked, first, last)
	}
	if end, err := time.Parse("2006-01", t); err == nil {
		f = max(f, end.AddDate(0, -(maxRangeMonths-1), 0).Format("2006-01"))
	}
	months, err = flows.MonthsBetween(f, t)
	return f, t, months, err
}

// apiArea is an area as the feed writes it.
type apiArea struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Level string `json:"level,omitempty"`
}

// apiStats is /api/v1/stats: `hangxom stats --format json` for the key's
// area, with the area and the range.
type apiStats struct {
	Area apiArea `json:"area"`
	From string  `json:"from"`
	To   string  `json:"to"`
	flows.StatsJSON
}

// apiStats answers the rows of every hamlet of the key's area and flow.
func (s *Server) apiStats(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.apiAuth(w, r)
	if !ok {
		return
	}
	now := s.now()
	q := r.URL.Query()
	from, to, months, err := s.apiMonths(now, q.Get("from"), q.Get("to"))
	if err != nil {
		s.apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	rows, err := s.Desk.Rows(r.Context(), sc.m, months, now)
	if err != nil {
		s.apiFail(w, "stats", err)
		return
	}
	// A private flow's rows are always the default range's, as on the
	// overview: the same key asking two ranges and subtracting would
	// otherwise learn the small counts the mask hides.
	defFrom, defTo := s.maskedRange(now)
	var def map[[2]string]flows.StatsRow
	if (from != defFrom || to != defTo) && slices.ContainsFunc(rows, func(x flows.StatsRow) bool { return s.Desk.Private(x.Flow) }) {
		defMonths, err := flows.MonthsBetween(defFrom, defTo)
		if err == nil {
			var defRows []flows.StatsRow
			defRows, err = s.Desk.Rows(r.Context(), sc.m, defMonths, now)
			def = map[[2]string]flows.StatsRow{}
			for _, x := range defRows {
				def[[2]string{x.HamletID, x.Flow}] = x
			}
		}
		if err != nil {
			s.apiFail(w, "stats", err)
			return
		}
	}
	out := apiStats{Area: apiArea{ID: sc.area.ID, Name: sc.area.Name, Level: sc.area.Level}, From: from, To: to}
	out.StatsJSON = flows.NewStatsJSON(nil, now)
	for _, x := range rows {
		if !s.Desk.Private(x.Flow) {
			out.Rows = append(out.Rows, x.JSON())
			continue
		}
		d, isDef := def[[2]string{x.HamletID, x.Flow}]
		if isDef {
			x = d
		}
		j := maskStatsRow(x)
		if isDef {
			j.From, j.To = defFrom, defTo
		}
		out.Rows = append(out.Rows, j)
	}
	s.logger().Debug("api: stats", "key", sc.key.ID, "area", sc.area.ID, "from", from, "to", to)
	s.apiJSON(w, http.StatusOK, out)
}

// maskStatsRow is a private flow's row for a reader who may not name its
// residents: a count from 1 to flows.MaskBelow-1 is null. Completed is the sum
// of Self and Team, so one of the three hidden hides all three (the other
// two would give it away), and the share, computed from Completed, with
// them. Started, Stalled and Help have no such relation: each is hidden
// alone. The same rule as the overview's table (flowView).
func maskStatsRow(x flows.StatsRow) flows.StatsJSONRow {
	j := x.JSON()
	hide := func(p **int64) {
		if hidden(**p, true) {
			*p, j.Masked = nil, true
		}
	}
	hide(&j.Started)
	hide(&j.Stalled)
	hide(&j.HelpRequests)
	if hidden(x.Completed, true) || hidden(x.CompletedSelf, true) || hidden(x.CompletedTeam, true) {
		j.Completed, j.CompletedSelf, j.CompletedTeam, j.SharePct, j.Masked = nil, nil, nil, nil, true
	}
	return j
}

// funnelColumn is one column of a funnel, a count per row, nil where it is
// hidden: for a private guide, each count from 1 to flows.MaskBelow-1. When
// group is set and any cell is hidden, every other non-zero cell is hidden
// too: the stalled and help columns add up to the hamlet's stats row, so
// one hidden cell could be had from the others (the hamlet page's rule,
// columnCounts). Reached has no such sum.
func funnelColumn(rows []flows.FunnelRow, private, group bool, col func(flows.FunnelRow) int64) []*int64 {
	out := make([]*int64, len(rows))
	any := false
	for _, x := range rows {
		any = any || hidden(col(x), private)
	}
	for i, x := range rows {
		n := col(x)
		if hidden(n, private) || group && any && n > 0 {
			continue
		}
		out[i] = &n
	}
	return out
}

// apiStep is one line of a funnel: a step, how many residents reached it,
// how many stalled there, how many asked for help at it.
type apiStep struct {
	Step         string `json:"step"`
	Reached      *int64 `json:"reached"`
	Stalled      *int64 `json:"stalled"`
	HelpRequests *int64 `json:"help_requests"`
	Masked       bool   `json:"masked,omitempty"`
}

// apiFunnel is /api/v1/funnel.
type apiFunnel struct {
	Hamlet      apiArea   `json:"hamlet"`
	Flow        string    `json:"flow"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	GeneratedAt string    `json:"generated_at"`
	Steps       []apiStep `json:"steps"`
	// RetiredSteps are ids taken out of the guide that still have counts.
	RetiredSteps []apiStep `json:"retired_steps"`
	// StalledStepUnknown counts the stalled residents whose step is not
	// known (their run last moved before the funnel was recorded).
	StalledStepUnknown *int64 `json:"stalled_step_unknown"`
	// Masked says some count is null because it is hidden.
	Masked bool `json:"masked,omitempty"`
}

// apiFunnel answers one hamlet's funnel of one guide: every step of the
// guide in its order, zeros included.
func (s *Server) apiFunnel(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.apiAuth(w, r)
	if !ok {
		return
	}
	now := s.now()
	q := r.URL.Query()
	hamlet, flow := q.Get("hamlet"), q.Get("flow")
	if hamlet == "" || flow == "" {
		s.apiError(w, http.StatusBadRequest, "give hamlet=ID and flow=ID")
		return
	}
	h, ok := s.Desk.Area(hamlet)
	if !ok || h.Level != flows.LevelHamlet {
		s.apiError(w, http.StatusNotFound, "no hamlet "+strconv.Quote(hamlet))
		return
	}
	f, ok := s.Library.Flow(flow)
	if !ok {
		s.apiError(w, http.StatusNotFound, "no guide "+strconv.Quote(flow))
		return
	}
	if len(s.Desk.Hamlets(sc.m, h.ID)) == 0 {
		s.apiError(w, http.StatusForbidden, "hamlet "+h.ID+" is outside the key's area "+sc.area.ID)
		return
	}
	from, to, months, err := s.apiMonths(now, q.Get("from"), q.Get("to"))
	if err != nil {
		s.apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	private := s.Desk.Private(f.ID)
	if private {
		// Always the masked range, as the stats' rows of a private flow
		// and every page: two ranges subtracted would undo the mask.
		from, to = s.maskedRange(now)
		if months, err = flows.MonthsBetween(from, to); err != nil {
			s.apiFail(w, "funnel", err)
			return
		}
	}
	all, err := s.Desk.Funnels(r.Context(), []string{h.ID}, f, months, now)
	if err != nil {
		s.apiFail(w, "funnel", err)
		return
	}
	out := apiFunnel{Hamlet: apiArea{ID: h.ID, Name: h.Name}, Flow: f.ID, From: from, To: to,
		GeneratedAt: now.Format(time.RFC3339), Steps: []apiStep{}, RetiredSteps: []apiStep{}}
	// The rows in the answer's order: the guide's steps (zeros included),
	// the retired ids, and last the stalled whose step is not known.
	byStep := map[string]flows.FunnelRow{}
	var retired []flows.FunnelRow
	var unknown int64
	for _, x := range all[h.ID] {
		switch {
		case x.Step == "":
			unknown += x.Stalled
		case x.Retired:
			retired = append(retired, x)
		default:
			byStep[x.Step] = x
		}
	}
	var rows []flows.FunnelRow
	for _, st := range f.Steps {
		x := byStep[st.ID]
		x.Step = st.ID
		rows = append(rows, x)
	}
	rows = append(rows, retired...)
	rows = append(rows, flows.FunnelRow{Stalled: unknown})
	stalled, help := funnelColumn(rows, private, true, func(x flows.FunnelRow) int64 { return x.Stalled }),
		funnelColumn(rows, private, true, func(x flows.FunnelRow) int64 { return x.Help })
	// Reached bounds what stalled between two steps (reached 10 then 9:
	// a "<5" stalled at the first is 1), so it is hidden whole when a
	// stalled or help cell is (the pages' rule, funnelChart).
	reachedGroup := false
	for i := range rows {
		if rows[i].Stalled > 0 && stalled[i] == nil || rows[i].Help > 0 && help[i] == nil {
			reachedGroup = true
		}
	}
	reached := funnelColumn(rows, private, reachedGroup, func(x flows.FunnelRow) int64 { return x.Reached })
	if reachedGroup {
		for i := range reached {
			if rows[i].Reached > 0 {
				reached[i] = nil
			}
		}
	}
	for i, x := range rows {
		st := apiStep{Step: x.Step, Reached: reached[i], Stalled: stalled[i], HelpRequests: help[i]}
		st.Masked = st.Reached == nil || st.Stalled == nil || st.HelpRequests == nil
		out.Masked = out.Masked || st.Masked
		switch {
		case i == len(rows)-1:
			out.StalledStepUnknown = st.Stalled
		case x.Retired:
			out.RetiredSteps = append(out.RetiredSteps, st)
		default:
			out.Steps = append(out.Steps, st)
		}
	}
	s.logger().Debug("api: funnel", "key", sc.key.ID, "hamlet", h.ID, "flow", f.ID, "from", from, "to", to)
	s.apiJSON(w, http.StatusOK, out)
}
