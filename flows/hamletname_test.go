package flows_test

import (
	"strings"
	"testing"

	"github.com/hangxomso/hangxom/flows"
)

// A commune's hamlets as content lists them.
var typedHamlets = []flows.Area{
	{ID: "thon-3", Level: flows.LevelHamlet, Name: "Thôn 3"},
	{ID: "thon-13", Level: flows.LevelHamlet, Name: "Thôn 13"},
	{ID: "xom-dong", Level: flows.LevelHamlet, Name: "Xóm Đông", Aliases: []string{"Đồng Quan"}},
	{ID: "ap-binh-minh", Level: flows.LevelHamlet, Name: "Ấp Bình Minh"},
	{ID: "ban-na-luu", Level: flows.LevelHamlet, Name: "Bản Nà Lưu"},
	{ID: "tdp-1", Level: flows.LevelHamlet, Name: "Tổ dân phố 1", Aliases: []string{"Đình Cả"}},
	{ID: "xom-cau", Level: flows.LevelHamlet, Name: "Xóm Cầu"},
	{ID: "thon-cau", Level: flows.LevelHamlet, Name: "Thôn Cầu"},
}

func TestTypedHamletNames(t *testing.T) {
	tests := []struct {
		typed string
		want  string // hamlet id, "" for no match
	}{
		{"Thôn 3", "thon-3"},
		{"thon 3", "thon-3"},
		{"  THÔN   3 ", "thon-3"},
		{"3", "thon-3"},
		{"thôn số 3", "thon-3"},
		{"xom 3", "thon-3"}, // the prefix is tolerated, whichever
		{"xom dong", "xom-dong"},
		{"Đông", "xom-dong"},
		{"dong quan", "xom-dong"}, // an alias, without diacritics
		{"ap binh minh", "ap-binh-minh"},
		{"Bình Minh", "ap-binh-minh"},
		{"ban na luu", "ban-na-luu"},
		{"Nà Lưu", "ban-na-luu"},
		{"to dan pho 1", "tdp-1"},
		{"tdp 1", "tdp-1"},
		{"đình cả", "tdp-1"},
		{"Xóm Cầu", "xom-cau"},   // the exact name wins…
		{"thon cau", "thon-cau"}, // …of two with the key "cau"
		{"cau", ""},              // which one is not known
		{"Thôn 31", ""},
		{"Xóm Chùa", ""},
		{"thôn", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.typed, func(t *testing.T) {
			h, ok := flows.MatchHamlet(typedHamlets, tt.typed)
			if ok != (tt.want != "") || h.ID != tt.want {
				t.Errorf("MatchHamlet(%q) = %q, %v; want %q", tt.typed, h.ID, ok, tt.want)
			}
		})
	}
}

func TestHamletName(t *testing.T) {
	tests := []struct {
		typed, want string
		ok          bool
	}{
		{"  Xóm   Chùa ", "Xóm Chùa", true},
		{"Xóm\tChùa\n", "Xóm Chùa", true},
		{"Xóm\u200bChùa", "Xóm Chùa", true},
		{"Xóm\x07Chùa", "Xóm Chùa", true},
		{"???", "", false},
		{"   ", "", false},
		{strings.Repeat("a", flows.MaxHamletName), strings.Repeat("a", flows.MaxHamletName), true},
		{strings.Repeat("ấ", flows.MaxHamletName+1), "", false},
	}
	for _, tt := range tests {
		got, ok := flows.HamletName(tt.typed)
		if got != tt.want || ok != tt.ok {
			t.Errorf("HamletName(%q) = %q, %v; want %q, %v", tt.typed, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTypingAHamletsName(t *testing.T) {
	t.Run("a listed hamlet, with its prefix and without diacritics", func(t *testing.T) {
		c := newConv(t)
		c.text("chào")
		c.tap("🏡 Xã A")
		res := c.text("xom 10")
		check(t, "hamlet", "a-10", c.s.Hamlet)
		check(t, "effects", []string{"filed:@a-10"}, kinds(res))
	})
	t.Run("an unknown name is a request and files under unassigned", func(t *testing.T) {
		c := newConv(t)
		c.text("chào")
		c.tap("🏡 Xã A")
		res := c.text("  Xóm   Chùa ")
		check(t, "hamlet", "a-none", c.s.Hamlet)
		check(t, "replies", []string{"common.hamlet_asked{Commune=Xã A,Name=Xóm Chùa}",
			"common.hamlet_unassigned{Commune=Xã A,Hamlet=Chưa xếp}", "common.menu"}, texts(res))
		check(t, "effects", []string{"hamlet_asked:@a-none", "filed:@a-none"}, kinds(res))
		e := res.Effects[0]
		check(t, "request", []string{"xa-a", "Xóm Chùa"}, []string{e.Commune, e.Name})
	})
	t.Run("after not listed, the name screen takes it", func(t *testing.T) {
		c := newConv(t)
		c.text("chào")
		c.tap("🏡 Xã B")
		c.tap("common.btn.not_listed")
		check(t, "stage", flows.StageHamletName, c.s.Stage)
		check(t, "buttons", []string{"common.btn.skip_name", "common.btn.back"}, labels(c.lastButtons()))
		res := c.text("ban mot") // listed after all
		check(t, "hamlet", "b-1", c.s.Hamlet)
		check(t, "effects", []string{"filed:@b-1"}, kinds(res))
	})
	t.Run("back from the name screen shows the list again", func(t *testing.T) {
		c := newConv(t)
		c.text("chào")
		c.tap("🏡 Xã B")
		c.tap("common.btn.not_listed")
		c.tap("common.btn.back")
		check(t, "stage", flows.StageHamlet, c.s.Stage)
	})
	t.Run("something that is no name is asked again", func(t *testing.T) {
		c := newConv(t)
		c.text("chào")
		c.tap("🏡 Xã A")
		res := c.text(strings.Repeat("xóm rất dài ", 10))
		check(t, "replies", "common.type_hamlet_again", texts(res)[0])
		check(t, "no effects", 0, len(res.Effects))
		check(t, "still choosing", flows.StageHamlet, c.s.Stage)
	})
}

func TestChangingHamletFromTheMenu(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	started := c.s.Active.Started
	c.text("menu")
	res := c.tap("common.btn.change_hamlet")
	check(t, "the commune's hamlets", []string{"common.choose_hamlet{Commune=Xã A}"}, texts(res))
	check(t, "buttons", []string{"🏠 Xóm 1", "🏠 Xóm 2", "🏠 Xóm 10", "common.btn.not_listed", "common.btn.back"}, labels(c.lastButtons()))
	c.tap("common.btn.back")
	check(t, "communes, with a way back", "common.btn.back", labels(c.lastButtons())[len(c.lastButtons())-1])
	c.tap("🏡 Xã B")
	res = c.text("bản một")
	check(t, "asked first", []string{"common.move_ask{Hamlet=Xóm 1,NewCommune=Xã B,NewHamlet=Bản Một}"}, texts(res))
	res = c.tap("common.btn.move_yes")
	check(t, "moved", "b-1", c.s.Hamlet)
	check(t, "effects", []string{"left:demo@a-1(move)", "started:demo@b-1(move)", "unfiled:@a-1", "filed:@b-1"}, kinds(res))
	for _, e := range res.Effects[:2] {
		if !e.Started.Equal(started) {
			t.Errorf("%s effect carries start %v, want the flow's %v", e.Kind, e.Started, started)
		}
	}
	// A name no list has, typed when changing: asked before moving.
	c.text("menu")
	c.tap("common.btn.change_hamlet")
	c.tap("common.btn.not_listed")
	res = c.text("Xóm Chùa")
	check(t, "request, then the move asked", []string{"common.hamlet_asked{Commune=Xã B,Name=Xóm Chùa}",
		"common.move_ask{Hamlet=Bản Một,NewCommune=Xã B,NewHamlet=Chưa xếp}"}, texts(res))
	check(t, "kept", []string{"hamlet_asked:@b-none"}, kinds(res))
	c.tap("common.btn.move_no")
	check(t, "stayed", "b-1", c.s.Hamlet)
}
