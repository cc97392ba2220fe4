package dashboard

// Messages returns every message id the dashboard's pages render, with the
// template fields supplied to each, for content check (as desk.Messages
// does for the desk's).
func Messages() map[string][]string {
	m := map[string][]string{
		"dashboard.caption": {"From", "To"}, "dashboard.generated": {"At"}, "dashboard.chart_desc": {"Flow"},
		"dashboard.since_only": {"Flow", "From"},
	}
	for _, id := range []string{"title", "open", "login_intro", "link_gone", "signed_out", "not_a_member", "not_your_area",
		"bad_form", "logged_out", "error", "lang_vi", "lang_en", "all_areas", "logout", "from", "to", "show",
		"no_areas", "area", "started", "completed", "self", "team", "stalled", "help", "share", "target", "note"} {
		m["dashboard."+id] = nil
	}
	return m
}
