package flows

// ContentFields are the template fields the engine supplies to every message
// named in a flow file; a content message may use only these.
func ContentFields() []string { return []string{"Hamlet", "Commune"} }
