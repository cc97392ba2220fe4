package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
)

// Outbox returns the resident's replies not yet acknowledged, oldest first.
func (r *Redis) Outbox(ctx context.Context, resident string) ([]flows.Reply, error) {
	raws, err := r.c.LRange(ctx, r.keys.Outbox(resident), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: outbox %s: %w", resident, err)
	}
	out := make([]flows.Reply, 0, len(raws))
	for _, raw := range raws {
		reply, err := decodeReply(raw)
		if err != nil {
			return nil, fmt.Errorf("store: outbox %s: %w", resident, err)
		}
		out = append(out, reply)
	}
	return out, nil
}

func decodeReply(raw string) (flows.Reply, error) {
	var reply flows.Reply
	if err := json.Unmarshal([]byte(raw), &reply); err != nil {
		return reply, fmt.Errorf("decode reply: %w", err)
	}
	return reply, nil
}

// AckOutbox removes the reply with replyID if it is the oldest in the
// resident's outbox: a channel acknowledges each reply once sent, in order.
// Acknowledging a reply that is not at the head (already acknowledged, or
// never there) does nothing. An outbox left empty leaves the outbox index.
func (r *Redis) AckOutbox(ctx context.Context, resident, replyID string) error {
	if err := r.popReply(ctx, resident, replyID, ""); err != nil {
		return fmt.Errorf("store: ack outbox %s: %w", resident, err)
	}
	return nil
}

// popReply runs popReplyScript (mark is "sent" or "") and takes the resident
// out of the outbox index when the outbox is empty afterwards.
func (r *Redis) popReply(ctx context.Context, resident, replyID, mark string) error {
	n, err := popReplyScript.Run(ctx, r.c, r.keys.replyKeys(resident),
		replyID, mark, OutboxTTL.Milliseconds()).Int64()
	if err != nil {
		return err
	}
	if n == 0 {
		return r.unindexOutbox(ctx, resident)
	}
	return nil
}

// unindexOutbox removes the resident from the outbox index unless its outbox
// holds replies. The index and the outbox are in different cluster slots, so
// no script can do both; the order makes it safe against a concurrent
// Commit instead:
//
//	here:   ZREM index, then LLEN outbox, then ZADD NX index if LLEN > 0
//	Commit: ZADD NX index, then its script pushes, then, if the push filled
//	        an empty outbox, ZADD NX index again
//
// Take the last time the outbox went from empty to non-empty. The commit that
// did it adds the resident after its push. A ZREM here that comes later still
// is followed by an LLEN that sees the replies, and so by a ZADD. So the last
// write to the index after that moment is an add. (Only a Commit that dies
// between its push and its second ZADD, while a sender ran this between its
// first ZADD and its push, leaves the replies unindexed until the resident's
// next commit.) Adding a resident whose outbox is empty again is harmless:
// PendingOutboxes removes it.
//
// On a single node the ZREM and the LLEN go in one pipeline, which the
// server runs in order; a cluster may run them on two nodes at once, so
// there they are two round trips.
func (r *Redis) unindexOutbox(ctx context.Context, resident string) error {
	idx := r.keys.OutboxIndex()
	z := redis.Z{Score: float64(r.opts.Clock.Now().UnixMilli()), Member: resident}
	var n int64
	var err error
	if _, cluster := r.c.(*redis.ClusterClient); cluster {
		if err := r.c.ZRem(ctx, idx, resident).Err(); err != nil {
			return fmt.Errorf("outbox index: %w", err)
		}
		n, err = r.c.LLen(ctx, r.keys.Outbox(resident)).Result()
	} else {
		var llen *redis.IntCmd
		_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.ZRem(ctx, idx, resident)
			llen = p.LLen(ctx, r.keys.Outbox(resident))
			return nil
		})
		if err == nil {
			n, err = llen.Result()
		}
	}
	if err != nil {
		// Unknown: put it back rather than risk losing replies.
		if err2 := r.c.ZAddNX(ctx, idx, z).Err(); err2 != nil {
			r.log.Warn("store: resident left out of the outbox index", "resident", resident, "err", err2)
		}
		return fmt.Errorf("outbox length: %w", err)
	}
	if n > 0 {
		if err := r.c.ZAddNX(ctx, idx, z).Err(); err != nil {
			return fmt.Errorf("outbox index: %w", err)
		}
	}
	return nil
}

// PendingOutboxes returns up to limit residents (limit ≤ 0: all) in the
// outbox index since olderThan or earlier, oldest first: their replies have
// waited that long, so a crash may have stopped the sender. Residents whose
// outbox turns out empty (a commit that lost its race, an outbox that
// expired) are removed from the index and not returned, so the result may be
// shorter than limit while more remain.
func (r *Redis) PendingOutboxes(ctx context.Context, olderThan time.Time, limit int) ([]string, error) {
	residents, err := r.c.ZRangeByScore(ctx, r.keys.OutboxIndex(), &redis.ZRangeBy{
		Min:   "-inf",
		Max:   strconv.FormatInt(olderThan.UnixMilli(), 10),
		Count: int64(max(limit, 0)),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("store: pending outboxes: %w", err)
	}
	if len(residents) == 0 {
		return nil, nil
	}
	lens := make([]*redis.IntCmd, len(residents))
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, res := range residents {
			lens[i] = p.LLen(ctx, r.keys.Outbox(res))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: pending outboxes: %w", err)
	}
	out := residents[:0]
	for i, res := range residents {
		if lens[i].Val() > 0 {
			out = append(out, res)
			continue
		}
		if err := r.unindexOutbox(ctx, res); err != nil {
			return nil, fmt.Errorf("store: pending outboxes: %s: %w", res, err)
		}
	}
	return out, nil
}

// BeginSend records an attempt to send the resident's reply replyID, unless
// one was recorded before (HSETNX in Keys.Sent), and says which: StateNew
// when this call recorded it, StateDone when a claim's Finish marked it sent,
// StateUncertain when an attempt began earlier and was neither finished nor
// aborted. Call it under the send lock (ClaimOutbox), just before the send.
func (r *Redis) BeginSend(ctx context.Context, resident, replyID string) (delivery.State, error) {
	v, err := beginSendScript.Run(ctx, r.c, []string{r.keys.Sent(resident)},
		replyID, OutboxTTL.Milliseconds()).Text()
	if err != nil {
		return 0, fmt.Errorf("store: begin send %s %s: %w", resident, replyID, err)
	}
	switch v {
	case "new":
		return delivery.StateNew, nil
	case "sent":
		return delivery.StateDone, nil
	default:
		return delivery.StateUncertain, nil
	}
}

// AbortSend forgets the attempt BeginSend recorded, for a send that surely
// did not happen (the request never left, or the platform refused it with an
// error a retry may fix): the next BeginSend says StateNew again. A reply
// marked sent stays marked.
func (r *Redis) AbortSend(ctx context.Context, resident, replyID string) error {
	if err := abortSendScript.Run(ctx, r.c, []string{r.keys.Sent(resident)}, replyID).Err(); err != nil {
		return fmt.Errorf("store: abort send %s %s: %w", resident, replyID, err)
	}
	return nil
}

// DropReply gives up on a reply: it pops it if it is at the head of the
// outbox, leaving its marker as it is (an uncertain attempt stays uncertain),
// and takes the resident out of the outbox index if the outbox is empty. Use
// it for an uncertain attempt, a resident who blocked the bot, or an error
// that retrying cannot fix.
func (r *Redis) DropReply(ctx context.Context, resident, replyID string) error {
	if err := r.popReply(ctx, resident, replyID, ""); err != nil {
		return fmt.Errorf("store: drop reply %s %s: %w", resident, replyID, err)
	}
	return nil
}
