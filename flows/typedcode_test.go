package flows_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
)

func TestHamletCodeOf(t *testing.T) {
	for _, tc := range []struct {
		text, want string
	}{
		{"XAK7", "XAK7"},
		{"  xak7 \n", "XAK7"},
		{"Xak7", "XAK7"},
		{"B2MN", "B2MN"},
		// Not codes: words, numbers, letters left out of the alphabet,
		// other lengths, more than the code.
		{"xong", ""}, {"MENU", ""}, {"chao", ""}, {"nhà", ""}, {"xin chào", ""},
		{"2025", ""}, {"7345", ""},
		{"XAK0", ""}, {"XOK7", ""}, {"XIK7", ""}, {"XLK7", ""}, {"X1K7", ""},
		{"XAK", ""}, {"XAK77", ""}, {"XA K7", ""}, {"XAK7.", ""}, {"/XAK7", ""}, {"", ""},
	} {
		t.Run(tc.text, func(t *testing.T) {
			got, ok := flows.HamletCodeOf(tc.text)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("HamletCodeOf(%q) = %q, %v; want %q", tc.text, got, ok, tc.want)
			}
		})
	}
}

func TestHamletCodeCandidatesAreStableAndWellFormed(t *testing.T) {
	a := flows.HamletCodeCandidates("vo-nhai-tdp-1-dinh-ca", 32)
	b := flows.HamletCodeCandidates("vo-nhai-tdp-1-dinh-ca", 32)
	check(t, "the same id, twice", a, b)
	if len(a) != 32 {
		t.Fatalf("%d candidates, want 32", len(a))
	}
	seen := map[string]bool{}
	for _, c := range a {
		if got, ok := flows.HamletCodeOf(strings.ToLower(c)); !ok || got != c {
			t.Errorf("candidate %q does not read back as a code", c)
		}
		seen[c] = true
	}
	if len(seen) < 30 {
		t.Errorf("only %d distinct codes among 32 candidates", len(seen))
	}
	if other := flows.HamletCodeCandidates("vo-nhai-tdp-2", 1); other[0] == a[0] {
		t.Errorf("two ids derive the same first code %q", a[0])
	}
}

// TestCodesAreNotSensitive: no hamlet code and no typable invite code is
// ever taken for a secret, so the engine never deletes one as a secret.
// It walks a tenth of all four-character strings of the alphabet.
func TestCodesAreNotSensitive(t *testing.T) {
	const al = flows.HamletCodeAlphabet
	n := 0
	for i := 0; i < len(al)*len(al)*len(al)*len(al); i += 7 {
		b := []byte{al[i%31], al[i/31%31], al[i/961%31], al[i/29791%31]}
		c, ok := flows.HamletCodeOf(string(b))
		if !ok {
			continue
		}
		n++
		for _, text := range []string{c, strings.ToLower(c), " " + c + " "} {
			if flows.Sensitive(text) {
				t.Fatalf("hamlet code %q is taken for a secret", text)
			}
		}
	}
	if n < 80000 {
		t.Fatalf("only %d codes checked", n)
	}
	for _, code := range []string{"mkq2abcdefghijkl", "pw3aaaaaaaaaaaaa", "otpa2345bcdefghi", "abcd2345efgh6723"} {
		if _, ok := flows.InviteCodeOf(code); ok && flows.Sensitive(code) {
			t.Errorf("invite code %q is typable and a secret", code)
		}
	}
	if _, ok := flows.InviteCodeOf("abcd2345efgh6723"); !ok || flows.Sensitive("/join abcd2345efgh6723") {
		t.Error("a plain invite code is not typable, or /join with it is a secret")
	}
}

func TestInviteCodeOf(t *testing.T) {
	for _, tc := range []struct {
		text, want string
	}{
		{"abcd2345efgh6723", "abcd2345efgh6723"},
		{"  ABCD2345EFGH6723 ", "abcd2345efgh6723"},
		{"responsibilities", ""}, // 16 letters: a word
		{"2345672345672345", ""}, // digits only
		{"abcd2345efgh672", ""}, {"abcd2345efgh67233", ""}, {"abcd2345efgh6781", ""},
		{"abcd 2345efgh6723", ""}, {"/join abcd2345efgh6723", ""},
		{"mkq2abcdefghijkl", ""}, // "mk" and a word with a digit: Sensitive's
	} {
		t.Run(tc.text, func(t *testing.T) {
			got, ok := flows.InviteCodeOf(tc.text)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("InviteCodeOf(%q) = %q, %v; want %q", tc.text, got, ok, tc.want)
			}
		})
	}
}

func TestTypedHamletCode(t *testing.T) {
	welcome := "common.welcome{Period=common.retention_months{Count=12}}"
	t.Run("a new resident is filed as by /start h_", func(t *testing.T) {
		c := newConv(t)
		res := c.text(" xak7 ")
		link := newConv(t)
		want := link.cmd("start", "h_a-1")
		check(t, "replies", texts(want), texts(res))
		check(t, "replies", []string{welcome, "common.hamlet_set{Commune=Xã A,Hamlet=Xóm 1}", "common.menu"}, texts(res))
		check(t, "effects", []string{"filed:@a-1"}, kinds(res))
		check(t, "hamlet", "a-1", c.s.Hamlet)
	})
	t.Run("at the commune picker", func(t *testing.T) {
		c := newConv(t)
		c.text("xin chào")
		check(t, "stage", flows.StageCommune, c.s.Stage)
		res := c.text("B2MN")
		check(t, "replies", []string{"common.hamlet_set{Commune=Xã B,Hamlet=Bản Một}", "common.menu"}, texts(res))
		check(t, "hamlet", "b-1", c.s.Hamlet)
	})
	t.Run("in the middle of a guide, another hamlet's code asks first", func(t *testing.T) {
		c := newConv(t)
		onboard(c)
		c.tap("demo.title")
		res := c.text("b2mn")
		check(t, "ask", []string{"common.move_ask{Hamlet=Xóm 1,NewCommune=Xã B,NewHamlet=Bản Một}"}, texts(res))
		res = c.tap("common.btn.move_yes")
		check(t, "effects", []string{"left:demo@a-1(move)", "started:demo@b-1(move)", "unfiled:@a-1", "filed:@b-1"}, kinds(res))
		check(t, "hamlet", "b-1", c.s.Hamlet)
	})
	t.Run("the resident's own hamlet's code shows the menu", func(t *testing.T) {
		c := newConv(t)
		onboard(c)
		res := c.text("XAK7")
		check(t, "replies", []string{"common.menu"}, texts(res))
		check(t, "effects", []string(nil), kinds(res))
	})
	t.Run("at a question, the code is still a code", func(t *testing.T) {
		c := newConv(t)
		onboard(c)
		c.tap("demo.title")
		c.tap("demo.btn.android")
		c.tap("common.btn.done")
		check(t, "at the question", "ask", c.s.Active.Step)
		c.text("XAK7")
		check(t, "stage", flows.StageMenu, c.s.Stage)
	})
}

func TestCodeInAMessageForSomeoneElse(t *testing.T) {
	for _, s := range []flows.Session{
		{Lang: "vi", Stage: flows.StageCompose, Compose: "help-1", Hamlet: "a-1", Commune: "xa-a"},
		{Lang: "vi", Stage: flows.StageNote, NoteFor: "help-1", Hamlet: "a-1", Commune: "xa-a"},
	} {
		c := newConv(t)
		c.s = s
		for _, text := range []string{"B2MN", "abcd2345efgh6723"} {
			c.s = s
			res := c.text(text)
			if res.Staff == nil || res.Staff.Args != text || !strings.HasPrefix(res.Staff.Action, flows.StaffAction) {
				t.Errorf("stage %s: %q gave %+v, want it sent as a message", s.Stage, text, res.Staff)
			}
		}
	}
}

func TestTypedTextThatIsNoHamletCode(t *testing.T) {
	areas := append([]flows.Area(nil), flowstest.Areas...)
	areas = append(areas, flows.Area{ID: "old-1", Level: flows.LevelHamlet, Name: "Xóm Cũ", ParentID: "xa-old",
		ValidTo: "2025-06-30", Code: "Q7RS"})
	for _, text := range []string{
		"ZZ99",     // a code no hamlet has
		"Q7RS",     // the code of a hamlet that no longer exists
		"xong",     // a word
		"xin chào", // words
		"XAK7 nhé", // a code with more
	} {
		t.Run(text, func(t *testing.T) {
			e := flowstest.NewEngine(t)
			e.Areas = flows.NewAreaIndex(areas)
			c := &conv{t: t, e: e, now: flowstest.T0}
			c.text("chào")
			res := c.text(text)
			if c.s.Hamlet != "" {
				t.Errorf("filed under %q by %q", c.s.Hamlet, text)
			}
			for _, r := range texts(res) {
				if strings.HasPrefix(r, "common.hamlet_set") || strings.HasPrefix(r, "common.welcome") {
					t.Errorf("%q answered as a code: %v", text, texts(res))
				}
			}
		})
	}
}

func TestTypedInviteCode(t *testing.T) {
	t.Run("alone, it is /join", func(t *testing.T) {
		c := newConv(t)
		onboard(c)
		res := c.text(" ABCD2345EFGH6723 ")
		if res.Staff == nil || res.Staff.Command != "join" || res.Staff.Args != "abcd2345efgh6723" {
			t.Errorf("staff request %+v, want join abcd2345efgh6723", res.Staff)
		}
	})
	t.Run("as the first message, after the greeting", func(t *testing.T) {
		c := newConv(t)
		res := c.text("abcd2345efgh6723")
		if res.Staff == nil || res.Staff.Command != "join" {
			t.Errorf("staff request %+v, want join", res.Staff)
		}
		check(t, "greeting", []string{"common.welcome{Period=common.retention_months{Count=12}}"}, texts(res))
	})
	for _, text := range []string{"responsibilities", "abcd2345efgh6723 please", "2345672345672345"} {
		t.Run(fmt.Sprintf("%q is not", text), func(t *testing.T) {
			c := newConv(t)
			onboard(c)
			if res := c.text(text); res.Staff != nil {
				t.Errorf("staff request %+v for %q", res.Staff, text)
			}
		})
	}
}

func TestServiceFilesAResidentByTypedCode(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := t.Context()
	if _, err := svc.Handle(ctx, "zl:42", flows.Input{Kind: flows.InputText, Text: "xAk7", UpdateID: "zl:m1"}); err != nil {
		t.Fatal(err)
	}
	check(t, "answer", []string{"common.welcome{Period=common.retention_months{Count=12}}",
		"common.hamlet_set{Commune=Xã A,Hamlet=Xóm 1}", "common.menu"}, flowstest.OutboxTexts(t, st, "zl:42"))
	s, err := st.Session(ctx, "zl:42")
	if err != nil {
		t.Fatal(err)
	}
	check(t, "hamlet", "a-1", s.Hamlet)
	residents, err := st.HamletResidents(ctx, "a-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(residents) != 1 {
		t.Errorf("hamlet a-1 has %d residents, want the one filed", len(residents))
	}
}
