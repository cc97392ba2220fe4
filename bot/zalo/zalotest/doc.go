// Package zalotest is a fake Zalo Official Account platform for tests of the
// Zalo channel: an httptest.Server on loopback that speaks the wire format
// of the OA API v3 (sending, uploads, user detail) and of OAuth v4 (the
// consent redirect and the token endpoint), and a sender of webhook events
// signed as Zalo signs them. It follows /work/shared/research/zalo-oa.md;
// where that note marks sources as disagreeing ([X]), the fake accepts every
// form on input and says in a comment which form it produces.
//
// Both APIs live under one base URL, Server.URL: the channel's OA base
// (https://openapi.zalo.me) and OAuth base (https://oauth.zaloapp.com) both
// become Server.URL in tests.
//
// It models the rules a channel trips on:
//   - Every OA API error is HTTP 200 with {"error":N,"message":"…"}; clients
//     must read the body, not the status.
//   - Access tokens live 25 h by Server.Now; an unknown token answers -216,
//     an expired one -220 (the note's [DOC] codes; a channel must refresh on
//     both).
//   - Refresh tokens are single-use: spending one twice is refused (-14014)
//     and counted (RefusedRefreshes), so a test sees two replicas racing.
//   - Consultation messages need an interaction within 7 days (-230; the
//     note also lists -232, which the fake never sends but a channel should
//     treat alike); a user never seen answers -201, one who unfollowed -213.
//   - Text ≤ 2000 characters, ≤ 5 buttons of known types with a title and a
//     payload ≤ 1000 characters (-201); 4000 OA API calls a minute (-32).
//   - Images are jpg/png ≤ 1 MB by content; files pdf/doc/docx.
//
// Faults (Fail) inject error answers, raw proxy pages, lost answers (the
// call takes effect, then the connection drops) and slow answers, per path.
//
// All state is behind one mutex; waiting uses a channel closed on every
// change, never sleep loops, so the package is safe under -race.
package zalotest
