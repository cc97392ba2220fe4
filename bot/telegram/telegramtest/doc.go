// Package telegramtest is a fake Telegram Bot API for tests: an
// httptest.Server on loopback that speaks the real wire format, so tests can
// drive the real github.com/go-telegram-bot-api/telegram-bot-api/v5 library
// and our own bot/telegram client against it, end to end.
//
// Requests arrive as POST application/x-www-form-urlencoded or
// multipart/form-data (application/json bodies and GET query strings are
// accepted too, as Telegram does); object parameters such as reply_markup,
// allowed_updates and commands are JSON strings inside form fields. Every
// answer is {"ok":true,"result":…} or {"ok":false,"error_code":N,
// "description":"…","parameters":{"retry_after":N}}, with the HTTP status
// equal to the error code, exactly as the real API answers.
//
// The fake keeps what a test wants to assert on: every call with its
// parameters (Calls, WaitCalls), the messages the bot sent to each chat with
// later edits applied and deletions flagged (Messages, WaitMessages), the
// webhook settings (Webhook) and the command lists (Commands). Tests feed it
// updates (PushUpdate, PushText, PushCallback, PushPhoto) that the bot then
// receives through getUpdates, or POST them to the bot's webhook (Deliver).
// Fail injects API errors, raw non-JSON answers, lost answers and slow
// answers.
//
// It models the Bot API rules bots trip on: getUpdates offsets confirm and
// forget earlier updates, long polls return as soon as an update exists, a
// second poller ends the first with 409, getUpdates answers 409 while a
// webhook is set, allowed_updates filters updates created after it was set,
// callback_data is limited to 64 bytes, an edit that changes nothing is
// "message is not modified", message ids in a private chat are shared by
// the resident's and the bot's messages, link_preview_options must be a
// JSON object (Message records it and disable_web_page_preview, PreviewOff
// reads them as Telegram does), and an uploaded photo must be a picture
// within Telegram's size and dimensions, else 400 (sendDocument takes any
// file).
//
// All state is behind one mutex; waiting (long polls, WaitCalls,
// WaitMessages, delays) uses channels that are closed on every state change,
// never sleep loops, so the package is safe under -race and fast.
package telegramtest
