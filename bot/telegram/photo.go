package telegram

import (
	"bytes"
	"image"
	_ "image/gif" // the formats Telegram takes as photos, for PhotoFits
	_ "image/jpeg"
	_ "image/png"
)

// Telegram's limits on an uploaded photo (core.telegram.org/bots/api#sendphoto:
// "The photo must be at most 10 MB in size. The photo's width and height
// must not exceed 10000 in total. Width and height ratio must be at most
// 20."). 10 MB is read the smaller, decimal way: a picture between the two
// readings goes as a file, which Telegram always takes (up to 50 MB).
const (
	maxPhotoBytes = 10_000_000
	maxPhotoSides = 10000
	maxPhotoRatio = 20
)

// PhotoFits reports whether data is a picture Telegram takes with
// sendPhoto: a PNG, JPEG or GIF (the formats this package can measure)
// within the size, the sum of its sides and the ratio of its sides that
// the Bot API allows. Anything else is sent with sendDocument.
func PhotoFits(data []byte) bool {
	if len(data) == 0 || len(data) > maxPhotoBytes {
		return false
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return false
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 || w+h > maxPhotoSides {
		return false
	}
	return max(w, h) <= maxPhotoRatio*min(w, h)
}
