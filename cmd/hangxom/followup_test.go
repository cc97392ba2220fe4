package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// The team's follow-up through the whole program: `hangxom serve` against
// the fake Bot API, every message a real Vietnamese text from locales/.
//
// The second hamlet (hamletB) is written into the store with PutArea before
// serve starts, as `hangxom areas import` would: serve reads the areas at
// start, and /addhamlet (which makes its own id from the name) is one of the
// commands under test in the role matrix, so it should not also build the
// stage the other commands are tested on.

const (
	hamletA   = tdp1 // the seed's "Tổ dân phố 1 (Đình Cả)", Xã Võ Nhai: 170 households, 700 people
	hamletB   = "vo-nhai-xom-dong-che"
	nameA     = "Tổ dân phố 1 (Đình Cả)"
	nameB     = "Xóm Đồng Chè"
	followKey = "test-data-key-0123456789" // serve's DATA_KEY in startServeAt
	ewallet   = "💳 Mở tài khoản thanh toán"
	ewSteps   = 30 // the steps of content/flows/ewallet.yaml
)

// The words the tests expect, as in locales/staff.vi.toml and common.vi.toml.
const (
	txtNotMember = "Bác chưa ở trong tổ công nghệ số nào. Nếu có mã mời, bác gõ /join và mã đó."
	txtOnlyCoord = "Chỉ điều phối viên mới mời được người vào tổ."
	txtNotYours  = "Việc này nằm ngoài khu vực của bác."
	txtNoArea    = "Khu vực của bác chưa có nơi nào để mời."
	txtNoHamlet  = "Bác chưa có xóm nào để làm việc này."
	txtOnlyAdd   = "Chỉ điều phối viên mới thêm được xóm."
	txtMenu      = "Bác muốn được hướng dẫn việc gì?"
	txtReminder  = "Chào bác! Bác còn đang làm dở «" + ewallet + "». Khi nào rảnh, bác bấm nút dưới đây để làm tiếp nhé. Không muốn nhận tin nhắc nữa thì gõ /stop."
)

// person is someone with a Telegram private chat; Name is their first name.
type person struct {
	Name string
	Chat int64
}

func (p person) ID() string { return fmt.Sprintf("tg:%d", p.Chat) }

// The cast. Sơn is the province-wide coordinator from COORDINATOR_IDS.
var (
	son  = person{"Sơn", 9001}
	hoa  = person{"Hoa", 6001}  // team of hamlet A
	lua  = person{"Lụa", 6002}  // team of hamlet A
	tuan = person{"Tuấn", 6101} // team of hamlet B
	binh = person{"Bình", 6201} // coordinator of Xã Thần Sa
	minh = person{"Minh", 6301} // coordinator of Xã Võ Nhai
	mai  = person{"Mai", 7001}  // residents of A
	cuc  = person{"Cúc", 7002}
	duc  = person{"Đức", 7003}
	thao = person{"Thảo", 7004}
	dao  = person{"Đào", 7101} // residents of B
	xuan = person{"Xuân", 7102}
	hong = person{"Hồng", 7201} // of Xã Võ Nhai, hamlet not listed
	tien = person{"Tiến", 7301} // of a hamlet added with /addhamlet
)

// runningClock is the program's clock here: set to a chosen wall time, it
// runs on from there in real time. A frozen clock would not do: the shared
// per-chat send pacing (store.Allow) and the sender's recovery scan read it,
// and would never move on.
type runningClock struct {
	mu   sync.Mutex
	base time.Time // the time set
	at   time.Time // when, by the system clock
}

func newRunningClock(t time.Time) *runningClock {
	c := &runningClock{}
	c.Set(t)
	return c
}

// Set moves the clock to t (forward only, in these tests).
func (c *runningClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.at = t, time.Now()
}

// Now is the time set plus the real time since.
func (c *runningClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.at))
}

// village is one Redis prefix and one fake Telegram, on which serve runs
// (restarted, or as two replicas) with the test's clock.
type village struct {
	fake   *telegramtest.Server
	client redis.UniversalClient
	prefix string
	clock  *runningClock
	serves []*tgTest
}

func newVillage(t *testing.T, at time.Time) *village {
	t.Helper()
	v := &village{fake: telegramtest.NewServer(t, ""), clock: newRunningClock(at)}
	v.client, v.prefix = newRedisForTest(t)
	households, population := 80, 320
	if err := v.store().PutArea(t.Context(), flows.Area{ID: hamletB, Level: flows.LevelHamlet, Name: nameB,
		ParentID: "vo-nhai", Households: &households, Population: &population}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []person{son, hoa, lua, tuan, binh, minh, mai, cuc, duc, thao, dao, xuan, hong, tien} {
		v.fake.SetUser(telegramtest.User{ID: p.Chat, FirstName: p.Name, LanguageCode: "vi"})
	}
	return v
}

// start starts one more serve replica.
func (v *village) start(t *testing.T) {
	t.Helper()
	v.serves = append(v.serves, startServeAt(t, false, v.fake, v.client, v.prefix, v.clock, "COORDINATOR_IDS", son.ID()))
}

// stop stops every replica, as SIGTERM does.
func (v *village) stop() {
	for _, s := range v.serves {
		s.stop()
	}
	v.serves = nil
}

func (v *village) store() *store.Redis {
	return store.New(v.client, store.Options{Prefix: v.prefix, DataKey: []byte(followKey), Location: mustLoc(), Clock: v.clock})
}

// waitUntil polls cond until it holds, failing after 15 s.
func waitUntil(t *testing.T, what string, cond func() bool, state func() string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; %s", what, state())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle waits until everything the bot has to send p has been sent.
func (v *village) settle(t *testing.T, p person) {
	t.Helper()
	st := v.store()
	waitUntil(t, p.Name+"'s outbox to empty", func() bool {
		rs, err := st.Outbox(context.Background(), p.ID())
		return err == nil && len(rs) == 0
	}, func() string { return "" })
}

// exchange pushes one update from p, waits until the bot has taken it (the
// polling offset confirms an update only once its replies are stored) and
// sent everything, and returns what p received since, rendered.
func (v *village) exchange(t *testing.T, p person, push func() int) string {
	t.Helper()
	n := len(v.fake.Messages(p.Chat))
	v.fake.WaitConfirmed(t, push())
	v.settle(t, p)
	return render(v.fake.Messages(p.Chat)[n:])
}

// say sends text as p and returns the bot's answer, rendered.
func (v *village) say(t *testing.T, p person, text string) string {
	t.Helper()
	return v.exchange(t, p, func() int { return v.fake.PushText(p.Chat, text) })
}

// sayWant is say, failing unless the answer contains want.
func (v *village) sayWant(t *testing.T, p person, text, want string) string {
	t.Helper()
	got := v.say(t, p, text)
	if !strings.Contains(got, want) {
		t.Fatalf("%s said %q; got:\n%s\nwant a message with %q", p.Name, text, got, want)
	}
	return got
}

// press presses a button with data under the bot's message id in p's chat;
// the data need not be on any keyboard of p's (a forged press).
func (v *village) press(t *testing.T, p person, id int, data string) string {
	t.Helper()
	return v.exchange(t, p, func() int { return v.fake.PushCallback(p.Chat, id, data) })
}

// button finds the button whose label starts with label on p's latest
// keyboard.
func (v *village) button(t *testing.T, p person, label string) (int, telegramtest.Button) {
	t.Helper()
	ms := v.fake.Messages(p.Chat)
	for i := len(ms) - 1; i >= 0; i-- {
		if len(ms[i].Buttons) == 0 {
			continue
		}
		for _, row := range ms[i].Buttons {
			for _, b := range row {
				if strings.HasPrefix(b.Text, label) {
					return ms[i].MessageID, b
				}
			}
		}
		t.Fatalf("%s: no button %q on the latest keyboard: %s", p.Name, label, render(ms[i:i+1]))
	}
	t.Fatalf("%s has no keyboard", p.Name)
	return 0, telegramtest.Button{}
}

// tap presses the button starting with label on p's latest keyboard.
func (v *village) tap(t *testing.T, p person, label string) string {
	t.Helper()
	id, b := v.button(t, p, label)
	return v.press(t, p, id, b.CallbackData)
}

func (v *village) tapWant(t *testing.T, p person, label, want string) string {
	t.Helper()
	got := v.tap(t, p, label)
	if !strings.Contains(got, want) {
		t.Fatalf("%s tapped %q; got:\n%s\nwant a message with %q", p.Name, label, got, want)
	}
	return got
}

// count counts the messages p received that contain s.
func (v *village) count(p person, s string) int {
	n := 0
	for _, m := range v.fake.Messages(p.Chat) {
		if strings.Contains(m.Text+m.Caption, s) {
			n++
		}
	}
	return n
}

// await waits until p has received n messages containing s, everything
// for p is sent, and then checks there are exactly n.
func (v *village) await(t *testing.T, p person, s string, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d messages with %q to %s", n, s, p.Name), func() bool { return v.count(p, s) >= n },
		func() string { return render(v.fake.Messages(p.Chat)) })
	v.settle(t, p)
	if got := v.count(p, s); got != n {
		t.Errorf("%s received %d messages with %q, want exactly %d", p.Name, got, s, n)
	}
}

// render shows messages as the reader sees them: the text (or a
// document's caption and name) and the buttons' labels.
func render(ms []telegramtest.Message) string {
	var out []string
	for _, m := range ms {
		s := m.Text
		if m.Caption != "" {
			s = m.Caption
		}
		if m.Document != "" {
			s += " 📎" + strings.TrimPrefix(m.Document, "file:")
		}
		if m.Photo != "" {
			s += " 🖼" + strings.TrimPrefix(m.Photo, "file:")
		}
		var labels []string
		for _, row := range m.Buttons {
			for _, b := range row {
				labels = append(labels, b.Text)
			}
		}
		if len(labels) > 0 {
			s += " [" + strings.Join(labels, " | ") + "]"
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

var inviteLinkRE = regexp.MustCompile(`https://t\.me/hangxomso_test_bot\?start=j_([a-z2-7]{16})`)

// recruit has by invite p as role of area with a command, and p join by
// the t.me link's payload.
func (v *village) recruit(t *testing.T, by person, role, area string, p person, joined string) {
	t.Helper()
	got := v.sayWant(t, by, "/invite "+role+" "+area, "Mã mời vào ")
	m := inviteLinkRE.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no t.me invite link in %q", got)
	}
	v.sayWant(t, p, "/start j_"+m[1], joined)
}

// home files resident p under hamlet by the poster's link.
func (v *village) home(t *testing.T, p person, hamlet string) {
	t.Helper()
	v.sayWant(t, p, "/start h_"+hamlet, txtMenu)
}

// ewalletTo walks p into the ewallet flow up to step 2 (mm_intro) or 3
// (mm_viettel_store), the way a basic-phone owner does.
func (v *village) ewalletTo(t *testing.T, p person, step int) {
	t.Helper()
	v.tapWant(t, p, "💳", "Điện thoại của bác có màn hình cảm ứng")
	v.tapWant(t, p, "☎️", "nhà mạng nào")
	if step == 3 {
		v.tapWant(t, p, "📶 Viettel", "ra cửa hàng Viettel gần nhà")
	}
}

// ewalletFinish walks p from the menu to the end of the ewallet flow.
func (v *village) ewalletFinish(t *testing.T, p person) {
	t.Helper()
	v.ewalletTo(t, p, 3)
	v.tapWant(t, p, "✅", "bấm *998#")
	v.tapWant(t, p, "✅", "Bác nhớ kỹ")
	v.tapWant(t, p, "✅", "đọc kỹ cả tin")
	v.tapWant(t, p, "✅", "Bác đã mở được tài khoản")
	v.tapWant(t, p, "✅", "Bác muốn học thêm việc gì nữa không?")
}

// helpButton returns the message and data of the latest claim button
// (🙋 Tôi sẽ giúp) in p's chat.
func (v *village) helpButton(t *testing.T, p person) (int, string) {
	t.Helper()
	id, b := v.button(t, p, "🙋 Tôi sẽ giúp")
	if !strings.HasPrefix(b.CallbackData, "h:") {
		t.Fatalf("claim button data %q", b.CallbackData)
	}
	return id, b.CallbackData
}

// lastID is the id of the latest message the bot sent p.
func (v *village) lastID(p person) int {
	ms := v.fake.Messages(p.Chat)
	if len(ms) == 0 {
		return 1
	}
	return ms[len(ms)-1].MessageID
}

// exportCSV reads the CSV document of the latest message to p: its rows by
// hamlet and flow, each a column → value map.
func (v *village) exportCSV(t *testing.T, p person) map[[2]string]map[string]string {
	t.Helper()
	ms := v.fake.Messages(p.Chat)
	m := ms[len(ms)-1]
	data, ok := v.fake.File(m.FileID)
	if !ok || !strings.HasSuffix(m.Document, ".csv") {
		t.Fatalf("no CSV document in %+v", m)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("export CSV: %v", err)
	}
	out := map[[2]string]map[string]string{}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, col := range recs[0] {
			row[col] = rec[i]
		}
		out[[2]string{row["hamlet_id"], row["flow"]}] = row
	}
	return out
}

func hamletsIn(rows map[[2]string]map[string]string) string {
	var hs []string
	for k := range rows {
		if !slices.Contains(hs, k[0]) {
			hs = append(hs, k[0])
		}
	}
	slices.Sort(hs)
	return strings.Join(hs, ",")
}

func remindDone(now, later, skipped int) string {
	return fmt.Sprintf("Đã gửi tin nhắc cho %d người. %d người sẽ nhận lúc 7 giờ sáng (không nhắn từ 21 giờ đến 7 giờ). %d người không nhắc được (đã xin dừng, đã chặn tin, hoặc vừa được nhắc trong 3 ngày).", now, later, skipped)
}

// shippedGuides is how many guides the content ships: an export has a row for
// every hamlet × guide.
func shippedGuides(t *testing.T) int {
	t.Helper()
	fl, err := content.LoadFlows(content.FS, content.FlowsDir)
	if err != nil {
		t.Fatal(err)
	}
	return len(fl)
}

func exportDone(scope string, rows int) string {
	return fmt.Sprintf("Bảng số liệu từ 2022-01 đến 2026-11: %d dòng. Tệp hangxom-%s-2022-01_2026-11.csv sẽ được gửi ngay sau tin này. 📎hangxom-%s-2022-01_2026-11.csv", rows, scope, scope)
}

// contains marks a matrix expectation met by a reply that contains it; any
// other expectation is the whole reply.
func contains(s string) string { return "\x00" + s }

// TestRoleMatrixThroughTelegram runs every team and coordinator command as
// five people and checks the bot's words to each: a resident of hamlet A, a
// team member of A, one of hamlet B (same commune), the coordinator of
// another commune, and the coordinator of A's commune. Rows run in order and
// build on each other (a help request claimed, households logged, a
// resident moved); each row's "after" checks that only the right callers
// changed anything.
func TestRoleMatrixThroughTelegram(t *testing.T) {
	guides := shippedGuides(t)
	v := newVillage(t, time.Date(2026, 11, 20, 10, 0, 0, 0, mustLoc())) // a Friday morning: no quiet hours
	v.start(t)
	ctx := t.Context()

	v.recruit(t, son, "coordinator", "vo-nhai", minh, "Bác đã là điều phối viên của Xã Võ Nhai.")
	v.recruit(t, son, "coordinator", "than-sa", binh, "Bác đã là điều phối viên của Xã Thần Sa.")
	v.recruit(t, minh, "team", hamletA, hoa, "Bác đã vào tổ công nghệ số của "+nameA+".")
	v.recruit(t, minh, "team", hamletB, tuan, "Bác đã vào tổ công nghệ số của "+nameB+".")
	v.home(t, cuc, hamletA)
	v.home(t, mai, hamletA)
	v.ewalletTo(t, mai, 2)
	// The network's choice has three buttons and ↩: no room for ❓; the
	// resident types her plea.
	v.sayWant(t, mai, "giúp tôi với", "Đã ghi lại yêu cầu của bác.")
	v.await(t, hoa, "🙋 Mai ở "+nameA+" cần người giúp: "+ewallet+", bước 2 «Với điện thoại thường, bác dùng Mobile Money…».", 1)
	v.home(t, dao, hamletB)
	v.ewalletTo(t, dao, 2)
	v.sayWant(t, hong, "/start", "Bác ở xã nào?")
	v.tapWant(t, hong, "🏡 Xã Võ Nhai", "Bác ở xóm (thôn, tổ dân phố) nào của Xã Võ Nhai?")
	v.tapWant(t, hong, "❔", "Bác gõ tên thôn/xóm của bác")
	v.tapWant(t, hong, "⏭", "mục «chưa xếp xóm»")
	_, claim := v.helpButton(t, hoa)

	callers := []person{cuc, hoa, tuan, binh, minh}
	say := func(text string, taps map[person][]string) func(t *testing.T, p person) string {
		return func(t *testing.T, p person) string {
			got := v.say(t, p, text)
			for _, label := range taps[p] {
				got += "\n" + v.tap(t, p, label)
			}
			return got
		}
	}
	pendingA := "• Mai (" + nameA + ") — " + ewallet + ", bước 2/30 «Với điện thoại thường, bác dùng Mobile Money…» — 0 ngày 🙋 đã nhờ giúp"
	pendingB := "• Đào (" + nameB + ") — " + ewallet + ", bước 2/30 «Với điện thoại thường, bác dùng Mobile Money…» — 0 ngày"
	helpA := "• Mai (" + nameA + ") — " + ewallet + ", bước 2 «Với điện thoại thường, bác dùng Mobile Money…» — đang chờ [🙋 Nhận: Mai]"
	logged := func(hamlet string) string {
		return contains(`Đã ghi nhận: hộ "nhà bác Tư đầu dốc" (` + hamlet + `) làm xong ` + ewallet + ` nhờ tổ giúp. Cảm ơn bác!`)
	}
	for _, row := range []struct {
		name  string
		do    func(t *testing.T, p person) string
		want  [5]string // by caller, in the order of callers
		after func(t *testing.T)
	}{
		{"/invite to hamlet A", say("/invite team "+hamletA, nil), [5]string{
			txtOnlyCoord, txtOnlyCoord, txtOnlyCoord, txtNotYours, contains("Mã mời vào " + nameA + ": ")}, nil},
		{"/invite by buttons", say("/invite", map[person][]string{binh: {"👥"}, minh: {"👥"}}), [5]string{
			txtOnlyCoord, txtOnlyCoord, txtOnlyCoord,
			"Bác muốn mời người vào vai trò nào? [👥 Thành viên tổ xóm | 🧭 Điều phối viên xã]\n" + txtNoArea,
			"Bác muốn mời người vào vai trò nào? [👥 Thành viên tổ xóm | 🧭 Điều phối viên xã]\nMời vào khu vực nào? [" + nameA + " (Xã Võ Nhai) | " + nameB + " (Xã Võ Nhai)]"}, nil},
		{"/team", say("/team", nil), [5]string{
			txtNotMember,
			"Bác ở tổ công nghệ số của: " + nameA + ".",
			"Bác ở tổ công nghệ số của: " + nameB + ".",
			"Khu vực của bác chưa có ai trong tổ. Bác bấm nút dưới đây để mời. [➕ Mời người mới]",
			"Các tổ trong khu vực của bác:\n• Hoa — thành viên tổ: " + nameA + "\n• Tuấn — thành viên tổ: " + nameB + " [❌ Bỏ Hoa | ❌ Bỏ Tuấn | ➕ Mời người mới]"}, nil},
		{"/pending", say("/pending", nil), [5]string{
			txtNotMember,
			"Bà con đang làm dở (1 người, trang 1/1), lâu nhất trước:\n" + pendingA,
			"Bà con đang làm dở (1 người, trang 1/1), lâu nhất trước:\n" + pendingB,
			"Xóm của bác không có ai đang làm dở hướng dẫn nào.",
			"Bà con đang làm dở (2 người, trang 1/1), lâu nhất trước:\n" + pendingA + "\n" + pendingB}, nil},
		{"/remind", say("/remind", nil), [5]string{
			txtNotMember, remindDone(1, 0, 0), remindDone(1, 0, 0), remindDone(0, 0, 0), remindDone(0, 0, 2)},
			func(t *testing.T) {
				// Each resident with a flow open was reminded once, by
				// their own hamlet's team; nobody else was.
				v.await(t, mai, txtReminder, 1)
				v.await(t, dao, txtReminder, 1)
				for _, p := range []person{cuc, hong} {
					if n := v.count(p, "Bác còn đang làm dở"); n != 0 {
						t.Errorf("%s was reminded %d times", p.Name, n)
					}
				}
			}},
		{"/helpdesk", say("/helpdesk", nil), [5]string{
			txtNotMember,
			"Yêu cầu giúp đỡ trong các xóm của bác:\n" + helpA,
			"Không có yêu cầu giúp đỡ nào đang chờ.",
			"Không có yêu cầu giúp đỡ nào đang chờ.",
			"Yêu cầu giúp đỡ trong các xóm của bác:\n" + helpA}, nil},
		{"🙋 claim button (h:<id>)", func(t *testing.T, p person) string { return v.press(t, p, v.lastID(p), claim) }, [5]string{
			txtNotYours,
			contains("Bác đã nhận giúp Mai ở " + nameA + ": " + ewallet + ", bước 2 «Với điện thoại thường, bác dùng Mobile Money…». Người dân đã được báo. Khi cầm máy giúp, bác để người dân tự gõ mã OTP và mật khẩu. Giúp xong thì bấm nút dưới đây. ["),
			txtNotYours, txtNotYours,
			"Hoa đã nhận giúp Mai rồi ạ."},
			func(t *testing.T) {
				v.await(t, mai, "Hoa trong tổ công nghệ số sẽ giúp bác. Bác chờ một chút nhé.", 1)
				if got := v.say(t, minh, "/helpdesk"); !strings.Contains(got, "bước 2 «Với điện thoại thường, bác dùng Mobile Money…» — Hoa đã nhận [✅ Xong: Mai]") {
					t.Errorf("helpdesk after the claim: %q", got)
				}
			}},
		{"/log a household", say("/log nhà bác Tư đầu dốc", map[person][]string{
			hoa: {"💳"}, tuan: {"💳"}, binh: {"💳"}, minh: {nameA, "💳"}}), [5]string{
			txtNotMember, logged(nameA), logged(nameB), logged("Chưa xếp xóm"),
			contains(`Hộ "nhà bác Tư đầu dốc" (` + nameA + `) đã được tính là làm xong ` + ewallet + ` rồi, không tính thêm.`)},
			func(t *testing.T) {
				// Each household once, in the hamlet of the one who logged it.
				for hamlet, want := range map[string]int64{hamletA: 1, hamletB: 1, "than-sa-chua-xep": 1, "vo-nhai-chua-xep": 0} {
					c := counts(t, v.store(), hamlet, "ewallet")
					if c.CompletedTeam != want {
						t.Errorf("%s: %d completions via the team, want %d", hamlet, c.CompletedTeam, want)
					}
				}
			}},
		{"/stats", say("/stats", nil), [5]string{
			txtNotMember,
			contains(nameA + " (Xã Võ Nhai), 2022-01 đến 2026-11:\n• " + ewallet + ": ▶1 ✅1 (0+1) ⏸0 🙋1 — đạt 0,1% dân số qua bot (mục tiêu 50%)\n"),
			contains(nameB + " (Xã Võ Nhai), 2022-01 đến 2026-11:\n• " + ewallet + ": ▶1 ✅1 (0+1) ⏸0 🙋0 — đạt 0,3% dân số qua bot (mục tiêu 50%)\n"),
			contains("Xã Thần Sa, 2022-01 đến 2026-11, theo từng việc:\n• " + ewallet + ": ▶0 ✅1 (0+1) ⏸0 🙋0 (mục tiêu 50%)\n"),
			contains("Xã Võ Nhai, 2022-01 đến 2026-11, theo từng việc:\n• " + ewallet + ": ▶2 ✅2 (0+2) ⏸0 🙋1 — đạt 0,2% dân số qua bot (mục tiêu 50%)\n")}, nil},
		{"/export", func(t *testing.T, p person) string {
			got := v.say(t, p, "/export")
			if strings.Contains(got, "📎") {
				got += "\nhamlets: " + hamletsIn(v.exportCSV(t, p))
			}
			return got
		}, [5]string{
			txtNotMember,
			exportDone(hamletA, guides) + "\nhamlets: " + hamletA,
			exportDone(hamletB, guides) + "\nhamlets: " + hamletB,
			exportDone("than-sa", guides) + "\nhamlets: than-sa-chua-xep",
			exportDone("vo-nhai", 3*guides) + "\nhamlets: vo-nhai-chua-xep," + hamletA + "," + hamletB}, nil},
		{"/move", say("/move", nil), [5]string{
			txtNotMember,
			"Những người đang ở mục «chưa xếp xóm». Bác chọn người cần xếp: [👤 Hồng (Xã Võ Nhai)]",
			"Những người đang ở mục «chưa xếp xóm». Bác chọn người cần xếp: [👤 Hồng (Xã Võ Nhai)]",
			"Không có ai đang chờ xếp xóm.",
			"Những người đang ở mục «chưa xếp xóm». Bác chọn người cần xếp: [👤 Hồng (Xã Võ Nhai)]"},
			func(t *testing.T) {
				// Hoa files Hồng under her own hamlet (the only one offered);
				// Tuấn's list is stale by then, and files nobody under B.
				v.tapWant(t, hoa, "👤 Hồng", "Xếp Hồng vào xóm nào? ["+nameA+"]")
				v.tapWant(t, hoa, nameA, "Đã xếp Hồng vào "+nameA+". Người đó đã được báo.")
				// Hồng is told: the words are stored for her at once. (They
				// reach Telegram only with the sender's recovery scan, up to
				// ~15 s later: Desk.Move does not notify the sender. Reported;
				// until that is fixed, waiting for the message would make this
				// test slow and flaky.)
				told := "Tổ công nghệ số đã xếp bác vào " + nameA + ", Xã Võ Nhai."
				rs, err := v.store().Outbox(ctx, hong.ID())
				if err != nil {
					t.Fatal(err)
				}
				n := v.count(hong, told)
				for _, r := range rs {
					if r.Text == told {
						n++
					}
				}
				if n != 1 {
					t.Errorf("Hồng is told %d times that she was moved, want once (outbox %+v)", n, rs)
				}
				if got := v.tap(t, tuan, "👤 Hồng"); got != txtNotYours {
					t.Errorf("Tuấn moving Hồng after Hoa did: %q", got)
				}
				if s, err := v.store().Session(ctx, hong.ID()); err != nil || s.Hamlet != hamletA {
					t.Errorf("Hồng's hamlet = %q (%v), want %s", s.Hamlet, err, hamletA)
				}
			}},
		{"/poster", say("/poster", map[person][]string{minh: {nameA}}), [5]string{
			txtNotMember,
			contains("Tờ dán khổ A4 của " + nameA + ": bác in ra và dán nơi bà con hay qua lại. Mã QR mở đường link này: https://t.me/hangxomso_test_bot?start=h_" + hamletA + " 📎poster-" + hamletA + ".png"),
			contains("Tờ dán khổ A4 của " + nameB + ": bác in ra và dán nơi bà con hay qua lại. Mã QR mở đường link này: https://t.me/hangxomso_test_bot?start=h_" + hamletB + " 📎poster-" + hamletB + ".png"),
			txtNoHamlet,
			"In tờ dán của xóm nào? [" + nameA + " | " + nameB + "]\nTờ dán khổ A4 của " + nameA + ": bác in ra và dán nơi bà con hay qua lại. Mã QR mở đường link này: https://t.me/hangxomso_test_bot?start=h_" + hamletA + " 📎poster-" + hamletA + ".png"}, nil},
		{"/addhamlet", say("/addhamlet Xóm Bản Mới", nil), [5]string{
			txtOnlyAdd, txtOnlyAdd, txtOnlyAdd,
			"Đã thêm «Xóm Bản Mới» vào Xã Thần Sa (mã than-sa-xom-ban-moi). Bà con chọn được xóm này sau ít phút.",
			"Đã thêm «Xóm Bản Mới» vào Xã Võ Nhai (mã vo-nhai-xom-ban-moi). Bà con chọn được xóm này sau ít phút."},
			func(t *testing.T) {
				areas, err := v.store().Areas(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var added []string
				for _, a := range areas {
					if strings.HasSuffix(a.ID, "-xom-ban-moi") {
						added = append(added, a.ParentID+"/"+a.ID)
					}
				}
				if want := []string{"than-sa/than-sa-xom-ban-moi", "vo-nhai/vo-nhai-xom-ban-moi"}; !slices.Equal(added, want) {
					t.Errorf("hamlets added: %v, want %v", added, want)
				}
				v.sayWant(t, minh, "/addhamlet xom ban moi", "Xã Võ Nhai đã có «Xóm Bản Mới» rồi ạ.")
				v.sayWant(t, tien, "/start h_vo-nhai-xom-ban-moi", "Đã ghi bác ở Xóm Bản Mới, Xã Võ Nhai.")
			}},
	} {
		t.Run(row.name, func(t *testing.T) {
			for i, p := range callers {
				got := row.do(t, p)
				want, sub := strings.CutPrefix(row.want[i], "\x00")
				if sub && !strings.Contains(got, want) || !sub && got != want {
					t.Errorf("%s (%s): got\n%s\nwant %s\n%s", p.Name, []string{"resident", "team of this hamlet",
						"team of another hamlet", "coordinator of another commune", "coordinator of this commune"}[i],
						got, map[bool]string{true: "it to contain", false: "exactly"}[sub], want)
				}
			}
			if row.after != nil {
				row.after(t)
			}
		})
	}
}

// counts reads one hamlet's counters for flow over 2026.
func counts(t *testing.T, st *store.Redis, hamlet, flow string) store.Counts {
	t.Helper()
	hf := store.HamletFlow{Hamlet: hamlet, Flow: flow}
	months, _ := flows.MonthsBetween("2026-01", "2026-12")
	cs, err := st.Counts(t.Context(), []store.HamletFlow{hf}, months, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return cs[hf]
}

// ledger is what the end-to-end test did to the ewallet flow, by its own
// count: the ground truth the bot's numbers and lists are checked against.
type ledger struct {
	runs       []*flowRun     // by last activity, oldest first
	households map[string]int // hamlet → households the team logged
}

type flowRun struct {
	who    person
	hamlet string
	step   int
	last   time.Time
	self   bool // finished in the bot
	team   bool // logged by the team from the list
	help   bool
}

func (l *ledger) of(p person) *flowRun {
	for _, r := range l.runs {
		if r.who == p {
			return r
		}
	}
	return nil
}

// act records that p acted in the flow at step, now.
func (l *ledger) act(p person, hamlet string, step int, now time.Time) *flowRun {
	r := l.of(p)
	if r == nil {
		r = &flowRun{who: p, hamlet: hamlet}
	} else {
		l.runs = slices.DeleteFunc(l.runs, func(x *flowRun) bool { return x == r })
	}
	r.step, r.last = step, now
	l.runs = append(l.runs, r)
	return r
}

func (l *ledger) open(hamlets ...string) []*flowRun {
	var out []*flowRun
	for _, r := range l.runs {
		if !r.self && !r.team && slices.Contains(hamlets, r.hamlet) {
			out = append(out, r)
		}
	}
	return out
}

// line is a /stats line's numbers for hamlets, as ▶ ✅ (self+team) ⏸ 🙋.
func (l *ledger) line(now time.Time, hamlets ...string) string {
	var started, self, team, stalled, help int
	for _, r := range l.runs {
		if !slices.Contains(hamlets, r.hamlet) {
			continue
		}
		started++
		switch {
		case r.self:
			self++
		case r.team:
			team++
		case now.Sub(r.last) > 72*time.Hour:
			stalled++
		}
		if r.help {
			help++
		}
	}
	for _, h := range hamlets {
		team += l.households[h]
	}
	return fmt.Sprintf("▶%d ✅%d (%d+%d) ⏸%d 🙋%d", started, self+team, self, team, stalled, help)
}

var hamletName = map[string]string{hamletA: nameA, hamletB: nameB}

// ewStepNames are the names /pending and the help notices give ewallet's
// steps: the first words residents read there.
var ewStepNames = map[int]string{
	2: "Với điện thoại thường, bác dùng Mobile Money…",
	3: "Bác mang thẻ căn cước (hoặc CCCD còn hạn) ra…",
	4: "Để dùng Viettel Money, bác bấm *998# rồi bấm…",
}

// pending is /pending's answer for the open runs of hamlets.
func (l *ledger) pending(hamlets ...string) string {
	rs := l.open(hamlets...)
	lines := []string{fmt.Sprintf("Bà con đang làm dở (%d người, trang 1/1), lâu nhất trước:", len(rs))}
	for _, r := range rs {
		s := fmt.Sprintf("• %s (%s) — %s, bước %d/%d «%s» — 0 ngày", r.who.Name, hamletName[r.hamlet], ewallet, r.step, ewSteps, ewStepNames[r.step])
		if r.help {
			s += " 🙋 đã nhờ giúp"
		}
		lines = append(lines, s)
	}
	return strings.Join(lines, "\n")
}

// TestFollowupEndToEnd follows one evening and the next morning in two
// hamlets: a coordinator invites the team, residents start and finish,
// ask for help and are claimed, the team lists who is behind, reminders
// queued in the quiet hours wait through a restart and reach each resident
// once from two replicas, the team logs what it helped finish, and /stats
// and /export count exactly what happened.
func TestFollowupEndToEnd(t *testing.T) {
	guides := shippedGuides(t)
	ict := mustLoc()
	evening := time.Date(2026, 11, 20, 19, 0, 0, 0, ict)
	v := newVillage(t, evening)
	v.start(t)
	ctx := t.Context()
	l := &ledger{households: map[string]int{}}

	// The province coordinator invites the teams: A by command, B by buttons.
	v.recruit(t, son, "team", hamletA, hoa, "Bác đã vào tổ công nghệ số của "+nameA+".")
	v.recruit(t, son, "team", hamletA, lua, "Bác đã vào tổ công nghệ số của "+nameA+".")
	v.sayWant(t, son, "/invite", "Bác muốn mời người vào vai trò nào?")
	v.tapWant(t, son, "👥 Thành viên tổ xóm", "Mời vào khu vực nào?")
	got := v.tapWant(t, son, nameB+" (Xã Võ Nhai)", "Mã mời vào "+nameB+": ")
	code := inviteLinkRE.FindStringSubmatch(got)
	if code == nil {
		t.Fatalf("no invite link in %q", got)
	}
	v.sayWant(t, tuan, "/start j_"+code[1], "Bác đã vào tổ công nghệ số của "+nameB+".")
	v.sayWant(t, xuan, "/start j_"+code[1], "Mã mời này không đúng, đã hết hạn hoặc đã được dùng.") // one use

	// Residents of A and B, one after the other.
	v.home(t, cuc, hamletA)
	v.ewalletFinish(t, cuc)
	l.act(cuc, hamletA, ewSteps, v.clock.Now()).self = true

	v.home(t, mai, hamletA)
	v.ewalletTo(t, mai, 2)
	v.sayWant(t, mai, "/stop", "Bác không muốn nhận tin nhắc của tổ công nghệ số nữa?")
	v.tapWant(t, mai, "🔕", "Đã dừng tin nhắc.")
	l.act(mai, hamletA, 2, v.clock.Now())

	v.home(t, duc, hamletA)
	v.ewalletTo(t, duc, 3)
	v.tapWant(t, duc, "✅", "bấm *998#")
	v.tapWant(t, duc, "❓", "Không sao ạ, ai mới làm cũng có lúc vướng.")
	v.tapWant(t, duc, "🙋", "Đã ghi lại yêu cầu của bác.") // still at step 4
	l.act(duc, hamletA, 4, v.clock.Now()).help = true

	v.home(t, thao, hamletA)
	v.ewalletTo(t, thao, 3)
	l.act(thao, hamletA, 3, v.clock.Now())

	v.home(t, xuan, hamletB)
	v.ewalletFinish(t, xuan)
	l.act(xuan, hamletB, ewSteps, v.clock.Now()).self = true

	v.home(t, dao, hamletB)
	v.ewalletTo(t, dao, 2)
	v.sayWant(t, dao, "giúp tôi", "Đã ghi lại yêu cầu của bác.")
	l.act(dao, hamletB, 2, v.clock.Now()).help = true

	// Đức's ❓ then 🙋 reached A's two team members, not B's, not the coordinator;
	// Đào's 🙋 reached Tuấn only.
	helpDuc := "🙋 Đức ở " + nameA + " cần người giúp: " + ewallet + ", bước 4 «Để dùng Viettel Money, bác bấm *998# rồi bấm…». Ai giúp được thì bấm nút dưới đây."
	helpDao := "🙋 Đào ở " + nameB + " cần người giúp: " + ewallet + ", bước 2 «Với điện thoại thường, bác dùng Mobile Money…». Ai giúp được thì bấm nút dưới đây."
	v.await(t, hoa, helpDuc, 1)
	v.await(t, lua, helpDuc, 1)
	v.await(t, tuan, helpDao, 1)
	for _, p := range []person{hoa, lua, son} {
		if n := v.count(p, "🙋 Đào"); n != 0 {
			t.Errorf("%s was told of Đào's request", p.Name)
		}
	}
	if n := v.count(tuan, "🙋 Đức") + v.count(son, "🙋 Đức"); n != 0 {
		t.Error("Đức's request went beyond A's team")
	}

	// Hoa and Lụa both press "🙋 Tôi sẽ giúp" before either is answered:
	// one of them has it, the other is told who. (The poller takes updates
	// one by one, so this checks the claim's rule, not a true race between
	// replicas: that is UpdateHelp's atomic write, tested in store.)
	hoaMsg, hoaData := v.helpButton(t, hoa)
	luaMsg, luaData := v.helpButton(t, lua)
	if hoaData != luaData {
		t.Fatalf("the two notifications claim different requests: %s %s", hoaData, luaData)
	}
	nh, nl := len(v.fake.Messages(hoa.Chat)), len(v.fake.Messages(lua.Chat))
	u1 := v.fake.PushCallback(hoa.Chat, hoaMsg, hoaData)
	u2 := v.fake.PushCallback(lua.Chat, luaMsg, luaData)
	v.fake.WaitConfirmed(t, max(u1, u2))
	v.settle(t, hoa)
	v.settle(t, lua)
	answers := map[person]string{hoa: render(v.fake.Messages(hoa.Chat)[nh:]), lua: render(v.fake.Messages(lua.Chat)[nl:])}
	var winner, loser person
	for p, a := range answers {
		if strings.HasPrefix(a, "Bác đã nhận giúp Đức ở "+nameA+": "+ewallet+", bước 4 «Để dùng Viettel Money, bác bấm *998# rồi bấm…».") {
			winner = p
		} else {
			loser = p
		}
	}
	if winner.Name == "" || loser.Name == "" || answers[loser] != winner.Name+" đã nhận giúp Đức rồi ạ." {
		t.Fatalf("a claim is not exclusive: Hoa got %q, Lụa got %q", answers[hoa], answers[lua])
	}
	v.await(t, duc, winner.Name+" trong tổ công nghệ số sẽ giúp bác. Bác chờ một chút nhé.", 1)
	v.await(t, duc, "trong tổ công nghệ số sẽ giúp bác", 1)
	// Tuấn presses the same button data (forged): refused, nothing told.
	if got := v.press(t, tuan, v.lastID(tuan), hoaData); got != txtNotYours {
		t.Errorf("Tuấn claiming Đức's request: %q", got)
	}
	v.tapWant(t, tuan, "🙋 Tôi sẽ giúp", "Bác đã nhận giúp Đào ở "+nameB)
	v.await(t, dao, "Tuấn trong tổ công nghệ số sẽ giúp bác.", 1)
	v.await(t, duc, "trong tổ công nghệ số sẽ giúp bác", 1)
	v.sayWant(t, son, "/helpdesk", "Yêu cầu giúp đỡ trong các xóm của bác:\n"+
		"• Đức ("+nameA+") — "+ewallet+", bước 4 «Để dùng Viettel Money, bác bấm *998# rồi bấm…» — "+winner.Name+" đã nhận\n"+
		"• Đào ("+nameB+") — "+ewallet+", bước 2 «Với điện thoại thường, bác dùng Mobile Money…» — Tuấn đã nhận")

	// Who is behind, per member.
	for _, c := range []struct {
		who     person
		hamlets []string
	}{{hoa, []string{hamletA}}, {tuan, []string{hamletB}}, {son, []string{hamletA, hamletB}}} {
		if got, want := v.say(t, c.who, "/pending"), l.pending(c.hamlets...); got != want {
			t.Errorf("%s's /pending:\n%s\nwant\n%s", c.who.Name, got, want)
		}
	}

	// 22:00: quiet hours. Reminders are queued, none sent. Mai opted out.
	v.clock.Set(time.Date(2026, 11, 20, 22, 0, 0, 0, ict))
	remindable := func(hamlets ...string) (n, skipped int) {
		for _, r := range l.open(hamlets...) {
			if r.who == mai {
				skipped++
			} else {
				n++
			}
		}
		return n, skipped
	}
	for _, c := range []struct {
		who     person
		hamlets []string
	}{{hoa, []string{hamletA}}, {tuan, []string{hamletB}}, {son, []string{hamletA, hamletB}}} {
		n, skipped := remindable(c.hamlets...)
		if got, want := v.say(t, c.who, "/remind"), remindDone(0, n, skipped); got != want {
			t.Errorf("%s's /remind at 22:00:\n%s\nwant\n%s", c.who.Name, got, want)
		}
	}
	residents := []person{mai, cuc, duc, thao, dao, xuan}
	for _, p := range residents {
		v.settle(t, p)
		if n := v.count(p, "Bác còn đang làm dở"); n != 0 {
			t.Errorf("%s was reminded in the quiet hours", p.Name)
		}
	}

	// A restart through the night; at 06:59 nothing is due yet, at 07:05 two
	// replicas run the reminders at once and send each resident one.
	v.stop()
	v.clock.Set(time.Date(2026, 11, 21, 6, 59, 0, 0, ict))
	cfg := mustConfig(t)
	cfg.DataKey, cfg.Coordinators = followKey, []string{son.ID()}
	var desks []*desk.Desk
	for range 2 {
		a, err := openApp(ctx, cfg, appOptions{client: v.client, prefix: v.prefix, clock: v.clock}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Close)
		desks = append(desks, a.desk)
	}
	if n, err := desks[0].RunReminders(ctx, v.clock.Now()); n != 0 || err != nil {
		t.Fatalf("at 06:59: %d reminders sent (%v), want none", n, err)
	}
	v.clock.Set(time.Date(2026, 11, 21, 7, 5, 0, 0, ict))
	sent := make([]int, len(desks))
	errs := make([]error, len(desks))
	var wg sync.WaitGroup
	for i, d := range desks {
		wg.Go(func() { sent[i], errs[i] = d.RunReminders(ctx, v.clock.Now()) })
	}
	wg.Wait()
	want, _ := remindable(hamletA, hamletB)
	if sent[0]+sent[1] != want || errs[0] != nil || errs[1] != nil {
		t.Errorf("the replicas sent %v reminders (%v), want %d in all", sent, errs, want)
	}
	v.start(t)
	v.start(t)
	for _, r := range l.open(hamletA, hamletB) {
		if r.who != mai {
			v.await(t, r.who, txtReminder, 1)
		}
	}
	for _, p := range residents {
		v.settle(t, p)
	}
	for _, p := range residents {
		n, want := v.count(p, "Bác còn đang làm dở"), 0
		if r := l.of(p); p != mai && r != nil && !r.self {
			want = 1
		}
		if n != want {
			t.Errorf("%s received %d reminders, want %d", p.Name, n, want)
		}
	}
	if n, err := desks[1].RunReminders(ctx, v.clock.Now()); n != 0 || err != nil {
		t.Errorf("a second run sent %d (%v)", n, err)
	}

	// Thảo goes on from her reminder's button, where she was.
	v.tapWant(t, thao, "▶️ Tiếp: "+ewallet, "ra cửa hàng Viettel gần nhà")
	l.act(thao, hamletA, 3, v.clock.Now())

	// The team logs what it helped finish face to face: Thảo from the
	// list, and a household not on it (once, though two members log it).
	v.sayWant(t, hoa, "/log", "Bác đã giúp người ở "+nameA+" làm xong việc gì?")
	v.tapWant(t, hoa, "💳", fmt.Sprintf("Bác đã giúp ai làm xong %s ở %s? (%d người đang làm dở, trang 1/1)", ewallet, nameA, len(l.open(hamletA))))
	v.tapWant(t, hoa, "Thảo · 0 ngày", "Đã ghi nhận: Thảo ("+nameA+") làm xong "+ewallet+" nhờ tổ giúp. Cảm ơn bác!")
	l.of(thao).team = true
	v.sayWant(t, lua, "/log", "Bác đã giúp người ở "+nameA)
	v.tapWant(t, lua, "💳", fmt.Sprintf("(%d người đang làm dở, trang 1/1)", len(l.open(hamletA))))
	v.sayWant(t, lua, "/log nhà bác Tư đầu dốc", `Bác đã giúp hộ "nhà bác Tư đầu dốc" ở `+nameA+" làm xong việc gì?")
	v.tapWant(t, lua, "💳", `Đã ghi nhận: hộ "nhà bác Tư đầu dốc" (`+nameA+`) làm xong`)
	l.households[hamletA]++
	v.sayWant(t, hoa, "/log nhà bác Tư đầu dốc", `Bác đã giúp hộ "nhà bác Tư đầu dốc"`)
	v.tapWant(t, hoa, "💳", "đã được tính là làm xong "+ewallet+" rồi, không tính thêm.")

	// Four days later: who is still open has stalled.
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, ict)
	v.clock.Set(now)
	share := func(completed, population int) string { // a percentage to one decimal, written with a comma
		return strings.Replace(strconv.FormatFloat(math.Round(float64(completed)*1000/float64(population))/10, 'f', -1, 64), ".", ",", 1)
	}
	doneA, doneB := l.completed(hamletA), l.completed(hamletB)
	// /stats sends the area's chart first, as a photo (issue 20).
	got = v.say(t, hoa, "/stats")
	if want := nameA + ": số đã làm xong theo từng việc 🖼hangxom-stats-" + hamletA + ".png\n" +
		nameA + " (Xã Võ Nhai), 2022-01 đến 2026-11:\n• " + ewallet + ": " + l.line(now, hamletA) +
		" — đạt " + share(doneA, 700) + "% dân số qua bot (mục tiêu 50%)\n"; !strings.HasPrefix(got, want) {
		t.Errorf("Hoa's /stats:\n%s\nwant it to start\n%s", got, want)
	}
	if got := v.say(t, tuan, "/stats"); !strings.Contains(got, "• "+ewallet+": "+l.line(now, hamletB)+" — đạt "+share(doneB, 320)+"% dân số qua bot (mục tiêu 50%)\n") {
		t.Errorf("Tuấn's /stats:\n%s\nwant B's line %s", got, l.line(now, hamletB))
	}
	got = v.say(t, son, "/stats")
	if !strings.HasPrefix(got, "Số đã làm xong theo xã, mọi việc 🖼hangxom-stats-communes.png\n") {
		t.Errorf("Sơn's /stats does not start with the communes' chart:\n%s", got)
	}
	if want := "• Xã Võ Nhai: " + l.line(now, hamletA, hamletB) + "\n"; !strings.Contains(got, want) || !strings.Contains(got, "• Xã Thần Sa: ▶0 ✅0 (0+0) ⏸0 🙋0\n") {
		t.Errorf("Sơn's /stats:\n%s\nwant the line %q", got, want)
	}
	got = v.tap(t, son, fmt.Sprintf("Xã Võ Nhai · ✅%d", doneA+doneB))
	if want := "Xã Võ Nhai: số đã làm xong theo từng việc 🖼hangxom-stats-vo-nhai.png\n" +
		"Xã Võ Nhai, 2022-01 đến 2026-11, theo từng việc:\n• " + ewallet + ": " + l.line(now, hamletA, hamletB) +
		" — đạt " + share(doneA+doneB, 700+320) + "% dân số qua bot (mục tiêu 50%)\n"; !strings.HasPrefix(got, want) {
		t.Errorf("Xã Võ Nhai:\n%s\nwant it to start\n%s", got, want)
	}
	v.tapWant(t, son, fmt.Sprintf("%s · ✅%d", nameA, doneA), nameA+" (Xã Võ Nhai), 2022-01 đến 2026-11:")
	got = v.tap(t, son, "📊 "+ewallet)
	fields := regexp.MustCompile(`\d+`).FindAllString(l.line(now, hamletA), -1) // started, completed, self, team, stalled, help
	if want := fmt.Sprintf("%s ở %s, 2022-01 đến 2026-11:\n▶ Bắt đầu: %s\n✅ Làm xong: %s (%s tự làm, %s tổ giúp)\n⏸ Đang dừng: %s\n🙋 Xin trợ giúp: %s\nSố hộ: 170 · Dân số: 700\nĐạt qua bot: %s%% dân số\nMục tiêu: 50%%\n",
		ewallet, nameA, fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], share(doneA, 700)); !strings.HasPrefix(got, want) {
		t.Errorf("the flow in A:\n%s\nwant it to start\n%s", got, want)
	}

	// /export: the province's CSV has every hamlet × flow, and the numbers.
	got = v.say(t, son, "/export")
	if want := exportDone("thai-nguyen", 9*guides); got != want {
		t.Errorf("Sơn's /export: %q, want %q", got, want)
	}
	rows := v.exportCSV(t, son)
	if len(rows) != 9*guides {
		t.Errorf("%d rows in the CSV, want %d (9 hamlets × %d guides)", len(rows), 9*guides, guides)
	}
	for key, row := range rows {
		want := "▶0 ✅0 (0+0) ⏸0 🙋0"
		if key[1] == "ewallet" && (key[0] == hamletA || key[0] == hamletB) {
			want = l.line(now, key[0])
		}
		if got := fmt.Sprintf("▶%s ✅%s (%s+%s) ⏸%s 🙋%s", row["started"], row["completed"], row["completed_self"],
			row["completed_team"], row["stalled"], row["help_requests"]); got != want {
			t.Errorf("CSV %s/%s: %s, want %s", key[0], key[1], got, want)
		}
	}
	if r := rows[[2]string{hamletA, "ewallet"}]; r["share_pct"] != strings.Replace(share(doneA, 700), ",", ".", 1) || r["target_pct"] != "50" || r["population"] != "700" {
		t.Errorf("CSV A/ewallet share %s target %s population %s", r["share_pct"], r["target_pct"], r["population"])
	}
	got = v.say(t, hoa, "/export")
	if rows := v.exportCSV(t, hoa); got != exportDone(hamletA, guides) || hamletsIn(rows) != hamletA {
		t.Errorf("Hoa's /export: %q with hamlets %s", got, hamletsIn(rows))
	}
}

// completed counts the ewallet completions of hamlet, self and team.
func (l *ledger) completed(hamlet string) int {
	n := l.households[hamlet]
	for _, r := range l.runs {
		if r.hamlet == hamlet && (r.self || r.team) {
			n++
		}
	}
	return n
}
