package desk_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
)

// typeHamlet has a new resident choose commune and type a hamlet's name.
func (w *staffWorld) typeHamlet(who, commune, name string) {
	w.t.Helper()
	w.send(who, flows.Input{Kind: flows.InputText, Text: "chào"})
	w.tap(who, "🏡 "+commune)
	w.send(who, flows.Input{Kind: flows.InputText, Text: name})
}

func TestHamletRequestsForCoordinators(t *testing.T) {
	w := newStaffWorld(t)
	live := flows.NewLiveAreas(flowstest.Areas)
	w.svc.Engine.Areas, w.desk.Areas = live, live
	var added []flows.Area
	w.desk.AddArea = func(_ context.Context, a flows.Area) error {
		added = append(added, a)
		live.Set(append(append([]flows.Area{}, flowstest.Areas...), added...))
		return nil
	}
	w.desk.Requests = w.st
	for _, who := range []string{"tg:1", "tg:2", "tg:3", "tg:5", "tg:9"} {
		w.send(who, flows.Input{Kind: flows.InputText, Text: "chào"})
	}
	w.cmd("tg:2", "join", codeIn(t, w.cmd("tg:1", "invite", "coordinator xa-a")))
	w.cmd("tg:3", "join", codeIn(t, w.cmd("tg:1", "invite", "coordinator xa-b")))
	w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))

	check(t, "no requests yet", []string{"staff.hamlet_requests_none"}, w.cmd("tg:2", "hamletrequests", ""))
	w.typeHamlet("tg:20", "Xã A", "Xóm Chùa")
	w.typeHamlet("tg:21", "Xã A", "thon chua") // the same hamlet, typed otherwise
	w.typeHamlet("tg:22", "Xã A", "Xóm Đá")
	w.send("tg:22", flows.Input{Kind: flows.InputText, Text: "menu"})
	w.tap("tg:22", "common.btn.change_hamlet")
	w.tap("tg:22", "common.btn.not_listed")
	w.send("tg:22", flows.Input{Kind: flows.InputText, Text: "Xóm Mít"}) // replaces their Xóm Đá
	w.typeHamlet("tg:30", "Xã B", "Bản Hai")

	t.Run("refused to a resident, a team member and another commune's coordinator", func(t *testing.T) {
		check(t, "resident", []string{"staff.only_coordinators_add"}, w.cmd("tg:9", "hamletrequests", ""))
		check(t, "team member", []string{"staff.only_coordinators_add"}, w.cmd("tg:5", "hamletrequests", ""))
		for _, action := range []string{"hreq:xa-a", "addreq:xa-a:chua"} {
			s := flows.Session{Lang: "vi"}
			rs, err := w.desk.Do(t.Context(), "tg:3", &s, flows.StaffRequest{Action: flows.StaffAction + action}, w.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || rs[0].Text != "staff.not_your_area" {
				t.Errorf("%s by Xã B's coordinator: %+v", action, rs)
			}
			s = flows.Session{Lang: "vi"}
			rs, err = w.desk.Do(t.Context(), "tg:5", &s, flows.StaffRequest{Action: flows.StaffAction + action}, w.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || rs[0].Text != "staff.only_coordinators_add" {
				t.Errorf("%s by a team member: %+v", action, rs)
			}
		}
		if len(added) != 0 {
			t.Fatalf("added %+v", added)
		}
		got := w.cmd("tg:3", "hamletrequests", "")
		if len(got) != 1 || !strings.Contains(got[0], "Bản Hai") || strings.Contains(got[0], "Chùa") {
			t.Errorf("Xã B's coordinator sees %q, want only Xã B's request", got)
		}
	})

	t.Run("the commune's coordinator adds one in one tap", func(t *testing.T) {
		got := w.cmd("tg:2", "hamletrequests", "")
		want := "staff.hamlet_requests{Commune=Xã A,List=" +
			"staff.hamlet_request_line{Count=2,Date=20/11,Name=Xóm Chùa}\n" +
			"staff.hamlet_request_line{Count=1,Date=20/11,Name=Xóm Mít}}"
		check(t, "list", []string{want}, got)
		check(t, "added", []string{"staff.addhamlet_done{Commune=Xã A,ID=xa-a-xom-chua,Name=Xóm Chùa}"},
			w.tap("tg:2", "staff.btn.add_requested{Name=Xóm Chùa}"))
		if len(added) != 1 || added[0].ParentID != "xa-a" || added[0].Name != "Xóm Chùa" {
			t.Fatalf("added %+v", added)
		}
		got = w.cmd("tg:2", "hamletrequests", "")
		if len(got) != 1 || strings.Contains(got[0], "Chùa") || !strings.Contains(got[0], "Xóm Mít") {
			t.Errorf("after the add: %q", got)
		}
		// A resident who asked picks it now.
		w.send("tg:20", flows.Input{Kind: flows.InputText, Text: "menu"})
		w.tap("tg:20", "common.btn.change_hamlet")
		w.send("tg:20", flows.Input{Kind: flows.InputText, Text: "xom chua"})
		w.tap("tg:20", "common.btn.move_yes")
		s, err := w.st.Session(t.Context(), "tg:20")
		if err != nil {
			t.Fatal(err)
		}
		check(t, "resident's hamlet", "xa-a-xom-chua", s.Hamlet)
	})

	t.Run("a province coordinator chooses the commune", func(t *testing.T) {
		check(t, "which", []string{"staff.hamlet_requests_which"}, w.cmd("tg:1", "hamletrequests", ""))
		got := w.tap("tg:1", "Xã B")
		if len(got) != 1 || !strings.Contains(got[0], "Bản Hai") {
			t.Errorf("Xã B: %q", got)
		}
	})
}
