package flows

// ContentFields are the template fields the engine supplies to every message
// named in a flow file; a content message may use only these.
func ContentFields() []string { return []string{"Hamlet", "Commune"} }

// SystemMessages returns every message id the engine and service render
// themselves (outside flow files), with the template fields supplied to each.
// content check uses it, with the team desk's (desk.Messages), to prove every
// locale has every message and that no template asks for a field that is
// never supplied.
func SystemMessages() map[string][]string {
	m := map[string][]string{
		"common.welcome":           {"Period"},
		"common.retention_months":  {"Count"},
		"common.retention_days":    {"Count"},
		"common.choose_commune":    nil,
		"common.choose_hamlet":     {"Commune"},
		"common.hamlet_set":        {"Hamlet", "Commune"},
		"common.hamlet_unassigned": {"Hamlet", "Commune"},
		"common.move_ask":          {"Hamlet", "NewHamlet", "NewCommune"},
		"common.menu":              nil,
		"common.menu_again":        nil,
		"common.help":              nil,
		"common.unknown_command":   nil,
		"common.tap_button":        nil,
		"common.stale_button":      nil,
		"common.hello":             nil,
		"common.btn.urgent_done":   nil,
		"common.hello_again":       {"Flow"},
		"common.other_unexpected":  nil,
		"common.offer_human":       nil,
		"common.human_recorded":    nil,
		"common.human_no_hamlet":   nil,
		"common.stuck_ask":         nil,
		"common.btn.more":          nil,
		"common.btn.retry":         nil,
		"common.btn.other_way":     nil,
		"common.sensitive":         nil,
		"common.contact_ignored":   nil,
		"common.photo_unexpected":  nil,
		"common.flow_expired":      nil,
		"common.content_changed":   nil,
		"common.flow_gone":         nil,
		"common.flow_not_here":     {"Flow"},
		"common.cancelled":         {"Flow"},
		"common.nothing_to_cancel": nil,
		"common.lang_choose":       nil,
		"common.lang_set":          nil,
		"common.progress":          {"List"},
		"common.progress_done":     {"Flow", "Date"},
		"common.progress_open":     {"Flow", "Date"},
		"common.progress_none":     nil,
		"common.forget_ask":        nil,
		"common.forgotten":         nil,
		"common.error":             nil,
		"common.btn.back":          nil,
		"common.btn.human":         nil,
		"common.btn.done":          nil,
		"common.btn.stuck":         nil,
		"common.btn.skip":          nil,
		"common.btn.english":       nil,
		"common.btn.vietnamese":    nil,
		"common.btn.not_listed":    nil,
		"common.btn.move_yes":      nil,
		"common.btn.move_no":       nil,
		"common.btn.resume":        {"Flow"},
		"common.btn.forget_yes":    nil,
		"common.btn.forget_no":     nil,
		"common.stop_ask":          nil,
		"common.checkqr_ask":       nil,
		"common.checkqr_again":     nil,
		"common.stopped":           nil,
		"common.reminders_on":      nil,
		"common.btn.stop_yes":      nil,
		"common.btn.stop_no":       nil,
		// Rendered by channels (Telegram), not by the engine.
		"common.try_again":        nil,
		"common.group_hint":       nil,
		"common.btn.open_private": nil,
	}
	for _, c := range []string{"start", "menu", "back", "cancel", "help", "progress", "lang", "forget", "stop", "checkqr"} {
		m["common.cmd."+c] = nil
	}
	for _, more := range []func() map[string][]string{qrMessages, hamletMessages} {
		for id, fields := range more() {
			m[id] = fields
		}
	}
	for _, v := range Validators() {
		m["common.invalid."+v] = ContentFields()
	}
	return m
}

// qrMessages are the words of the QR checker (cmd/hangxom wires it to the
// "vietqr" external step and /checkqr) and their fields.
func qrMessages() map[string][]string {
	return map[string][]string{
		"qr.bank": {"Bank", "BIN"}, "qr.bank_unknown": {"BIN"}, "qr.account": {"Account"}, "qr.card": {"Card"},
		"qr.merchant": {"Name"}, "qr.amount": {"Amount"}, "qr.purpose": {"Purpose"}, "qr.code_n": {"N"},
		"qr.valid": nil, "qr.warning": nil, "qr.invalid": nil, "qr.url": nil, "qr.not_payment": nil,
		"qr.double": nil, "qr.compare_name": nil, "qr.unreadable": nil, "qr.too_large": nil,
	}
}
