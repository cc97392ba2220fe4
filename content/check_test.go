package content

import (
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// fixtureFields and fixtureSystem stand in for flows.ContentFields and
// flows.SystemMessages, so that the fixtures do not change with the engine.
var fixtureFields = []string{"Hamlet", "Commune"}

func fixtureSystem() map[string][]string {
	return map[string][]string{
		"common.welcome": nil,
		"common.greet":   {"Name"},
		"common.count":   nil,
	}
}

// readTree reads every file under dir of the disk into a map file system.
func readTree(t *testing.T, dir string, into fstest.MapFS) {
	t.Helper()
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if target, ok := strings.CutSuffix(p, ".delete"); ok {
			delete(into, target)
			return nil
		}
		data, err := os.ReadFile(path.Join(dir, p))
		if err != nil {
			return err
		}
		into[p] = &fstest.MapFile{Data: data}
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
}

// fixture returns the good tree with the files of testdata/broken/<name>
// laid over it: a file replaces or adds the file at the same path, and an
// empty file named <path>.delete removes <path>. The content is at the root
// (flows/, areas.yaml, targets.yaml), the message files under locales/.
func fixture(t *testing.T, name string) (contentFS, localesFS fs.FS) {
	t.Helper()
	m := fstest.MapFS{}
	readTree(t, "testdata/good", m)
	if name != "" {
		readTree(t, path.Join("testdata/broken", name), m)
	}
	sub, err := fs.Sub(m, "locales")
	if err != nil {
		t.Fatal(err)
	}
	return m, sub
}

func checkFixture(t *testing.T, name string) []string {
	t.Helper()
	c, l := fixture(t, name)
	var got []string
	for _, p := range check(c, l, fixtureFields, fixtureSystem()) {
		got = append(got, p.String())
	}
	return got
}

func TestCheckGood(t *testing.T) {
	if got := checkFixture(t, ""); len(got) > 0 {
		t.Errorf("problems in testdata/good:\n%s", strings.Join(got, "\n"))
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"all", Problem{File: "content/flows/ewallet.yaml", Line: 42, Path: "steps[3] (otp)", Msg: `next "pin" does not exist`},
			`content/flows/ewallet.yaml:42: steps[3] (otp): next "pin" does not exist`},
		{"no line", Problem{File: "locales", Line: 0, Path: "common.menu", Msg: "system message is missing in en"},
			"locales: common.menu: system message is missing in en"},
		{"no path", Problem{File: "content/areas.yaml", Line: 3, Path: "", Msg: "file is empty"}, "content/areas.yaml:3: file is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCheckBroken runs Check on each broken tree and wants exactly the
// problems listed, in order.
func TestCheckBroken(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"areas", []string{
			"content/areas.yaml:5: areas[0] (p1): a province has no parent, but parent_id is \"p2\"",
			"content/areas.yaml:18: areas[3] (h1): households is negative",
			"content/areas.yaml:29: areas[5] (c1-chua-xep-2): commune \"c1\" already has an unassigned hamlet, \"c1-chua-xep\"",
			"content/areas.yaml:35: areas[6] (c0-cu): valid_to \"2025-06-31\" is not a date YYYY-MM-DD",
			"content/areas.yaml:36: areas[6] (c0-cu): successor \"h1\" is a hamlet, not a commune",
			"content/areas.yaml:37: areas[7] (C2): commune has no unassigned hamlet (unassigned: true) for residents whose hamlet is not listed",
			"content/areas.yaml:37: areas[7] (C2): id \"C2\" is not a valid area id (lower-case letters, digits and -, at most 40)",
			"content/areas.yaml:40: areas[7] (C2): parent_id \"nowhere\" does not exist",
			"content/areas.yaml:41: areas[7] (C2): only a hamlet can be a commune's unassigned hamlet",
			"content/areas.yaml:42: areas[8] (c1): id \"c1\" is used twice",
			"content/areas.yaml:43: areas[8] (c1): level \"district\" is not one of province, commune, hamlet",
			"content/areas.yaml:45: areas[9]: id is missing",
			"content/areas.yaml:48: areas[10] (h2): name is missing",
			"content/areas.yaml:50: areas[10] (h2): parent \"p1\" is a province; the parent of a hamlet must be a commune",
			"content/areas.yaml:51: areas[11] (h3): parent_id is missing: a hamlet belongs to a commune",
			"content/areas.yaml:58: areas[12] (h4): valid_from \"2025/07/01\" is not a date YYYY-MM-DD",
			"content/areas.yaml:60: areas[12] (h4): successor_id is the area itself",
			"content/areas.yaml:61: areas[13] (h5): level is missing (one of province, commune, hamlet)",
			"content/areas.yaml:64: areas[13] (h5): successor_id \"gone\" does not exist",
		}},
		{"areas_missing", []string{
			"content/areas.yaml: cannot read: file does not exist",
			"content/targets.yaml:3: targets[0]: area \"c1\" does not exist",
			"content/targets.yaml:9: targets[1]: area \"h1\" does not exist",
		}},
		{"areas_yaml", []string{
			"content/areas.yaml:5: unknown field \"code\"",
			"content/areas.yaml:10: cannot unmarshal !!str `many` into int",
		}},
		{"dead_ends", []string{
			"content/flows/demo.yaml:13: steps[1] (a): no end step can be reached from this step",
			"content/flows/demo.yaml:18: steps[2] (b): no end step can be reached from this step",
			"content/flows/demo.yaml:28: steps[4] (orphan): step is unreachable from start \"intro\"",
			"content/flows/noend.yaml:4: no step has type end: the flow can never be completed",
		}},
		{"documents", []string{
			"content/flows/empty.yaml: file is empty",
			"content/flows/extra.yaml:7: more than one YAML document; put one per file",
		}},
		{"empty_text", []string{
			"locales/demo.en.toml:5: demo.why: text is empty",
			"locales/demo.en.toml:6: demo.sim: text is empty",
		}},
		{"extra_messages", []string{
			"locales/common.vi.toml:3: common.extra: missing in en",
			"locales/demo.en.toml:11: demo.unused: flow \"demo\" does not use this message",
			"locales/demo.vi.toml:11: demo.unused: flow \"demo\" does not use this message",
		}},
		{"flow_fields", []string{
			"content/flows/a.yaml:1: start is missing",
			"content/flows/a.yaml:1: title is missing",
			"content/flows/b.yaml:3: start \"nowhere\" does not exist",
			"content/flows/c.yaml:1: the flow has no steps",
		}},
		{"flow_ids", []string{
			"content/flows/bad.yaml:1: id \"Bad Id\" is not a valid id (lower-case letters, digits, _ and -, at most 32)",
			"content/flows/copy.yaml:1: id \"demo\" does not match the file name copy.yaml",
			"content/flows/demo.yaml:2: flow id \"demo\" is also used by content/flows/copy.yaml",
			"content/flows/noid.yaml:1: id is missing",
			"content/flows/other.yaml:1: id \"another\" does not match the file name other.yaml",
		}},
		{"info_loop", []string{
			"content/flows/demo.yaml:13: steps[1] (a): info steps loop without waiting for the resident: a → b → a",
			"content/flows/demo.yaml:13: steps[1] (a): no end step can be reached from this step",
			"content/flows/demo.yaml:18: steps[2] (b): no end step can be reached from this step",
		}},
		{"locale_files", []string{
			"locales/broken.vi.toml:2: strings cannot contain newlines",
			"locales/demo.fr.toml: language \"fr\" is not one of vi, en; name files <name>.<lang>.toml",
			"locales/demo.vi.toml:1: demo.title: also defined at locales/again.vi.toml:2",
			"locales/mixed.en.toml: reserved keys [other] mixed with unreserved keys [colour]",
		}},
		{"missing_fields", []string{
			"content/flows/demo.yaml:6: steps[0] (intro): its screen shows 7 buttons (back, ❓, ⏭ and ℹ️ included), more than 4",
			"content/flows/demo.yaml:17: steps[1] (info): next is missing: the step is a dead end",
			"content/flows/demo.yaml:21: steps[2] (cp): next is missing: the step is a dead end",
			"content/flows/demo.yaml:25: steps[3] (q): next is missing: the step is a dead end",
			"content/flows/demo.yaml:25: steps[3] (q): validate is missing (one of text, number, phone, yesno)",
			"content/flows/demo.yaml:29: steps[4] (ext): checker is missing",
			"content/flows/demo.yaml:29: steps[4] (ext): outcomes are missing: the step is a dead end",
			"content/flows/demo.yaml:33: steps[5] (empty): choice has no buttons: the step is a dead end",
			"content/flows/demo.yaml:33: steps[5] (empty): say is missing",
		}},
		{"missing_targets", []string{
			"content/flows/demo.yaml:14: steps[0] (intro): buttons[1].next \"nowhere\" does not exist",
			"content/flows/demo.yaml:25: steps[2] (sim): skip \"skipped\" does not exist",
			"content/flows/demo.yaml:26: steps[2] (sim): stuck \"stuck\" does not exist",
			"content/flows/demo.yaml:28: steps[3] (ask): step is unreachable from start \"intro\"",
			"content/flows/demo.yaml:42: steps[4] (qr): outcomes.bad \"retry\" does not exist",
		}},
		{"msg_missing", []string{
			"content/flows/demo.yaml:12: steps[0] (intro): buttons[0].label \"demo.btn.phone\" is missing in en",
			"content/flows/demo.yaml:23: steps[2] (sim): say \"demo.sim\" is missing in en",
		}},
		{"no_flows", []string{
			"content/flows: no flow files (*.yaml)",
			"content/targets.yaml:2: targets[0]: flow \"demo\" does not exist",
			"content/targets.yaml:8: targets[1]: flow \"demo\" does not exist",
		}},
		{"plural_forms", []string{
			"locales/common.en.toml:4: common.count: counted message lacks plural form \"other\", which en needs",
			"locales/common.vi.toml:4: common.count: counted message lacks plural form \"one\", which vi needs",
			"locales/demo.vi.toml:11: demo.done: flow messages are rendered without a Count; give it no plural forms",
		}},
		{"sources", []string{
			"content/flows/demo.yaml:6: steps[0] (intro): no \"# source:\" comment; say where this step's instructions come from",
			"content/flows/demo.yaml:13: steps[1] (why): no \"# source:\" comment; say where this step's instructions come from",
			"content/flows/demo.yaml:18: steps[2] (sim): no \"# source:\" comment; say where this step's instructions come from",
			"content/flows/demo.yaml:25: steps[3] (ask): no \"# source:\" comment; say where this step's instructions come from",
		}},
		{"step_ids", []string{
			"content/flows/demo.yaml:11: steps[1] (Why): id \"Why\" is not a valid id (lower-case letters, digits, _ and -, at most 32)",
			"content/flows/demo.yaml:16: steps[2]: id is missing",
			"content/flows/demo.yaml:16: steps[2]: step is unreachable from start \"intro\"",
			"content/flows/demo.yaml:23: steps[4] (done): id \"done\" is also used by steps[3]",
			"content/flows/demo.yaml:23: steps[4] (done): step is unreachable from start \"intro\"",
		}},
		{"step_types", []string{
			"content/flows/demo.yaml:6: steps[0] (intro): its screen shows 7 buttons (back, ❓, ⏭ and ℹ️ included), more than 4",
			"content/flows/demo.yaml:11: steps[0] (intro): buttons[1]: id \"phone\" is also used by buttons[0]",
			"content/flows/demo.yaml:12: steps[0] (intro): buttons[2]: id \"Bad\" is not a valid id (lower-case letters, digits, _ and -, at most 32)",
			"content/flows/demo.yaml:13: steps[0] (intro): buttons[3]: id is missing",
			"content/flows/demo.yaml:14: steps[0] (intro): buttons[4]: label is missing",
			"content/flows/demo.yaml:15: steps[0] (intro): buttons[5]: next is missing",
			"content/flows/demo.yaml:16: steps[0] (intro): field \"next\" does not belong to a step of type choice",
			"content/flows/demo.yaml:21: steps[1] (why): field \"buttons\" does not belong to a step of type info",
			"content/flows/demo.yaml:27: steps[2] (ask): validate \"email\" is not one of text, number, phone, yesno",
			"content/flows/demo.yaml:28: steps[2] (ask): save \"Has Phone\" is not a valid variable name (lower-case letters, digits and _, at most 32)",
			"content/flows/demo.yaml:39: steps[4] (qr): checker \"QR Code\" is not a valid name",
			"content/flows/demo.yaml:42: steps[4] (qr): outcome \"Not OK\" is not a valid name",
			"content/flows/demo.yaml:47: steps[5] (done): field \"next\" does not belong to a step of type end",
			"content/flows/demo.yaml:49: steps[6] (weird): step is unreachable from start \"intro\"",
			"content/flows/demo.yaml:50: steps[6] (weird): type \"loop\" is not one of info, choice, checkpoint, question, external, end",
			"content/flows/demo.yaml:53: steps[7] (typeless): step is unreachable from start \"intro\"",
			"content/flows/demo.yaml:53: steps[7] (typeless): type is missing (one of info, choice, checkpoint, question, external, end)",
		}},
		{"system_missing", []string{
			"locales: common.greet: system message is missing in en",
			"locales: common.welcome: system message is missing in vi, en",
		}},
		{"targets", []string{
			"content/targets.yaml:7: targets[1]: flow \"ewallet\" does not exist",
			"content/targets.yaml:8: targets[1]: area \"nowhere\" does not exist",
			"content/targets.yaml:9: targets[1]: pct 0 is not in (0, 100]",
			"content/targets.yaml:10: targets[1]: basis \"people\" is not one of households, population, population_15plus",
			"content/targets.yaml:12: targets[2]: area is missing",
			"content/targets.yaml:12: targets[2]: basis is missing (households, population, population_15plus)",
			"content/targets.yaml:12: targets[2]: flow is missing",
			"content/targets.yaml:12: targets[2]: pct 100.5 is not in (0, 100]",
			"content/targets.yaml:12: targets[2]: source is missing: say where the goal comes from",
			"content/targets.yaml:14: targets[3]: flow \"demo\" and area \"c1\" already have a target, targets[0]",
			"content/targets.yaml:21: cannot unmarshal !!str `half` into float64",
			"content/targets.yaml:24: unknown field \"owner\"",
			"content/targets.yaml:25: targets[5]: pct is missing",
		}},
		{"targets_empty", []string{
			"content/targets.yaml: file is empty",
		}},
		{"template_fields", []string{
			"locales/common.en.toml:1: common.welcome: template field .Name is not supplied to this system message (it gets nothing)",
			"locales/common.en.toml:2: common.greet: template field .Hamlet is not supplied to this system message (it gets .Name)",
			"locales/common.en.toml:4: common.count.other: template field .Total is not supplied to this system message (it gets .Count)",
			"locales/demo.vi.toml:1: demo.title: template field .Commune is not supplied to a flow's title (it gets nothing)",
			"locales/demo.vi.toml:2: demo.intro: template field .Name is not supplied to a flow's say (it gets .Hamlet, .Commune)",
			"locales/demo.vi.toml:3: demo.btn.phone: template field .Hamlet is not supplied to a flow's label (it gets nothing)",
			"locales/demo.vi.toml:5: demo.why: template does not parse: template: demo.why:1: unclosed action",
			"locales/demo.vi.toml:6: demo.sim: template field .Province is not supplied to a flow's say (it gets .Hamlet, .Commune)",
			"locales/demo.vi.toml:8: demo.ask_invalid: template does not render: template: demo.ask_invalid:1:50: executing \"demo.ask_invalid\" at <.Hamlet.Name>: can't evaluate field Name in type interface {}",
			"locales/demo.vi.toml:9: demo.qr: template does not parse: template: demo.qr:1: function \"nofunc\" not defined",
		}},
		{"finish", []string{
			`content/flows/demo.yaml:17: steps[1] (why): only a guide's last message begins with "🎉"; demo.why (en) does`,
			`content/flows/demo.yaml:45: steps[5] (done): the guide's last message (demo.done, vi) must begin with "🎉"`,
		}},
		{"style", []string{
			`content/flows/demo.yaml:6: retired: "Bad" is not a valid step id`,
			`content/flows/demo.yaml:7: areas: "h1" is a hamlet; name a commune or a province`,
			`content/flows/demo.yaml:7: areas: "nowhere" is not an area of areas.yaml`,
			`content/flows/demo.yaml:10: steps[0] (intro): id "intro" has the funnel code of "x8qxto" (flows.StepCode): the funnel would count them as one step; give the step another id`,
			"content/flows/demo.yaml:10: steps[0] (intro): its screen shows 5 buttons (back, ❓, ⏭ and ℹ️ included), more than 4",
			"content/flows/demo.yaml:19: steps[1] (why): a turn of 380 characters in en (why → old_sim), more than 350: one action a message, background behind ℹ️ (more:)",
			`content/flows/demo.yaml:25: steps[2] (old_sim): id "old_sim" is retired (the flow's retired list): give the step a new id, so counts kept under the old one keep their meaning`,
			"content/flows/demo.yaml:25: steps[2] (old_sim): its screen shows 5 buttons (back, ❓, ⏭ and ℹ️ included), more than 4",
			`locales/demo.vi.toml:6: demo.sim: says something is not known ("chưa rõ, hiện chưa"…): say what is known and whom to ask`,
			"locales/demo.vi.toml:8: demo.ask: names 🙋, which a guide's screens do not show: a person is asked for through ❓",
		}},
		{"urgent", []string{
			`content/flows/demo.yaml:2: start "intro" is urgent: an urgent step files its request when a step leads to it, so it cannot be the first`,
			`content/flows/demo.yaml:6: areas: "c0-cu" is a former area (valid_to 2025-06-30); name the one it became`,
			`content/flows/demo.yaml:12: steps[0] (intro): field "urgent" does not belong to a step of type choice`,
			`content/flows/demo.yaml:17: steps[1] (why): an info step leads to the urgent step "sim": its request would not be filed; lead there from a step that waits`,
			`content/flows/demo.yaml:20: steps[1] (why): field "secret" does not belong to a step of type info`,
		}},
		{"too_long", []string{
			"content/flows/demo.yaml:15: steps[1] (why): a turn of 623 characters in vi (why → sim), more than 350: one action a message, background behind ℹ️ (more:)",
			"locales/demo.vi.toml:5: demo.why: renders to 312 characters, more than 300",
			"locales/demo.vi.toml:6: demo.sim: renders to 310 characters, more than 300",
		}},
		{"unknown_fields", []string{
			"content/flows/demo.yaml:3: unknown field \"colour\"",
			"content/flows/demo.yaml:4: cannot unmarshal !!str `first` into int",
			"content/flows/demo.yaml:12: unknown field \"emoji\"",
			"content/flows/demo.yaml:18: unknown field \"line\"",
			"content/flows/demo.yaml:25: mapping key \"next\" already defined at line 24",
		}},
		{"yaml_syntax", []string{
			"content/flows/extra.yaml:6: did not find expected ',' or ']'",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkFixture(t, tt.name)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check(testdata/broken/%s) (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

// TestStyleProblemsDoNotStopTheBot: a rule of the words' house style
// (a hedge here) fails content check but not the load: the bot runs.
func TestStyleProblemsDoNotStopTheBot(t *testing.T) {
	c, _ := fixture(t, "")
	lm := c.(fstest.MapFS)
	f := lm["locales/demo.vi.toml"]
	lm["locales/demo.vi.toml"] = &fstest.MapFile{Data: []byte(strings.Replace(string(f.Data), "Xong thì bấm ✅", "Nhà mạng nào thì chưa rõ. Xong thì bấm ✅", 1))}
	l, err := fs.Sub(lm, "locales")
	if err != nil {
		t.Fatal(err)
	}
	ps := check(c, l, fixtureFields, fixtureSystem())
	if len(ps) != 1 || !ps[0].Style {
		t.Fatalf("want one style problem, got %v", ps)
	}
	if _, _, _, err := load(c, l, fixtureFields, fixtureSystem()); err != nil {
		t.Errorf("a style problem stopped the load: %v", err)
	}
}
