package flows

// ContentFields are the template fields the engine supplies to every message
// named in a flow file; a content message may use only these.
func ContentFields() []string { return []string{"Hamlet", "Commune"} }

// SystemMessages returns every message id the engine itself renders (outside
// flow files), with the template fields it supplies to each. content check
// uses it to prove every locale has every message and no template asks for a
// field that is never supplied.
func SystemMessages() map[string][]string {
	return map[string][]string{
		// filled in as the engine grows; see engine.go
	}
}
