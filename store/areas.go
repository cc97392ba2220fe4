package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

// SeedAreas writes the areas whose ids are not stored yet and returns how
// many it added. Stored areas are left alone, so a coordinator's edits
// survive a restart with the seed file.
func (r *Redis) SeedAreas(ctx context.Context, areas []flows.Area) (int, error) {
	if len(areas) == 0 {
		return 0, nil
	}
	key := r.keys.Areas()
	cmds := make([]*redis.BoolCmd, len(areas))
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, a := range areas {
			b, err := json.Marshal(a)
			if err != nil {
				return fmt.Errorf("encode area %s: %w", a.ID, err)
			}
			cmds[i] = p.HSetNX(ctx, key, a.ID, b)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: seed areas: %w", err)
	}
	added := 0
	for _, c := range cmds {
		if c.Val() {
			added++
		}
	}
	return added, nil
}

// Areas returns every stored area, ordered by id, each hamlet with its
// code (flows.Area.Code). A hamlet stored without a code (just added, or
// stored before codes existed) is given one first: the first of its
// flows.HamletCodeCandidates that no hamlet holds, in one script, so two
// replicas giving codes at once cannot give one code twice. A code once
// given is kept: this is why codes are stored rather than derived anew,
// which would move an older hamlet's code when a new one derives the
// same.
func (r *Redis) Areas(ctx context.Context) ([]flows.Area, error) {
	var areas *redis.MapStringStringCmd
	var codes *redis.MapStringStringCmd
	if _, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		areas = p.HGetAll(ctx, r.keys.Areas())
		codes = p.HGetAll(ctx, r.keys.AreaCodes())
		return nil
	}); err != nil {
		return nil, fmt.Errorf("store: areas: %w", err)
	}
	m := areas.Val()
	out := make([]flows.Area, 0, len(m))
	for id, raw := range m {
		var a flows.Area
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return nil, fmt.Errorf("store: areas: decode %s: %w", id, err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b flows.Area) int { return strings.Compare(a.ID, b.ID) })
	byID := codes.Val()
	var args []any
	for _, a := range out {
		if a.Level == flows.LevelHamlet && byID["id:"+a.ID] == "" {
			args = append(args, a.ID, strings.Join(flows.HamletCodeCandidates(a.ID, codeCandidates), ","))
		}
	}
	if len(args) > 0 {
		given, err := assignCodesScript.Run(ctx, r.c, []string{r.keys.AreaCodes()}, args...).StringSlice()
		if err != nil {
			return nil, fmt.Errorf("store: areas: give %d hamlet codes: %w", len(args)/2, err)
		}
		for i := 0; i+1 < len(given); i += 2 {
			byID["id:"+given[i]] = given[i+1]
		}
	}
	for i, a := range out {
		if a.Level == flows.LevelHamlet {
			out[i].Code = byID["id:"+a.ID]
			if out[i].Code == "" {
				return nil, fmt.Errorf("store: areas: no free hamlet code for %s among its %d candidates", a.ID, codeCandidates)
			}
		}
	}
	return out, nil
}

// codeCandidates is how many codes a hamlet may be given. With 639,584
// codes and a province's few thousand hamlets taken, all 32 are taken
// with a chance far below one in 10⁶⁰.
const codeCandidates = 32

// assignCodesScript gives hamlets their codes (Keys.AreaCodes).
//
//	KEYS[1] Keys.AreaCodes
//	ARGV    pairs: a hamlet id, then its candidate codes joined by ","
//
// A hamlet that has a code keeps it; another gets its first candidate no
// hamlet holds. It returns the pairs hamlet id, code of every hamlet asked
// about that has a code now.
var assignCodesScript = newScript("assign-codes", `
local out = {}
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  local code = redis.call('HGET', KEYS[1], 'id:' .. id)
  if not code then
    for c in string.gmatch(ARGV[i + 1], '[^,]+') do
      if redis.call('HSETNX', KEYS[1], 'code:' .. c, id) == 1 then
        redis.call('HSET', KEYS[1], 'id:' .. id, c)
        code = c
        break
      end
    end
  end
  if code then
    out[#out + 1] = id
    out[#out + 1] = code
  end
end
return out
`)

// PutArea stores an area, replacing the one with the same id.
func (r *Redis) PutArea(ctx context.Context, a flows.Area) error {
	if a.ID == "" {
		return errors.New("store: put area: empty id")
	}
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("store: put area %s: %w", a.ID, err)
	}
	if err := r.c.HSet(ctx, r.keys.Areas(), a.ID, b).Err(); err != nil {
		return fmt.Errorf("store: put area %s: %w", a.ID, err)
	}
	return nil
}

// PutAreas stores areas, each replacing the one with the same id, all or
// none: it checks and encodes every area first, then writes them with one
// HSET inside MULTI/EXEC (KEYS: Areas; ARGV: id, JSON pairs), which Redis
// runs whole or, on an error such as WRONGTYPE, not at all, and which no
// reader sees half done.
func (r *Redis) PutAreas(ctx context.Context, areas []flows.Area) error {
	if len(areas) == 0 {
		return nil
	}
	pairs := make([]any, 0, 2*len(areas))
	seen := make(map[string]bool, len(areas))
	for i, a := range areas {
		if a.ID == "" {
			return fmt.Errorf("store: put areas: area %d has an empty id", i)
		}
		if seen[a.ID] {
			return fmt.Errorf("store: put areas: %s is given twice", a.ID)
		}
		seen[a.ID] = true
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("store: put areas: encode %s: %w", a.ID, err)
		}
		pairs = append(pairs, a.ID, b)
	}
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, r.keys.Areas(), pairs...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: put %d areas: %w", len(areas), err)
	}
	return nil
}

// TargetRecord is one stored adoption target. The store keys it by Flow
// and Area and keeps JSON as the caller encoded it, without reading it:
// the target's format belongs to package content (content.MarshalTarget),
// which the store does not import.
type TargetRecord struct {
	Flow string
	Area string
	JSON []byte
}

// targetField is the hash field of a target: flow and area ids never hold
// a "|".
func targetField(flow, area string) string { return flow + "|" + area }

// PutTargets stores targets, each replacing the one of the same flow and
// area, all or none, like PutAreas (KEYS: Targets; ARGV: field, JSON
// pairs). Targets of other flows and areas are left alone.
func (r *Redis) PutTargets(ctx context.Context, targets []TargetRecord) error {
	if len(targets) == 0 {
		return nil
	}
	pairs := make([]any, 0, 2*len(targets))
	seen := make(map[string]bool, len(targets))
	for i, t := range targets {
		if t.Flow == "" || t.Area == "" || strings.Contains(t.Flow, "|") || strings.Contains(t.Area, "|") {
			return fmt.Errorf("store: put targets: target %d: flow %q and area %q must be non-empty ids without \"|\"", i, t.Flow, t.Area)
		}
		if !json.Valid(t.JSON) {
			return fmt.Errorf("store: put targets: %s/%s: not JSON", t.Flow, t.Area)
		}
		f := targetField(t.Flow, t.Area)
		if seen[f] {
			return fmt.Errorf("store: put targets: %s/%s is given twice", t.Flow, t.Area)
		}
		seen[f] = true
		pairs = append(pairs, f, t.JSON)
	}
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, r.keys.Targets(), pairs...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: put %d targets: %w", len(targets), err)
	}
	return nil
}

// Targets returns every stored target, ordered by flow, then area.
func (r *Redis) Targets(ctx context.Context) ([]TargetRecord, error) {
	m, err := r.c.HGetAll(ctx, r.keys.Targets()).Result()
	if err != nil {
		return nil, fmt.Errorf("store: targets: %w", err)
	}
	out := make([]TargetRecord, 0, len(m))
	for f, raw := range m {
		flow, area, ok := strings.Cut(f, "|")
		if !ok {
			return nil, fmt.Errorf("store: targets: field %q is not flow|area", f)
		}
		out = append(out, TargetRecord{Flow: flow, Area: area, JSON: []byte(raw)})
	}
	slices.SortFunc(out, func(a, b TargetRecord) int {
		if c := strings.Compare(a.Flow, b.Flow); c != 0 {
			return c
		}
		return strings.Compare(a.Area, b.Area)
	})
	return out, nil
}
