package flows

// The coordinators' counts (/stats, /export) and the team's face-to-face
// log (/log). Placeholder bodies: the follow-up work replaces them.

func (k *desk) stats(args string) error {
	k.say("staff.unknown", nil)
	return nil
}

func (k *desk) export(args string) error {
	k.say("staff.unknown", nil)
	return nil
}

func (k *desk) log(args string) error {
	k.say("staff.unknown", nil)
	return nil
}

func (k *desk) statsAction(parts []string) error {
	k.say("staff.unknown", nil)
	return nil
}

// statsMessages are the words of this file and their fields.
func statsMessages() map[string][]string { return map[string][]string{} }
