package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCheckQRKeepsAnOTPNowhere: inside /checkqr a link is checked, while an
// OTP typed there is warned about and is neither stored nor logged.
func TestCheckQRKeepsAnOTPNowhere(t *testing.T) {
	p := newProgram(t)
	var out, errb bytes.Buffer
	err := runWith(t.Context(), []string{"chat", "--user", "lan"}, env("LOG_LEVEL", "debug"),
		strings.NewReader("/start h_"+tdp1+"\n/checkqr\nhttps://hocphi-dinhca.example/2026/1234\n915372\n"), &out, &errb,
		appOptions{clock: p.clock, client: p.client, prefix: "test"})
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "đường link") || strings.Count(out.String(), "giống mã OTP") != 1 {
		t.Errorf("want the link warning and one OTP warning:\n%s", out.String())
	}
	if !strings.Contains(errb.String(), "level=DEBUG") {
		t.Fatalf("nothing logged at debug; the check below would prove nothing:\n%s", errb.String())
	}
	dump := p.mini.Dump()
	if !strings.Contains(dump, tdp1) {
		t.Fatalf("the dump does not even hold the session:\n%s", dump)
	}
	for where, s := range map[string]string{"Redis": dump, "the log": errb.String()} {
		if strings.Contains(s, "915372") {
			t.Errorf("the OTP is in %s", where)
		}
	}
}

// TestServeChecksAPastedLinkWithoutDeletingIt: on Telegram a link with a
// year and an id pasted into /checkqr gets the web-link warning and stays;
// an OTP is still deleted.
func TestServeChecksAPastedLinkWithoutDeletingIt(t *testing.T) {
	tt := startServe(t, false, nil, nil, "")
	tt.say("/start h_vo-nhai-tdp-1-dinh-ca", "Bác muốn được hướng dẫn việc gì?")
	tt.say("/checkqr", "Bác chụp ảnh mã QR")
	tt.say("https://hocphi-dinhca.example/nhan-qua/2026/48392", "đường link")
	if n := len(tt.fake.Calls("deleteMessage")); n != 0 {
		t.Fatalf("the link was deleted (%d deleteMessage calls)", n)
	}
	tt.say("482910", "giống mã OTP")
	tt.fake.WaitCalls(t, "deleteMessage", 1)
}
