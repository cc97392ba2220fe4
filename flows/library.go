package flows

import (
	"fmt"
	"sort"
)

// Library holds the flows the engine can run, by id and in menu order.
type Library struct {
	byID  map[string]*Flow
	order []*Flow
}

// NewLibrary indexes flows. It rejects duplicate or malformed ids; deeper
// validation (targets, reachability, messages) is content check's job.
func NewLibrary(fl ...*Flow) (*Library, error) {
	l := &Library{byID: make(map[string]*Flow, len(fl))}
	for _, f := range fl {
		if !ValidID(f.ID) {
			return nil, fmt.Errorf("flows: flow id %q is not a valid id", f.ID)
		}
		if _, dup := l.byID[f.ID]; dup {
			return nil, fmt.Errorf("flows: flow %q defined twice", f.ID)
		}
		f.reindex()
		l.byID[f.ID] = f
		l.order = append(l.order, f)
	}
	sort.SliceStable(l.order, func(i, j int) bool {
		if l.order[i].Order != l.order[j].Order {
			return l.order[i].Order < l.order[j].Order
		}
		return l.order[i].ID < l.order[j].ID
	})
	return l, nil
}

// Flow returns the flow with the given id.
func (l *Library) Flow(id string) (*Flow, bool) {
	f, ok := l.byID[id]
	return f, ok
}

// Flows returns every flow in menu order.
func (l *Library) Flows() []*Flow { return l.order }
