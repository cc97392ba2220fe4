// Package telegram is the Telegram channel: it receives updates by long
// polling or by webhook, turns them into engine inputs for the conversation
// service, and drains each resident's outbox into Telegram messages.
//
// It is built on github.com/go-telegram-bot-api/telegram-bot-api/v5
// (v5.5.1) for the types, the request building and the decoding, and works
// around that library's traps (research notes §0): the polling loop, the
// webhook handler and the sender are our own; every call carries a context
// (the library has none: each call runs on a copy of the BotAPI whose HTTP
// client is bound to that call's context); the bot token never appears in an
// error or a log line; 429 answers are waited out; callbacks whose message is
// missing are handled without the library's panicking helpers; parameters
// newer than the library (setWebhook's secret_token, sendMessage's
// link_preview_options) go through MakeRequest.
//
// Delivery guarantees: an update is acknowledged (polling offset, webhook
// 200) only after the service's atomic per-chat write stored it, and a
// redelivered update changes nothing. A reply is sent at most once: it is
// marked as being attempted in Redis before the call and as sent after
// Telegram accepts it; an attempt whose outcome is unknown (the call was
// written but its answer was lost) is not repeated.
package telegram
