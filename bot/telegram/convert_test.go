package telegram_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/flows"
)

// outcome is the stated result of one shared fixture.
type outcome struct {
	Action   telegram.Action
	Resident string
	Input    flows.Input
	Callback bool
}

// TestFixtureOutcomes gives every real update in the shared fixtures its
// stated outcome. The end-to-end test checks the same files through the
// whole channel.
func TestFixtureOutcomes(t *testing.T) {
	want := map[string]outcome{
		"01-text-private.json":                   {telegram.Process, "tg:", flows.Input{Kind: flows.InputText, Text: "hello there", UpdateID: "tg:800000001"}, false},
		"02-text-private-digit-answer.json":      {telegram.Process, "tg:", flows.Input{Kind: flows.InputText, Text: "4", UpdateID: "tg:800000002"}, false},
		"03-start-with-deeplink-payload.json":    {telegram.Process, "tg:10081232", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "ref_AbC-123_x", UpdateID: "tg:800000003"}, false},
		"04-command-with-at-botname.json":        {Action: telegram.Ignore}, // "/test@foo_bot": another bot's command
		"05-command-entity-not-at-offset-0.json": {telegram.Process, "tg:10081232", flows.Input{Kind: flows.InputText, Text: "aa /test", UpdateID: "tg:800000005"}, false},
		"06-callback-query.json":                 {telegram.Process, "tg:222222222", flows.Input{Kind: flows.InputChoice, Data: "thedata", UpdateID: "tg:800000006"}, true},
		"07-callback-query-structured-data.json": {telegram.Process, "tg:222222222", flows.Input{Kind: flows.InputChoice, Data: "c=uud&pid=1&bid=1", UpdateID: "tg:800000007"}, true},
		// An inaccessible message (date 0) still names its private chat.
		"08-callback-query-inaccessible-message.json": {telegram.Process, "tg:222222222", flows.Input{Kind: flows.InputChoice, Data: "thedata", UpdateID: "tg:800000008"}, true},
		// "message": null: the library's FromChat would panic; the user's id is the private chat's.
		"09-callback-query-message-null.json":              {telegram.Process, "tg:222222222", flows.Input{Kind: flows.InputChoice, Data: "thedata", UpdateID: "tg:800000009"}, true},
		"10-edited-message-reply.json":                     {Action: telegram.Ignore},
		"11-photo-caption-entities.json":                   {telegram.Process, "tg:27433968", flows.Input{Kind: flows.InputPhoto, Photo: "", UpdateID: "tg:800000011"}, false},
		"12-document.json":                                 {telegram.Process, "tg:456", flows.Input{Kind: flows.InputOther, UpdateID: "tg:800000012"}, false},
		"13-contact.json":                                  {telegram.Process, "tg:", flows.Input{Kind: flows.InputOther}, false}, // someone else's card: not taken as the resident's number
		"14-location.json":                                 {telegram.Process, "tg:", flows.Input{Kind: flows.InputOther}, false},
		"15-venue.json":                                    {telegram.Process, "tg:", flows.Input{Kind: flows.InputOther}, false},
		"16-sticker.json":                                  {telegram.Process, "tg:", flows.Input{Kind: flows.InputOther}, false},
		"17-voice.json":                                    {telegram.Process, "tg:", flows.Input{Kind: flows.InputOther}, false},
		"18-video-media-group.json":                        {telegram.Process, "tg:250918540", flows.Input{Kind: flows.InputOther}, false},
		"19-my-chat-member-private-blocked.json":           {Action: telegram.Blocked},
		"20-my-chat-member-private-unblocked.json":         {Action: telegram.Unblocked},
		"21-my-chat-member-added-to-group.json":            {Action: telegram.Ignore},
		"22-my-chat-member-promoted-admin-supergroup.json": {Action: telegram.Ignore},
		"23-my-chat-member-removed-from-supergroup.json":   {Action: telegram.Ignore},
		"24-my-chat-member-private-kicked-minimal.json":    {Action: telegram.Ignore}, // chat id 0: no private chat has it
		"25-chat-member.json":                              {Action: telegram.Ignore},
		"26-channel-post-service.json":                     {Action: telegram.Ignore},
		"27-channel-post-text.json":                        {Action: telegram.Ignore},
		"28-supergroup-pinned-message.json":                {Action: telegram.Ignore},
		"29-supergroup-command-in-thread-reply.json":       {Action: telegram.Ignore}, // a command not addressed to this bot
		"30-supergroup-anonymous-admin-forward.json":       {Action: telegram.Ignore},
		"31-group-migrated-to-supergroup.json":             {Action: telegram.Ignore},
		"32-forwarded-message-forward-origin-user.json":    {telegram.Process, "tg:", flows.Input{Kind: flows.InputText, Text: "Ciao"}, false},
		"33-text-entities-emoji-utf16.json":                {telegram.Process, "tg:", flows.Input{Kind: flows.InputText}, false},
		"34-inline-query.json":                             {Action: telegram.Ignore},
		"35-poll.json":                                     {Action: telegram.Ignore},
		"36-poll-answer.json":                              {Action: telegram.Ignore},
		"37-dice-supergroup.json":                          {Action: telegram.Ignore},
		"38-message-reaction.json":                         {Action: telegram.Ignore}, // decodes to an all-nil Update in v5.5.1
		"39-message-effect-id-newer-field.json":            {telegram.Process, "tg:", flows.Input{Kind: flows.InputText, Text: "El Psy Kongroo"}, false},
		"40-unknown-future-update-kind.json":               {Action: telegram.Ignore},
	}
	fixtures := telegramtest.Fixtures(t)
	files, err := fs.Glob(fixtures, "*.json")
	if err != nil || len(files) != 40 {
		t.Fatalf("want the 40 shared fixtures, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		name := f
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no stated outcome for %s", name)
			}
			raw, err := fs.ReadFile(fixtures, f)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := telegram.Decode(raw, "hangxom_bot")
			if err != nil {
				t.Fatal(err)
			}
			if ev.Action != w.Action {
				t.Fatalf("action = %v, want %v", ev.Action, w.Action)
			}
			if w.Action != telegram.Process {
				return
			}
			// Fields the table leaves empty are not compared.
			got := outcome{Action: ev.Action, Resident: ev.Resident, Input: ev.Input, Callback: ev.CallbackID != ""}
			if w.Resident == "tg:" {
				w.Resident = got.Resident
			}
			w.Input.Name = got.Input.Name // the sender's first name, checked below
			if w.Input.UpdateID == "" {
				w.Input.UpdateID = got.Input.UpdateID
			}
			if w.Input.Kind == flows.InputText && w.Input.Text == "" {
				w.Input.Text = got.Input.Text
			}
			if w.Input.Kind == flows.InputContact || w.Input.Kind == flows.InputPhoto {
				w.Input.Text, w.Input.Photo = got.Input.Text, got.Input.Photo
				if got.Input.Text == "" && got.Input.Photo == "" {
					t.Error("contact or photo without its content")
				}
			}
			if d := cmp.Diff(w, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if got.Input.Name == "" {
				t.Error("the sender's first name is missing")
			}
		})
	}
}

func TestDecodeEdges(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want telegram.Action
		cmd  string
		args string
	}{
		{"group command to this bot", `{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":-5,"type":"group"},"from":{"id":7,"is_bot":false,"first_name":"a"},"text":"/start@hangxom_bot","entities":[{"type":"bot_command","offset":0,"length":18}]}}`, telegram.GroupHint, "", ""},
		{"group command to another bot", `{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":-5,"type":"group"},"text":"/start@other_bot","entities":[{"type":"bot_command","offset":0,"length":16}]}}`, telegram.Ignore, "", ""},
		{"hamlet link", `{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"a"},"text":"/start h_vo-nhai-tdp-1","entities":[{"type":"bot_command","offset":0,"length":6}]}}`, telegram.Process, "start", "h_vo-nhai-tdp-1"},
		{"payload too long acts as a plain start", `{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"text":"/start h_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","entities":[{"type":"bot_command","offset":0,"length":6}]}}`, telegram.Process, "start", ""},
		{"payload with a space acts as a plain start", `{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"text":"/start h_a b","entities":[{"type":"bot_command","offset":0,"length":6}]}}`, telegram.Process, "start", ""},
		{"a message from a bot", `{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":9,"is_bot":true,"first_name":"b"},"text":"hi"}}`, telegram.Ignore, "", ""},
		{"empty object", `{}`, telegram.Ignore, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := telegram.Decode([]byte(tc.raw), "hangxom_bot")
			if err != nil {
				t.Fatal(err)
			}
			if ev.Action != tc.want || ev.Input.Command != tc.cmd || (tc.cmd != "" && ev.Input.Text != tc.args) {
				t.Errorf("got %v %q %q, want %v %q %q", ev.Action, ev.Input.Command, ev.Input.Text, tc.want, tc.cmd, tc.args)
			}
		})
	}
	own := `{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"a"},"contact":{"phone_number":"+84912345678","first_name":"a","user_id":5}}}`
	if ev, err := telegram.Decode([]byte(own), ""); err != nil || ev.Input.Kind != flows.InputContact || ev.Input.Text != "+84912345678" {
		t.Errorf("the resident's own contact: %+v, %v", ev.Input, err)
	}
	other := strings.Replace(own, `"user_id":5`, `"user_id":6`, 1)
	if ev, err := telegram.Decode([]byte(other), ""); err != nil || ev.Input.Kind == flows.InputContact || strings.Contains(ev.Input.Text, "912345678") {
		t.Errorf("another person's contact card taken as the resident's number: %+v, %v", ev.Input, err)
	}
	if _, err := telegram.Decode([]byte(`{"update_id":`), ""); err == nil {
		t.Error("broken JSON decoded without error")
	}
}

func FuzzDecode(f *testing.F) {
	fixtures := telegramtest.Fixtures(f)
	files, _ := fs.Glob(fixtures, "*.json")
	for _, file := range files {
		if raw, err := fs.ReadFile(fixtures, file); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"update_id":1,"callback_query":{"id":"1","message":null}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := telegram.Decode(raw, "hangxom_bot")
		if err != nil {
			return
		}
		if ev.Action == telegram.Process && ev.Resident == "" {
			t.Fatalf("an input without a resident: %+v", ev)
		}
	})
}
